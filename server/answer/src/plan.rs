//! `plan`: a change plan as JSON that always parses. llama.cpp samples through a GBNF
//! grammar equivalent to `prompts/plan.schema.json`; servers get the schema as
//! `response_format`. With both roles configured, `fast` drafts and `strong` refines.

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use scry_engine::{Engine, SearchRequest};
use scry_models::{
    Constraint, Fallback, GenerateRequest, ModelInfo, ModelManager, ModelRole, Sampling,
    describe_fallbacks,
};
use serde::{Deserialize, Serialize};

use crate::ask::{StreamFailure, effective_budget_for, stream_request};
use crate::pack::{ModelCounter, Piece, pack};
use crate::{AnswerError, PromptTemplate};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub summary: String,
    pub steps: Vec<PlanStep>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanStep {
    pub title: String,
    pub files: Vec<String>,
    pub why: String,
}

pub const PLAN_SCHEMA: &str = include_str!("../prompts/plan.schema.json");

/// The schema as a grammar. Strings are printable ASCII without quotes or backslashes,
/// so every sampled token adds at least one byte and the longest possible plan is
/// bounded: [`PLAN_MAX_TOKENS`] always suffices to finish it.
const PLAN_GBNF: &str = r#"root ::= "{" ws "\"summary\":" ws text160 "," ws "\"steps\":" ws "[" ws step (ws "," ws step){0,4} ws "]" ws "}"
step ::= "{" ws "\"title\":" ws text60 "," ws "\"files\":" ws "[" ws (path (ws "," ws path){0,2})? ws "]" "," ws "\"why\":" ws text160 ws "}"
text160 ::= "\"" [ !#-\[\]-~]{1,160} "\""
text60 ::= "\"" [ !#-\[\]-~]{1,60} "\""
path ::= "\"" [A-Za-z0-9_./-]{1,80} "\""
ws ::= [ \n]{0,2}"#;

/// Bytes of the longest plan the grammar allows, plus margin: a bound on its tokens.
pub const PLAN_MAX_TOKENS: usize = 3000;

pub fn plan_constraint() -> Constraint {
    Constraint {
        name: "change-plan".into(),
        gbnf: PLAN_GBNF.into(),
        json_schema: PLAN_SCHEMA.into(),
    }
}

#[derive(Debug, Clone)]
pub struct PlanOptions {
    pub budget: usize,
    pub k: usize,
    pub seed: u32,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            budget: 4000,
            k: 30,
            seed: 42,
        }
    }
}

#[derive(Debug, Clone)]
pub struct PlanOutcome {
    pub plan: Plan,
    pub drafted_by: ModelInfo,
    /// Set when `strong` refined the `fast` draft.
    pub refined_by: Option<ModelInfo>,
    pub draft: Option<Plan>,
    pub sources: Vec<Piece>,
    pub fallbacks: Vec<Fallback>,
    pub notices: Vec<String>,
    pub tokens_in: usize,
    pub tokens_out: usize,
    pub latency: Duration,
}

pub fn plan(
    engine: &Engine,
    models: &ModelManager,
    task: &str,
    opts: &PlanOptions,
    cancel: &AtomicBool,
) -> Result<PlanOutcome, AnswerError> {
    let started = Instant::now();
    let task = task.trim();
    if task.is_empty() {
        return Err(AnswerError::InvalidRequest("the task is empty".into()));
    }
    if task.len() > crate::ask::MAX_QUESTION_BYTES {
        return Err(AnswerError::InvalidRequest(
            "the task is longer than 8 KiB".into(),
        ));
    }
    let mut request = SearchRequest::new(task);
    request.k = opts.k.clamp(1, scry_engine::MAX_K);
    let results = engine.search(&request)?;
    let mut notices: Vec<String> = results.notice.iter().cloned().collect();
    let mut fallbacks = Vec::new();

    let two_pass = models.is_configured(ModelRole::Fast) && models.is_configured(ModelRole::Strong);
    let first_role = if models.is_configured(ModelRole::Fast) {
        ModelRole::Fast
    } else {
        ModelRole::Strong
    };
    let draft = run_pass(
        models,
        first_role,
        &PromptTemplate::plan(),
        &results.hits,
        &results.sources,
        task,
        None,
        opts,
        cancel,
        &mut fallbacks,
        &mut notices,
    )?;
    let mut outcome = PlanOutcome {
        plan: draft.plan.clone(),
        drafted_by: draft.model.clone(),
        refined_by: None,
        draft: None,
        sources: draft.sources.clone(),
        fallbacks: Vec::new(),
        notices: Vec::new(),
        tokens_in: draft.tokens_in,
        tokens_out: draft.tokens_out,
        latency: Duration::ZERO,
    };
    if two_pass {
        let draft_json = serde_json::to_string_pretty(&draft.plan).unwrap_or_default();
        match run_pass(
            models,
            ModelRole::Strong,
            &PromptTemplate::plan_refine(),
            &results.hits,
            &results.sources,
            task,
            Some(&draft_json),
            opts,
            cancel,
            &mut fallbacks,
            &mut notices,
        ) {
            Ok(refined) => {
                outcome.draft = Some(draft.plan);
                outcome.plan = refined.plan;
                outcome.refined_by = Some(refined.model);
                outcome.sources = refined.sources;
                outcome.tokens_in += refined.tokens_in;
                outcome.tokens_out += refined.tokens_out;
            }
            Err(AnswerError::Cancelled) => return Err(AnswerError::Cancelled),
            Err(e) => notices.push(format!(
                "the strong model could not refine the draft ({e}); this is the fast model's plan"
            )),
        }
    }
    outcome.fallbacks = fallbacks;
    outcome.notices = notices;
    outcome.latency = started.elapsed();
    Ok(outcome)
}

struct Pass {
    plan: Plan,
    model: ModelInfo,
    sources: Vec<Piece>,
    tokens_in: usize,
    tokens_out: usize,
}

#[allow(clippy::too_many_arguments)]
fn run_pass(
    models: &ModelManager,
    role: ModelRole,
    template: &PromptTemplate,
    hits: &[scry_engine::Hit],
    source: &scry_engine::Sources,
    task: &str,
    draft: Option<&str>,
    opts: &PlanOptions,
    cancel: &AtomicBool,
    fallbacks: &mut Vec<Fallback>,
    notices: &mut Vec<String>,
) -> Result<Pass, AnswerError> {
    let extra: Vec<(&str, &str)> = draft.map(|d| vec![("draft", d)]).unwrap_or_default();
    let mut picked = models.acquire(role);
    fallbacks.append(&mut picked.fallbacks);
    while let Some(g) = picked.generator.clone() {
        let (budget, clamp) = effective_budget_for(g.as_ref(), opts.budget, PLAN_MAX_TOKENS);
        notices.extend(clamp);
        let packed = pack(
            hits,
            source,
            task,
            template,
            &extra,
            budget,
            &ModelCounter(g.as_ref()),
        )?;
        let request = GenerateRequest::new(packed.messages.clone())
            .with_sampling(Sampling {
                temperature: 0.0,
                top_p: 1.0,
                max_tokens: PLAN_MAX_TOKENS,
                seed: opts.seed,
            })
            .with_constraint(plan_constraint());
        let failure = match stream_request(g.as_ref(), request, &mut |_| {}, cancel, Instant::now())
        {
            Ok(s) if s.cut_off.is_none() => match parse_plan(&s.text) {
                Ok(plan) => {
                    return Ok(Pass {
                        plan,
                        model: g.info().clone(),
                        sources: packed.pieces,
                        tokens_in: s.prompt_tokens.unwrap_or(packed.tokens),
                        tokens_out: s.completion_tokens,
                    });
                }
                Err(e) => scry_models::ModelError::Generate(e.to_string()),
            },
            Ok(s) => s.cut_off.unwrap_or(scry_models::ModelError::WorkerGone),
            Err(StreamFailure::Cancelled) => return Err(AnswerError::Cancelled),
            Err(StreamFailure::Before(e)) => e,
        };
        let mut next = models.acquire_after(role, picked.index, &failure);
        fallbacks.append(&mut next.fallbacks);
        picked = next;
    }
    let why = if fallbacks.is_empty() {
        "none is configured".to_owned()
    } else {
        describe_fallbacks(fallbacks)
    };
    Err(AnswerError::NoModel(why))
}

/// Parses and checks a plan against the schema's limits.
pub fn parse_plan(text: &str) -> Result<Plan, AnswerError> {
    let plan: Plan = serde_json::from_str(text.trim()).map_err(|e| {
        AnswerError::BadPlan(format!(
            "{e}: {}",
            text.chars().take(200).collect::<String>()
        ))
    })?;
    let bad = |m: &str| Err(AnswerError::BadPlan(m.to_owned()));
    if plan.summary.trim().is_empty() || plan.summary.len() > 160 {
        return bad("the summary is empty or too long");
    }
    if plan.steps.is_empty() || plan.steps.len() > 5 {
        return bad("a plan needs 1 to 5 steps");
    }
    for s in &plan.steps {
        if s.title.trim().is_empty() || s.title.len() > 60 || s.why.len() > 160 || s.files.len() > 3
        {
            return bad("a step is outside the schema's limits");
        }
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_file_is_valid_json_with_the_grammars_limits() {
        let v: serde_json::Value = serde_json::from_str(PLAN_SCHEMA).unwrap();
        assert_eq!(v["properties"]["steps"]["maxItems"], 5);
        assert_eq!(v["properties"]["summary"]["maxLength"], 160);
    }

    #[test]
    fn the_token_bound_covers_the_longest_plan_the_grammar_allows() {
        // summary + 5 steps of (title + 3 paths + why), plus JSON punctuation and
        // whitespace (at most 2 bytes at each ws).
        let strings = 160 + 5 * (60 + 3 * 80 + 160);
        let structure = 40 + 5 * 60 + 2 * 60;
        assert!(
            strings + structure < PLAN_MAX_TOKENS,
            "{}",
            strings + structure
        );
    }

    #[test]
    fn plans_outside_the_limits_are_rejected() {
        assert!(parse_plan(r#"{"summary":"s","steps":[]}"#).is_err());
        assert!(
            parse_plan(r#"{"summary":"s","steps":[{"title":"t","files":[],"why":"w"}]}"#).is_ok()
        );
        assert!(
            parse_plan(r#"{"summary":"s","steps":[{"title":"t","files":[],"why":"w","x":1}]}"#)
                .is_err()
        );
    }
}
