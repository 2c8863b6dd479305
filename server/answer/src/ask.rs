//! `ask`: retrieve, pack, prompt, stream the answer, list the sources. With no usable
//! model it returns the packed context and says why.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use scry_engine::{Engine, SearchMode, SearchRequest};
use scry_models::{
    Fallback, FinishReason, GenerateRequest, Generator, ModelError, ModelInfo, ModelManager,
    ModelRole, Sampling, StreamEvent, describe_fallbacks,
};

use crate::pack::{Estimator, ModelCounter, Packed, Piece, pack};
use crate::router::{Route, route};
use crate::{AnswerError, PromptTemplate};

#[derive(Debug, Clone)]
pub struct AskOptions {
    /// Tokens for the whole prompt (template, context and question).
    pub budget: usize,
    /// When set, the budget shrinks to what the model reads in this time here (measured
    /// prompt speed), so the first answer token is not minutes away on a laptop CPU.
    /// `None` when the caller chose the budget: it is then used as given.
    pub answer_within: Option<Duration>,
    /// Hits retrieved before packing.
    pub k: usize,
    pub mode: SearchMode,
    /// Overrides the router.
    pub role: Option<ModelRole>,
    pub sampling: Sampling,
    pub path_glob: Option<String>,
    pub language: Option<String>,
}

impl Default for AskOptions {
    fn default() -> Self {
        AskOptions {
            budget: 8000,
            answer_within: Some(DEFAULT_ANSWER_WITHIN),
            k: 40,
            mode: SearchMode::Hybrid,
            role: None,
            sampling: Sampling {
                temperature: 0.2,
                max_tokens: 512,
                ..Sampling::default()
            },
            path_glob: None,
            language: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct AskOutcome {
    /// `None` when no model could answer; `context` then holds what would have been sent.
    pub answer: Option<String>,
    pub finish: Option<FinishReason>,
    pub sources: Vec<Piece>,
    pub context: String,
    pub model: Option<ModelInfo>,
    pub route: Route,
    /// The role that answered (or would have).
    pub role: ModelRole,
    pub fallbacks: Vec<Fallback>,
    /// Things the user should know: BM25-only search, a clamped budget, no model.
    pub notices: Vec<String>,
    pub prompt_template: String,
    pub tokens_in: usize,
    pub tokens_out: usize,
    pub exact_tokens: bool,
    pub budget: usize,
    pub generation: u64,
    /// From the start of the call to the first piece of the answer.
    pub first_token: Option<Duration>,
    pub latency: Duration,
}

/// Longest question accepted.
pub const MAX_QUESTION_BYTES: usize = 8 * 1024;

/// Tokens kept free at the end of the context for the answer's own special tokens.
const CONTEXT_SLACK: usize = 16;

/// How soon the first answer token should come with the default budget.
pub const DEFAULT_ANSWER_WITHIN: Duration = Duration::from_secs(20);

/// The least context a budget sized by speed keeps: less would starve the answer.
const SPEED_BUDGET_FLOOR: usize = 1024;

/// What happens while an answer is produced, for a caller to show.
#[derive(Debug, Clone, Copy)]
pub enum AskEvent<'a> {
    /// The model is reading the prompt: `read` of `total` tokens.
    Reading { read: usize, total: usize },
    /// A piece of the answer.
    Text(&'a str),
}

pub fn ask(
    engine: &Engine,
    models: &ModelManager,
    question: &str,
    opts: &AskOptions,
    on_event: &mut dyn FnMut(AskEvent<'_>),
    cancel: &AtomicBool,
) -> Result<AskOutcome, AnswerError> {
    let started = Instant::now();
    let question = question.trim();
    if question.is_empty() {
        return Err(AnswerError::InvalidRequest("the question is empty".into()));
    }
    if question.len() > MAX_QUESTION_BYTES {
        return Err(AnswerError::InvalidRequest(format!(
            "the question is {} bytes; the limit is {MAX_QUESTION_BYTES}",
            question.len()
        )));
    }
    if opts.budget < 256 {
        return Err(AnswerError::InvalidRequest(format!(
            "a budget of {} tokens is too small to hold a prompt",
            opts.budget
        )));
    }
    let mut request = SearchRequest::new(question);
    request.k = opts.k.clamp(1, scry_engine::MAX_K);
    request.mode = opts.mode;
    request.path_glob = opts.path_glob.clone();
    request.language = opts.language.clone();
    let results = engine.search(&request)?;
    let mut notices: Vec<String> = results.notice.iter().cloned().collect();
    let template = PromptTemplate::ask();

    let routed = route(question);
    let (role, route_used) = pick_role(models, opts.role, routed, &mut notices);

    let mut fallbacks = Vec::new();
    let mut picked = models.acquire(role);
    fallbacks.append(&mut picked.fallbacks);
    while let Some(generator) = picked.generator.clone() {
        if cancel.load(Ordering::SeqCst) {
            return Err(AnswerError::Cancelled);
        }
        let (budget, clamp_notice) = effective_budget(generator.as_ref(), opts);
        let (budget, speed_notice) = speed_budget(generator.as_ref(), budget, opts.answer_within);
        let packed = pack(
            &results.hits,
            &results.sources,
            question,
            &template,
            &[],
            budget,
            &ModelCounter(generator.as_ref()),
        )?;
        match stream_answer(generator.as_ref(), &packed, opts, on_event, cancel, started) {
            Ok(streamed) => {
                notices.extend(clamp_notice);
                notices.extend(speed_notice);
                notices.extend(crate::pack::stale_notice(&packed.pieces));
                if let Some(e) = &streamed.cut_off {
                    notices.push(format!("the answer was cut off: {e}"));
                }
                return Ok(AskOutcome {
                    answer: Some(streamed.text),
                    finish: streamed.finish,
                    sources: packed.pieces,
                    context: packed.context,
                    model: Some(generator.info().clone()),
                    route: route_used,
                    role,
                    fallbacks,
                    notices,
                    prompt_template: template.id(),
                    tokens_in: streamed.prompt_tokens.unwrap_or(packed.tokens),
                    tokens_out: streamed.completion_tokens,
                    exact_tokens: packed.exact,
                    budget,
                    generation: results.generation,
                    first_token: streamed.first_token,
                    latency: started.elapsed(),
                });
            }
            Err(StreamFailure::Cancelled) => return Err(AnswerError::Cancelled),
            Err(StreamFailure::Before(e)) => {
                let mut next = models.acquire_after(role, picked.index, &e);
                fallbacks.append(&mut next.fallbacks);
                picked = next;
            }
        }
    }

    // No model could answer: the packed context is the answer, and the user is told why.
    let packed = pack(
        &results.hits,
        &results.sources,
        question,
        &template,
        &[],
        opts.budget,
        &Estimator,
    )?;
    let why = if fallbacks.is_empty() {
        "no language model is configured".to_owned()
    } else {
        describe_fallbacks(&fallbacks)
    };
    notices.push(format!(
        "No language model answered ({why}). Here is the context Scry would have sent."
    ));
    notices.extend(crate::pack::stale_notice(&packed.pieces));
    Ok(AskOutcome {
        answer: None,
        finish: None,
        sources: packed.pieces,
        context: packed.context,
        model: None,
        route: route_used,
        role,
        fallbacks,
        notices,
        prompt_template: template.id(),
        tokens_in: packed.tokens,
        tokens_out: 0,
        exact_tokens: packed.exact,
        budget: opts.budget,
        generation: results.generation,
        first_token: None,
        latency: started.elapsed(),
    })
}

/// The routed role, or the other one when only that one is configured.
pub(crate) fn pick_role(
    models: &ModelManager,
    forced: Option<ModelRole>,
    routed: Route,
    notices: &mut Vec<String>,
) -> (ModelRole, Route) {
    let wanted = forced.unwrap_or(routed.role);
    let mut route_used = routed;
    if forced.is_some() {
        route_used.reasons = vec!["chosen by the caller".into()];
    }
    route_used.role = wanted;
    if models.is_configured(wanted) {
        return (wanted, route_used);
    }
    let other = match wanted {
        ModelRole::Fast => ModelRole::Strong,
        ModelRole::Strong => ModelRole::Fast,
    };
    if models.is_configured(other) {
        if forced.is_some() {
            notices.push(format!(
                "no `{}` model is configured; using `{}`",
                wanted.as_str(),
                other.as_str()
            ));
        }
        route_used
            .reasons
            .push(format!("only `{}` is configured", other.as_str()));
        route_used.role = other;
        return (other, route_used);
    }
    (wanted, route_used)
}

/// The budget, shrunk to leave room for the answer in the model's context.
pub(crate) fn effective_budget(g: &dyn Generator, opts: &AskOptions) -> (usize, Option<String>) {
    effective_budget_for(g, opts.budget, opts.sampling.max_tokens)
}

pub(crate) fn effective_budget_for(
    g: &dyn Generator,
    budget: usize,
    max_tokens: usize,
) -> (usize, Option<String>) {
    let room = g
        .context_length()
        .saturating_sub(max_tokens + CONTEXT_SLACK);
    if budget > room {
        (
            room,
            Some(format!(
                "the budget was lowered from {budget} to {room} tokens: {} holds {} tokens and {max_tokens} are kept for the answer",
                g.info().name,
                g.context_length()
            )),
        )
    } else {
        (budget, None)
    }
}

/// The budget, shrunk to what the model reads within `within` at its measured prompt
/// speed (never below [`SPEED_BUDGET_FLOOR`]), with a notice saying so.
pub(crate) fn speed_budget(
    g: &dyn Generator,
    budget: usize,
    within: Option<Duration>,
) -> (usize, Option<String>) {
    let Some(within) = within else {
        return (budget, None);
    };
    let Some(affordable) = g.prompt_tokens_within(within) else {
        return (budget, None);
    };
    let sized = affordable.max(SPEED_BUDGET_FLOOR);
    if sized >= budget {
        return (budget, None);
    }
    (
        sized,
        Some(format!(
            "the context was sized to {sized} tokens (from {budget}) so that {} starts answering within about {} s, as measured on this machine; pass a budget to send more",
            g.info().name,
            within.as_secs()
        )),
    )
}

pub(crate) struct Streamed {
    pub text: String,
    pub finish: Option<FinishReason>,
    pub prompt_tokens: Option<usize>,
    pub completion_tokens: usize,
    pub first_token: Option<Duration>,
    /// Set when the stream failed after text had been delivered.
    pub cut_off: Option<ModelError>,
}

pub(crate) enum StreamFailure {
    /// Nothing was delivered: another backend may try.
    Before(ModelError),
    Cancelled,
}

pub(crate) fn stream_answer(
    g: &dyn Generator,
    packed: &Packed,
    opts: &AskOptions,
    on_event: &mut dyn FnMut(AskEvent<'_>),
    cancel: &AtomicBool,
    started: Instant,
) -> Result<Streamed, StreamFailure> {
    let request =
        GenerateRequest::new(packed.messages.clone()).with_sampling(opts.sampling.clone());
    stream_request(g, request, on_event, cancel, started)
}

pub(crate) fn stream_request(
    g: &dyn Generator,
    request: GenerateRequest,
    on_event: &mut dyn FnMut(AskEvent<'_>),
    cancel: &AtomicBool,
    started: Instant,
) -> Result<Streamed, StreamFailure> {
    let mut stream = g.generate(request).map_err(StreamFailure::Before)?;
    let mut out = Streamed {
        text: String::new(),
        finish: None,
        prompt_tokens: None,
        completion_tokens: 0,
        first_token: None,
        cut_off: None,
    };
    loop {
        if cancel.load(Ordering::SeqCst) {
            return Err(StreamFailure::Cancelled);
        }
        // Wake up now and then to notice a cancellation even while the model is slow.
        let event = match stream.next_timeout(Duration::from_millis(250)) {
            Ok(Some(e)) => e,
            Ok(None) => {
                let e = ModelError::WorkerGone;
                return if out.text.is_empty() {
                    Err(StreamFailure::Before(e))
                } else {
                    out.cut_off = Some(e);
                    Ok(out)
                };
            }
            Err(ModelError::Timeout(_)) => continue,
            Err(e) => return Err(StreamFailure::Before(e)),
        };
        match event {
            StreamEvent::Text(t) => {
                out.first_token.get_or_insert_with(|| started.elapsed());
                on_event(AskEvent::Text(&t));
                out.text.push_str(&t);
            }
            StreamEvent::Reading { read, total } => on_event(AskEvent::Reading { read, total }),
            StreamEvent::Done { finish, usage } => {
                out.finish = Some(finish);
                if usage.prompt_tokens > 0 {
                    out.prompt_tokens = Some(usage.prompt_tokens);
                }
                out.completion_tokens = usage.completion_tokens;
                return Ok(out);
            }
            StreamEvent::Error(e) => {
                if out.text.is_empty() {
                    return Err(StreamFailure::Before(e));
                }
                out.cut_off = Some(e);
                return Ok(out);
            }
        }
    }
}
