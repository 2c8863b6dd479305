//! `workspace/executeCommand`: `scry.reindex` (bring the index up to date, with
//! progress) and `scry.ask` (the same as `scry/ask`, question as the first argument).

use serde_json::Value;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{ExecuteCommandParams, LSPAny};

use crate::protocol::{self, AskParams, ReindexResult, invalid_params};
use crate::server::Backend;

pub async fn execute_command(b: &Backend, params: ExecuteCommandParams) -> Result<Option<LSPAny>> {
    match params.command.as_str() {
        protocol::CMD_REINDEX => {
            let ws = b.session.workspace().await?;
            let r = crate::indexing::refresh_with_token(
                &b.client,
                &b.session,
                &ws,
                "Scry: reindexing",
                params.work_done_progress_params.work_done_token,
            )
            .await?;
            let out = ReindexResult {
                generation: r.generation,
                files_indexed: r.files_indexed,
                files_removed: r.files_removed,
                files_unchanged: r.files_unchanged,
                chunks_embedded: r.chunks_embedded,
                seconds: r.seconds,
            };
            Ok(Some(serde_json::to_value(out).unwrap_or(Value::Null)))
        }
        protocol::CMD_ASK => {
            let p: AskParams = match params.arguments.into_iter().next() {
                Some(Value::String(q)) => AskParams {
                    question: q,
                    budget: None,
                    role: None,
                    max_tokens: None,
                    partial_result_token: None,
                    work_done_token: params.work_done_progress_params.work_done_token,
                },
                Some(v @ Value::Object(_)) => protocol::parse(Some(v))?,
                _ => {
                    return Err(invalid_params(
                        "scry.ask takes the question as its argument",
                    ));
                }
            };
            let out = super::ask::ask(b, p).await?;
            Ok(Some(serde_json::to_value(out).unwrap_or(Value::Null)))
        }
        other => Err(invalid_params(format!(
            "unknown command {other:?} ({} or {})",
            protocol::CMD_REINDEX,
            protocol::CMD_ASK
        ))),
    }
}
