//! The password in a URL's user information: `postgres://admin:PGPASS99@db/app`.

use std::ops::Range;
use std::sync::OnceLock;

use regex::bytes::Regex;

use crate::value::{Family, is_secret};

fn url_credentials() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"\b[A-Za-z][A-Za-z0-9+.\-]{1,30}://[^\s:/@"'`<>]{1,128}:(?P<s>[^\s/@"'`<>]{1,256})@[A-Za-z0-9\[]"#)
            .expect("url credentials rule")
    })
}

pub(crate) fn find(bytes: &[u8], out: &mut Vec<Range<usize>>) {
    for c in url_credentials().captures_iter(bytes) {
        let Some(s) = c.name("s") else { continue };
        let Ok(v) = std::str::from_utf8(s.as_bytes()) else {
            continue;
        };
        // `user:pass@`, `${USER}:${PASS}@` and `user:%s@` are how docs and templates
        // write a credential, not one.
        if is_secret(v, Family::Password) && v != "pass" {
            out.push(s.range());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(s: &str) -> Vec<&str> {
        let mut out = Vec::new();
        find(s.as_bytes(), &mut out);
        out.into_iter().map(|r| &s[r]).collect()
    }

    #[test]
    fn the_password_of_a_url_is_found_not_the_user_or_host() {
        assert_eq!(
            found("dsn := \"postgres://admin:PGPASS99@db/app\""),
            ["PGPASS99"]
        );
        assert_eq!(
            found("amqp://guest:S3cr3t-Rabbit@mq:5672/"),
            ["S3cr3t-Rabbit"]
        );
    }

    #[test]
    fn templates_and_examples_are_not_credentials() {
        for s in [
            "http://user:pass@host/",
            "postgres://${USER}:${PASSWORD}@db/app",
            "https://user:password@example.com",
            "http://localhost:8080/path@x",
            "mailto:someone@example.com",
        ] {
            assert!(found(s).is_empty(), "{s}");
        }
    }
}
