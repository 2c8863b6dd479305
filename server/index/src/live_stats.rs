//! BM25 statistics of the live documents only, so that ranking after any sequence of
//! edits equals ranking in an index built from scratch.
//!
//! Tantivy's own statistics count deleted documents until a merge removes them (an
//! edited file's old chunks still weigh in its terms' document frequencies and in the
//! average length), and a merge of a segment with deletes writes an *estimated* token
//! total from quantized field norms. Here every document carries its exact token count
//! per scored field (a fast field written at indexing), and document frequencies skip
//! deleted documents, so the figures are exactly those of a fresh index.

use std::sync::OnceLock;

use tantivy::query::Bm25StatisticsProvider;
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocSet, Searcher, TERMINATED, Term};

/// A scored text field and the fast field holding each document's token count in it.
#[derive(Clone, Copy)]
pub(crate) struct Counted {
    pub text: Field,
    pub count: &'static str,
}

/// The exact statistics of one snapshot, computed on first use.
pub(crate) struct LiveStats<'a> {
    searcher: &'a Searcher,
    counted: &'a [Counted],
    totals: &'a OnceLock<Vec<u64>>,
}

impl<'a> LiveStats<'a> {
    pub fn new(
        searcher: &'a Searcher,
        counted: &'a [Counted],
        totals: &'a OnceLock<Vec<u64>>,
    ) -> LiveStats<'a> {
        LiveStats {
            searcher,
            counted,
            totals,
        }
    }

    /// Tokens in each counted field over the live documents.
    fn totals(&self) -> &[u64] {
        self.totals.get_or_init(|| {
            self.counted
                .iter()
                .map(|c| live_tokens(self.searcher, c.count))
                .collect()
        })
    }
}

fn live_tokens(searcher: &Searcher, count_field: &str) -> u64 {
    let mut total = 0;
    for segment in searcher.segment_readers() {
        // A segment written before the counts existed has none: the index is rebuilt
        // on a schema change, so this does not happen outside tests of old data.
        let Ok(column) = segment.fast_fields().u64(count_field) else {
            continue;
        };
        for doc in segment.doc_ids_alive() {
            total += column.first(doc).unwrap_or(0);
        }
    }
    total
}

impl Bm25StatisticsProvider for LiveStats<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        match self.counted.iter().position(|c| c.text == field) {
            Some(i) => Ok(self.totals()[i]),
            None => self.searcher.total_num_tokens(field),
        }
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        Ok(self.searcher.num_docs())
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        let mut total = 0u64;
        for segment in self.searcher.segment_readers() {
            let inverted = segment.inverted_index(term.field())?;
            let Some(alive) = segment.alive_bitset() else {
                total += u64::from(inverted.doc_freq(term)?);
                continue;
            };
            let Some(mut postings) = inverted.read_postings(term, IndexRecordOption::Basic)? else {
                continue;
            };
            let mut doc = postings.doc();
            while doc != TERMINATED {
                if alive.is_alive(doc) {
                    total += 1;
                }
                doc = postings.advance();
            }
        }
        Ok(total)
    }
}
