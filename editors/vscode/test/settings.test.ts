// Settings become `scry` flags: global ones before `lsp`, its own after.
import { test } from "node:test";
import assert from "node:assert/strict";
import { serverArgs, serverEnv } from "../src/settings";

test("defaults start a plain scry lsp", () => {
  assert.deepEqual(serverArgs({ exclude: [], logLevel: "warn" }), ["lsp"]);
  assert.deepEqual(serverEnv({ exclude: [], logLevel: "debug" }), { SCRY_LOG: "debug" });
});

test("models, excludes and the budget map to flags in the right places", () => {
  assert.deepEqual(
    serverArgs({
      embeddingModel: "/m/e.gguf",
      chatModel: "qwen.gguf",
      exclude: ["**/gen/**", " ", "vendor/**"],
      budget: 4000,
      logLevel: "warn",
    }),
    ["--embed-model", "/m/e.gguf", "--chat-model", "qwen.gguf", "--exclude", "**/gen/**", "--exclude", "vendor/**", "lsp", "--budget", "4000"],
  );
});

test("embeddingModel none means BM25-only; a bad budget is left out", () => {
  assert.deepEqual(serverArgs({ embeddingModel: "none", exclude: [], logLevel: "warn", budget: -3 }), ["--no-model", "lsp"]);
  assert.deepEqual(serverArgs({ exclude: [], logLevel: "warn", budget: 1.5 }), ["lsp"]);
});
