//! Secrets inside indexed files (API keys, tokens, private keys) are masked before a
//! chunk is stored, embedded, shown to an editor or packed for a model.
//!
//! Masking keeps every byte offset: each character of a secret becomes `*`, and only
//! ASCII secrets are masked (all the formats below are ASCII), so line numbers and
//! ranges still point at the file on disk. The masked form is what the index holds; the
//! hash of the file is of its real bytes, so freshness checks are unaffected.

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::bytes::Regex;

/// Each pattern's secret is its `secret` group, or the whole match.
const PATTERNS: &[&str] = &[
    // Private key blocks (PEM).
    r"(?s)-----BEGIN [A-Z ]*PRIVATE KEY-----(?P<secret>.+?)-----END [A-Z ]*PRIVATE KEY-----",
    // AWS access key ids.
    r"\b(?P<secret>(?:AKIA|ASIA)[0-9A-Z]{16})\b",
    // GitHub tokens.
    r"\b(?P<secret>gh[pousr]_[A-Za-z0-9]{36,255})\b",
    r"\b(?P<secret>github_pat_[A-Za-z0-9_]{22,255})\b",
    // OpenAI, Anthropic and similar `sk-` keys; Stripe live and test keys.
    r"\b(?P<secret>sk-(?:proj-|ant-)?[A-Za-z0-9_\-]{20,})",
    r"\b(?P<secret>[rs]k_(?:live|test)_[A-Za-z0-9]{16,})\b",
    // Slack tokens.
    r"\b(?P<secret>xox[abposr]-[A-Za-z0-9\-]{10,})\b",
    // Google API keys.
    r"\b(?P<secret>AIza[0-9A-Za-z_\-]{35})\b",
    // JSON Web Tokens.
    r"\b(?P<secret>eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,})",
    // `api_key = "…"`, `password: …`, `SECRET_TOKEN=…`: the value, when it looks like one
    // (12+ characters of key alphabet).
    r#"(?i)(?:api[_-]?key|secret|token|passw(?:or)?d|auth|credential|private[_-]?key)[A-Za-z0-9_\-]*["']?\s*[:=]\s*["']?(?P<secret>[A-Za-z0-9_\-/+=.]{12,})"#,
];

fn patterns() -> &'static [Regex] {
    static COMPILED: OnceLock<Vec<Regex>> = OnceLock::new();
    COMPILED.get_or_init(|| {
        PATTERNS
            .iter()
            .map(|p| Regex::new(p).unwrap_or_else(|e| panic!("secret pattern {p}: {e}")))
            .collect()
    })
}

/// `bytes` with every secret masked (same length), or borrowed when there is none.
pub fn redact(bytes: &[u8]) -> Cow<'_, [u8]> {
    let mut out: Option<Vec<u8>> = None;
    for re in patterns() {
        let hay = out.as_deref().unwrap_or(bytes);
        let spans: Vec<(usize, usize)> = re
            .captures_iter(hay)
            .filter_map(|c| c.name("secret").or_else(|| c.get(0)))
            .map(|m| (m.start(), m.end()))
            .filter(|(s, e)| hay[*s..*e].is_ascii())
            .collect();
        if spans.is_empty() {
            continue;
        }
        let buf = out.get_or_insert_with(|| bytes.to_vec());
        for (s, e) in spans {
            for b in &mut buf[s..e] {
                if !b.is_ascii_whitespace() {
                    *b = b'*';
                }
            }
        }
    }
    match out {
        Some(v) => Cow::Owned(v),
        None => Cow::Borrowed(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    fn masked(s: &str) -> String {
        String::from_utf8(redact(s.as_bytes()).into_owned()).unwrap()
    }

    #[test]
    fn keys_and_tokens_are_masked_in_place() {
        let cases = [
            "aws = \"AKIAIOSFODNN7EXAMPLE\"",
            "token: ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwxyz123456",
            "stripe = 'sk_live_abcdefghijklmnop1234'",
            "slack xoxb-1234567890-abcdefghij",
            "google AIzaSyA-abcdefghijklmnopqrstuvwxyz12345",
            "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            "let password = \"correct-horse-battery\";",
        ];
        for c in cases {
            let m = masked(c);
            assert_eq!(m.len(), c.len(), "{c}");
            assert!(m.contains("*****"), "not masked: {c} → {m}");
        }
        assert_eq!(
            masked("aws = \"AKIAIOSFODNN7EXAMPLE\""),
            "aws = \"********************\""
        );
    }

    #[test]
    fn a_private_key_block_keeps_its_lines_and_markers() {
        let pem = "x\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nabc123\n-----END RSA PRIVATE KEY-----\ny\n";
        let m = masked(pem);
        assert_eq!(m.len(), pem.len());
        assert_eq!(m.lines().count(), pem.lines().count());
        assert!(m.contains("-----BEGIN RSA PRIVATE KEY-----"));
        assert!(
            !m.contains("MIIEowIBAAKCAQEA") && !m.contains("abc123"),
            "{m}"
        );
    }

    #[test]
    fn ordinary_code_is_left_alone() {
        for c in [
            "fn parse_token(input: &str) -> Token { todo!() }",
            "let password_len = 12;",
            "const API_KEY_ENV: &str = \"OPENAI_API_KEY\";",
            "skeleton-key-handler",
        ] {
            assert!(
                matches!(redact(c.as_bytes()), std::borrow::Cow::Borrowed(_)),
                "{c} → {}",
                masked(c)
            );
        }
    }
}
