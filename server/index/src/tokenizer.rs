//! The code-aware tokenizer: identifiers whole and split at case, `_`, `-` and digit boundaries.
//!
//! `parseHTTPResponse2` yields `parsehttpresponse2` (the whole identifier), then `parse`,
//! `http`, `response`, `2`. `snake_case`, `kebab-case` and `PascalCase` split the same way,
//! so a query for `http response` finds `parseHTTPResponse`, and a query for the exact
//! identifier ranks it higher still.
//!
//! What is indexed (and what a query looks for) also carries each word's English stem
//! beside the word itself ([`index_tokens`]): `throttling` finds `throttle`, `requests`
//! finds `request`, and the exact word still scores twice, so it ranks first.

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// Identifiers longer than this are data (base64, hashes), not names: skipped.
const MAX_TOKEN_BYTES: usize = 80;

#[derive(Clone, Default)]
pub struct CodeTokenizer;

pub struct CodeTokenStream {
    tokens: Vec<Token>,
    index: usize,
}

impl Tokenizer for CodeTokenizer {
    type TokenStream<'a> = CodeTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> CodeTokenStream {
        CodeTokenStream {
            tokens: index_tokens(text),
            index: usize::MAX,
        }
    }
}

impl TokenStream for CodeTokenStream {
    fn advance(&mut self) -> bool {
        self.index = self.index.wrapping_add(1);
        self.index < self.tokens.len()
    }
    fn token(&self) -> &Token {
        &self.tokens[self.index]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.index]
    }
}

/// Words shorter than this are left unstemmed: short words are names (`log`, `get`,
/// `io`) more often than inflections.
const MIN_STEMMED_LEN: usize = 4;

/// The English stem of one lowercase word, when it differs from the word. Only plain
/// ASCII words are stemmed; identifiers whole (`parsehttpresponse`), numbers and
/// other scripts are left as they are.
pub fn stem(word: &str) -> Option<String> {
    static STEMMER: std::sync::OnceLock<frostem::Stemmer> = std::sync::OnceLock::new();
    if word.len() < MIN_STEMMED_LEN || !word.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    let stemmer = STEMMER.get_or_init(|| frostem::Stemmer::new(frostem::Algorithm::English));
    match stemmer.stem(word) {
        std::borrow::Cow::Owned(s) if s != word && !s.is_empty() => Some(s),
        _ => None,
    }
}

/// What the lexical index holds for a text: every token of [`tokenize`], each
/// one-word token followed by its stem (same position and offsets) where that differs.
pub fn index_tokens(text: &str) -> Vec<Token> {
    let tokens = tokenize(text);
    let mut out = Vec::with_capacity(tokens.len() + tokens.len() / 2);
    for t in tokens {
        let stemmed = (t.position_length == 1).then(|| stem(&t.text)).flatten();
        let twin = stemmed.map(|text| Token { text, ..t.clone() });
        out.push(t);
        out.extend(twin);
    }
    out
}

/// Splits text into lowercase tokens; see the module docs.
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut position = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // Find the next identifier: a run of alphanumerics and `_`, with single `-`
        // joining alphanumerics (kebab-case).
        let c = text[i..].chars().next().unwrap_or(' ');
        if !c.is_alphanumeric() {
            i += c.len_utf8();
            continue;
        }
        let start = i;
        let mut end = i;
        let mut iter = text[i..].char_indices().peekable();
        while let Some((off, ch)) = iter.next() {
            if ch.is_alphanumeric() || ch == '_' {
                end = i + off + ch.len_utf8();
            } else if ch == '-' {
                match iter.peek() {
                    Some((_, next)) if next.is_alphanumeric() => {}
                    _ => break,
                }
            } else {
                break;
            }
        }
        emit_identifier(&text[start..end], start, &mut position, &mut out);
        i = end.max(start + c.len_utf8());
    }
    out
}

fn emit_identifier(word: &str, offset: usize, position: &mut usize, out: &mut Vec<Token>) {
    let trimmed = word.trim_matches('_');
    if trimmed.is_empty() || word.len() > MAX_TOKEN_BYTES {
        return;
    }
    let lead = word.len() - word.trim_start_matches('_').len();
    let parts = split_parts(trimmed);
    let whole = trimmed.to_lowercase();
    let base = *position;
    if parts.len() > 1 {
        out.push(Token {
            offset_from: offset + lead,
            offset_to: offset + lead + trimmed.len(),
            position: base,
            text: whole,
            position_length: parts.len(),
        });
        for (n, (a, b)) in parts.iter().enumerate() {
            out.push(Token {
                offset_from: offset + lead + a,
                offset_to: offset + lead + b,
                position: base + n,
                text: trimmed[*a..*b].to_lowercase(),
                position_length: 1,
            });
        }
        *position += parts.len();
    } else {
        out.push(Token {
            offset_from: offset + lead,
            offset_to: offset + lead + trimmed.len(),
            position: base,
            text: whole,
            position_length: 1,
        });
        *position += 1;
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Class {
    Lower,
    Upper,
    Digit,
    Other,
}

fn class(c: char) -> Class {
    if c.is_lowercase() {
        Class::Lower
    } else if c.is_uppercase() {
        Class::Upper
    } else if c.is_numeric() {
        Class::Digit
    } else {
        Class::Other
    }
}

/// Byte ranges of the parts of an identifier.
fn split_parts(word: &str) -> Vec<(usize, usize)> {
    let mut parts = Vec::new();
    let chars: Vec<(usize, char)> = word.char_indices().collect();
    let mut start: Option<usize> = None;
    for (n, &(off, ch)) in chars.iter().enumerate() {
        if ch == '_' || ch == '-' {
            if let Some(s) = start.take() {
                parts.push((s, off));
            }
            continue;
        }
        let Some(s) = start else {
            start = Some(off);
            continue;
        };
        let prev = class(chars[n - 1].1);
        let cur = class(ch);
        let next = chars.get(n + 1).map(|&(_, c)| class(c));
        let boundary = match (prev, cur) {
            (Class::Lower, Class::Upper) => true,
            (Class::Digit, Class::Upper | Class::Lower) => true,
            (Class::Upper | Class::Lower, Class::Digit) => true,
            // `HTTPResponse`: the `R` starts a new word because a lowercase letter follows.
            (Class::Upper, Class::Upper) => next == Some(Class::Lower),
            _ => false,
        };
        if boundary {
            parts.push((s, off));
            start = Some(off);
        }
    }
    if let Some(s) = start {
        parts.push((s, word.len()));
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        tokenize(s).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn splits_camel_pascal_snake_kebab_and_digits_and_keeps_the_whole() {
        assert_eq!(
            texts("parseHTTPResponse2"),
            ["parsehttpresponse2", "parse", "http", "response", "2"]
        );
        assert_eq!(
            texts("snake_case_name"),
            ["snake_case_name", "snake", "case", "name"]
        );
        assert_eq!(texts("kebab-case"), ["kebab-case", "kebab", "case"]);
        assert_eq!(texts("PascalCase"), ["pascalcase", "pascal", "case"]);
        assert_eq!(texts("utf8Decoder"), ["utf8decoder", "utf", "8", "decoder"]);
        assert_eq!(texts("x"), ["x"]);
    }

    #[test]
    fn punctuation_separates_and_lowercases() {
        assert_eq!(
            texts("fn Foo::bar(x: u32)"),
            ["fn", "foo", "bar", "x", "u32", "u", "32"]
        );
        assert_eq!(texts("a - b --flag"), ["a", "b", "flag"]);
        assert_eq!(texts("__init__"), ["init"]);
    }

    #[test]
    fn offsets_point_at_the_source_and_long_blobs_are_skipped() {
        let s = "let fooBar = 1;";
        for t in tokenize(s) {
            assert_eq!(s[t.offset_from..t.offset_to].to_lowercase(), t.text);
        }
        assert!(texts(&"A".repeat(200)).is_empty());
    }

    #[test]
    fn indexed_words_carry_their_stems_beside_them() {
        let idx =
            |s: &str| -> Vec<String> { index_tokens(s).into_iter().map(|t| t.text).collect() };
        assert_eq!(idx("throttle"), ["throttle", "throttl"]);
        assert_eq!(idx("requests"), ["requests", "request"]);
        assert_eq!(
            idx("ThrottleRequests"),
            [
                "throttlerequests",
                "throttle",
                "throttl",
                "requests",
                "request"
            ]
        );
        // Short words, numbers, unchanged words and other scripts get no twin.
        assert_eq!(
            idx("log io 2024 request größe"),
            ["log", "io", "2024", "request", "größe"]
        );
        // The twin sits at its word's position, so phrase positions stay right.
        let t = index_tokens("rate limiting");
        assert_eq!(
            (t[1].text.as_str(), t[2].text.as_str()),
            ("limiting", "limit")
        );
        assert_eq!(t[1].position, t[2].position);
    }

    #[test]
    fn unicode_identifiers() {
        assert_eq!(
            texts("größeBerechnen"),
            ["größeberechnen", "größe", "berechnen"]
        );
        assert_eq!(texts("日本語"), ["日本語"]);
    }
}

/// English words that say nothing about which code is meant; dropped from queries
/// (never from what is indexed: `is` or `the` may be an identifier's part).
pub const STOP_WORDS: &[&str] = &[
    "a", "about", "all", "an", "and", "any", "are", "as", "at", "be", "been", "by", "can", "do",
    "does", "for", "from", "has", "have", "how", "i", "if", "in", "into", "is", "it", "its", "me",
    "of", "on", "or", "our", "should", "so", "that", "the", "their", "them", "then", "there",
    "these", "this", "to", "was", "we", "what", "when", "where", "which", "while", "who", "why",
    "will", "with", "you",
];

/// The query's tokens without stop words (all of them when nothing else is left),
/// each word followed by its stem where that differs, as [`index_tokens`] indexes it.
pub fn query_terms(query: &str) -> Vec<String> {
    let all: Vec<Token> = tokenize(query);
    let kept: Vec<&Token> = all
        .iter()
        .filter(|t| !STOP_WORDS.contains(&t.text.as_str()))
        .collect();
    let kept = if kept.is_empty() {
        all.iter().collect()
    } else {
        kept
    };
    let mut terms = Vec::with_capacity(kept.len() * 2);
    for t in kept {
        terms.push(t.text.clone());
        if t.position_length == 1
            && let Some(s) = stem(&t.text)
        {
            terms.push(s);
        }
    }
    terms
}

#[cfg(test)]
mod query_tests {
    use super::*;

    #[test]
    fn stop_words_leave_the_query_but_never_all_of_it() {
        assert_eq!(
            query_terms("how is the session closed"),
            ["session", "closed", "close"]
        );
        assert_eq!(query_terms("what is this"), ["what", "is", "this"]);
    }

    #[test]
    fn query_words_carry_their_stems_and_stop_words_never_do() {
        // `does` would stem to `doe`: stop words leave before stemming.
        assert_eq!(
            query_terms("how does request throttling work"),
            ["request", "throttling", "throttl", "work"]
        );
        // A compound identifier stays whole; its parts carry their stems.
        assert_eq!(
            query_terms("parseRequests"),
            ["parserequests", "parse", "pars", "requests", "request"]
        );
    }
}
