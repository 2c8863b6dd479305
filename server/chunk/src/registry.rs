//! The language registry: `grammars/languages.toml` and the queries beside it, compiled in.

use std::path::Path;
use std::sync::OnceLock;

use serde::Deserialize;
use tree_sitter_language::LanguageFn;

/// How a language is chunked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    TreeSitter,
    Markdown,
    Lines,
}

/// One entry of the registry.
pub struct Language {
    pub name: &'static str,
    pub strategy: Strategy,
    pub extensions: Vec<String>,
    pub filenames: Vec<String>,
    pub shebangs: Vec<String>,
    /// Node kinds that attach to the definition after them.
    pub leading: Vec<String>,
    /// Node kinds that wrap a definition and belong to its chunk.
    pub wrappers: Vec<String>,
    pub(crate) grammar: Option<LanguageFn>,
    pub(crate) query_source: Option<&'static str>,
}

impl std::fmt::Debug for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Language")
            .field("name", &self.name)
            .field("strategy", &self.strategy)
            .finish()
    }
}

#[derive(Deserialize)]
struct RegistryFile {
    language: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    name: String,
    strategy: Strategy,
    #[serde(default)]
    extensions: Vec<String>,
    #[serde(default)]
    filenames: Vec<String>,
    #[serde(default)]
    shebangs: Vec<String>,
    #[serde(default)]
    leading: Vec<String>,
    #[serde(default)]
    wrappers: Vec<String>,
}

const REGISTRY: &str = include_str!("../../../grammars/languages.toml");

macro_rules! grammars {
    ($($name:literal => $lang:expr),* $(,)?) => {
        fn grammar_for(name: &str) -> Option<(LanguageFn, &'static str)> {
            match name {
                $($name => Some(($lang, include_str!(concat!("../../../grammars/", $name, "/chunks.scm")))),)*
                _ => None,
            }
        }
    };
}

grammars! {
    "rust" => tree_sitter_rust::LANGUAGE,
    "python" => tree_sitter_python::LANGUAGE,
    "javascript" => tree_sitter_javascript::LANGUAGE,
    "typescript" => tree_sitter_typescript::LANGUAGE_TYPESCRIPT,
    "tsx" => tree_sitter_typescript::LANGUAGE_TSX,
    "go" => tree_sitter_go::LANGUAGE,
    "java" => tree_sitter_java::LANGUAGE,
    "c" => tree_sitter_c::LANGUAGE,
    "cpp" => tree_sitter_cpp::LANGUAGE,
    "c_sharp" => tree_sitter_c_sharp::LANGUAGE,
    "ruby" => tree_sitter_ruby::LANGUAGE,
    "php" => tree_sitter_php::LANGUAGE_PHP,
    "bash" => tree_sitter_bash::LANGUAGE,
    "lua" => tree_sitter_lua::LANGUAGE,
}

/// Every language Scry knows, in registry order.
pub fn languages() -> &'static [Language] {
    static LANGS: OnceLock<Vec<Language>> = OnceLock::new();
    LANGS.get_or_init(|| {
        // The registry is compiled in, and a test parses it; a bad edit fails the build's tests.
        let file: RegistryFile = toml::from_str(REGISTRY).expect("grammars/languages.toml parses");
        file.language
            .into_iter()
            .map(|e| {
                let (grammar, query_source) = match grammar_for(&e.name) {
                    Some((g, q)) => (Some(g), Some(q)),
                    None => (None, None),
                };
                Language {
                    name: Box::leak(e.name.into_boxed_str()),
                    strategy: e.strategy,
                    extensions: e.extensions,
                    filenames: e.filenames,
                    shebangs: e.shebangs,
                    leading: e.leading,
                    wrappers: e.wrappers,
                    grammar,
                    query_source,
                }
            })
            .collect()
    })
}

/// Looks a language up by its registry name.
pub fn language_by_name(name: &str) -> Option<&'static Language> {
    languages().iter().find(|l| l.name == name)
}

/// Picks a language by file name, extension, then shebang line.
pub fn detect_language(path: &str, bytes: &[u8]) -> Option<&'static Language> {
    let p = Path::new(path);
    let file_name = p.file_name().and_then(|f| f.to_str()).unwrap_or("");
    if let Some(l) = languages()
        .iter()
        .find(|l| l.filenames.iter().any(|f| f == file_name))
    {
        return Some(l);
    }
    if let Some(ext) = p.extension().and_then(|e| e.to_str()) {
        let ext = ext.to_ascii_lowercase();
        if let Some(l) = languages().iter().find(|l| l.extensions.contains(&ext)) {
            return Some(l);
        }
    }
    shebang_language(bytes)
}

fn shebang_language(bytes: &[u8]) -> Option<&'static Language> {
    let first = bytes.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(first).ok()?.strip_prefix("#!")?;
    let mut words = line.split_whitespace();
    let mut prog = words.next()?.rsplit('/').next()?;
    if prog == "env" {
        prog = words.find(|w| !w.starts_with('-'))?;
    }
    languages()
        .iter()
        .find(|l| l.shebangs.iter().any(|s| s == prog))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_parses_and_every_tree_sitter_language_has_a_grammar_and_query() {
        for lang in languages() {
            if lang.strategy == Strategy::TreeSitter {
                let g = lang
                    .grammar
                    .unwrap_or_else(|| panic!("{} has no grammar", lang.name));
                let q = lang.query_source.unwrap();
                let ts: tree_sitter::Language = g.into();
                tree_sitter::Query::new(&ts, q)
                    .unwrap_or_else(|e| panic!("query for {} does not compile: {e}", lang.name));
            }
        }
    }

    #[test]
    fn detects_by_extension_filename_and_shebang() {
        assert_eq!(detect_language("a/b.rs", b"").unwrap().name, "rust");
        assert_eq!(detect_language("X.TSX", b"").unwrap().name, "tsx");
        assert_eq!(detect_language("Rakefile", b"").unwrap().name, "ruby");
        assert_eq!(
            detect_language("run", b"#!/usr/bin/env bash\necho")
                .unwrap()
                .name,
            "bash"
        );
        assert!(detect_language("notes.xyz", b"hello").is_none());
    }
}
