//! From retrieved code to answers, with no protocol in sight: pack ranked hits into an
//! exact token budget ([`pack`]), render versioned prompt templates ([`prompt`]), pick a
//! model role by the question ([`router`]), and run the `ask` and `plan` pipelines over an
//! [`scry_engine::Engine`] and a [`scry_models::ModelManager`]. The CLI calls this now;
//! `scry lsp` and `scry mcp` call the same functions.

mod ask;
mod context;
mod error;
pub mod pack;
mod plan;
pub mod prompt;
pub mod router;

pub use ask::{AskEvent, AskOptions, AskOutcome, DEFAULT_ANSWER_WITHIN, MAX_QUESTION_BYTES, ask};
pub use context::{
    ContextOptions, ContextOutcome, MAX_CONTEXT_BUDGET, MIN_CONTEXT_BUDGET, context, pack_results,
};
pub use error::AnswerError;
pub use pack::{Packed, Piece, Tier, TokenCounter, pack};
pub use plan::{Plan, PlanOptions, PlanOutcome, PlanStep, parse_plan, plan, plan_constraint};
pub use prompt::PromptTemplate;
pub use router::{Route, route};
