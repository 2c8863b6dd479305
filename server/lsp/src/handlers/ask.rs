//! `scry/ask`: an answer from the local model, streamed as partial results
//! (`$/progress` with `{ "text": … }` on the client's `partialResultToken`), then the
//! whole answer with its sources. With no model: the packed context and a notice.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use scry_answer::{AskEvent, AskOptions, AskOutcome};
use scry_models::ModelRole;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::ProgressToken;

use super::context::{budget, sources};
use super::search::FLUSH_WAIT;
use super::{CancelOnDrop, answer_error, blocking, guarded};
use crate::journal::journaled;
use crate::progress::{WorkDone, partial};
use crate::protocol::{AskParams, AskPartial, AskResult, invalid_params};
use crate::server::Backend;

/// Largest answer a client may ask for.
const MAX_ANSWER_TOKENS: usize = 4096;

impl Backend {
    pub async fn scry_ask(&self, p: AskParams) -> Result<AskResult> {
        journaled(self, "scry/ask", guarded("scry/ask", ask(self, p))).await
    }
}

/// What the answering thread sends to the client while it works.
enum Update {
    Reading { read: usize, total: usize },
    Text(String),
}

/// Prompt reading goes to the work-done progress ("reading the question: 800/2000
/// tokens"); answer text goes out as partial results.
async fn forward(b: &Backend, work: &WorkDone, token: Option<&ProgressToken>, update: Update) {
    match update {
        Update::Reading { read, total } => {
            let pct = (read * 100 / total.max(1)) as u32;
            work.report(
                format!("reading the question: {read}/{total} tokens"),
                Some(pct),
            )
            .await;
        }
        Update::Text(piece) => {
            if let Some(t) = token {
                partial(&b.client, t, &AskPartial { text: &piece }).await;
            }
        }
    }
}

pub async fn ask(b: &Backend, p: AskParams) -> Result<AskResult> {
    let mut opts: AskOptions = b.session.opts.ask.clone();
    if p.budget.is_some() {
        // A budget the client chose is sent whole; the default one fits the model's speed.
        opts.answer_within = None;
    }
    opts.budget = budget(p.budget, opts.budget, 256, 200_000)?;
    if let Some(role) = &p.role {
        opts.role =
            Some(ModelRole::parse(role).ok_or_else(|| {
                invalid_params(format!("unknown role {role:?} (fast or strong)"))
            })?);
    }
    if let Some(m) = p.max_tokens {
        opts.sampling.max_tokens = m.clamp(1, MAX_ANSWER_TOKENS);
    }
    let ws = b.session.workspace().await?;
    ws.overlays.flushed(FLUSH_WAIT).await;
    let enc = b.session.encoding();
    let create = b
        .session
        .flags
        .read()
        .work_done_progress
        .then(|| b.session.next_progress_token("ask"));
    let work = WorkDone::begin(
        &b.client,
        p.work_done_token,
        create,
        "Scry: answering",
        None,
    )
    .await;

    let cancel = CancelOnDrop::new();
    let flag: Arc<AtomicBool> = cancel.flag();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Update>();
    let models = b.session.opts.models.clone();
    let engine = ws.engine().clone();
    let question = p.question;
    let job = blocking(move || {
        let mut on_event = |e: AskEvent<'_>| {
            let _ = tx.send(match e {
                AskEvent::Reading { read, total } => Update::Reading { read, total },
                AskEvent::Text(t) => Update::Text(t.to_owned()),
            });
        };
        scry_answer::ask(&engine, &models, &question, &opts, &mut on_event, &flag)
            .map_err(answer_error)
    });
    tokio::pin!(job);
    let token: Option<ProgressToken> = p.partial_result_token;
    let outcome: Result<AskOutcome> = loop {
        tokio::select! {
            r = &mut job => break r,
            Some(update) = rx.recv() => forward(b, &work, token.as_ref(), update).await,
        }
    };
    // Pieces sent just before the end.
    while let Ok(update) = rx.try_recv() {
        forward(b, &work, token.as_ref(), update).await;
    }
    work.end(None).await;
    crate::progress::settle().await;
    drop(cancel);
    let o = outcome?;
    let answered = o.answer.is_some();
    Ok(AskResult {
        answer: o.answer,
        context: (!answered).then_some(o.context),
        model: o.model.map(|m| m.name),
        role: o.role.as_str(),
        sources: sources(&o.sources, enc),
        notices: o.notices,
        fallbacks: o.fallbacks.iter().map(|f| f.to_string()).collect(),
        tokens_in: o.tokens_in,
        tokens_out: o.tokens_out,
        generation: o.generation,
        latency_ms: o.latency.as_millis() as u64,
    })
}
