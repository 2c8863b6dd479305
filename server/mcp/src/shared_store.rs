//! `scry serve --store`: the MCP face over a shared Postgres store of many repositories,
//! for one organisation, or for each caller's (by its bearer token). Two read-only tools: `search_code` (the engine's own retrieval
//! and ranking stage over the store's rows, across the organisation's repositories or
//! the ones named) and `index_status` (which repositories, at which generation, with
//! which model). The workspace tools (`read_range`, `find_symbol`, `get_context`, `ask`)
//! need files on this machine and are not offered.

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use schemars::JsonSchema;
use scry_engine::{Fusion, SearchRequest};
use scry_models::Embedder;
use scry_store_pg::{BlockingPgStore, RepoFilter};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use crate::tools::search_code::{
    FileOut, HitOut, MAX_PAGE, Mode, SNIPPET_LINES, file_out, hit_out, render,
};
use crate::tools::{Output, define, read_only_annotations};

/// Which organisation a call is answered for: row-level security keeps every other
/// organisation's rows out of its queries.
#[derive(Clone)]
pub enum Orgs {
    /// Every caller is of this one.
    One(String),
    /// Each caller's bearer token names its organisation (`token`, `org`): one server
    /// for many organisations. A request with no listed token is refused at the door.
    ByToken(Vec<(String, String)>),
}

impl Orgs {
    /// The organisation of a request that carries `bearer` (`Authorization: Bearer`).
    pub fn of(&self, bearer: Option<&str>) -> Option<&str> {
        match self {
            Orgs::One(org) => Some(org),
            Orgs::ByToken(list) => {
                let given = bearer?;
                // Every entry compared in full, so the time says nothing of which matched.
                let mut found = None;
                for (token, org) in list {
                    if crate::http::constant_time_eq(given.as_bytes(), token.as_bytes()) {
                        found = Some(org.as_str());
                    }
                }
                found
            }
        }
    }
}

/// What every session of a store server shares.
pub struct StoreState {
    pub store: BlockingPgStore,
    /// The organisation of each call.
    pub orgs: Orgs,
    /// Embeds queries for the store's vectors (its fast tier's table), when it is the
    /// model the store's vectors come from.
    pub embedder: Option<Arc<dyn Embedder>>,
    pub query_prefix: String,
    pub fusion: Fusion,
    pub rrf_k: f32,
    /// Searches running at once; more wait.
    pub permits: Semaphore,
}

const INSTRUCTIONS: &str = "\
Scry searches an organisation's shared code index: many repositories, each at the \
generation its indexer last published. `search_code` finds code (ranked chunks with \
repository, path, lines, symbol and a snippet) across every repository or the ones \
named in `repos`; `index_status` lists the repositories and their generations. Each \
hit's `root` is its repository; `stale: true` means the repository has a newer \
generation than the one this server read (a replica catching up).";

#[derive(Clone)]
pub struct StoreMcp {
    state: Arc<StoreState>,
}

impl StoreMcp {
    pub fn new(state: Arc<StoreState>) -> StoreMcp {
        StoreMcp { state }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchInput {
    /// What to find: identifiers, words, or a short description. At most 8 KiB.
    pub query: String,
    /// Hits (or files) to return, 1 to 50 (default 10).
    #[schemars(range(min = 1, max = 50))]
    pub k: Option<u64>,
    /// Retrieval mode (default hybrid).
    pub mode: Option<Mode>,
    /// Only these repositories (default: all the organisation's).
    pub repos: Option<Vec<String>>,
    /// Only chunks of this language (rust, python, typescript, markdown…).
    pub language: Option<String>,
    /// Only files whose repository-relative path matches this glob ("src/**/*.rs").
    pub path_glob: Option<String>,
    /// Results by file: `k` files ranked by their evidence, each with its best ranges.
    pub by_file: Option<bool>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct RepoOut {
    pub name: String,
    /// The generation read (each hit of the repository comes from it).
    pub generation: i64,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct StoreSearchOutput {
    /// The ranked ranges (empty with `by_file`); each hit's `root` is its repository.
    pub hits: Vec<HitOut>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<FileOut>>,
    /// The repositories searched, each at the generation read.
    pub repositories: Vec<RepoOut>,
    /// The mode actually used (lexical without a query vector).
    pub mode: String,
    pub notices: Vec<String>,
}

impl Output for StoreSearchOutput {
    fn text(&self) -> String {
        render(&self.hits, self.files.as_deref(), &self.notices, None)
    }
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusInput {}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct StoreStatusOutput {
    pub organisation: String,
    pub repositories: Vec<RepoOut>,
    /// The model the store's vectors come from.
    pub embedding_model: String,
    /// "hybrid" (BM25 + the store's vectors) or "lexical" (no model for queries here).
    pub search_mode: String,
}

impl Output for StoreStatusOutput {
    fn text(&self) -> String {
        let mut s = format!(
            "organisation {}: {} repositories, {} search ({})\n",
            self.organisation,
            self.repositories.len(),
            self.search_mode,
            self.embedding_model
        );
        for r in &self.repositories {
            s.push_str(&format!("  {} generation {}\n", r.name, r.generation));
        }
        s
    }
}

fn tools() -> Vec<Tool> {
    vec![
        define::<SearchInput, StoreSearchOutput>(
            "search_code",
            "Search code",
            "Find code across the organisation's repositories: ranked chunks (functions, \
             types, sections) for a query in words or identifiers, each with its repository \
             (`root`), path, 1-based lines, symbol, a snippet and which retrievers found it. \
             Narrow with `repos`, `language` or `path_glob`; set `by_file` for \"which \
             files…\" questions.",
            read_only_annotations(),
        ),
        define::<StatusInput, StoreStatusOutput>(
            "index_status",
            "Index status",
            "The organisation's repositories in the shared index, each at its active \
             generation, and the embedding model the vectors come from.",
            read_only_annotations(),
        ),
    ]
}

impl ServerHandler for StoreMcp {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder().enable_tools().build();
        let mut info = ServerConfig::new(capabilities).with_instructions(INSTRUCTIONS);
        let mut implementation = Implementation::new("scry", env!("CARGO_PKG_VERSION"));
        implementation.title = Some("Scry shared code index".into());
        info.server_info = implementation;
        info
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(tools()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        tools().into_iter().find(|t| t.name == name)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let args = serde_json::Value::Object(request.arguments.unwrap_or_default());
        let state = self.state.clone();
        let bearer = ctx
            .extensions
            .get::<axum::http::request::Parts>()
            .and_then(|p| crate::http::bearer(&p.headers));
        // The HTTP layer refused unknown tokens already; never answer without an org.
        let Some(org) = state.orgs.of(bearer).map(str::to_owned) else {
            return Err(ErrorData::invalid_request(
                "no organisation for this caller",
                None,
            ));
        };
        let result = match request.name.as_ref() {
            "search_code" => {
                let input: SearchInput = parse(args)?;
                blocking(&state, &ctx, move |s| search(s, &org, input)).await
            }
            "index_status" => {
                let _: StatusInput = parse(args)?;
                blocking(&state, &ctx, move |s| status(s, &org)).await
            }
            other => {
                return Err(ErrorData::invalid_params(
                    format!("unknown tool {other:?}; the tools are search_code, index_status"),
                    None,
                ));
            }
        };
        Ok(result.into())
    }
}

fn parse<T: serde::de::DeserializeOwned>(args: serde_json::Value) -> Result<T, ErrorData> {
    serde_json::from_value(args)
        .map_err(|e| ErrorData::invalid_params(format!("invalid arguments: {e}"), None))
}

/// Runs `work` on a blocking thread under a permit; a failure is a tool result with
/// `isError`, an agent can read.
async fn blocking<O: Output + Send + 'static>(
    state: &Arc<StoreState>,
    ctx: &RequestContext<RoleServer>,
    work: impl FnOnce(&StoreState) -> Result<O, String> + Send + 'static,
) -> CallToolResult {
    let state = state.clone();
    let run = async move {
        let _permit = state
            .permits
            .acquire()
            .await
            .map_err(|_| "the server is shutting down".to_owned())?;
        let s = state.clone();
        tokio::task::spawn_blocking(move || work(&s))
            .await
            .map_err(|e| format!("the tool failed: {e}"))?
    };
    let out = tokio::select! {
        r = run => r,
        () = ctx.ct.cancelled() => Err("cancelled".to_owned()),
    };
    match out {
        Ok(o) => {
            let mut r = CallToolResult::success(vec![ContentBlock::text(o.text())]);
            r.structured_content = serde_json::to_value(&o).ok();
            r
        }
        Err(m) => CallToolResult::error(vec![ContentBlock::text(m)]),
    }
}

fn search(s: &StoreState, org: &str, input: SearchInput) -> Result<StoreSearchOutput, String> {
    let k = input.k.unwrap_or(10);
    if !(1..=MAX_PAGE).contains(&k) {
        return Err(format!("k must be within 1..={MAX_PAGE}, not {k}"));
    }
    let mode: scry_engine::SearchMode = input.mode.unwrap_or(Mode::Hybrid).into();
    let req = SearchRequest::new(input.query.clone())
        .k(k as usize)
        .mode(mode)
        .language(input.language)
        .path_glob(input.path_glob)
        .by_file(input.by_file.unwrap_or(false));
    let mut notices = Vec::new();
    let vector = match s.embedder.as_deref() {
        Some(e) if mode != scry_engine::SearchMode::Lexical => {
            match s.store.query_vector(e, &s.query_prefix, &input.query) {
                Some(Ok(v)) => Some(v),
                Some(Err(e)) => {
                    notices.push(format!("the query could not be embedded ({e}): BM25 only"));
                    None
                }
                None => None,
            }
        }
        _ => None,
    };
    let repos = match input.repos {
        Some(names) if !names.is_empty() => RepoFilter::Only(names),
        _ => RepoFilter::All,
    };
    let found = s
        .store
        .search(org, &repos, &req, vector, s.fusion, s.rrf_k)
        .map_err(|e| e.to_string())?;
    let r = found.results;
    notices.extend(r.notice);
    if let RepoFilter::Only(names) = &repos {
        for n in names {
            if !found.repos.iter().any(|g| &g.name == n) {
                notices.push(format!("no repository {n:?} has been published"));
            }
        }
    }
    Ok(StoreSearchOutput {
        hits: r.hits.iter().map(|h| hit_out(h, SNIPPET_LINES)).collect(),
        files: req.by_file.then(|| r.files.iter().map(file_out).collect()),
        repositories: found
            .repos
            .into_iter()
            .map(|g| RepoOut {
                name: g.name,
                generation: g.generation,
            })
            .collect(),
        mode: r.mode.as_str().to_owned(),
        notices,
    })
}

fn status(s: &StoreState, org: &str) -> Result<StoreStatusOutput, String> {
    let repos = s.store.active_generations(org).map_err(|e| e.to_string())?;
    let store = s.store.store();
    let hybrid = s
        .embedder
        .as_deref()
        .is_some_and(|e| s.store.takes_queries_from(e));
    Ok(StoreStatusOutput {
        organisation: org.to_owned(),
        repositories: repos
            .into_iter()
            .map(|(name, generation)| RepoOut { name, generation })
            .collect(),
        embedding_model: store.model().to_owned(),
        search_mode: if hybrid { "hybrid" } else { "lexical" }.to_owned(),
    })
}
