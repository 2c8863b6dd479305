//! The lexical index: chunks as tantivy documents, BM25 search with symbol and path boosts.

use std::collections::HashMap;
use std::path::Path;

use tantivy::collector::TopDocs;
use tantivy::directory::MmapDirectory;
use tantivy::indexer::UserOperation;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term,
};

use scry_chunk::{Definition, Span};

use crate::live_stats::{Counted, LiveStats};
use crate::tokenizer::{CodeTokenizer, query_terms};
use crate::{FileHash, IndexError, StoredChunk};

const TOKENIZER: &str = "scry_code";
/// Bumped when the schema, the tokenizer or what is stored changes (v3: secrets masked;
/// v4: definitions with kinds and spans; v5: exact token counts for BM25 statistics;
/// v6: English stems beside words; v7: module-level constants and re-exports are
/// definitions; v8: no positions, which no query reads); an index of another version
/// is rebuilt.
pub const SCHEMA_VERSION: u32 = 8;

/// tantivy's memory budget for the segment in construction (its minimum is 15 MB).
const WRITER_BUDGET: usize = 16 << 20;

/// How much a match in each field counts.
/// BM25's weight of a match in a chunk's names, and in its path, beside its content.
pub const SYMBOL_BOOST: f32 = 3.0;
pub const PATH_BOOST: f32 = 1.5;

#[derive(Clone, Copy)]
struct Fields {
    file: Field,
    root: Field,
    path: Field,
    path_text: Field,
    symbol: Field,
    symbols_text: Field,
    definitions: Field,
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
    file_key: Field,
    file_hash: Field,
    tokens_content: Field,
    tokens_symbols: Field,
    tokens_path: Field,
}

impl Fields {
    /// The scored fields, each with the fast field of its exact per-document token count.
    fn counted(&self) -> [Counted; 3] {
        [
            Counted {
                text: self.content,
                count: "tokens_content",
            },
            Counted {
                text: self.symbols_text,
                count: "tokens_symbols",
            },
            Counted {
                text: self.path_text,
                count: "tokens_path",
            },
        ]
    }
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let code = |stored: bool| {
        // Frequencies without positions: every query is a bag of terms, and positions
        // took a fifth of the index files (10.9 to 8.8 MiB for a 10 MiB tree) and the
        // matching memory while a segment is built.
        let idx = TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqs);
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
        definitions: b.add_text_field("definitions", STORED),
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
        file_key: b.add_u64_field("file_key", FAST),
        file_hash: b.add_text_field("file_hash", STORED),
        tokens_content: b.add_u64_field("tokens_content", FAST),
        tokens_symbols: b.add_u64_field("tokens_symbols", FAST),
        tokens_path: b.add_u64_field("tokens_path", FAST),
    };
    (b.build(), fields)
}

/// The term that identifies every chunk of one file.
pub fn file_term_text(root: u32, path: &str) -> String {
    format!("{root}\u{1f}{path}")
}

/// A file's identity as a number, stored with each of its chunks as a fast field so a
/// search can tell which hits share a file without loading them.
pub fn file_key(root: u32, path: &str) -> u64 {
    let h = blake3::hash(file_term_text(root, path).as_bytes());
    u64::from_le_bytes(h.as_bytes()[..8].try_into().expect("8 bytes"))
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
        // The segment being built is the largest thing in memory while indexing: past
        // this budget tantivy writes it out and starts another. 64 MiB let a batch of
        // 48 files of 512 KiB peak at 1.6x their size above a one-file tree; 16 MiB at
        // 1.1-1.25x (`scripts/bench-memory.py`). Batches of ordinary files stay under it.
        let writer = index
            .writer_with_num_threads(1, WRITER_BUDGET)
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

    /// Adds one file's chunks. They go to tantivy's indexing thread as one group: its
    /// queue is a ring of 10,000 slots of ~250 bytes (2.5 MB), recreated at each commit,
    /// whose pages become resident as messages pass through them. One message per chunk
    /// wrote ~4,500 slots in a 400-file batch of ordinary code; one per file writes 400.
    pub fn add_file(
        &mut self,
        root: u32,
        path: &str,
        file_hash: FileHash,
        language: &str,
        chunks: &[scry_chunk::Chunk],
    ) -> Result<(), IndexError> {
        let file_hash = file_hash.to_string();
        let ops: Vec<UserOperation> = chunks
            .iter()
            .map(|c| UserOperation::Add(self.document(root, path, &file_hash, language, c)))
            .collect();
        self.writer.run(ops).map_err(IndexError::tantivy)?;
        Ok(())
    }

    fn document(
        &self,
        root: u32,
        path: &str,
        file_hash: &str,
        language: &str,
        c: &scry_chunk::Chunk,
    ) -> TantivyDocument {
        let f = &self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.file, file_term_text(root, path));
        doc.add_u64(f.file_key, file_key(root, path));
        doc.add_u64(f.root, u64::from(root));
        doc.add_text(f.path, path);
        doc.add_text(f.path_text, path);
        doc.add_u64(f.tokens_path, count_tokens(path));
        if let Some(s) = &c.symbol {
            doc.add_text(f.symbol, s);
        }
        if !c.definitions.is_empty() {
            doc.add_text(f.definitions, encode_definitions(&c.definitions));
        }
        let names = boosted_names(c.symbol.as_deref(), &c.definitions, c.scope.as_deref());
        doc.add_u64(f.tokens_symbols, count_tokens(&names));
        doc.add_text(f.symbols_text, names);
        if let Some(s) = &c.scope {
            doc.add_text(f.scope, s);
        }
        if let Some(s) = &c.context {
            doc.add_text(f.context, s);
        }
        doc.add_text(f.content, &c.text);
        doc.add_u64(f.tokens_content, count_tokens(&c.text));
        doc.add_text(f.kind, c.kind.as_str());
        doc.add_text(f.language, language);
        doc.add_u64(f.start_line, u64::from(c.span.start_line));
        doc.add_u64(f.end_line, u64::from(c.span.end_line));
        doc.add_u64(f.byte_start, c.span.byte_start as u64);
        doc.add_u64(f.byte_end, c.span.byte_end as u64);
        doc.add_u64(f.vec_key, c.hash.key());
        doc.add_text(f.file_hash, file_hash);
        doc
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
            live_totals: Default::default(),
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
            live_totals: Default::default(),
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

/// Tokens the index's analyzer makes of `text`: what tantivy counts for BM25.
fn count_tokens(text: &str) -> u64 {
    let mut analyzer = TextAnalyzer::from(CodeTokenizer);
    let mut stream = analyzer.token_stream(text);
    let mut n = 0;
    while stream.advance() {
        n += 1;
    }
    n
}

/// A definition in the index: what `workspace/symbol` and `find_symbol` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolEntry {
    pub root: u32,
    pub path: String,
    pub language: String,
    pub file_hash: FileHash,
    pub definition: Definition,
}

/// The names BM25 boosts: the chunk's label (a part of a split definition is found by
/// its owner's name too), once, then the other definitions in it, and its scope.
pub fn boosted_names(
    label: Option<&str>,
    definitions: &[Definition],
    scope: Option<&str>,
) -> String {
    let mut names: Vec<&str> = label.into_iter().collect();
    names.extend(
        definitions
            .iter()
            .map(|d| d.name.as_str())
            .filter(|n| Some(*n) != label),
    );
    names.extend(scope);
    names.join(" ")
}

/// Definitions are stored as JSON (the doc store compresses the field names away).
pub fn encode_definitions(defs: &[Definition]) -> String {
    serde_json::to_string(defs).unwrap_or_default()
}

/// The definitions stored with a chunk; none when the field is absent or unreadable
/// (the chunk itself stays searchable).
pub fn decode_definitions(text: Option<&str>) -> Vec<Definition> {
    text.and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default()
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
    /// Token totals of the live documents, per counted field (see `live_stats`).
    live_totals: std::sync::Arc<std::sync::OnceLock<Vec<u64>>>,
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
            live_totals: Default::default(),
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
        let mut terms = query_terms(query);
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
        let counted = f.counted();
        let stats = LiveStats::new(&self.searcher, &counted, &self.live_totals);
        let top = self
            .searcher
            .search_with_statistics_provider(
                &q,
                &TopDocs::with_limit(limit).order_by_score(),
                &stats,
            )
            .map_err(IndexError::tantivy)?;
        Ok(top)
    }

    /// How many live chunks mention `word` (a lowercase token of the content field).
    pub fn content_doc_freq(&self, word: &str) -> u64 {
        use tantivy::query::Bm25StatisticsProvider;
        let counted = self.fields.counted();
        let stats = LiveStats::new(&self.searcher, &counted, &self.live_totals);
        stats
            .doc_freq(&Term::from_field_text(self.fields.content, word))
            .unwrap_or(0)
    }

    /// The hash of the content a file was indexed from; `None` when it is not indexed.
    pub fn file_hash(&self, root: u32, path: &str) -> Result<Option<FileHash>, IndexError> {
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

    /// The [`file_key`] of each document, read from its fast field.
    pub fn file_keys(&self, addrs: &[DocAddress]) -> Result<Vec<u64>, IndexError> {
        let mut columns = HashMap::new();
        let mut keys = Vec::with_capacity(addrs.len());
        for a in addrs {
            let column = match columns.entry(a.segment_ord) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => e.insert(
                    self.searcher
                        .segment_reader(a.segment_ord)
                        .fast_fields()
                        .u64("file_key")
                        .map_err(IndexError::tantivy)?,
                ),
            };
            keys.push(column.first(a.doc_id).unwrap_or(0));
        }
        Ok(keys)
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
            span: Span::new(
                num(f.byte_start) as usize,
                num(f.byte_end) as usize,
                num(f.start_line) as u32,
                num(f.end_line) as u32,
            ),
            symbol: text(f.symbol),
            scope: text(f.scope),
            context: text(f.context),
            text: text(f.content).unwrap_or_default(),
            kind: text(f.kind).unwrap_or_default(),
            language: text(f.language).unwrap_or_default(),
            definitions: decode_definitions(text(f.definitions).as_deref()),
            vec_key: num(f.vec_key),
            file_hash: text(f.file_hash)
                .and_then(|h| h.parse().ok())
                .unwrap_or_default(),
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
            let text = |field: Field| doc.get_first(field).and_then(|v| v.as_str());
            let definitions = decode_definitions(text(f.definitions));
            if definitions.is_empty() {
                continue;
            }
            let root = doc.get_first(f.root).and_then(|v| v.as_u64()).unwrap_or(0) as u32;
            let path = text(f.path).unwrap_or_default().to_owned();
            let language = text(f.language).unwrap_or_default().to_owned();
            let file_hash = text(f.file_hash)
                .and_then(|h| h.parse().ok())
                .unwrap_or_default();
            for definition in definitions {
                out.push((
                    doc_id,
                    SymbolEntry {
                        root,
                        path: path.clone(),
                        language: language.clone(),
                        file_hash,
                        definition,
                    },
                ));
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
mod live_stats_tests {
    use tantivy::query::Bm25StatisticsProvider;

    use super::*;

    /// Chunks each `(path, source)` and adds the chunks (not committed).
    fn add_files(lex: &mut Lexical, files: &[(&str, &str)]) {
        for &(path, src) in files {
            let out = scry_chunk::chunk_file(path, src.as_bytes(), &Default::default());
            lex.add_file(
                0,
                path,
                FileHash::of(src.as_bytes()),
                out.language,
                &out.chunks,
            )
            .unwrap();
        }
    }

    /// The counts written at indexing are the analyzer's own: on an index without
    /// deletes they equal tantivy's totals exactly.
    #[test]
    fn counted_tokens_equal_what_tantivy_indexed() {
        let dir = tempfile::tempdir().unwrap();
        let mut lex = Lexical::open(dir.path()).unwrap();
        add_files(
            &mut lex,
            &[
                (
                    "src/http_adapter.rs",
                    "/// Sends it.\npub fn send_request(r: &HttpRequest) -> Result<(), Error> {\n    r.retry_policy.apply(parseHTTPResponse2(r))\n}\n",
                ),
                (
                    "lib/session.py",
                    "class Session:\n    def merge_environment_settings(self, url, proxies):\n        return self.trust_env and get_netrc_auth(url)\n",
                ),
            ],
        );
        lex.commit(1).unwrap();
        let snap = lex.snapshot().unwrap();
        let counted = snap.fields.counted();
        let live = LiveStats::new(&snap.searcher, &counted, &snap.live_totals);
        for c in counted {
            let ours = live.total_num_tokens(c.text).unwrap();
            let theirs = snap.searcher.total_num_tokens(c.text).unwrap();
            assert_eq!(ours, theirs, "{}", c.count);
            assert!(ours > 0);
        }
        assert_eq!(
            live.doc_freq(&Term::from_field_text(snap.fields.content, "retry"))
                .unwrap(),
            1
        );
    }
    #[test]
    fn a_word_counts_the_live_chunks_that_mention_it_whole_or_in_parts() {
        let dir = tempfile::tempdir().unwrap();
        let mut lex = Lexical::open(dir.path()).unwrap();
        let files = [
            ("gson/Gson.java", "public final class Gson {\n  int x;\n}\n"),
            (
                "gson/GsonBuilder.java",
                "public final class GsonBuilder {\n  Gson create() { return new Gson(); }\n}\n",
            ),
            ("gson/Other.java", "class Other {\n  GsonBuilder b;\n}\n"),
        ];
        add_files(&mut lex, &files);
        lex.commit(1).unwrap();
        let snap = lex.snapshot().unwrap();
        assert_eq!(snap.content_doc_freq("gsonbuilder"), 2);
        // `GsonBuilder` says `gson` too: every file names it.
        assert_eq!(snap.content_doc_freq("gson"), 3);
        assert_eq!(snap.content_doc_freq("absent"), 0);
        // A deleted file's chunks no longer count.
        lex.delete_file(0, "gson/Other.java");
        lex.commit(2).unwrap();
        assert_eq!(lex.snapshot().unwrap().content_doc_freq("gsonbuilder"), 1);
    }
}
