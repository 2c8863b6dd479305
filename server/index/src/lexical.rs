//! The lexical index: chunks as tantivy documents, BM25 search with symbol and path boosts.

use std::path::Path;

use tantivy::collector::TopDocs;
use tantivy::directory::MmapDirectory;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term,
};

use crate::tokenizer::{CodeTokenizer, tokenize};
use crate::{IndexError, StoredChunk};

const TOKENIZER: &str = "scry_code";
/// Bumped when the schema, the tokenizer or what is stored changes (v3: secrets masked);
/// an index of another version is rebuilt.
pub const SCHEMA_VERSION: u32 = 3;

/// How much a match in each field counts.
const SYMBOL_BOOST: f32 = 3.0;
const PATH_BOOST: f32 = 1.5;

#[derive(Clone, Copy)]
struct Fields {
    file: Field,
    root: Field,
    path: Field,
    path_text: Field,
    symbol: Field,
    symbols_text: Field,
    names: Field,
    scope: Field,
    context: Field,
    content: Field,
    kind: Field,
    language: Field,
    start_line: Field,
    end_line: Field,
    byte_start: Field,
    byte_end: Field,
    vec_key: Field,
    file_hash: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let code = |stored: bool| {
        let idx = TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions);
        let opts = TextOptions::default().set_indexing_options(idx);
        if stored { opts.set_stored() } else { opts }
    };
    let fields = Fields {
        file: b.add_text_field("file", STRING),
        root: b.add_u64_field("root", STORED),
        path: b.add_text_field("path", STORED),
        path_text: b.add_text_field("path_text", code(false)),
        symbol: b.add_text_field("symbol", STORED),
        symbols_text: b.add_text_field("symbols_text", code(false)),
        names: b.add_text_field("names", STORED),
        scope: b.add_text_field("scope", STORED),
        context: b.add_text_field("context", STORED),
        content: b.add_text_field("content", code(true)),
        kind: b.add_text_field("kind", STRING | STORED),
        language: b.add_text_field("language", STRING | STORED),
        start_line: b.add_u64_field("start_line", STORED),
        end_line: b.add_u64_field("end_line", STORED),
        byte_start: b.add_u64_field("byte_start", STORED),
        byte_end: b.add_u64_field("byte_end", STORED),
        vec_key: b.add_u64_field("vec_key", INDEXED | STORED | FAST),
        file_hash: b.add_text_field("file_hash", STORED),
    };
    (b.build(), fields)
}

/// The term that identifies every chunk of one file.
pub fn file_term_text(root: u32, path: &str) -> String {
    format!("{root}\u{1f}{path}")
}

/// Filters applied inside the lexical query.
#[derive(Debug, Default, Clone)]
pub struct LexicalFilter {
    pub language: Option<String>,
    pub kind: Option<String>,
}

pub struct Lexical {
    index: Index,
    reader: IndexReader,
    writer: IndexWriter,
    fields: Fields,
}

impl Lexical {
    /// Opens the index in `dir`, creating it if absent. A directory tantivy cannot
    /// open is reported, not repaired: the caller decides to rebuild.
    pub fn open(dir: &Path) -> Result<Lexical, IndexError> {
        std::fs::create_dir_all(dir).map_err(|e| IndexError::io(dir, e))?;
        let (schema, fields) = schema();
        let mmap = MmapDirectory::open(dir).map_err(|e| IndexError::corrupt(dir, e))?;
        let index = Index::open_or_create(mmap, schema).map_err(|e| IndexError::corrupt(dir, e))?;
        index
            .tokenizers()
            .register(TOKENIZER, TextAnalyzer::from(CodeTokenizer));
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|e| IndexError::corrupt(dir, e))?;
        let writer = index
            .writer_with_num_threads(1, 64 << 20)
            .map_err(|e| IndexError::corrupt(dir, e))?;
        // A process killed mid-commit leaves files no commit refers to, among them
        // delete files named by an opstamp this writer will reach again (creating one
        // then fails with "file already exists"). Remove them before any write.
        writer
            .garbage_collect_files()
            .wait()
            .map_err(|e| IndexError::corrupt(dir, e))?;
        Ok(Lexical {
            index,
            reader,
            writer,
            fields,
        })
    }

    /// Verifies every segment file's checksum; a flipped or truncated byte is corruption.
    pub fn validate(&self, dir: &Path) -> Result<(), IndexError> {
        let bad = self
            .index
            .validate_checksum()
            .map_err(|e| IndexError::corrupt(dir, e))?;
        if bad.is_empty() {
            Ok(())
        } else {
            Err(IndexError::corrupt(
                dir,
                format!("{} damaged segment file(s)", bad.len()),
            ))
        }
    }

    /// The payload of the last commit: the generation it belongs to.
    pub fn committed_generation(&self) -> Option<u64> {
        generation_of(&self.index)
    }

    pub fn delete_file(&mut self, root: u32, path: &str) {
        let term = Term::from_field_text(self.fields.file, &file_term_text(root, path));
        self.writer.delete_term(term);
    }

    pub fn delete_all(&mut self) -> Result<(), IndexError> {
        self.writer
            .delete_all_documents()
            .map_err(IndexError::tantivy)?;
        Ok(())
    }

    pub fn add(
        &mut self,
        root: u32,
        path: &str,
        file_hash: &str,
        language: &str,
        c: &scry_chunk::Chunk,
    ) -> Result<(), IndexError> {
        let f = &self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.file, file_term_text(root, path));
        doc.add_u64(f.root, u64::from(root));
        doc.add_text(f.path, path);
        doc.add_text(f.path_text, path);
        if let Some(s) = &c.symbol {
            doc.add_text(f.symbol, s);
        }
        if !c.symbols.is_empty() {
            doc.add_text(f.names, c.symbols.join("\n"));
        }
        let mut names = c.symbols.join(" ");
        if let Some(scope) = &c.scope {
            names.push(' ');
            names.push_str(scope);
        }
        doc.add_text(f.symbols_text, names);
        if let Some(s) = &c.scope {
            doc.add_text(f.scope, s);
        }
        if let Some(s) = &c.context {
            doc.add_text(f.context, s);
        }
        doc.add_text(f.content, &c.text);
        doc.add_text(f.kind, c.kind.as_str());
        doc.add_text(f.language, language);
        doc.add_u64(f.start_line, u64::from(c.start_line));
        doc.add_u64(f.end_line, u64::from(c.end_line));
        doc.add_u64(f.byte_start, c.byte_start as u64);
        doc.add_u64(f.byte_end, c.byte_end as u64);
        doc.add_u64(f.vec_key, c.hash.key());
        doc.add_text(f.file_hash, file_hash);
        self.writer.add_document(doc).map_err(IndexError::tantivy)?;
        Ok(())
    }

    /// Commits everything added and deleted, tagged with `generation`.
    pub fn commit(&mut self, generation: u64) -> Result<(), IndexError> {
        let mut prepared = self.writer.prepare_commit().map_err(IndexError::tantivy)?;
        prepared.set_payload(&format!("scry-generation:{generation}"));
        prepared.commit().map_err(IndexError::tantivy)?;
        Ok(())
    }

    /// Throws away uncommitted changes (after a failed commit).
    pub fn rollback(&mut self) -> Result<(), IndexError> {
        self.writer.rollback().map_err(IndexError::tantivy)?;
        Ok(())
    }

    /// A searcher pinned to the last commit.
    pub fn snapshot(&self) -> Result<LexicalSnapshot, IndexError> {
        self.reader.reload().map_err(IndexError::tantivy)?;
        Ok(LexicalSnapshot {
            searcher: self.reader.searcher(),
            fields: self.fields,
        })
    }
}

/// A read-only view of an index another process writes: no writer, no lock, no
/// garbage collection. For following the generations that process commits.
pub struct LexicalReader {
    index: Index,
    reader: IndexReader,
    fields: Fields,
}

impl LexicalReader {
    /// Opens an existing index; an index not yet committed even once is an error.
    pub fn open(dir: &Path) -> Result<LexicalReader, IndexError> {
        let (_, fields) = schema();
        let mmap = MmapDirectory::open(dir).map_err(|e| IndexError::corrupt(dir, e))?;
        let index = Index::open(mmap).map_err(|e| IndexError::corrupt(dir, e))?;
        index
            .tokenizers()
            .register(TOKENIZER, TextAnalyzer::from(CodeTokenizer));
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|e| IndexError::corrupt(dir, e))?;
        Ok(LexicalReader {
            index,
            reader,
            fields,
        })
    }

    /// The generation of the last commit on disk.
    pub fn committed_generation(&self) -> Option<u64> {
        generation_of(&self.index)
    }

    /// A searcher pinned to exactly `generation`, or `None` when the commit on disk is
    /// another one (the writer is mid-commit: try again shortly).
    pub fn snapshot_of(&self, generation: u64) -> Result<Option<LexicalSnapshot>, IndexError> {
        if self.committed_generation().unwrap_or(0) != generation {
            return Ok(None);
        }
        self.reader.reload().map_err(IndexError::tantivy)?;
        let searcher = self.reader.searcher();
        // A commit between the check and the reload would show as a changed generation.
        if self.committed_generation().unwrap_or(0) != generation {
            return Ok(None);
        }
        Ok(Some(LexicalSnapshot {
            searcher,
            fields: self.fields,
        }))
    }
}

fn generation_of(index: &Index) -> Option<u64> {
    let metas = index.load_metas().ok()?;
    metas
        .payload?
        .strip_prefix("scry-generation:")?
        .parse()
        .ok()
}

/// A chunk that defines a named symbol: what `workspace/symbol` and `find_symbol` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolEntry {
    pub root: u32,
    pub path: String,
    pub symbol: String,
    pub scope: Option<String>,
    pub kind: String,
    pub language: String,
    pub start_line: u32,
    pub end_line: u32,
    pub byte_start: usize,
    pub byte_end: usize,
    pub file_hash: String,
}

/// Where `name` is defined inside a chunk's text: its first whole-word occurrence on a
/// line that looks like a definition, else its first whole-word occurrence. The kind is
/// read from the keyword before it (`struct`, `fn`, `class`…).
fn locate_name(chunk: &SymbolEntry, body: &str, name: &str) -> Option<SymbolEntry> {
    let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    let mut first = None;
    let mut from = 0;
    while let Some(i) = body[from..].find(name).map(|i| i + from) {
        from = i + name.len().max(1);
        let before = body[..i].chars().next_back();
        let after = body[i + name.len()..].chars().next();
        if before.is_some_and(is_word) || after.is_some_and(is_word) {
            continue;
        }
        let line_start = body[..i].rfind('\n').map_or(0, |n| n + 1);
        let kind = definition_kind(&body[line_start..i], &chunk.kind);
        let defines = kind.is_some();
        if first.is_none() || defines {
            first = Some((i, kind));
        }
        if defines {
            break;
        }
    }
    let (i, kind) = first?;
    let line = chunk.start_line + body[..i].matches('\n').count() as u32;
    Some(SymbolEntry {
        symbol: name.to_owned(),
        kind: kind.unwrap_or_else(|| "function".to_owned()),
        start_line: line,
        end_line: line,
        byte_start: chunk.byte_start + i,
        byte_end: chunk.byte_start + i + name.len(),
        ..chunk.clone()
    })
}

/// The kind of definition the keyword right before a name announces, if any.
fn definition_kind(prefix: &str, chunk_kind: &str) -> Option<String> {
    let words: Vec<&str> = prefix
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    let in_type = matches!(chunk_kind, "impl" | "class" | "trait" | "interface");
    // Only the word right before the name: `fn parse(…) -> Config` uses Config.
    if let Some(w) = words.last() {
        let kind = match *w {
            "fn" | "def" | "function" | "func" | "fun" | "sub" => {
                if in_type {
                    "method"
                } else {
                    "function"
                }
            }
            "struct" | "union" => "struct",
            "enum" => "enum",
            "trait" => "trait",
            "interface" | "protocol" => "interface",
            "class" | "record" => "class",
            "impl" => "impl",
            "const" | "static" | "let" | "var" | "val" => "constant",
            "type" | "typedef" => "type",
            "mod" | "module" | "namespace" | "package" => "module",
            "macro_rules" | "macro" | "define" => "macro",
            _ => return None,
        };
        return Some(kind.to_owned());
    }
    None
}

/// The symbols of one segment, by document id.
type SegmentSymbols = std::sync::Arc<Vec<(tantivy::DocId, SymbolEntry)>>;

/// Symbols read from each (immutable) segment, kept across snapshots.
#[derive(Default)]
pub struct SymbolCache {
    segments:
        parking_lot::Mutex<std::collections::HashMap<tantivy::index::SegmentId, SegmentSymbols>>,
}

/// An immutable view of one commit.
#[derive(Clone)]
pub struct LexicalSnapshot {
    searcher: Searcher,
    fields: Fields,
}

impl LexicalSnapshot {
    /// A snapshot of an empty index (in memory).
    pub fn empty() -> LexicalSnapshot {
        let (schema, fields) = schema();
        let index = Index::create_in_ram(schema);
        index
            .tokenizers()
            .register(TOKENIZER, TextAnalyzer::from(CodeTokenizer));
        let reader = index.reader().expect("an in-memory index has a reader");
        LexicalSnapshot {
            searcher: reader.searcher(),
            fields,
        }
    }

    pub fn num_chunks(&self) -> u64 {
        self.searcher.num_docs()
    }

    /// BM25 over content, symbols (boosted) and path (boosted). Returns documents in
    /// rank order with their scores.
    pub fn search(
        &self,
        query: &str,
        limit: usize,
        filter: &LexicalFilter,
    ) -> Result<Vec<(f32, DocAddress)>, IndexError> {
        let f = &self.fields;
        let mut terms: Vec<String> = tokenize(query).into_iter().map(|t| t.text).collect();
        terms.sort();
        terms.dedup();
        if terms.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for t in &terms {
            for (field, boost) in [
                (f.content, 1.0),
                (f.symbols_text, SYMBOL_BOOST),
                (f.path_text, PATH_BOOST),
            ] {
                let q = TermQuery::new(
                    Term::from_field_text(field, t),
                    IndexRecordOption::WithFreqs,
                );
                should.push((Occur::Should, Box::new(BoostQuery::new(Box::new(q), boost))));
            }
        }
        let text_query: Box<dyn Query> = Box::new(BooleanQuery::new(should));
        let mut must: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, text_query)];
        if let Some(lang) = &filter.language {
            must.push((
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(f.language, lang),
                    IndexRecordOption::Basic,
                )),
            ));
        }
        if let Some(kind) = &filter.kind {
            must.push((
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(f.kind, kind),
                    IndexRecordOption::Basic,
                )),
            ));
        }
        let q = BooleanQuery::new(must);
        let top = self
            .searcher
            .search(&q, &TopDocs::with_limit(limit).order_by_score())
            .map_err(IndexError::tantivy)?;
        Ok(top)
    }

    /// The hash of the content a file was indexed from; `None` when it is not indexed.
    pub fn file_hash(&self, root: u32, path: &str) -> Result<Option<String>, IndexError> {
        let q = TermQuery::new(
            Term::from_field_text(self.fields.file, &file_term_text(root, path)),
            IndexRecordOption::Basic,
        );
        let top = self
            .searcher
            .search(&q, &TopDocs::with_limit(1).order_by_score())
            .map_err(IndexError::tantivy)?;
        match top.first() {
            Some((_, addr)) => Ok(Some(self.load(*addr)?.file_hash)),
            None => Ok(None),
        }
    }

    /// Every chunk whose vector key is `key`.
    pub fn docs_with_key(&self, key: u64) -> Result<Vec<DocAddress>, IndexError> {
        let q = TermQuery::new(
            Term::from_field_u64(self.fields.vec_key, key),
            IndexRecordOption::Basic,
        );
        let top = self
            .searcher
            .search(&q, &TopDocs::with_limit(64).order_by_score())
            .map_err(IndexError::tantivy)?;
        Ok(top.into_iter().map(|(_, a)| a).collect())
    }

    pub fn load(&self, addr: DocAddress) -> Result<StoredChunk, IndexError> {
        let f = &self.fields;
        let doc: TantivyDocument = self.searcher.doc(addr).map_err(IndexError::tantivy)?;
        let text = |field: Field| {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        let num = |field: Field| doc.get_first(field).and_then(|v| v.as_u64()).unwrap_or(0);
        Ok(StoredChunk {
            root: num(f.root) as u32,
            path: text(f.path).unwrap_or_default(),
            symbol: text(f.symbol),
            scope: text(f.scope),
            context: text(f.context),
            text: text(f.content).unwrap_or_default(),
            kind: text(f.kind).unwrap_or_default(),
            language: text(f.language).unwrap_or_default(),
            start_line: num(f.start_line) as u32,
            end_line: num(f.end_line) as u32,
            byte_start: num(f.byte_start) as usize,
            byte_end: num(f.byte_end) as usize,
            vec_key: num(f.vec_key),
            file_hash: text(f.file_hash).unwrap_or_default(),
        })
    }

    /// Every chunk that defines a named symbol, without its text. Segments are immutable,
    /// so each one's symbols are read once and kept in `cache` by segment id; only the
    /// alive-document filter is applied per snapshot. An edit that adds a one-file
    /// segment costs one small read, not a scan of the index.
    pub fn symbols(&self, cache: &SymbolCache) -> Result<Vec<SymbolEntry>, IndexError> {
        let mut out = Vec::new();
        self.for_each_symbol(cache, |e| out.push(e.clone()))?;
        Ok(out)
    }

    /// Calls `f` with every live symbol, without copying them.
    pub fn for_each_symbol(
        &self,
        cache: &SymbolCache,
        mut f: impl FnMut(&SymbolEntry),
    ) -> Result<(), IndexError> {
        let mut live = std::collections::HashSet::new();
        for seg in self.searcher.segment_readers() {
            let id = seg.segment_id();
            live.insert(id);
            let cached = cache.segments.lock().get(&id).cloned();
            let entries = match cached {
                Some(e) => e,
                None => {
                    let e = std::sync::Arc::new(self.segment_symbols(seg)?);
                    cache.segments.lock().insert(id, e.clone());
                    e
                }
            };
            let alive = seg.alive_bitset();
            entries
                .iter()
                .filter(|(doc, _)| alive.is_none_or(|a| a.is_alive(*doc)))
                .for_each(|(_, e)| f(e));
        }
        cache.segments.lock().retain(|id, _| live.contains(id));
        Ok(())
    }

    fn segment_symbols(
        &self,
        seg: &tantivy::SegmentReader,
    ) -> Result<Vec<(tantivy::DocId, SymbolEntry)>, IndexError> {
        let f = &self.fields;
        let store = seg
            .get_store_reader(64)
            .map_err(|e| IndexError::tantivy(e.into()))?;
        let mut out = Vec::new();
        for doc_id in 0..seg.max_doc() {
            let doc: TantivyDocument = store.get(doc_id).map_err(IndexError::tantivy)?;
            let text = |field: Field| {
                doc.get_first(field)
                    .and_then(|v| v.as_str())
                    .map(str::to_owned)
            };
            let num = |field: Field| doc.get_first(field).and_then(|v| v.as_u64()).unwrap_or(0);
            let chunk = SymbolEntry {
                root: num(f.root) as u32,
                path: text(f.path).unwrap_or_default(),
                symbol: String::new(),
                scope: text(f.scope),
                kind: text(f.kind).unwrap_or_default(),
                language: text(f.language).unwrap_or_default(),
                start_line: num(f.start_line) as u32,
                end_line: num(f.end_line) as u32,
                byte_start: num(f.byte_start) as usize,
                byte_end: num(f.byte_end) as usize,
                file_hash: text(f.file_hash).unwrap_or_default(),
            };
            let primary = text(f.symbol);
            if let Some(symbol) = &primary {
                out.push((
                    doc_id,
                    SymbolEntry {
                        symbol: symbol.clone(),
                        ..chunk.clone()
                    },
                ));
            }
            // Definitions nested in or merged into this chunk: each at its own line.
            let Some(names) = text(f.names) else {
                continue;
            };
            let body = text(f.content).unwrap_or_default();
            for name in names.lines() {
                if primary.as_deref() == Some(name) {
                    continue;
                }
                if let Some(e) = locate_name(&chunk, &body, name) {
                    out.push((doc_id, e));
                }
            }
        }
        Ok(out)
    }

    /// Every stored chunk, for consistency checks and tests.
    pub fn all_chunks(&self) -> Result<Vec<StoredChunk>, IndexError> {
        let mut out = Vec::new();
        for (seg_ord, seg) in self.searcher.segment_readers().iter().enumerate() {
            for doc_id in seg.doc_ids_alive() {
                out.push(self.load(DocAddress::new(seg_ord as u32, doc_id))?);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod symbol_tests {
    use super::*;

    fn chunk() -> SymbolEntry {
        SymbolEntry {
            root: 0,
            path: "src/lib.rs".into(),
            symbol: String::new(),
            scope: None,
            kind: "function".into(),
            language: "rust".into(),
            start_line: 1,
            end_line: 8,
            byte_start: 0,
            byte_end: 0,
            file_hash: String::new(),
        }
    }

    #[test]
    fn a_merged_name_is_placed_at_its_definition_not_its_first_use() {
        let body = "/// Parses.\npub fn parse_config(path: &str) -> Config {\n    Config { path: path.into() }\n}\n\npub struct Config {\n    path: String,\n}";
        let e = locate_name(&chunk(), body, "Config").unwrap();
        assert_eq!(e.kind, "struct");
        assert_eq!(e.start_line, 6);
        assert_eq!(&body[e.byte_start..e.byte_end], "Config");
    }

    #[test]
    fn a_name_inside_a_longer_word_is_not_a_match() {
        let body = "fn xparse() {}\nfn parse() {}";
        let e = locate_name(&chunk(), body, "parse").unwrap();
        assert_eq!(e.start_line, 2);
        assert_eq!(e.kind, "function");
    }
}
