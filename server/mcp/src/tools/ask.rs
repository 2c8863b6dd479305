//! `ask`: an answer from the local model, grounded in packed context, with sources;
//! progress notifications carry the answer as it streams. Without a model: the packed
//! context and a notice saying so.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rmcp::model::{LoggingLevel, Tool, ToolAnnotations};
use schemars::JsonSchema;
use scry_answer::{AskOptions, MAX_QUESTION_BYTES};
use serde::{Deserialize, Serialize};

use super::get_context::SourceOut;
use super::{Call, Output, ToolError, define};
use crate::state::Shared;

pub const NAME: &str = "ask";
const MIN_BUDGET: u64 = 256;
const MAX_BUDGET: u64 = 131_072;

pub fn tool(shared: &Shared) -> Tool {
    // Truthful hints: nothing is written; answers vary between calls; a prompt goes
    // to an HTTP model server when one is configured.
    let annotations = ToolAnnotations::new()
        .read_only(true)
        .destructive(false)
        .idempotent(false)
        .open_world(shared.models.has_http_backend());
    define::<Input, AskOutput>(
        NAME,
        "Ask the code",
        "Answer a question about this workspace with Scry's local language model: it \
         retrieves and packs the relevant code, then answers citing sources. Slower than \
         get_context (seconds); prefer get_context when you will reason over the code \
         yourself. The answer streams as progress notifications when you pass a \
         progressToken. When no model is available, returns the packed context with a \
         notice instead of an answer (`answered: false`).",
        annotations,
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// The question, in plain words. At most 8 KiB.
    pub question: String,
    /// Tokens for the whole prompt (context, instructions and question), 256 to
    /// 131072 (default: the server's setting, 8000 unless configured).
    #[schemars(range(min = 256, max = 131072))]
    pub budget: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct AskOutput {
    /// Whether a model answered.
    pub answered: bool,
    pub answer: Option<String>,
    /// The model that answered.
    pub model: Option<String>,
    pub sources: Vec<SourceOut>,
    /// The packed context, when no model answered.
    pub context: Option<String>,
    pub tokens_in: usize,
    pub tokens_out: usize,
    pub generation: u64,
    pub notices: Vec<String>,
}

/// Sets the flag when the call's future is dropped (the client cancelled): the
/// generation loop checks it between tokens and stops.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

pub async fn run(call: &Call<'_>, input: Input) -> Result<AskOutput, ToolError> {
    if input.question.trim().is_empty() {
        return Err(ToolError::Invalid("the question is empty".into()));
    }
    if input.question.len() > MAX_QUESTION_BYTES {
        return Err(ToolError::Invalid(format!(
            "the question is {} bytes; the limit is {MAX_QUESTION_BYTES}",
            input.question.len()
        )));
    }
    let chosen = input.budget.or(call.shared().ask_budget.map(|b| b as u64));
    let budget = chosen.unwrap_or(AskOptions::default().budget as u64);
    if !(MIN_BUDGET..=MAX_BUDGET).contains(&budget) {
        return Err(ToolError::Invalid(format!(
            "budget must be within {MIN_BUDGET}..={MAX_BUDGET} tokens, not {budget}"
        )));
    }
    let opts = AskOptions {
        budget: budget as usize,
        // A budget someone chose is sent whole; the default one fits the model's speed.
        answer_within: chosen
            .is_none()
            .then_some(scry_answer::DEFAULT_ANSWER_WITHIN),
        ..AskOptions::default()
    };
    call.first_index(None).await;
    let cancel = CancelOnDrop(Arc::new(AtomicBool::new(false)));
    let flag = cancel.0.clone();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let question = input.question;
    let work = call.blocking(move |s| {
        // Answer text goes out as progress; the prompt-reading steps do not (a client
        // may show progress messages as the answer).
        let mut on_text = |e: scry_answer::AskEvent<'_>| {
            if let scry_answer::AskEvent::Text(t) = e {
                let _ = tx.send(t.to_owned());
            }
        };
        Ok(scry_answer::ask(
            s.engine(),
            &s.models,
            &question,
            &opts,
            &mut on_text,
            &flag,
        )?)
    });
    tokio::pin!(work);
    let mut pieces = 0u32;
    let outcome = loop {
        tokio::select! {
            r = &mut work => break r?,
            Some(text) = rx.recv() => {
                pieces += 1;
                call.progress(f64::from(pieces), None, Some(text)).await;
            }
        }
    };
    drop(cancel);
    for n in &outcome.notices {
        call.log(LoggingLevel::Warning, n.clone()).await;
    }
    let answered = outcome.answer.is_some();
    Ok(AskOutput {
        answered,
        model: outcome.model.map(|m| m.name),
        context: (!answered).then_some(outcome.context),
        answer: outcome.answer,
        sources: outcome.sources.iter().map(SourceOut::of).collect(),
        tokens_in: outcome.tokens_in,
        tokens_out: outcome.tokens_out,
        generation: outcome.generation,
        notices: outcome.notices,
    })
}

impl Output for AskOutput {
    fn text(&self) -> String {
        let mut s = String::new();
        for n in &self.notices {
            s.push_str(&format!("note: {n}\n"));
        }
        match (&self.answer, &self.context) {
            (Some(a), _) => s.push_str(a),
            (None, Some(c)) => s.push_str(c),
            (None, None) => {}
        }
        s.push_str("\n\nsources:\n");
        for src in &self.sources {
            s.push_str(&src.line());
        }
        s
    }
}
