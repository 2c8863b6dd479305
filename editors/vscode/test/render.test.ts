// The Ask panel and the search quick pick render results faithfully and safely.
import { test } from "node:test";
import assert from "node:assert/strict";
import { askHtml, escapeHtml, label, searchItems } from "../src/render";

const range = (a: number, b: number) => ({ start: { line: a, character: 0 }, end: { line: b, character: 1 } });

test("answers are escaped and sources are clickable workspace-relative links", () => {
  const html = askHtml(
    {
      question: "What is <script>?",
      answer: "Use `a < b` & <b>bold</b>",
      done: true,
      sources: [{ uri: "file:///ws/src/a%20b.rs", range: range(9, 19), symbol: "parse" }],
      notices: ["BM25-only"],
      model: "SmolLM2",
    },
    ["/ws"],
    "n0nce",
    "vscode-resource:",
  );
  assert.ok(!html.includes("<script>?"));
  assert.ok(html.includes("What is &lt;script&gt;?"));
  assert.ok(html.includes("Use `a &lt; b` &amp; &lt;b&gt;bold&lt;/b&gt;"));
  assert.ok(html.includes('data-index="0">src/a b.rs:10-20</a> <code>parse</code>'));
  assert.ok(html.includes("script-src 'nonce-n0nce'"));
  assert.ok(html.includes('<script nonce="n0nce">'));
});

test("while streaming a cursor shows; without a model the context shows", () => {
  const s = { question: "q", answer: "partial", done: false, sources: [], notices: [] };
  assert.ok(askHtml(s, [], "n", "c").includes("▍"));
  const ctx = askHtml({ ...s, answer: "", done: true, context: "### a.rs" }, [], "n", "c");
  assert.ok(ctx.includes("No model answered"));
  assert.ok(ctx.includes("### a.rs"));
});

test("search items keep rank order and show symbol, place and first code line", () => {
  const items = searchItems(
    [
      { uri: "file:///ws/src/server.rs", range: range(3, 9), symbol: "route_request", kind: "function", snippet: "/// Routes.\npub fn route_request(p: &str) {" },
      { uri: "file:///ws/README.md", range: range(0, 4), kind: "section", stale: true, snippet: "# Demo" },
    ],
    ["/ws"],
  );
  assert.equal(items[0].label, "$(symbol-method) route_request");
  assert.equal(items[0].description, "src/server.rs:4-10");
  assert.equal(items[0].detail, "pub fn route_request(p: &str) {");
  assert.equal(items[1].label, "$(file) README.md");
  assert.equal(items[1].description, "README.md:1-5 (changed since indexing)");
});

test("labels fall back to the full path outside the roots", () => {
  assert.equal(label("file:///other/x.rs", ["/ws"]), "/other/x.rs");
  assert.equal(escapeHtml(`"'`), "&quot;&#39;");
});
