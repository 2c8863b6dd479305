//! `$/progress`: work-done reports (indexing, answering) and partial results (the
//! streamed answer), with tokens the client gave or the server created.

use serde::Serialize;
use serde_json::Value;
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::notification::Notification;
use tower_lsp_server::ls_types::{
    NumberOrString, ProgressToken, WorkDoneProgress, WorkDoneProgressBegin, WorkDoneProgressEnd,
    WorkDoneProgressReport,
};

/// `$/progress` with any value: partial results are not work-done reports.
enum AnyProgress {}

#[derive(Serialize, serde::Deserialize)]
struct AnyProgressParams {
    token: ProgressToken,
    value: Value,
}

impl Notification for AnyProgress {
    type Params = AnyProgressParams;
    const METHOD: &'static str = "$/progress";
}

pub async fn partial<T: Serialize>(client: &Client, token: &ProgressToken, value: &T) {
    let value = serde_json::to_value(value).unwrap_or(Value::Null);
    client
        .send_notification::<AnyProgress>(AnyProgressParams {
            token: token.clone(),
            value,
        })
        .await;
}

/// A work-done progress the client shows (a spinner, a status line).
pub struct WorkDone {
    client: Client,
    token: Option<ProgressToken>,
}

impl WorkDone {
    /// Uses `given` (a token the client sent with its request), else creates one when
    /// the client supports server-initiated progress, else reports nothing.
    pub async fn begin(
        client: &Client,
        given: Option<ProgressToken>,
        create: Option<String>,
        title: &str,
        message: Option<String>,
    ) -> WorkDone {
        let token = match (given, create) {
            (Some(t), _) => Some(t),
            (None, Some(name)) => {
                let t = NumberOrString::String(name);
                client
                    .create_work_done_progress(t.clone())
                    .await
                    .ok()
                    .map(|()| t)
            }
            (None, None) => None,
        };
        let wd = WorkDone {
            client: client.clone(),
            token,
        };
        wd.send(WorkDoneProgress::Begin(WorkDoneProgressBegin {
            title: title.to_owned(),
            cancellable: Some(false),
            message,
            percentage: Some(0),
        }))
        .await;
        wd
    }

    pub async fn report(&self, message: String, percentage: Option<u32>) {
        self.send(WorkDoneProgress::Report(WorkDoneProgressReport {
            cancellable: Some(false),
            message: Some(message),
            percentage: percentage.map(|p| p.min(100)),
        }))
        .await;
    }

    pub async fn end(self, message: Option<String>) {
        self.send(WorkDoneProgress::End(WorkDoneProgressEnd { message }))
            .await;
        settle().await;
    }

    async fn send(&self, value: WorkDoneProgress) {
        if let Some(token) = &self.token {
            partial(&self.client, token, &value).await;
        }
    }
}

/// Lets notifications already queued reach the output before the handler's response.
///
/// tower-lsp-server sends notifications and responses through two channels merged
/// fairly, and handlers run inside the same task as the writer; yielding a few times
/// lets the writer take the queued `$/progress` first, so a client sees a progress
/// end (or the last piece of an answer) before the response it belongs to.
pub async fn settle() {
    for _ in 0..4 {
        tokio::task::yield_now().await;
    }
}
