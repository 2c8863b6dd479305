//! Editor buffers over the disk: an unsaved buffer becomes the indexed content of its
//! file (lexically at once, vectors later) until the editor closes it.

use std::collections::HashSet;
use std::sync::Arc;

use scry_index::{FileHash, file_term_text};

use crate::report::RefreshReport;
use crate::state::Role;
use crate::writer::{Apply, EmbedWith, FileContent, FileUpdate};
use crate::{Engine, EngineError};

pub(crate) fn set(engine: &Engine, path: &str, text: &str) -> Result<RefreshReport, EngineError> {
    let inner = &engine.inner;
    let r = inner.roots.resolve(path)?;
    if inner.discovery.is_secret(&r.abs) {
        return Err(EngineError::InvalidRequest(format!(
            "{}: files that usually hold secrets are not indexed",
            r.rel
        )));
    }
    if text.len() as u64 > inner.config.max_file_bytes {
        return Err(EngineError::InvalidRequest(format!(
            "{}: larger than the {}-byte file limit",
            r.rel, inner.config.max_file_bytes
        )));
    }
    let key = file_term_text(r.root, &r.rel);
    let mut role = inner.role.lock();
    let Role::Writer(state) = &mut *role else {
        // The writer is the other process; it indexes its own editor's buffers.
        return Ok(RefreshReport::unchanged(inner.published.read().generation));
    };
    let unchanged = RefreshReport::unchanged(state.writer.generation());
    if state
        .overlays
        .get(&key)
        .is_some_and(|b| **b == *text.as_bytes())
    {
        return Ok(unchanged);
    }
    let indexed_as_is = state
        .writer
        .file(&key)
        .is_some_and(|e| e.hash == FileHash::of(text.as_bytes()));
    Arc::make_mut(&mut state.overlays).insert(key, Arc::from(text.as_bytes()));
    if indexed_as_is {
        // The index already holds exactly this text (an editor opening a file it has
        // not changed, or typing back to what was indexed): nothing to commit, but
        // snapshots must know the buffer is what they read.
        inner.publish(state)?;
        return Ok(unchanged);
    }
    let update = FileUpdate {
        root: r.root,
        rel: r.rel,
        content: Some(FileContent {
            bytes: text.as_bytes().to_vec(),
            size: text.len() as u64,
            mtime_ns: 0,
            overlay: true,
        }),
    };
    // Lexical only, and without rewriting the vector file: an edit is searchable at
    // keyword speed; its new chunks are embedded by `embed_missing` once the editor
    // pauses.
    let with = EmbedWith {
        embedder: None,
        document_prefix: &inner.config.document_prefix,
    };
    let stats = state.writer.apply(
        vec![update],
        Apply::LEXICAL,
        &inner.config.chunk,
        &with,
        &mut |_| {},
    )?;
    inner.publish(state)?;
    let mut report = RefreshReport::default();
    report.add(&stats);
    report.generation = state.writer.generation();
    Ok(report)
}

pub(crate) fn clear(engine: &Engine, path: &str) -> Result<RefreshReport, EngineError> {
    let inner = &engine.inner;
    let r = inner.roots.resolve(path)?;
    let key = file_term_text(r.root, &r.rel);
    let removed = match &mut *inner.role.lock() {
        Role::Writer(state) if state.overlays.contains_key(&key) => {
            Arc::make_mut(&mut state.overlays).remove(&key);
            // Snapshots from now on read the disk for this file.
            inner.publish(state)?;
            true
        }
        _ => false,
    };
    if !removed {
        return Ok(RefreshReport::unchanged(engine.generation()));
    }
    // The disk is authoritative again: re-read the file, whatever its stamp says.
    engine.refresh(&HashSet::from([r.abs]), &mut |_| {})
}
