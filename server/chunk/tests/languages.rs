//! Each language's chunks on a small fixture: symbol names, kinds, scopes, line ranges,
//! doc comments attached to the definition they document, and the definitions every
//! chunk carries (name, kind, scope, span and name span).

use scry_chunk::{Chunk, ChunkKind, ChunkOptions, Definition, chunk_file};

fn chunks(path: &str, src: &str) -> Vec<Chunk> {
    // Small chunks so that every definition stands alone.
    let opts = ChunkOptions::default().with_min_chunk_bytes(0);
    let out = chunk_file(path, src.as_bytes(), &opts);
    assert!(out.problems.is_empty(), "{path}: {:?}", out.problems);
    assert_definitions_are_where_their_names_are(src, &out.chunks);
    out.chunks
}

/// Every definition sits in the chunk that holds its name, once, and its name span is
/// its name.
fn assert_definitions_are_where_their_names_are(src: &str, chunks: &[Chunk]) {
    for c in chunks {
        for d in &c.definitions {
            assert!(
                c.span.contains_byte(d.name_span.byte_start),
                "{} is listed by a chunk that does not hold its name",
                d.name
            );
            assert!(d.span.byte_start <= d.name_span.byte_start);
            assert!(d.name_span.byte_end <= d.span.byte_end);
            let said = &src[d.name_span.byte_start..d.name_span.byte_end];
            let words: String = said.split_whitespace().collect::<Vec<_>>().join(" ");
            assert_eq!(words, d.name, "the name span of {} says {said:?}", d.name);
        }
    }
}

/// The definition named `name`, wherever it is.
fn def<'a>(chunks: &'a [Chunk], name: &str) -> &'a Definition {
    let all: Vec<&Definition> = chunks.iter().flat_map(|c| &c.definitions).collect();
    let found: Vec<&&Definition> = all.iter().filter(|d| d.name == name).collect();
    match found.as_slice() {
        [d] => d,
        _ => {
            let names: Vec<_> = all.iter().map(|d| (&d.name, d.kind)).collect();
            panic!("{} definitions named {name}; have {names:?}", found.len())
        }
    }
}

/// A definition's kind, whole lines (doc comments included), name line and scope.
fn check_def(
    chunks: &[Chunk],
    name: &str,
    kind: ChunkKind,
    lines: (u32, u32),
    name_line: u32,
    scope: Option<&str>,
) {
    let d = def(chunks, name);
    assert_eq!(d.kind, kind, "kind of {name}");
    assert_eq!(
        (d.span.start_line, d.span.end_line),
        lines,
        "lines of {name}"
    );
    assert_eq!(d.name_span.start_line, name_line, "name line of {name}");
    assert_eq!(d.scope.as_deref(), scope, "scope of {name}");
}

/// The names a chunk defines.
fn names(c: &Chunk) -> Vec<&str> {
    c.definitions.iter().map(|d| d.name.as_str()).collect()
}

/// The chunk whose symbol is `name`.
fn find<'a>(chunks: &'a [Chunk], name: &str) -> &'a Chunk {
    chunks
        .iter()
        .find(|c| c.symbol.as_deref() == Some(name))
        .unwrap_or_else(|| {
            let names: Vec<_> = chunks.iter().map(|c| (&c.symbol, c.kind)).collect();
            panic!("no chunk for {name}; have {names:?}")
        })
}

fn check(c: &Chunk, kind: ChunkKind, lines: (u32, u32), scope: Option<&str>) {
    assert_eq!(c.kind, kind, "kind of {:?}", c.symbol);
    assert_eq!(
        (c.span.start_line, c.span.end_line),
        lines,
        "lines of {:?}",
        c.symbol
    );
    assert_eq!(c.scope.as_deref(), scope, "scope of {:?}", c.symbol);
}

#[test]
fn rust() {
    let src = r#"use std::fmt;

/// A server.
#[derive(Debug)]
pub struct Server {
    port: u16,
}

impl Server {
    /// Starts it.
    pub fn start(&self) -> bool {
        true
    }
}

pub trait Handler {
    fn handle(&self);
}

enum Mode { A, B }

macro_rules! twice { ($e:expr) => { $e; $e }; }
"#;
    let c = chunks("src/server.rs", src);
    let s = find(&c, "Server");
    check(s, ChunkKind::Struct, (3, 7), None);
    assert!(s.text.starts_with("/// A server.\n#[derive(Debug)]"));
    // The impl holds one method; it fits, so it is one chunk that also names the method.
    let imp = c.iter().find(|c| c.kind == ChunkKind::Impl).unwrap();
    assert_eq!(imp.symbol.as_deref(), Some("Server"));
    assert_eq!(names(imp), ["Server", "start"]);
    check(find(&c, "Handler"), ChunkKind::Trait, (16, 18), None);
    check(find(&c, "Mode"), ChunkKind::Enum, (20, 20), None);
    check(find(&c, "twice"), ChunkKind::Macro, (22, 22), None);

    let all: Vec<&Definition> = c.iter().flat_map(|c| &c.definitions).collect();
    let server: Vec<_> = all.iter().filter(|d| d.name == "Server").collect();
    assert_eq!(server.len(), 2, "the struct and its impl");
    assert_eq!(server[0].kind, ChunkKind::Struct);
    assert_eq!(
        (server[0].span.start_line, server[0].name_span.start_line),
        (3, 5)
    );
    assert_eq!(server[1].kind, ChunkKind::Impl);
    assert_eq!(
        (server[1].span.start_line, server[1].span.end_line),
        (9, 14)
    );
    check_def(
        &c,
        "start",
        ChunkKind::Method,
        (10, 13),
        11,
        Some("impl Server"),
    );
    check_def(&c, "Handler", ChunkKind::Trait, (16, 18), 16, None);
    check_def(
        &c,
        "handle",
        ChunkKind::Method,
        (17, 17),
        17,
        Some("pub trait Handler"),
    );
    check_def(&c, "Mode", ChunkKind::Enum, (20, 20), 20, None);
    check_def(&c, "twice", ChunkKind::Macro, (22, 22), 22, None);
}

#[test]
fn reexports_are_definitions_but_never_chunks_of_their_own() {
    let src = r#"//! Extractors.
use std::fmt;
pub use axum_core::extract::{FromRequest, request::Parts as RequestParts, FromRef};
pub use crate::json::Json;

pub fn run() {}
"#;
    let c = chunks("src/extract/mod.rs", src);
    check_def(&c, "FromRequest", ChunkKind::Reexport, (3, 3), 3, None);
    check_def(&c, "RequestParts", ChunkKind::Reexport, (3, 3), 3, None);
    check_def(&c, "FromRef", ChunkKind::Reexport, (3, 3), 3, None);
    check_def(&c, "Json", ChunkKind::Reexport, (4, 4), 4, None);
    // A private `use` names nothing this module hands out.
    assert!(c.iter().all(|c| !names(c).contains(&"fmt")));
    assert!(c.iter().all(|c| c.kind != ChunkKind::Reexport));

    let ts = r#"export { parse, safeParse as check } from "./parse.js";
export { helper };
"#;
    let c = chunks("src/index.ts", ts);
    check_def(&c, "parse", ChunkKind::Reexport, (1, 1), 1, None);
    check_def(&c, "safeParse", ChunkKind::Reexport, (1, 1), 1, None);
    // Without a source, the name is this module's own: its definition is elsewhere here.
    assert!(c.iter().all(|c| !names(c).contains(&"helper")));
}

#[test]
fn module_level_constants_are_definitions_and_imports_are_not() {
    let ts = r#"import { x } from "./x";

export const $ZodType: $constructor<$ZodType> = $constructor("$ZodType", (inst) => {
  inst.parse = (v) => v;
});

const LIMIT = 10, OTHER = 20;

export const parse = (v: unknown) => v;

function inner() {
  const local = 1;
  return local;
}
"#;
    let c = chunks("core/schemas.ts", ts);
    check_def(&c, "$ZodType", ChunkKind::Constant, (3, 5), 3, None);
    check_def(&c, "LIMIT", ChunkKind::Constant, (7, 7), 7, None);
    check_def(&c, "OTHER", ChunkKind::Constant, (7, 7), 7, None);
    // A function value stays a function.
    check_def(&c, "parse", ChunkKind::Function, (9, 9), 9, None);
    assert!(c.iter().all(|c| !names(c).contains(&"local")));

    let js = "const accepts = require('accepts');\nconst app = {};\n";
    let c = chunks("lib/request.js", js);
    assert!(c.iter().all(|c| !names(c).contains(&"accepts")));
    check_def(&c, "app", ChunkKind::Constant, (2, 2), 2, None);

    let go = "package chi\n\nconst (\n\tA = 1\n\tB = 2\n)\n\nvar ErrX = errors.New(\"x\")\n";
    let c = chunks("chi.go", go);
    check_def(&c, "A", ChunkKind::Constant, (3, 6), 4, None);
    check_def(&c, "B", ChunkKind::Constant, (3, 6), 5, None);
    check_def(&c, "ErrX", ChunkKind::Constant, (8, 8), 8, None);

    let py = "import os\n\nDEFAULT_TIMEOUT = 30\n\ndef f():\n    local = 1\n    return local\n";
    let c = chunks("adapters.py", py);
    check_def(&c, "DEFAULT_TIMEOUT", ChunkKind::Constant, (3, 3), 3, None);
    assert!(c.iter().all(|c| !names(c).contains(&"local")));
}

#[test]
fn rust_oversized_impl_is_split_into_methods_with_the_impl_as_scope() {
    let mut src = String::from("impl Server {\n");
    for i in 0..12 {
        src.push_str(&format!(
            "    /// Method {i}.\n    pub fn method_{i}(&self) -> u32 {{\n{}        {i}\n    }}\n\n",
            "        let x = 1;\n".repeat(8)
        ));
    }
    src.push_str("}\n");
    let c = chunks("a.rs", &src);
    let m3 = find(&c, "method_3");
    assert_eq!(m3.kind, ChunkKind::Method);
    assert_eq!(m3.scope.as_deref(), Some("impl Server"));
    assert!(m3.text.trim_start().starts_with("/// Method 3."));
    assert_eq!(names(m3), ["method_3"]);
    // The impl is defined by the part that holds its header, and spans all of it.
    let header = c.iter().find(|c| names(c).contains(&"Server")).unwrap();
    assert_eq!(header.span.start_line, 1);
    check_def(&c, "Server", ChunkKind::Impl, (1, 13 * 12 + 2), 1, None);
    // Every byte of substance is covered, in order, without overlap.
    assert!(
        c.windows(2)
            .all(|w| w[0].span.byte_end <= w[1].span.byte_start)
    );
    let covered: usize = c.iter().map(|c| c.text.split_whitespace().count()).sum();
    assert_eq!(covered, src.split_whitespace().count());
}

#[test]
fn rust_oversized_function_is_split_with_its_signature_as_context() {
    let body: String = (0..200)
        .map(|i| format!("    let v{i} = compute({i});\n"))
        .collect();
    let src = format!("/// Big.\nfn big(x: u32) -> u32 {{\n{body}    x\n}}\n");
    let c = chunks("a.rs", &src);
    assert!(c.len() > 2);
    assert!(c.iter().all(|c| c.symbol.as_deref() == Some("big")));
    assert!(c.iter().all(|c| c.text.len() <= 1800));
    assert_eq!(c[0].context, None);
    assert_eq!(c[1].context.as_deref(), Some("fn big(x: u32) -> u32"));
    assert_eq!(c[0].span.start_line, 1);
    assert_eq!(
        c.last().unwrap().span.end_line as usize,
        src.lines().count()
    );
    // Only the first part defines `big`; its span is the whole function.
    assert_eq!(names(&c[0]), ["big"]);
    assert!(c[1..].iter().all(|c| c.definitions.is_empty()));
    check_def(&c, "big", ChunkKind::Function, (1, 204), 2, None);
}

#[test]
fn python() {
    let src = r#"import os

# Helper for paths.
def helper(p):
    return os.path.join(p)

class Session(Base):
    """A session."""

    @property
    def user(self):
        return self._user
"#;
    let c = chunks("app/session.py", src);
    check(find(&c, "helper"), ChunkKind::Function, (3, 5), None);
    assert!(find(&c, "helper").text.starts_with("# Helper for paths."));
    let s = find(&c, "Session");
    check(s, ChunkKind::Class, (7, 12), None);
    assert_eq!(names(s), ["Session", "user"]);
    check_def(&c, "helper", ChunkKind::Function, (3, 5), 4, None);
    check_def(&c, "Session", ChunkKind::Class, (7, 12), 7, None);
    // The decorator belongs to the method.
    check_def(
        &c,
        "user",
        ChunkKind::Method,
        (10, 12),
        11,
        Some("class Session(Base)"),
    );
}

#[test]
fn small_definitions_merged_into_one_chunk_keep_their_own_names_and_lines() {
    // psf/requests' exceptions: one chunk, several classes; each is findable by name.
    let src = "class ContentDecodingError(RequestException, BaseHTTPError):\n    \"\"\"Failed to decode response content.\"\"\"\n\n\nclass StreamConsumedError(RequestException, TypeError):\n    \"\"\"The content for this response was already consumed.\"\"\"\n\n\nclass RetryError(RequestException):\n    \"\"\"Custom retries logic failed\"\"\"\n";
    let out = chunk_file("exceptions.py", src.as_bytes(), &ChunkOptions::default());
    assert_eq!(out.chunks.len(), 1, "small siblings merge");
    let c = &out.chunks[0];
    assert_eq!(c.symbol.as_deref(), Some("ContentDecodingError"));
    assert_eq!(
        names(c),
        ["ContentDecodingError", "StreamConsumedError", "RetryError"]
    );
    check_def(
        &out.chunks,
        "StreamConsumedError",
        ChunkKind::Class,
        (5, 6),
        5,
        None,
    );
    check_def(
        &out.chunks,
        "RetryError",
        ChunkKind::Class,
        (9, 10),
        9,
        None,
    );
}

#[test]
fn python_large_class_splits_methods_with_class_scope_and_decorators() {
    let mut src = String::from("class Session:\n    \"\"\"Doc.\"\"\"\n\n");
    for i in 0..10 {
        src.push_str(&format!(
            "    @cached\n    def m{i}(self):\n{}        return {i}\n\n",
            "        x = self.compute_something_long()\n".repeat(5)
        ));
    }
    let c = chunks("s.py", &src);
    let m = find(&c, "m4");
    assert_eq!(m.kind, ChunkKind::Method);
    assert_eq!(m.scope.as_deref(), Some("class Session"));
    assert!(m.text.trim_start().starts_with("@cached"));
}

#[test]
fn javascript() {
    let src = r#"/** Adds. */
export function add(a, b) { return a + b; }

const mul = (a, b) => a * b;

class Calc {
  sum(xs) { return xs.reduce(add, 0); }
}
"#;
    let c = chunks("calc.js", src);
    check(find(&c, "add"), ChunkKind::Function, (1, 2), None);
    check(find(&c, "mul"), ChunkKind::Function, (4, 4), None);
    let calc = find(&c, "Calc");
    check(calc, ChunkKind::Class, (6, 8), None);
    assert_eq!(names(calc), ["Calc", "sum"]);
    check_def(&c, "add", ChunkKind::Function, (1, 2), 2, None);
    check_def(&c, "mul", ChunkKind::Function, (4, 4), 4, None);
    check_def(&c, "sum", ChunkKind::Method, (7, 7), 7, Some("class Calc"));
}

#[test]
fn javascript_functions_assigned_to_properties_are_definitions() {
    let src = r#"var app = exports = module.exports = {};

/**
 * Renders a view.
 */
app.render = function render(name, cb) {
  cb(null, name);
};

exports.parse = (s) => s.trim();

module.exports.format = function (s) { return s; };

Calc.prototype.neg = function (x) { return -x; };

app.locals = { title: 'x' };
"#;
    let c = chunks("application.js", src);
    // The doc comment comes with it, and the chunk is its own.
    check(find(&c, "render"), ChunkKind::Method, (3, 8), Some("app"));
    check_def(&c, "render", ChunkKind::Method, (3, 8), 6, Some("app"));
    check_def(&c, "parse", ChunkKind::Function, (10, 10), 10, None);
    check_def(&c, "format", ChunkKind::Function, (12, 12), 12, None);
    check_def(
        &c,
        "neg",
        ChunkKind::Method,
        (14, 14),
        14,
        Some("Calc.prototype"),
    );
    // A value that is not a function is not a definition.
    let names: Vec<&str> = c
        .iter()
        .flat_map(|c| &c.definitions)
        .map(|d| d.name.as_str())
        .collect();
    assert!(!names.contains(&"locals"), "{names:?}");
}

#[test]
fn typescript_and_tsx() {
    let src = r#"/** A user. */
export interface User { id: number }

export type Id = number;

enum Color { Red }

export class Store {
  get(id: Id): User | undefined { return undefined; }
}
"#;
    let c = chunks("store.ts", src);
    check(find(&c, "User"), ChunkKind::Interface, (1, 2), None);
    check(find(&c, "Id"), ChunkKind::Type, (4, 4), None);
    check(find(&c, "Color"), ChunkKind::Enum, (6, 6), None);
    check(find(&c, "Store"), ChunkKind::Class, (8, 10), None);
    check_def(&c, "User", ChunkKind::Interface, (1, 2), 2, None);
    check_def(&c, "Id", ChunkKind::Type, (4, 4), 4, None);
    check_def(&c, "get", ChunkKind::Method, (9, 9), 9, Some("class Store"));

    let tsx = "export function App(): JSX.Element {\n  return <div>hi</div>;\n}\n";
    let c = chunks("App.tsx", tsx);
    check(find(&c, "App"), ChunkKind::Function, (1, 3), None);
    check_def(&c, "App", ChunkKind::Function, (1, 3), 1, None);
}

#[test]
fn go() {
    let src = r#"package main

// Server serves.
type Server struct {
	port int
}

// Start starts.
func (s *Server) Start() error {
	return nil
}

type Handler interface {
	Handle()
}

func main() {}
"#;
    let c = chunks("main.go", src);
    check(find(&c, "Server"), ChunkKind::Struct, (3, 6), None);
    check(
        find(&c, "Start"),
        ChunkKind::Method,
        (8, 11),
        Some("(s *Server)"),
    );
    check(find(&c, "Handler"), ChunkKind::Interface, (13, 15), None);
    check(find(&c, "main"), ChunkKind::Function, (17, 17), None);
    check_def(&c, "Server", ChunkKind::Struct, (3, 6), 4, None);
    check_def(
        &c,
        "Start",
        ChunkKind::Method,
        (8, 11),
        9,
        Some("(s *Server)"),
    );
}

#[test]
fn java() {
    let src = r#"package a;

/** A session. */
@Entity
public class Session {
    /** Opens. */
    public void open() {}
}

interface Closeable { void close(); }
"#;
    let c = chunks("Session.java", src);
    let s = find(&c, "Session");
    check(s, ChunkKind::Class, (3, 8), None);
    assert_eq!(names(s), ["Session", "open"]);
    check(find(&c, "Closeable"), ChunkKind::Interface, (10, 10), None);
    check_def(&c, "Session", ChunkKind::Class, (3, 8), 5, None);
    check_def(
        &c,
        "open",
        ChunkKind::Method,
        (6, 7),
        7,
        Some("@Entity public class Session"),
    );
    check_def(
        &c,
        "close",
        ChunkKind::Method,
        (10, 10),
        10,
        Some("interface Closeable"),
    );
}

#[test]
fn c() {
    let src = r#"#include <stdio.h>

/* A point. */
struct point { int x; int y; };

/* Adds. */
static int add(int a, int b) {
    return a + b;
}

char *name(void) { return "x"; }
"#;
    let c = chunks("p.c", src);
    check(find(&c, "point"), ChunkKind::Struct, (3, 4), None);
    check(find(&c, "add"), ChunkKind::Function, (6, 9), None);
    check(find(&c, "name"), ChunkKind::Function, (11, 11), None);
    check_def(&c, "point", ChunkKind::Struct, (3, 4), 4, None);
    check_def(&c, "add", ChunkKind::Function, (6, 9), 7, None);
}

#[test]
fn cpp() {
    let src = r#"namespace net {

/// A socket.
class Socket {
public:
    void open();
};

void Socket::open() {
}

}
"#;
    let c = chunks("s.cpp", src);
    let ns = find(&c, "net");
    assert_eq!(ns.kind, ChunkKind::Module);
    assert_eq!(names(ns), ["net", "Socket", "Socket::open"]);
    check_def(&c, "net", ChunkKind::Module, (1, 12), 1, None);
    check_def(
        &c,
        "Socket",
        ChunkKind::Class,
        (3, 7),
        4,
        Some("namespace net"),
    );
    check_def(
        &c,
        "Socket::open",
        ChunkKind::Function,
        (9, 10),
        9,
        Some("namespace net"),
    );
}

#[test]
fn c_sharp() {
    let src = r#"namespace App {
    /// <summary>A service.</summary>
    [Serializable]
    public class Service {
        public void Run() { }
    }
}
"#;
    let c = chunks("Service.cs", src);
    let ns = find(&c, "App");
    assert_eq!(ns.kind, ChunkKind::Module);
    assert_eq!(names(ns), ["App", "Service", "Run"]);
    check_def(
        &c,
        "Service",
        ChunkKind::Class,
        (2, 6),
        4,
        Some("namespace App"),
    );
    // A scope is the parent's signature, attributes included.
    check_def(
        &c,
        "Run",
        ChunkKind::Method,
        (5, 5),
        5,
        Some("[Serializable] public class Service"),
    );
}

#[test]
fn ruby() {
    let src = r#"# A user.
class User
  def name
    @name
  end
end

def helper; end
"#;
    let c = chunks("user.rb", src);
    let u = find(&c, "User");
    check(u, ChunkKind::Class, (1, 6), None);
    assert_eq!(names(u), ["User", "name"]);
    check(find(&c, "helper"), ChunkKind::Function, (8, 8), None);
    check_def(&c, "User", ChunkKind::Class, (1, 6), 2, None);
    check_def(&c, "name", ChunkKind::Method, (3, 5), 3, Some("class User"));
}

#[test]
fn php() {
    let src = r#"<?php
/** Greets. */
function greet($n) { return "hi $n"; }

class Greeter {
    public function hello() { return 1; }
}
"#;
    let c = chunks("g.php", src);
    check(find(&c, "greet"), ChunkKind::Function, (2, 3), None);
    let g = find(&c, "Greeter");
    check(g, ChunkKind::Class, (5, 7), None);
    assert_eq!(names(g), ["Greeter", "hello"]);
    check_def(&c, "greet", ChunkKind::Function, (2, 3), 3, None);
    check_def(
        &c,
        "hello",
        ChunkKind::Method,
        (6, 6),
        6,
        Some("class Greeter"),
    );
}

#[test]
fn bash() {
    let src =
        "#!/bin/bash\n# Deploys.\ndeploy() {\n  echo go\n}\n\nfunction clean {\n  rm -rf x\n}\n";
    let c = chunks("deploy.sh", src);
    check(find(&c, "deploy"), ChunkKind::Function, (2, 5), None);
    check(find(&c, "clean"), ChunkKind::Function, (7, 9), None);
    check_def(&c, "deploy", ChunkKind::Function, (2, 5), 3, None);
}

#[test]
fn lua() {
    let src = "-- Module.\nlocal M = {}\n\n-- Greets.\nfunction M.greet(n)\n  return n\nend\n\nlocal function helper() end\n\nreturn M\n";
    let c = chunks("m.lua", src);
    check(find(&c, "M.greet"), ChunkKind::Function, (4, 7), None);
    check(find(&c, "helper"), ChunkKind::Function, (9, 9), None);
    check_def(&c, "M.greet", ChunkKind::Function, (4, 7), 5, None);
}

#[test]
fn markdown_is_split_by_headings_outside_code_fences() {
    let src = "Intro text.\n\n# Install\n\nRun it.\n\n## Linux\n\n```sh\n# not a heading\napt install\n```\n\n# Usage\n\nUse it.\n";
    let c = chunks("README.md", src);
    let install = find(&c, "Install");
    check(install, ChunkKind::Section, (3, 5), None);
    let linux = find(&c, "Linux");
    check(linux, ChunkKind::Section, (7, 12), Some("Install"));
    assert!(linux.text.contains("# not a heading"));
    check(find(&c, "Usage"), ChunkKind::Section, (14, 16), None);
    assert_eq!(c[0].kind, ChunkKind::Block);
    // Headings are definitions; a `#` line inside a code fence is not.
    check_def(&c, "Linux", ChunkKind::Section, (7, 13), 7, Some("Install"));
    let all: Vec<&str> = c.iter().flat_map(names).collect();
    assert_eq!(all, ["Install", "Linux", "Usage"]);
}

#[test]
fn data_files_and_unknown_text_are_line_windows() {
    let json: String = (0..200).map(|i| format!("  \"k{i}\": {i},\n")).collect();
    let c = chunks("data.json", &format!("{{\n{json}}}\n"));
    assert!(c.len() >= 3);
    assert!(c.iter().all(|c| c.kind == ChunkKind::Window));
    assert!(c.iter().all(|c| c.definitions.is_empty()));
    assert!(
        c.windows(2)
            .all(|w| w[0].span.end_line < w[1].span.start_line)
    );
    for (path, lang) in [
        ("Cargo.toml", "toml"),
        ("ci.yml", "yaml"),
        ("notes.txt", "text"),
    ] {
        let out = chunk_file(path, b"a = 1\nb = 2\n", &ChunkOptions::default());
        assert_eq!(out.language, lang);
        assert_eq!(out.chunks.len(), 1);
    }
}

#[test]
fn content_hash_ignores_position_but_not_text() {
    let a = chunks("a.rs", "fn f() { 1 }\n");
    let b = chunks("b.rs", "\n\n\nfn f() { 1 }\n");
    let c = chunks("c.rs", "fn f() { 2 }\n");
    assert_eq!(a[0].hash, b[0].hash);
    assert_ne!(a[0].hash, c[0].hash);
}
