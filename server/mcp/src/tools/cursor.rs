//! Cursors: opaque to the client, they carry what is needed to resume a call (the next
//! page of hits, or the full search a deadline cut short). Base64url of JSON, tagged
//! with the tool that issued it; a cursor from another tool or a damaged one is refused.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Longest cursor accepted (they are a few hundred bytes; a query is at most 8 KiB).
const MAX_CURSOR_BYTES: usize = 16 * 1024;

#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    tool: String,
    #[serde(flatten)]
    state: T,
}

pub fn encode<T: Serialize>(tool: &str, state: &T) -> String {
    let env = Envelope {
        tool: tool.to_owned(),
        state,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&env).expect("cursor state serializes"))
}

pub fn decode<T: DeserializeOwned>(tool: &str, cursor: &str) -> Result<T, String> {
    let bad = || format!("the cursor is not one {tool} issued; call again without it");
    if cursor.len() > MAX_CURSOR_BYTES {
        return Err(bad());
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let env: Envelope<T> = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if env.tool != tool {
        return Err(bad());
    }
    Ok(env.state)
}

/// Decodes `cursor` for `tool` and checks it continues the same call: `same` compares
/// the decoded state with the call's (`what` names the argument that must match).
pub fn resume<T: DeserializeOwned>(
    tool: &str,
    cursor: &str,
    what: &str,
    same: impl FnOnce(&T) -> bool,
) -> Result<T, String> {
    let state: T = decode(tool, cursor)?;
    if same(&state) {
        Ok(state)
    } else {
        Err(format!(
            "the cursor belongs to another {what}; pass the same {what} with it"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct S {
        q: String,
        offset: usize,
    }

    #[test]
    fn a_cursor_resumes_only_the_tool_that_issued_it() {
        let s = S {
            q: "parse ✓".into(),
            offset: 20,
        };
        let c = encode("search_code", &s);
        assert_eq!(decode::<S>("search_code", &c).unwrap(), s);
        assert!(decode::<S>("find_symbol", &c).is_err());
        assert!(decode::<S>("search_code", "not base64 !").is_err());
        assert!(decode::<S>("search_code", &c[..c.len() / 2]).is_err());
    }
}
