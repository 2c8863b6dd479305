// The status bar: indexing with progress, ready with the chunk count, BM25-only as a
// warning, errors as errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { describe } from "../src/status";

test("ready with embeddings shows the chunk count", () => {
  const v = describe({ state: "ready", files: 364, chunks: 7056, generation: 3, mode: "hybrid", embeddingModel: "MiniLM" });
  assert.equal(v.text, "$(search) Scry: 7,056 chunks");
  assert.equal(v.severity, "normal");
  assert.match(v.tooltip, /364 files, 7,056 chunks, generation 3/);
  assert.match(v.tooltip, /Embeddings: MiniLM/);
});

test("BM25-only is a warning that says why", () => {
  const v = describe({ state: "ready", files: 2, chunks: 12_345, mode: "lexical", modelProblem: "no embedding model is configured" });
  assert.equal(v.text, "$(warning) Scry: 12k chunks (BM25-only)");
  assert.equal(v.severity, "warning");
  assert.match(v.tooltip, /BM25-only: no embedding model is configured/);
});

test("indexing shows progress; failures are errors", () => {
  assert.equal(describe(undefined, { title: "Indexing", percentage: 42.4 }).text, "$(sync~spin) Scry: indexing 42%");
  assert.equal(describe({ state: "indexing" }).text, "$(sync~spin) Scry: indexing");
  const e = describe({ state: "error", error: "locked" });
  assert.equal(e.severity, "error");
  assert.equal(e.tooltip, "Scry: locked");
  assert.equal(describe(undefined, undefined, "the scry binary was not found").severity, "error");
});
