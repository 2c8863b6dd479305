//! `scry/_testPanic`, served only with `SCRY_LSP_TEST_HOOKS=1`: a handler that panics,
//! so tests can prove a panic costs one request and not the session.

use serde_json::Value;
use tower_lsp_server::jsonrpc::Result;

use super::guarded;
use crate::server::Backend;

impl Backend {
    pub async fn scry_test_panic(&self, _: Value) -> Result<Value> {
        guarded("scry/_testPanic", async {
            tracing::trace!("about to panic on purpose");
            panic!("a panic on purpose (test hook)")
        })
        .await
    }
}
