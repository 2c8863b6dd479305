//! Prompt templates: TOML files under `server/answer/prompts/`, versioned, compiled in.
//!
//! Placeholders (`{context}`, `{question}`, `{draft}`) are filled in one pass, so text that
//! itself contains `{context}` (a question, a file) is never expanded again.

use std::collections::HashMap;

use scry_models::ChatMessage;
use serde::Deserialize;

use crate::AnswerError;

#[derive(Debug, Clone, Deserialize)]
pub struct PromptTemplate {
    pub name: String,
    pub version: u32,
    pub system: String,
    pub user: String,
    /// What the context says when retrieval found nothing.
    pub empty_context: String,
}

const ASK_V1: &str = include_str!("../prompts/ask.v1.toml");
const PLAN_V1: &str = include_str!("../prompts/plan.v1.toml");
const PLAN_REFINE_V1: &str = include_str!("../prompts/plan-refine.v1.toml");
const CONTEXT_V1: &str = include_str!("../prompts/context.v1.toml");

impl PromptTemplate {
    pub fn parse(text: &str) -> Result<PromptTemplate, AnswerError> {
        toml::from_str(text).map_err(|e| AnswerError::Template {
            name: "?".into(),
            detail: e.to_string(),
        })
    }

    fn builtin(text: &str) -> PromptTemplate {
        // Compiled-in templates are checked by tests; a broken one is a build defect.
        Self::parse(text).unwrap_or_else(|e| panic!("built-in prompt template: {e}"))
    }

    pub fn ask() -> PromptTemplate {
        Self::builtin(ASK_V1)
    }
    pub fn plan() -> PromptTemplate {
        Self::builtin(PLAN_V1)
    }
    pub fn plan_refine() -> PromptTemplate {
        Self::builtin(PLAN_REFINE_V1)
    }
    /// The context block alone, for callers that write their own prompt.
    pub fn context() -> PromptTemplate {
        Self::builtin(CONTEXT_V1)
    }

    /// `name.vN`, recorded with every answer.
    pub fn id(&self) -> String {
        format!("{}.v{}", self.name, self.version)
    }

    /// System and user messages with the placeholders filled.
    pub fn render(
        &self,
        context: &str,
        question: &str,
        extra: &[(&str, &str)],
    ) -> Vec<ChatMessage> {
        let context = if context.trim().is_empty() {
            self.empty_context.as_str()
        } else {
            context
        };
        // Code cannot close the context block early and pose as the user's own words.
        let context = context.replace("</context>", "</ context>");
        let mut values: HashMap<&str, &str> = HashMap::new();
        values.insert("context", &context);
        values.insert("question", question.trim());
        for (k, v) in extra {
            values.insert(k, v);
        }
        vec![
            ChatMessage::system(fill(self.system.trim(), &values)),
            ChatMessage::user(fill(self.user.trim(), &values)),
        ]
    }
}

/// Replaces `{name}` for known names, in one left-to-right pass.
fn fill(template: &str, values: &HashMap<&str, &str>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if values.contains_key(&after[..close]) => {
                out.push_str(values[&after[..close]]);
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_in_values_are_not_expanded_twice() {
        let mut v = HashMap::new();
        v.insert("context", "a {question} b");
        v.insert("question", "q");
        assert_eq!(
            fill("{context}|{question}|{other}", &v),
            "a {question} b|q|{other}"
        );
    }
}
