//! Picks the model role for a question: short lookups go to `fast`, questions that ask
//! for reasoning (why, compare, design…), name several identifiers or run long go to
//! `strong`.

use scry_models::ModelRole;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub role: ModelRole,
    /// Why, for `--json` and logs.
    pub reasons: Vec<String>,
}

const REASONING_WORDS: &[&str] = &[
    "why",
    "compare",
    "comparison",
    "design",
    "architecture",
    "tradeoff",
    "trade-off",
    "tradeoffs",
    "refactor",
    "explain",
    "difference",
    "differences",
    "versus",
    "vs",
    "should",
    "pros",
    "cons",
    "evaluate",
    "implications",
    "rationale",
];

/// Scores a question's complexity; 2 points or more is `strong`.
pub fn route(question: &str) -> Route {
    let mut reasons = Vec::new();
    let mut score = 0;
    let words: Vec<String> = question
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    if let Some(w) = words.iter().find(|w| REASONING_WORDS.contains(&w.as_str())) {
        score += 2;
        reasons.push(format!("asks for reasoning ({w:?})"));
    }
    let identifiers = question
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':' || c == '.'))
        .filter(|w| looks_like_identifier(w))
        .count();
    if identifiers >= 3 {
        score += 1;
        reasons.push(format!("names {identifiers} identifiers"));
    }
    if words.len() > 30 || question.len() > 200 {
        score += 1;
        reasons.push(format!("is long ({} words)", words.len()));
    }
    if question.lines().count() > 3 {
        score += 1;
        reasons.push("spans several lines".into());
    }
    let role = if score >= 2 {
        ModelRole::Strong
    } else {
        ModelRole::Fast
    };
    if reasons.is_empty() {
        reasons.push("a short lookup".into());
    }
    Route { role, reasons }
}

/// snake_case, camelCase, PascalCase with an inner capital, or a path like `a::b`/`a.b()`.
fn looks_like_identifier(w: &str) -> bool {
    let w = w.trim_matches(|c: char| c == '.' || c == ':');
    if w.len() < 3 {
        return false;
    }
    let snake = w.contains('_') && w.chars().any(char::is_alphabetic);
    let inner_capital =
        w.chars().skip(1).any(char::is_uppercase) && w.chars().any(char::is_lowercase);
    let path = w.contains("::") || (w.contains('.') && !w.ends_with('.'));
    snake || inner_capital || path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lookups_are_fast() {
        assert_eq!(
            route("where is the tokenizer defined?").role,
            ModelRole::Fast
        );
        assert_eq!(route("what does parse_config return").role, ModelRole::Fast);
    }

    #[test]
    fn reasoning_questions_are_strong() {
        let r = route("Why does the writer commit vectors before tantivy?");
        assert_eq!(r.role, ModelRole::Strong);
        assert!(r.reasons[0].contains("why"));
        assert_eq!(
            route("compare LexicalSnapshot and VectorStore").role,
            ModelRole::Strong
        );
    }

    #[test]
    fn many_identifiers_and_length_add_up() {
        let q = "how do Engine::open, refresh_files and LexicalSnapshot::search fit together when a file is renamed and its chunks move between generations of the index while a search runs at the same time in another thread";
        assert_eq!(route(q).role, ModelRole::Strong);
    }
}
