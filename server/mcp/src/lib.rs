//! `scry mcp`: the Model Context Protocol face for coding agents.
//!
//! Serves the engine's index as six read-only MCP tools (`search_code`, `get_context`,
//! `ask`, `find_symbol`, `read_range`, `index_status`) over stdio or streamable HTTP,
//! with rmcp. Like the LSP face it is thin: rmcp and JSON stay in this crate; every tool
//! converts its input to engine types, calls the engine, and converts back.
//!
//! Roots come from Scry's own configuration (the command line); roots a client
//! advertises are never asked for and never widen them.

// MCP logging (`logging/setLevel`, `notifications/message`) is deprecated for protocol
// 2026-07-28 (SEP-2577), but hosts on earlier versions, which are all of them today,
// use it; the server keeps offering it until rmcp removes it.
#![allow(deprecated)]

mod dashboard;
mod http;
pub mod observe;
mod server;
mod shared_store;
mod state;
mod stdio;
mod tools;
mod wire;

use std::sync::Arc;

pub use http::{
    DEFAULT_MAX_SESSIONS, DEFAULT_SESSION_IDLE, HttpOptions, serve_http, serve_store_http,
};
pub use observe::{ObserveOptions, RateLimit};
pub use server::{INSTRUCTIONS, ScryMcp};
pub use shared_store::{Orgs, StoreMcp, StoreState};
pub use state::{McpOptions, Shared};
pub use stdio::{run_stdio, serve_io};
pub use tools::{TOOL_NAMES, cursor};

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum McpError {
    #[error(transparent)]
    Engine(#[from] scry_engine::EngineError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("the MCP session failed: {0}")]
    Session(String),
}

impl McpError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> McpError {
        McpError::Io {
            context: context.into(),
            source,
        }
    }
}

/// Opens the workspace's index (or follows the process that writes it), starts keeping
/// it current, and returns the state every session shares.
pub fn start(opts: McpOptions) -> Result<Arc<Shared>, McpError> {
    Shared::start(opts)
}
