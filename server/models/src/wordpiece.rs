//! WordPiece tokenizing as llama.cpp does it for BERT-family GGUF models, without
//! loading the model: the static tier keeps the vocabulary in its own table file and
//! tokenizes a query in microseconds.
//!
//! Words are split at whitespace and punctuation (and CJK ideographs), lowercased when
//! the vocabulary is uncased; each word, with the phantom space `▁` in front, is cut into
//! the longest vocabulary pieces from the left (a continuation piece is stored bare);
//! a word that cannot be cut is one unknown token. Accents are not stripped: documents
//! and queries go through the same tokenizer, so they still meet.

use rustc_hash::FxHashMap;

const PHANTOM_SPACE: char = '\u{2581}';

pub struct WordPiece {
    /// Fx, not SipHash: the 30k entries are built on every load, which a one-shot
    /// search waits for, and the keys are the model's own vocabulary.
    ids: FxHashMap<String, u32>,
    unknown: u32,
    lowercase: bool,
    /// Longest piece, in bytes.
    max_piece: usize,
}

impl WordPiece {
    /// From the GGUF token texts (`▁word` starts a word, `ing` continues one).
    pub fn new(tokens: Vec<String>, unknown: u32, lowercase: bool) -> WordPiece {
        let max_piece = tokens.iter().map(String::len).max().unwrap_or(1);
        let mut ids = FxHashMap::with_capacity_and_hasher(tokens.len(), rustc_hash::FxBuildHasher);
        for (i, t) in tokens.into_iter().enumerate() {
            ids.entry(t).or_insert(i as u32);
        }
        WordPiece {
            max_piece,
            ids,
            unknown,
            lowercase,
        }
    }

    pub fn tokenize(&self, text: &str) -> Vec<u32> {
        let mut out = Vec::new();
        let mut word = String::new();
        for c in text.chars() {
            if c.is_whitespace() {
                self.word(&mut word, &mut out);
                continue;
            }
            if c == '\0' || c == '\u{FFFD}' || c.is_control() {
                continue;
            }
            if is_split_char(c) {
                self.word(&mut word, &mut out);
                word.push(c);
                self.word(&mut word, &mut out);
                continue;
            }
            if self.lowercase {
                word.extend(c.to_lowercase());
            } else {
                word.push(c);
            }
        }
        self.word(&mut word, &mut out);
        out
    }

    /// Cuts `word` (then clears it) into pieces appended to `out`.
    fn word(&self, word: &mut String, out: &mut Vec<u32>) {
        if word.is_empty() {
            return;
        }
        let mut text = String::with_capacity(word.len() + 3);
        text.push(PHANTOM_SPACE);
        text.push_str(word);
        word.clear();
        let before = out.len();
        let mut i = 0;
        while i < text.len() {
            let mut end = (i + self.max_piece).min(text.len());
            let found = loop {
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                if end <= i {
                    break None;
                }
                if let Some(&id) = self.ids.get(&text[i..end]) {
                    break Some((id, end));
                }
                end -= 1;
            };
            match found {
                Some((id, end)) => {
                    out.push(id);
                    i = end;
                }
                None => {
                    out.truncate(before);
                    break;
                }
            }
        }
        if out.len() == before {
            out.push(self.unknown);
        }
    }
}

/// A character that is a word of its own: punctuation, ASCII symbols, CJK ideographs.
fn is_split_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_punctuation();
    }
    let cp = c as u32;
    let cjk = matches!(cp,
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0x2A700..=0x2B73F
        | 0x2B740..=0x2B81F | 0x2B820..=0x2CEAF | 0xF900..=0xFAFF | 0x2F800..=0x2FA1F);
    // Unicode punctuation blocks (general, CJK, fullwidth ASCII punctuation).
    let punctuation = matches!(cp, 0x2010..=0x2027 | 0x2030..=0x205E | 0x3001..=0x3003
        | 0x3008..=0x3011 | 0x3014..=0x301F | 0xFF01..=0xFF0F | 0xFF1A..=0xFF20
        | 0xFF3B..=0xFF40 | 0xFF5B..=0xFF65 | 0x00A1 | 0x00A7 | 0x00AB | 0x00B6 | 0x00B7
        | 0x00BB | 0x00BF);
    cjk || punctuation
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab() -> WordPiece {
        let tokens: Vec<String> = [
            "[PAD]",
            "[UNK]",
            "▁the",
            "▁parse",
            "▁config",
            "ing",
            "▁(",
            "▁)",
            "▁.",
            "▁_",
            "▁un",
            "known",
            "s",
            "▁a",
            "▁中",
            "▁pars",
        ]
        .map(String::from)
        .to_vec();
        WordPiece::new(tokens, 1, true)
    }

    #[test]
    fn words_split_at_punctuation_and_cut_into_the_longest_pieces() {
        let v = vocab();
        // parse_configs( → parse _ config s (
        assert_eq!(v.tokenize("Parse_Configs("), [3, 9, 4, 12, 6]);
        assert_eq!(v.tokenize("  the\tparsing.  "), [2, 15, 5, 8]);
        // A word with no cut is one unknown token, not a partial one.
        assert_eq!(v.tokenize("zzz unknowns"), [1, 10, 11, 12]);
        assert_eq!(v.tokenize("中文"), [14, 1]);
        assert!(v.tokenize("").is_empty());
        assert!(v.tokenize("\u{0}\u{7}").is_empty());
    }

    #[test]
    fn a_cased_vocabulary_keeps_case() {
        let tokens: Vec<String> = ["[UNK]", "▁Parse", "▁parse"].map(String::from).to_vec();
        let v = WordPiece::new(tokens, 0, false);
        assert_eq!(v.tokenize("Parse parse PARSE"), [1, 2, 0]);
    }
}
