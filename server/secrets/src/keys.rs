//! Private key blocks: PEM (`RSA`, `EC`, `DSA`, `ENCRYPTED`, PKCS#8), OpenSSH, PuTTY and
//! PGP armor. The markers stay; everything between them is masked. A block whose END line
//! is missing (a truncated paste) is masked for as long as its lines look like key
//! material, and a block inside a JSON string (`"-----BEGIN…\nMIIE…"`) to the string's end.

use std::ops::Range;
use std::sync::OnceLock;

use regex::bytes::Regex;

fn begin() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----|PuTTY-User-Key-File-\d+:")
            .expect("key begin rule")
    })
}

fn end() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----").expect("key end rule")
    })
}

/// How far an END line is looked for: far more than any real key (an 8192-bit RSA key
/// is ~6.5 KB), little enough that a stray BEGIN in a huge file costs nothing.
const MAX_BLOCK: usize = 64 * 1024;

pub(crate) fn find(bytes: &[u8], out: &mut Vec<Range<usize>>) {
    let mut from = 0;
    while let Some(b) = begin().find_at(bytes, from) {
        let body = b.end();
        let limit = (body + MAX_BLOCK).min(bytes.len());
        let stop = match end().find(&bytes[body..limit]) {
            // The next BEGIN before this END means this block has none.
            Some(e) if begin().find(&bytes[body..body + e.start()]).is_none() => {
                out.push(body..body + e.start());
                body + e.end()
            }
            _ => {
                let stop = material_end(bytes, body, limit);
                out.push(body..stop);
                stop
            }
        };
        from = stop.max(body);
    }
}

/// The end of the key material after a BEGIN line with no END: base64 lines, armor
/// headers (`Version: …`) and blank lines, or in one line, `\n`-escaped base64 up to a
/// quote.
fn material_end(bytes: &[u8], start: usize, limit: usize) -> usize {
    let is_material = |c: u8| c.is_ascii_alphanumeric() || b"+/=\\".contains(&c);
    let mut i = start;
    // The rest of the BEGIN line: escaped key material inside a string, or nothing.
    while i < limit && bytes[i] != b'\n' {
        if !is_material(bytes[i]) && bytes[i] != b' ' && bytes[i] != b'\r' {
            return i;
        }
        i += 1;
    }
    let mut end = i;
    while i < limit {
        let line_end = bytes[i + 1..limit]
            .iter()
            .position(|c| *c == b'\n')
            .map_or(limit, |p| i + 1 + p);
        let line = bytes[i + 1..line_end].trim_ascii();
        let header = line.iter().position(|c| *c == b':').is_some_and(|p| {
            p > 0
                && line[..p]
                    .iter()
                    .all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        });
        if !(line.iter().all(|c| is_material(*c)) || header) {
            break;
        }
        end = line_end;
        i = line_end;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(s: &str) -> String {
        let mut out = Vec::new();
        find(s.as_bytes(), &mut out);
        let mut b = s.as_bytes().to_vec();
        for r in out {
            for c in &mut b[r] {
                if !c.is_ascii_whitespace() {
                    *c = b'*';
                }
            }
        }
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn a_block_keeps_its_markers_and_lines() {
        let pem = "x\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nabc123\n-----END RSA PRIVATE KEY-----\ny\n";
        let m = masked(pem);
        assert_eq!(m.lines().count(), pem.lines().count());
        assert!(m.contains("-----BEGIN RSA PRIVATE KEY-----\n****************\n******\n-----END RSA PRIVATE KEY-----\ny"), "{m}");
    }

    #[test]
    fn a_block_without_end_is_masked_to_the_end_of_its_material() {
        let pem = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oooZ\nAwEHoUQDQgAE\n\ndef main():\n    pass\n";
        let m = masked(pem);
        assert!(!m.contains("MHcCAQEE") && !m.contains("AwEHoUQ"), "{m}");
        assert!(m.contains("def main():\n    pass"), "{m}");
    }

    #[test]
    fn pgp_armor_headers_are_part_of_the_block() {
        let pgp = "-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\nlQOYBF0fGAABCAC7\n=Ab12\n-----END PGP PRIVATE KEY BLOCK-----\n";
        let m = masked(pgp);
        assert!(!m.contains("lQOYBF0f") && !m.contains("=Ab12"), "{m}");
        assert!(m.ends_with("-----END PGP PRIVATE KEY BLOCK-----\n"));
    }

    #[test]
    fn a_key_in_a_json_string_is_masked_up_to_the_quote() {
        let json = r#"{"private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\n", "client_email": "a@b.iam"}"#;
        let m = masked(json);
        assert!(!m.contains("MIIEvQ"), "{m}");
        assert!(m.contains(r#"", "client_email": "a@b.iam"}"#), "{m}");
    }
}
