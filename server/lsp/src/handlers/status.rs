//! `scry/status`: what the index holds, how fresh it is, and which models serve it.

use serde_json::Value;
use tower_lsp_server::jsonrpc::Result;

use super::guarded;
use crate::protocol::StatusResult;
use crate::server::Backend;
use crate::session::Slot;

impl Backend {
    /// Takes `{}` or `null`; nothing in it is read.
    pub async fn scry_status(&self, _: Value) -> Result<StatusResult> {
        guarded("scry/status", async { Ok(status(self)) }).await
    }
}

pub fn status(b: &Backend) -> StatusResult {
    let s = &b.session;
    let slot = s.slot.borrow().clone();
    let chat_models = s
        .opts
        .models
        .describe_chains()
        .into_iter()
        .map(|(role, chain)| format!("{}: {}", role.as_str(), chain.join(" → ")))
        .collect();
    let mut out = StatusResult {
        state: "starting",
        version: env!("CARGO_PKG_VERSION"),
        roots: s
            .roots
            .lock()
            .iter()
            .map(|r| r.display().to_string())
            .collect(),
        index_dir: None,
        generation: 0,
        files: 0,
        chunks: 0,
        vectors: 0,
        mode: "lexical",
        embedding_model: None,
        model_problem: None,
        vector_tiers: Default::default(),
        chat_models,
        open_documents: s.documents.lock().len(),
        problems: 0,
        problem_files: Vec::new(),
        notices: Vec::new(),
        error: None,
        position_encoding: s.encoding().as_str(),
        log_file: s.opts.log_file.as_ref().map(|p| p.display().to_string()),
    };
    match slot {
        Slot::Starting => {}
        Slot::NoWorkspace => out.state = "noWorkspace",
        Slot::Failed(why) => {
            out.state = "error";
            out.error = Some(why);
        }
        Slot::Ready(ws) => {
            let st = ws.engine().status();
            out.state = if ws.indexing() { "indexing" } else { "ready" };
            out.index_dir = Some(st.index_dir.display().to_string());
            out.generation = st.generation;
            out.files = st.files;
            out.chunks = st.chunks;
            out.vectors = st.vectors;
            out.mode = st.mode.as_str();
            out.embedding_model = st.model.map(|m| m.id);
            out.model_problem = st.model_problem;
            out.vector_tiers = crate::protocol::VectorTiers::of(&st.tiers);
            out.problems = st.problems.len();
            out.problem_files = st
                .problems
                .iter()
                .take(20)
                .map(|p| crate::protocol::ProblemFile {
                    path: p.path.clone(),
                    problems: p.problems.clone(),
                })
                .collect();
            out.notices = st.notices;
        }
    }
    out
}
