//! Errors of the answer layer.

#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error(transparent)]
    Engine(#[from] scry_engine::EngineError),
    #[error(transparent)]
    Model(#[from] scry_models::ModelError),
    #[error("the prompt template {name} is broken: {detail}")]
    Template { name: String, detail: String },
    #[error("no language model is available for `plan`: {0}")]
    NoModel(String),
    #[error("the model's plan is not valid JSON for the schema: {0}")]
    BadPlan(String),
    #[error("cancelled")]
    Cancelled,
}
