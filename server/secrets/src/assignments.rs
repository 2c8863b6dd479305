//! A literal bound to a secret-like name: `db_password = "…"`, `"apiKey": "…"`,
//! `:token => "…"`, `dbPassword := "…"`, `.password("…")`, `#define API_KEY "…"`,
//! `<password>…</password>` and, in config files, `PASSWORD=…` or `password: …`.
//!
//! Only literals are values: in code, `token = next_token(src)` binds a call and
//! `new_auth = get_netrc_auth(url)` an identifier, and neither is touched. The name
//! decides how secret-looking the literal must be ([`crate::value`]).

use std::ops::Range;
use std::sync::OnceLock;

use regex::bytes::{Captures, Regex};

use crate::Syntax;
use crate::value::{family, is_secret, words};

/// A quoted literal; its text is group `d`, `q` or `t`.
///
/// Lengths are checked in code ([`MAX_VALUE_CHARS`]), not by counted repetitions: a
/// Unicode class repeated `{1,1024}` compiles to an automaton of a million states, tens
/// of megabytes in every process that masks.
const LITERAL: &str = r#"(?:[bBrRuU]{0,2}@?)(?:"(?P<d>(?:[^"\\\n]|\\.)+)"|'(?P<q>(?:[^'\\\n]|\\.)+)'|`(?P<t>[^`\n]+)`)"#;
/// The longest value judged: a longer literal is not a secret, and a longer unquoted
/// value is judged (and masked) by its first this many characters.
const MAX_VALUE_CHARS: usize = 1024;
/// The same for passwords of `IDENTIFIED BY`, `.netrc` and command-line flags.
const SHORT_VALUE_CHARS: usize = 256;
const NAME: &str = r"(?P<name>[A-Za-z_$@:][A-Za-z0-9_.\-$]{0,80})";

struct Rules {
    /// `name = "…"`, `name: "…"`, `name := "…"`, `name => "…"`, `name: T = "…"`,
    /// `name("…")`; the name may be quoted or subscripted (`["name"] = "…"`).
    bound: Regex,
    /// `("NAME", "…")`: `define`, `setenv`, `put`, `setdefault`.
    pair: Regex,
    /// `#define NAME "…"`.
    define: Regex,
    /// `<name>…</name>` and `<add key="name" value="…"/>`.
    xml: Regex,
    /// `IDENTIFIED BY '…'` (SQL).
    sql: Regex,
    /// Config files: `NAME=value`, `name: value`, `export NAME=value`, `ENV NAME value`,
    /// `--password=value`, `:_authToken=value`.
    config: Regex,
    docker_env: Regex,
    flag: Regex,
    /// `.netrc`: `password value`.
    netrc: Regex,
}

fn rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(|| {
        let re = |p: String| Regex::new(&p).unwrap_or_else(|e| panic!("assignment rule {p}: {e}"));
        Rules {
            bound: re(format!(
                r#"{NAME}(?:["'`]\]?|\])?[ \t]*(?P<sep>(?::[ \t]*[A-Za-z_][A-Za-z0-9_<>\[\]?|.]{{0,40}}[ \t]*)?(?:\|\|=|\?\?=|\?=|:=|=>|=)|:|\()[ \t]*{LITERAL}"#
            )),
            pair: re(format!(r#"["'](?P<name>[A-Za-z_][A-Za-z0-9_.\-]{{0,80}})["'][ \t]*,[ \t]*{LITERAL}"#)),
            define: re(format!(r#"#[ \t]*define[ \t]+(?P<name>[A-Za-z_][A-Za-z0-9_]*)[ \t]+{LITERAL}"#)),
            xml: re(r#"<(?P<name>[A-Za-z_][A-Za-z0-9_.\-:]{0,80})>(?P<v>[^<\s]+)</|key="(?P<name2>[A-Za-z_][A-Za-z0-9_.\-:]{0,80})"\s+value="(?P<v2>[^"\s]+)""#.into()),
            sql: re(r"(?i:identified[ \t]+by)[ \t]+'(?P<v>[^'\n]+)'".into()),
            config: re(r#"(?m)^[ \t]*(?:export[ \t]+|ENV[ \t]+|ARG[ \t]+|set[ \t]+|-[ \t]+)?(?P<name>[A-Za-z_:][A-Za-z0-9_.\-]{0,80})[ \t]*(?:=|:)[ \t]*(?P<v>[^\s"'`#;,\[\]{}|>&][^\s"'`;,]*)"#.into()),
            docker_env: re(r"(?m)^[ \t]*ENV[ \t]+(?P<name>[A-Za-z_][A-Za-z0-9_]*)[ \t]+(?P<v>[^\s=][^\s]*)[ \t]*$".into()),
            flag: re(r#"--(?P<name>[A-Za-z][A-Za-z0-9\-]{1,40})(?:=|[ \t]+)(?P<v>[^\s"'`\\$-][^\s"'`\\]*)"#.into()),
            netrc: re(r"(?:^|\s)(?:password|passwd)[ \t]+(?P<v>\S+)".into()),
        }
    })
}

pub(crate) fn find(bytes: &[u8], syntax: Syntax, out: &mut Vec<Range<usize>>) {
    let r = rules();
    for c in r.bound.captures_iter(bytes) {
        let called = c.name("sep").is_some_and(|s| s.as_bytes() == b"(");
        if called && !is_setter(name_of(&c, "name")) {
            continue;
        }
        push_literal(&c, "name", out);
    }
    for re in [&r.pair, &r.define] {
        for c in re.captures_iter(bytes) {
            push_literal(&c, "name", out);
        }
    }
    for c in r.xml.captures_iter(bytes) {
        push_value(&c, "name", "v", Long::Skip, out);
        push_value(&c, "name2", "v2", Long::Skip, out);
    }
    for c in r.sql.captures_iter(bytes) {
        if let Some(v) = c.name("v")
            && chars(v.as_bytes()) <= SHORT_VALUE_CHARS
            && judge(v.as_bytes(), crate::value::Family::Password)
        {
            out.push(v.range());
        }
    }
    match syntax {
        Syntax::Code => {}
        Syntax::Config => {
            for (re, long) in [
                (&r.config, Long::Clip(MAX_VALUE_CHARS)),
                (&r.docker_env, Long::Clip(MAX_VALUE_CHARS)),
                (&r.flag, Long::Clip(SHORT_VALUE_CHARS)),
            ] {
                for c in re.captures_iter(bytes) {
                    push_value(&c, "name", "v", long, out);
                }
            }
        }
        Syntax::Netrc => {
            for c in r.netrc.captures_iter(bytes) {
                let v = c.name("v").expect("netrc value");
                let len = clip(v.as_bytes(), SHORT_VALUE_CHARS);
                if judge(&v.as_bytes()[..len], crate::value::Family::Password) {
                    out.push(v.start()..v.start() + len);
                }
            }
        }
    }
}

fn name_of<'a>(c: &'a Captures, group: &str) -> &'a str {
    c.name(group)
        .and_then(|m| std::str::from_utf8(m.as_bytes()).ok())
        .unwrap_or("")
}

/// `.password("…")`, `setApiKey("…")`, `withToken("…")`: a setter, not
/// `getPassword("user")` or `check_token("…")`.
fn is_setter(name: &str) -> bool {
    let method = name.rsplit(['.', ':']).next().unwrap_or(name);
    let ws = words(method);
    ws.len() == 1 || ws.first().is_some_and(|w| w == "set" || w == "with")
}

fn push_literal(c: &Captures, name: &str, out: &mut Vec<Range<usize>>) {
    let Some(f) = family(name_of(c, name)) else {
        return;
    };
    let Some(v) = c.name("d").or_else(|| c.name("q")).or_else(|| c.name("t")) else {
        return;
    };
    if chars(v.as_bytes()) <= MAX_VALUE_CHARS && judge(v.as_bytes(), f) {
        out.push(v.range());
    }
}

/// What to do with a value longer than the rule allows.
#[derive(Clone, Copy)]
enum Long {
    /// A delimited value (`<x>…</x>`): longer is not a secret.
    Skip,
    /// An undelimited one (`NAME=…`): judge its first this many characters.
    Clip(usize),
}

fn push_value(c: &Captures, name: &str, value: &str, long: Long, out: &mut Vec<Range<usize>>) {
    let (Some(f), Some(v)) = (family(name_of(c, name)), c.name(value)) else {
        return;
    };
    let mut text = v.as_bytes().trim_ascii_end();
    match long {
        Long::Skip if chars(text) > MAX_VALUE_CHARS => return,
        Long::Skip => {}
        Long::Clip(n) => text = &text[..clip(text, n)],
    }
    if judge(text, f) {
        out.push(v.start()..v.start() + text.len());
    }
}

/// Characters in `v` (bytes when it is not UTF-8).
fn chars(v: &[u8]) -> usize {
    std::str::from_utf8(v).map_or(v.len(), |s| s.chars().count())
}

/// The byte length of `v`'s first `n` characters, never inside a character.
fn clip(v: &[u8], n: usize) -> usize {
    match std::str::from_utf8(v) {
        Ok(s) => s.char_indices().nth(n).map_or(v.len(), |(i, _)| i),
        Err(_) => v.len().min(n),
    }
}

fn judge(v: &[u8], f: crate::value::Family) -> bool {
    std::str::from_utf8(v).is_ok_and(|v| is_secret(v, f))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(path: &str, s: &str) -> Vec<String> {
        let mut out = Vec::new();
        find(s.as_bytes(), Syntax::of_path(path), &mut out);
        out.into_iter().map(|r| s[r].to_owned()).collect()
    }

    #[test]
    fn values_past_the_length_limit_are_clipped_or_skipped_as_the_counted_rules_did() {
        // A secret-looking run of mixed characters, longer than any rule allows.
        let long: String = (0..1500)
            .map(|i| ['a', 'Z', '7', 'q', '9', 'K', 'é'][i * 7 % 11 % 7])
            .collect();
        // Undelimited (a config value): its first 1024 characters are judged and masked.
        let cfg = found("app.env", &format!("PASSWORD={long}\n"));
        assert_eq!(cfg.len(), 1, "{cfg:?}");
        assert_eq!(cfg[0].chars().count(), MAX_VALUE_CHARS);
        assert!(long.starts_with(&cfg[0]));
        // Delimited (a literal, an XML element): too long to be one value.
        assert!(found("a.py", &format!("password = \"{long}\"\n")).is_empty());
        assert!(found("a.xml", &format!("<password>{long}</password>\n")).is_empty());
        // And at the limit, still found.
        let fits: String = long.chars().take(MAX_VALUE_CHARS).collect();
        assert_eq!(found("a.py", &format!("password = \"{fits}\"\n")), [fits]);
    }

    #[test]
    fn literals_bound_to_secret_names_are_found_in_every_syntax() {
        for (path, src, secret) in [
            (
                "a.go",
                r#"dbPassword := "GOWALRUS1234567""#,
                "GOWALRUS1234567",
            ),
            (
                "a.json",
                r#"{"password": "Qz!8SPECIALPASS"}"#,
                "Qz!8SPECIALPASS",
            ),
            (
                "a.rb",
                r#"{ :password => "RUBYPASS123456" }"#,
                "RUBYPASS123456",
            ),
            (
                "a.ts",
                r#"const apiKey: string = "a8f5f167f44f4964e6c998dee827110c";"#,
                "a8f5f167f44f4964e6c998dee827110c",
            ),
            ("a.py", r#"connect(password='Tr0ub4dor&3')"#, "Tr0ub4dor&3"),
            (
                "a.php",
                r#"define('DB_PASSWORD', 'phpS3cretPass');"#,
                "phpS3cretPass",
            ),
            (
                "A.java",
                r#"builder.password("JavaSecret99");"#,
                "JavaSecret99",
            ),
            (
                "a.c",
                r#"#define API_KEY "c0ffee1234567890abcdef""#,
                "c0ffee1234567890abcdef",
            ),
            (
                "a.xml",
                r#"<password>XmlPass4242</password>"#,
                "XmlPass4242",
            ),
            (
                "a.config",
                r#"<add key="ApiKey" value="9a8b7c6d5e4f3a2b1c0d" />"#,
                "9a8b7c6d5e4f3a2b1c0d",
            ),
            (".env", "DB_PASSWORD=envPass1234\n", "envPass1234"),
            ("a.yaml", "db:\n  password: yamlPass5678\n", "yamlPass5678"),
            (
                "Dockerfile",
                "ENV API_TOKEN tok3nValue0123456789\n",
                "tok3nValue0123456789",
            ),
            (
                "run.sh",
                "mysql --password=shellPass999 db\n",
                "shellPass999",
            ),
            (
                ".netrc",
                "machine api.example.org login bob password netrcPass77\n",
                "netrcPass77",
            ),
            (
                "a.sql",
                "CREATE USER app IDENTIFIED BY 'sqlPass2024';",
                "sqlPass2024",
            ),
        ] {
            assert_eq!(found(path, src), [secret], "{path}: {src}");
        }
    }

    #[test]
    fn identifiers_calls_and_names_of_secrets_are_left_alone() {
        for (path, src) in [
            ("a.py", "new_auth = get_netrc_auth(url)"),
            ("a.py", "token = self._next_token(source_code_text)"),
            ("a.py", "password = os.environ['DB_PASSWORD']"),
            ("a.py", r#"API_KEY_ENV = "OPENAI_API_KEY""#),
            ("a.py", r#"if token == "abcdefghij1234567890": pass"#),
            ("a.js", r#"const token = getToken("some-user-name-123");"#),
            (
                "a.go",
                r#"req.Header.Set("Authorization", "Bearer "+token)"#,
            ),
            ("a.rs", r#"let password = prompt("Password: ");"#),
            ("a.py", r#"TOKEN_TYPE = "bearer""#),
            ("a.py", r#"password_reset_url = "https://x.org/reset""#),
            ("a.yaml", "password: ${DB_PASSWORD}\n"),
            (".env", "API_KEY=\n"),
            ("a.yaml", "token: access_token\n"),
            ("run.sh", "export PWD=/home/user\n"),
        ] {
            assert!(
                found(path, src).is_empty(),
                "{path}: {src} → {:?}",
                found(path, src)
            );
        }
    }
}
