//! Finds the secret *values* in a file (API keys, tokens, passwords, private keys) and
//! masks them in place, leaving identifiers, calls and everything else untouched.
//!
//! Scry parses and chunks a file's real text; only what it stores, embeds, sends to a
//! model or returns is masked. Masking keeps every byte offset: each non-whitespace byte
//! of a secret becomes `*`, so spans, lines and hashes computed on the original still
//! point at the same places.
//!
//! Four kinds of rules find secrets, each in its own module:
//! - [`formats`]: tokens whose shape gives them away (`AKIA…`, `ghp_…`, `sk-…`, JWTs),
//!   after the rule sets gitleaks, detect-secrets and trufflehog publish;
//! - [`keys`]: private key blocks (PEM, OpenSSH, PGP), with or without their END line;
//! - [`urls`]: the password in `scheme://user:password@host`;
//! - [`assignments`]: a literal bound to a secret-like name (`db_password = "…"`,
//!   `"apiKey": "…"`, `:token => "…"`, `PASSWORD=…` in config files), judged by
//!   [`value`] so that `token = next_token(src)` or `"OPENAI_API_KEY"` are left alone.
//!
//! ```
//! let src = b"new_auth = get_netrc_auth(url)\ndb_password = \"GOWALRUS1234567\"\n";
//! let masked = scry_secrets::mask("app.py", src);
//! assert_eq!(
//!     std::str::from_utf8(&masked).unwrap(),
//!     "new_auth = get_netrc_auth(url)\ndb_password = \"***************\"\n"
//! );
//! ```

mod assignments;
mod formats;
mod keys;
mod urls;
mod value;

use std::borrow::Cow;
use std::ops::Range;

/// How values may be written in a file, which decides whether an unquoted value after
/// `name=` or `name:` is a literal (config files, shell) or code (an identifier, a call).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// Programming languages and prose: only quoted literals are values.
    Code,
    /// `.env`, INI, YAML, TOML, properties, shell, Dockerfile: `KEY=value` is a literal.
    Config,
    /// `.netrc`: `password value` pairs.
    Netrc,
}

impl Syntax {
    /// The syntax of a file, from its name.
    pub fn of_path(path: &str) -> Syntax {
        let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
        let lower = name.to_ascii_lowercase();
        if lower == ".netrc" || lower == "_netrc" {
            return Syntax::Netrc;
        }
        let config_names = [
            "dockerfile",
            "containerfile",
            ".npmrc",
            ".pypirc",
            ".pgpass",
            ".htpasswd",
            "credentials",
            ".bashrc",
            ".zshrc",
            ".profile",
        ];
        if lower == ".env"
            || lower.starts_with(".env.")
            || lower.ends_with(".env")
            || config_names.contains(&lower.as_str())
            || lower.starts_with("dockerfile.")
        {
            return Syntax::Config;
        }
        let ext = lower.rsplit_once('.').map_or("", |(_, e)| e);
        match ext {
            "ini" | "cfg" | "conf" | "properties" | "yaml" | "yml" | "toml" | "sh" | "bash"
            | "zsh" | "envrc" | "tfvars" | "hcl" | "config" => Syntax::Config,
            _ => Syntax::Code,
        }
    }
}

/// The byte ranges of every secret in `bytes`, sorted and merged.
pub fn find(path: &str, bytes: &[u8]) -> Vec<Range<usize>> {
    let syntax = Syntax::of_path(path);
    let mut found = Vec::new();
    keys::find(bytes, &mut found);
    formats::find(bytes, &mut found);
    urls::find(bytes, &mut found);
    assignments::find(bytes, syntax, &mut found);
    merge(found)
}

/// `bytes` with every secret masked (same length), or borrowed when there is none.
pub fn mask<'a>(path: &str, bytes: &'a [u8]) -> Cow<'a, [u8]> {
    let found = find(path, bytes);
    if found.is_empty() {
        return Cow::Borrowed(bytes);
    }
    let mut out = bytes.to_vec();
    for r in found {
        for b in &mut out[r] {
            if !b.is_ascii_whitespace() {
                *b = b'*';
            }
        }
    }
    Cow::Owned(out)
}

/// A short text (a signature, a label) with its secrets masked.
pub fn mask_str<'a>(path: &str, text: &'a str) -> Cow<'a, str> {
    match mask(path, text.as_bytes()) {
        Cow::Borrowed(_) => Cow::Borrowed(text),
        // Whole UTF-8 sequences inside a secret become `*` each byte: still UTF-8.
        Cow::Owned(v) => Cow::Owned(String::from_utf8_lossy(&v).into_owned()),
    }
}

fn merge(mut ranges: Vec<Range<usize>>) -> Vec<Range<usize>> {
    ranges.retain(|r| r.start < r.end);
    ranges.sort_by_key(|r| (r.start, r.end));
    let mut out: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_finds_merge_into_one_range() {
        assert_eq!(
            merge(vec![5..9, 0..3, 2..4, 9..9, 8..12]),
            vec![0..4, 5..12]
        );
    }

    #[test]
    fn the_file_name_decides_whether_unquoted_values_are_literals() {
        for p in [
            ".env",
            "deploy/.env.production",
            "a/b.yaml",
            "x.toml",
            "run.sh",
            "Dockerfile",
        ] {
            assert_eq!(Syntax::of_path(p), Syntax::Config, "{p}");
        }
        for p in ["app.py", "main.go", "README.md", "lib.rs", "settings.json"] {
            assert_eq!(Syntax::of_path(p), Syntax::Code, "{p}");
        }
        assert_eq!(Syntax::of_path("home/.netrc"), Syntax::Netrc);
    }

    #[test]
    fn masking_keeps_length_lines_and_utf8() {
        let src = "pässwort = 1\npassword = \"grüße-Geheim-42\"\n";
        let m = mask_str("a.py", src);
        assert_eq!(m.len(), src.len());
        assert_eq!(m.lines().count(), 2);
        assert!(m.starts_with("pässwort = 1\npassword = \""), "{m}");
        assert!(!m.contains("Geheim"), "{m}");
    }
}
