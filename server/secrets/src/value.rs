//! Whether a name is secret-like and whether the literal bound to it is a real secret
//! rather than a placeholder, a template, an environment variable's name or a word.

/// How sure a name makes us, which sets how secret-looking its value must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Family {
    /// `password`, `passwd`, `pwd`, `passphrase`: any non-trivial literal.
    Password,
    /// `secret`, `api_key`, `private_key`, `client_secret`, `credentials`.
    Secret,
    /// `token`, `auth_token`, `access_token`: names that also label ordinary strings
    /// (`TOKEN_TYPE = "bearer"`), so the value must look random.
    Token,
}

const PASSWORD_WORDS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "pass",
    "passwort",
];
const SECRET_WORDS: &[&str] = &[
    "secret",
    "secrets",
    "apikey",
    "credential",
    "credentials",
    "privatekey",
    "secretkey",
    "accesskey",
    "clientsecret",
];
const TOKEN_WORDS: &[&str] = &[
    "token",
    "authtoken",
    "accesstoken",
    "refreshtoken",
    "bearer",
];
/// Words before `key` that make it a secret key (`api_key`, `AWS_SECRET_ACCESS_KEY`).
const KEY_QUALIFIERS: &[&str] = &[
    "api",
    "private",
    "secret",
    "access",
    "auth",
    "client",
    "signing",
    "encryption",
    "master",
    "account",
    "app",
    "consumer",
    "service",
    "subscription",
    "license",
    "hmac",
    "jwt",
    "webhook",
];

/// The family a name belongs to, judged by its last word (`db_password`, `dbPassword`,
/// `DB_PASSWORD`, `user.password`), or `None` for `password_hash`, `token_url`,
/// `new_auth`, `API_KEY_ENV`.
pub(crate) fn family(name: &str) -> Option<Family> {
    let mut words = words(name);
    // `secret_key_base`, `api_key_value`, `password_str`: the secret, by another suffix.
    const SUFFIXES: &[&str] = &[
        "base", "value", "val", "str", "string", "raw", "b64", "base64",
    ];
    if words.len() > 1 && words.last().is_some_and(|w| SUFFIXES.contains(&w.as_str())) {
        words.pop();
    }
    let last = words.last()?.as_str();
    let prev = words.len().checked_sub(2).map(|i| words[i].as_str());
    if PASSWORD_WORDS.contains(&last) {
        return Some(Family::Password);
    }
    if SECRET_WORDS.contains(&last) || last.ends_with("apikey") {
        return Some(Family::Secret);
    }
    if last == "key" && prev.is_some_and(|p| KEY_QUALIFIERS.contains(&p)) {
        return Some(Family::Secret);
    }
    if TOKEN_WORDS.contains(&last) || last.ends_with("token") && last.len() <= 16 {
        return Some(Family::Token);
    }
    None
}

/// The lowercase words of an identifier, split at `_ - . $ @ :` and camelCase humps
/// (`APIKey` → `api key`, `dbPassword` → `db password`).
pub(crate) fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1).copied();
        let hump = c.is_uppercase()
            && prev.is_some_and(|p| {
                p.is_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_uppercase() && next.is_some_and(char::is_lowercase))
            });
        if hump && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Whether `value`, a literal bound to a name of `family`, is a secret to mask.
pub(crate) fn is_secret(value: &str, family: Family) -> bool {
    let v = value.trim();
    let min_len = match family {
        Family::Password => 6,
        Family::Secret => 8,
        Family::Token => 12,
    };
    if v.chars().count() < min_len || v.len() > 4096 {
        return false;
    }
    if v.chars().any(char::is_whitespace) || is_template(v) || is_placeholder(v) {
        return false;
    }
    // `"OPENAI_API_KEY"`, `"DB_PASSWORD"`: the name of where the secret lives.
    if is_env_name(v) {
        return false;
    }
    // Paths, file names and URLs (a URL's password has its own rule).
    if v.starts_with(['/', '~', '.']) || v.contains("://") || is_file_name(v) {
        return false;
    }
    match family {
        Family::Password => !is_word_like(v) || v.len() >= 12,
        Family::Secret | Family::Token => {
            !is_word_like(v) && !is_identifier_like(v) && looks_random(v)
        }
    }
}

/// `${DB_PASSWORD}`, `{{ .Values.token }}`, `%s`, `$(cat key)`, `<your-key>`, `#{token}`.
fn is_template(v: &str) -> bool {
    v.starts_with(['$', '<', '@', '%', '{', '('])
        || ["${", "{{", "}}", "%s", "%(", "#{", "{0}", "<", ">"]
            .iter()
            .any(|t| v.contains(t))
}

/// Values that stand for a secret in docs and examples: `changeme`, `xxxxxxxx`,
/// `your-api-key`, `<redacted>`, `example-token`.
fn is_placeholder(v: &str) -> bool {
    let lower = v.to_ascii_lowercase();
    let first = lower.chars().next().unwrap_or(' ');
    if lower.chars().all(|c| c == first) {
        return true;
    }
    const MARKERS: &[&str] = &[
        "example",
        "placeholder",
        "your_",
        "your-",
        "yourkey",
        "yourtoken",
        "yourpassword",
        "xxxx",
        "****",
        "....",
        "redacted",
        "dummy",
        "fake",
        "sample",
        "replace",
        "insert",
        "todo",
        "fixme",
        "notasecret",
        "not-a-secret",
        "not_a_secret",
    ];
    if MARKERS.iter().any(|m| lower.contains(m)) {
        return true;
    }
    const WORDS: &[&str] = &[
        "password",
        "passwd",
        "secret",
        "token",
        "apikey",
        "api_key",
        "api-key",
        "default",
        "changeme",
        "username",
        "undefined",
        "required",
        "optional",
        "none",
        "null",
        "empty",
        "string",
        "hidden",
        "masked",
        "unknown",
        "invalid",
        "missing",
    ];
    WORDS.contains(&lower.as_str())
}

/// `OPENAI_API_KEY`, `GITHUB_TOKEN`: upper-case words joined by `_`.
fn is_env_name(v: &str) -> bool {
    v.contains('_')
        && v.split('_').all(|w| {
            !w.is_empty()
                && w.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && w.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        })
}

fn is_file_name(v: &str) -> bool {
    let Some((stem, ext)) = v.rsplit_once('.') else {
        return false;
    };
    const EXTS: &[&str] = &[
        "pem", "key", "crt", "cer", "json", "txt", "yaml", "yml", "p12", "pfx", "jks", "env",
        "gpg", "asc", "pub", "toml", "ini", "conf",
    ];
    EXTS.contains(&ext.to_ascii_lowercase().as_str())
        && stem
            .chars()
            .all(|c| c.is_alphanumeric() || "_-./".contains(c))
}

/// Lower-case words joined by `_ - . :` (`x-api-key`, `access_token`, `auth.header`):
/// a name, a header, a key in a map.
fn is_word_like(v: &str) -> bool {
    v.split(['_', '-', '.', ':'])
        .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase()))
}

/// `accessToken`, `AuthToken`, `X-Auth-Token`: an identifier, not a random string.
fn is_identifier_like(v: &str) -> bool {
    let ws = words(v);
    !v.chars().any(|c| c.is_ascii_digit())
        && v.chars()
            .all(|c| c.is_ascii_alphabetic() || "_-.".contains(c))
        && ws.iter().all(|w| w.len() >= 2)
        && ws.len() <= 5
}

/// Enough mixture for a generated key: two classes of letters and digits, or a long
/// run of one alphabet (hex, base64) with a digit.
fn looks_random(v: &str) -> bool {
    let lower = v.chars().any(|c| c.is_ascii_lowercase());
    let upper = v.chars().any(|c| c.is_ascii_uppercase());
    let digit = v.chars().any(|c| c.is_ascii_digit());
    let classes = [lower, upper, digit].iter().filter(|x| **x).count();
    classes >= 2 && (digit || v.len() >= 20)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_judged_by_their_last_word() {
        let yes = [
            ("db_password", Family::Password),
            ("dbPassword", Family::Password),
            ("DB_PASS", Family::Password),
            ("user.password", Family::Password),
            ("$password", Family::Password),
            (":password", Family::Password),
            ("AWS_SECRET_ACCESS_KEY", Family::Secret),
            ("apiKey", Family::Secret),
            ("APIKey", Family::Secret),
            ("X-Api-Key", Family::Secret),
            ("client_secret", Family::Secret),
            ("SECRET_KEY", Family::Secret),
            ("stripeApiKey", Family::Secret),
            ("GITHUB_TOKEN", Family::Token),
            ("authToken", Family::Token),
        ];
        for (n, f) in yes {
            assert_eq!(family(n), Some(f), "{n}");
        }
        for n in [
            "new_auth",
            "password_hash",
            "token_url",
            "API_KEY_ENV",
            "passwordLength",
            "key",
            "primary_key",
            "tokens",
            "tokenizer",
            "auth",
            "sort_key",
        ] {
            assert_eq!(family(n), None, "{n}");
        }
    }

    #[test]
    fn real_secrets_are_told_from_placeholders_and_names() {
        for (v, f) in [
            ("GOWALRUS1234567", Family::Password),
            ("Qz!8SPECIALPASS", Family::Password),
            ("hunter22", Family::Password),
            ("wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzKEY", Family::Secret),
            ("9f8e7d6c5b4a39281706f5e4d3c2b1a0", Family::Secret),
            ("tok_4f9a8b7c6d5e4f3a", Family::Token),
        ] {
            assert!(is_secret(v, f), "{v}");
        }
        for (v, f) in [
            ("OPENAI_API_KEY", Family::Secret),
            ("${DB_PASSWORD}", Family::Password),
            ("{{ .Values.password }}", Family::Password),
            ("your-api-key-here", Family::Secret),
            ("changeme", Family::Password),
            ("********", Family::Password),
            ("x-api-key", Family::Secret),
            ("access_token", Family::Token),
            ("Invalid token", Family::Token),
            ("accessToken", Family::Token),
            ("X-Auth-Token", Family::Token),
            ("/run/secrets/db", Family::Password),
            ("server.key", Family::Secret),
            ("secret", Family::Secret),
            ("short", Family::Password),
        ] {
            assert!(!is_secret(v, f), "{v}");
        }
    }
}
