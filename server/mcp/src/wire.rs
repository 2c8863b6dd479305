//! The JSON-RPC 2.0 gate in front of the stdio session: every line the client sends is
//! checked before rmcp sees it, and a malformed one gets the error the specification
//! asks for (with its `id` whenever it has one) instead of silence or an error nobody
//! can match to a request.
//!
//! - not JSON → `-32700` (parse error), `id: null`;
//! - a batch (MCP removed batching), a non-object, a wrong `jsonrpc`, a `method` that is
//!   not a string, or an object that is neither request, notification nor response →
//!   `-32600` (invalid request);
//! - `params` that are not an object, or `tools/call` `arguments` or `name` of the wrong
//!   type → `-32602` (invalid params), with the request's `id`.
//!
//! Notifications never get a reply, not even an error.

use serde_json::{Value, json};

pub(crate) const PARSE_ERROR: i64 = -32700;
pub(crate) const INVALID_REQUEST: i64 = -32600;
pub(crate) const INVALID_PARAMS: i64 = -32602;

/// What to do with one line from the client.
#[derive(Debug, PartialEq)]
pub(crate) enum Verdict {
    /// Well-formed: hand it to the session.
    Pass,
    /// Malformed: send this reply instead (and do not pass the line on).
    Reply(Value),
    /// Malformed notification, or a blank line: nothing to say.
    Drop,
}

pub(crate) fn check(line: &[u8]) -> Verdict {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Verdict::Drop;
    }
    let Ok(msg) = serde_json::from_slice::<Value>(line) else {
        return reply(
            Value::Null,
            PARSE_ERROR,
            "Parse error: the message is not valid JSON",
        );
    };
    let Some(obj) = msg.as_object() else {
        let why = if msg.is_array() {
            "Invalid Request: batches are not supported; send one message per line"
        } else {
            "Invalid Request: a message must be a JSON object"
        };
        return reply(Value::Null, INVALID_REQUEST, why);
    };
    let id = match obj.get("id") {
        None => None,
        Some(v @ (Value::String(_) | Value::Number(_))) => Some(v.clone()),
        Some(_) => {
            return reply(
                Value::Null,
                INVALID_REQUEST,
                "Invalid Request: `id` must be a string or a number",
            );
        }
    };
    let answer = |code, why: &str| match &id {
        Some(id) => reply(id.clone(), code, why),
        None => Verdict::Drop,
    };
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return answer(
            INVALID_REQUEST,
            "Invalid Request: `jsonrpc` must be \"2.0\"",
        );
    }
    let Some(method) = obj.get("method") else {
        // A response to one of our requests.
        let is_response = id.is_some() && (obj.contains_key("result") ^ obj.contains_key("error"));
        return if is_response {
            Verdict::Pass
        } else {
            reply(
                id.unwrap_or(Value::Null),
                INVALID_REQUEST,
                "Invalid Request: a message needs a `method`, or an `id` with `result` or `error`",
            )
        };
    };
    let Some(method) = method.as_str() else {
        return answer(
            INVALID_REQUEST,
            "Invalid Request: `method` must be a string",
        );
    };
    let params = obj.get("params");
    match params {
        None | Some(Value::Object(_)) => {}
        Some(other) => {
            return answer(
                INVALID_PARAMS,
                &format!(
                    "Invalid params: `params` must be an object, not {}",
                    type_name(other)
                ),
            );
        }
    }
    if method == "tools/call" {
        let p = params.and_then(Value::as_object);
        match p.and_then(|p| p.get("name")) {
            Some(Value::String(_)) => {}
            other => {
                let got = other.map_or("nothing", type_name);
                return answer(
                    INVALID_PARAMS,
                    &format!("Invalid params: `name` must be a tool name (a string), not {got}"),
                );
            }
        }
        match p.and_then(|p| p.get("arguments")) {
            None | Some(Value::Object(_) | Value::Null) => {}
            Some(other) => {
                return answer(
                    INVALID_PARAMS,
                    &format!(
                        "Invalid params: `arguments` must be an object, not {}",
                        type_name(other)
                    ),
                );
            }
        }
    }
    Verdict::Pass
}

/// The reply to a line over the length limit (it is not parsed at all).
pub(crate) fn too_long() -> Verdict {
    reply(
        Value::Null,
        PARSE_ERROR,
        "Parse error: the message is over the 16 MiB limit",
    )
}

fn reply(id: Value, code: i64, message: &str) -> Verdict {
    Verdict::Reply(json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_and_id(line: &str) -> Option<(i64, Value)> {
        match check(line.as_bytes()) {
            Verdict::Reply(v) => Some((v["error"]["code"].as_i64().unwrap(), v["id"].clone())),
            _ => None,
        }
    }

    #[test]
    fn each_malformed_message_gets_the_error_the_spec_names() {
        assert_eq!(code_and_id("{not json}"), Some((PARSE_ERROR, Value::Null)));
        assert_eq!(code_and_id("[1,2,3]"), Some((INVALID_REQUEST, Value::Null)));
        assert_eq!(code_and_id("42"), Some((INVALID_REQUEST, Value::Null)));
        assert_eq!(
            code_and_id(r#"{"jsonrpc":"2.0","id":7,"method":"tools/list","params":[]}"#),
            Some((INVALID_PARAMS, json!(7)))
        );
        assert_eq!(
            code_and_id(
                r#"{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"find_symbol","arguments":[1]}}"#
            ),
            Some((INVALID_PARAMS, json!("a")))
        );
        assert_eq!(
            code_and_id(r#"{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":3}}"#),
            Some((INVALID_PARAMS, json!(8)))
        );
        assert_eq!(
            code_and_id(r#"{"jsonrpc":"1.0","id":9,"method":"ping"}"#),
            Some((INVALID_REQUEST, json!(9)))
        );
        assert_eq!(
            code_and_id(r#"{"jsonrpc":"2.0","id":10}"#),
            Some((INVALID_REQUEST, json!(10)))
        );
    }

    #[test]
    fn well_formed_messages_and_responses_pass_and_bad_notifications_are_dropped() {
        for ok in [
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{}}}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"jsonrpc":"2.0","id":5,"result":{}}"#,
        ] {
            assert_eq!(check(ok.as_bytes()), Verdict::Pass, "{ok}");
        }
        assert_eq!(
            check(br#"{"jsonrpc":"2.0","method":"notifications/x","params":[]}"#),
            Verdict::Drop
        );
        assert_eq!(check(b"  \r"), Verdict::Drop);
    }
}
