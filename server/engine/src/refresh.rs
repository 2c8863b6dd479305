//! Bringing the index up to date with the disk: plan the changes (the walk against the
//! committed file table), apply them in batches (each one commit, so an interrupted run
//! keeps its progress), then embed what still waits for a vector.

use std::cell::RefCell;
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Instant;

use scry_index::file_term_text;

use crate::changes::{self, Change};
use crate::discover::Candidate;
use crate::follow::FollowEvent;
use crate::report::{Phase, Progress, RefreshReport};
use crate::state::Role;
use crate::tier::Tier;
use crate::writer::{Apply, EmbedWith, FileContent, FileUpdate, Step};
use crate::{Engine, EngineError};

pub(crate) fn refresh(
    engine: &Engine,
    force: &HashSet<PathBuf>,
    progress: &mut dyn FnMut(&Progress),
) -> Result<RefreshReport, EngineError> {
    let t0 = Instant::now();
    let inner = &engine.inner;
    // A follower leaves the disk to the writer; it reloads, or takes over.
    if !inner.is_writer() && engine.follow()? != FollowEvent::TookOver {
        return Ok(RefreshReport::unchanged(engine.generation()));
    }
    let mut track = Tracker::new(progress);
    track.report();
    let walked = inner.discovery.walk(&inner.roots);

    let mut role = inner.role.lock();
    let Role::Writer(state) = &mut *role else {
        return Ok(RefreshReport::unchanged(inner.published.read().generation));
    };
    let overlays = state.overlays.clone();
    let plan = changes::plan(
        walked,
        state.writer.files(),
        &|key| overlays.contains_key(key),
        force,
    );
    let mut report = RefreshReport {
        files_seen: plan.files_seen,
        files_unchanged: plan.unchanged,
        files_skipped: plan.skipped,
        ..RefreshReport::default()
    };
    // The fast tier when there is one (the full tier follows in the background),
    // else the full tier.
    let inline = inner.inline_embedder();
    track.start(&plan.to_read, inline.is_some());
    let with = EmbedWith {
        embedder: inline.as_ref().map(|(t, e)| (*t, e.as_ref())),
        document_prefix: &inner.config.document_prefix,
    };
    let mut removals: Vec<FileUpdate> = plan
        .removed
        .into_iter()
        .map(|(root, rel)| FileUpdate {
            root,
            rel,
            content: None,
        })
        .collect();
    // Commits every few kilobytes only when embedding is the slow part.
    let bytes_per_commit = inline
        .as_ref()
        .filter(|(t, _)| *t == Tier::Full)
        .map(|_| inner.config.embed_bytes_per_commit);
    let mut batches = batches(
        &plan.to_read,
        inner.config.files_per_commit,
        bytes_per_commit,
    );
    if batches.is_empty() && !removals.is_empty() {
        batches.push(&[]);
    }
    let mut touched = false;
    let track = RefCell::new(track);
    for batch in batches {
        track.borrow_mut().batch(batch);
        // Files are read as the writer asks for them, so it holds one file's content at
        // a time, not a batch's: 400 files of up to 1 MiB each. Stamps of files found
        // unchanged are recorded once the writer is free.
        let known = state.writer.files().clone();
        let mut stamps = Vec::new();
        let reads = batch.iter().filter_map(|c| {
            let known = known.get(&file_term_text(c.root, &c.rel));
            let read = changes::read(&inner.discovery, c, known);
            if let Ok(Change::Content(bytes)) = read {
                return Some(FileUpdate {
                    root: c.root,
                    rel: c.rel.clone(),
                    content: Some(FileContent {
                        bytes,
                        size: c.size,
                        mtime_ns: c.mtime_ns,
                        overlay: false,
                    }),
                });
            }
            // Done without chunking: the same content (only its stamp moved), or a file
            // that can no longer be indexed (removed, if it was).
            track.borrow_mut().settle(c.size);
            match read {
                Ok(_) => {
                    stamps.push(c);
                    report.files_unchanged += 1;
                    None
                }
                Err(reason) => {
                    *report.files_skipped.entry(reason.as_str()).or_default() += 1;
                    known.map(|_| FileUpdate {
                        root: c.root,
                        rel: c.rel.clone(),
                        content: None,
                    })
                }
            }
        });
        let updates = std::mem::take(&mut removals).into_iter().chain(reads);
        let stats =
            state
                .writer
                .apply(updates, Apply::FULL, &inner.config.chunk, &with, &mut |s| {
                    track.borrow_mut().step(s)
                })?;
        if stats.changed() {
            report.add(&stats);
            inner.log.lock().embedded += stats.chunks_embedded;
            // Searchable batch by batch.
            inner.publish(state)?;
            touched = false;
        }
        for c in stamps {
            touched |= state
                .writer
                .touch(&file_term_text(c.root, &c.rel), c.size, c.mtime_ns);
        }
        track.borrow_mut().batch_done();
    }
    let mut track = track.into_inner();
    if touched {
        state.writer.commit_stamps()?;
        report.commits += 1;
    }
    state.writer.finish_rebuild()?;
    if let Some((tier, _)) = &inline
        && state.writer.has_missing_vectors(*tier)
    {
        track.backfill();
        let stats = state.writer.backfill(&with, &mut |s| track.step(s))?;
        if stats.chunks_embedded > 0 || !stats.embed_errors.is_empty() {
            report.add(&stats);
            inner.log.lock().embedded += stats.chunks_embedded;
        }
    }
    if report.commits > 0 {
        inner.publish(state)?;
    }
    report.generation = state.writer.generation();
    report.seconds = t0.elapsed().as_secs_f64();
    track.done();
    Ok(report)
}

/// Embeds the chunks waiting for a vector of the inline tier (an editor's buffers,
/// indexed lexically) and commits. The full tier, when it follows in the background, is
/// [`crate::upgrade`]'s.
pub(crate) fn embed_missing(engine: &Engine) -> Result<RefreshReport, EngineError> {
    let inner = &engine.inner;
    let Some((tier, embedder)) = inner.inline_embedder() else {
        return Ok(RefreshReport::unchanged(engine.generation()));
    };
    let mut role = inner.role.lock();
    let Role::Writer(state) = &mut *role else {
        return Ok(RefreshReport::unchanged(inner.published.read().generation));
    };
    let with = EmbedWith {
        embedder: Some((tier, embedder.as_ref())),
        document_prefix: &inner.config.document_prefix,
    };
    let stats = state.writer.backfill(&with, &mut |_| {})?;
    let mut report = RefreshReport::default();
    if stats.chunks_embedded > 0 || !stats.embed_errors.is_empty() {
        report.add(&stats);
    }
    if stats.chunks_embedded > 0 {
        inner.log.lock().embedded += stats.chunks_embedded;
        inner.publish(state)?;
    }
    report.generation = state.writer.generation();
    Ok(report)
}

/// Turns the writer's steps, batch by batch, into progress over the whole refresh.
struct Tracker<'a> {
    p: Progress,
    started: Instant,
    /// With a model, a batch's bytes are done once its chunks are embedded.
    embeds: bool,
    /// Bytes of the batches finished before the one in hand.
    settled: u64,
    /// Bytes of the batch in hand that are to be chunked (and embedded).
    batch_bytes: u64,
    chunked_bytes: u64,
    /// Embedding figures of the batches before the one in hand.
    before: (usize, usize, f64),
    out: &'a mut dyn FnMut(&Progress),
}

impl<'a> Tracker<'a> {
    fn new(out: &'a mut dyn FnMut(&Progress)) -> Tracker<'a> {
        Tracker {
            p: Progress::new(Phase::Scanning),
            started: Instant::now(),
            embeds: false,
            settled: 0,
            batch_bytes: 0,
            chunked_bytes: 0,
            before: (0, 0, 0.0),
            out,
        }
    }

    fn report(&mut self) {
        self.p.elapsed = self.started.elapsed().as_secs_f64();
        (self.out)(&self.p);
    }

    fn start(&mut self, to_read: &[Candidate], embeds: bool) {
        self.embeds = embeds;
        self.p.phase = Phase::Chunking;
        self.p.files_total = to_read.len();
        self.p.bytes_total = to_read.iter().map(|c| c.size).sum();
        self.report();
    }

    /// A batch is about to be read: all of its bytes are to be chunked until a file
    /// turns out unchanged or unreadable ([`Tracker::settle`]).
    fn batch(&mut self, batch: &[Candidate]) {
        self.batch_bytes = batch.iter().map(|c| c.size).sum();
        self.chunked_bytes = 0;
        self.p.phase = Phase::Chunking;
        self.p.bytes_done = self.settled;
        self.report();
    }

    /// A file of the batch in hand needed no chunking: it is done as it is.
    fn settle(&mut self, size: u64) {
        self.p.files_done += 1;
        self.batch_bytes = self.batch_bytes.saturating_sub(size);
        self.settled += size;
    }

    fn step(&mut self, s: Step) {
        match s {
            Step::Chunked { chunks, bytes } => {
                self.p.phase = Phase::Chunking;
                self.p.files_done += 1;
                self.p.chunks += chunks;
                self.chunked_bytes += bytes;
                if !self.embeds {
                    self.p.bytes_done = self.settled + self.chunked_bytes.min(self.batch_bytes);
                }
            }
            Step::Embedded {
                done,
                total,
                tokens,
                seconds,
            } => {
                self.p.phase = Phase::Embedding;
                self.p.embedded = self.before.0 + done;
                self.p.to_embed = self.before.0 + total;
                self.p.embed_tokens = self.before.1 + tokens;
                self.p.embed_seconds = self.before.2 + seconds;
                // A batch may embed in rounds as it is chunked: what is done is the
                // share embedded of what has been chunked so far, and never goes back.
                if self.embeds && total > 0 {
                    let share = done as f64 / total as f64;
                    let chunked = self.chunked_bytes.min(self.batch_bytes) as f64;
                    let now = self.settled + (chunked * share) as u64;
                    self.p.bytes_done = self.p.bytes_done.max(now);
                }
            }
        }
        self.report();
    }

    fn batch_done(&mut self) {
        self.settled += self.batch_bytes;
        self.batch_bytes = 0;
        self.p.bytes_done = self.settled;
        self.p.to_embed = self.p.embedded;
        self.before = (self.p.embedded, self.p.embed_tokens, self.p.embed_seconds);
        self.report();
    }

    /// Chunks indexed earlier wait for vectors: the rest is counted in chunks.
    fn backfill(&mut self) {
        self.p.bytes_total = 0;
        self.p.bytes_done = 0;
    }

    fn done(&mut self) {
        self.p.phase = Phase::Done;
        self.report();
    }
}

/// The files of each commit: at most `files` of them and, when given, about `bytes` of
/// source (a file larger than that is a batch of its own).
fn batches(files_in: &[Candidate], files: usize, bytes: Option<u64>) -> Vec<&[Candidate]> {
    let files = files.max(1);
    let bytes = bytes.unwrap_or(u64::MAX).max(1);
    let mut out = Vec::new();
    let (mut start, mut size) = (0, 0u64);
    for (i, c) in files_in.iter().enumerate() {
        if i > start && (i - start >= files || size + c.size > bytes) {
            out.push(&files_in[start..i]);
            (start, size) = (i, 0);
        }
        size += c.size;
    }
    if start < files_in.len() {
        out.push(&files_in[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(sizes: &[u64]) -> Vec<Candidate> {
        sizes
            .iter()
            .enumerate()
            .map(|(i, s)| Candidate {
                root: 0,
                rel: format!("f{i}"),
                abs: PathBuf::from(format!("/w/f{i}")),
                size: *s,
                mtime_ns: 0,
            })
            .collect()
    }

    fn shape(b: Vec<&[Candidate]>) -> Vec<usize> {
        b.iter().map(|x| x.len()).collect()
    }

    #[test]
    fn embedding_commits_every_few_kilobytes_not_once_per_400_files() {
        let f = files(&[10, 10, 10, 10, 10]);
        assert_eq!(shape(batches(&f, 400, None)), [5]);
        assert_eq!(shape(batches(&f, 2, None)), [2, 2, 1]);
        assert_eq!(shape(batches(&f, 400, Some(25))), [2, 2, 1]);
        // A file over the byte budget is a batch of its own.
        let f = files(&[5, 100, 5]);
        assert_eq!(shape(batches(&f, 400, Some(20))), [1, 1, 1]);
        assert!(batches(&[], 400, Some(20)).is_empty());
    }
}
