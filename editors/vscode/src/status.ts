// What the status bar says about the index, from `scry/status` and indexing progress.
// Pure, so it is unit-tested without VS Code.

export interface ScryStatus {
  state: "starting" | "indexing" | "ready" | "noWorkspace" | "error";
  generation?: number;
  files?: number;
  chunks?: number;
  vectors?: number;
  mode?: "hybrid" | "lexical";
  embeddingModel?: string | null;
  modelProblem?: string | null;
  notices?: string[];
  error?: string | null;
  roots?: string[];
}

export interface Progress {
  title?: string;
  message?: string;
  percentage?: number;
}

export type Severity = "normal" | "warning" | "error";

export interface View {
  text: string;
  tooltip: string;
  severity: Severity;
}

function count(n: number | undefined): string {
  if (n === undefined) {
    return "?";
  }
  return n >= 10_000 ? `${Math.round(n / 1000)}k` : n.toLocaleString("en-US");
}

export function describe(status: ScryStatus | undefined, progress?: Progress, failure?: string): View {
  if (failure) {
    return { text: "$(error) Scry", tooltip: `Scry: ${failure}`, severity: "error" };
  }
  if (progress) {
    const pct = progress.percentage !== undefined ? ` ${Math.round(progress.percentage)}%` : "";
    return {
      text: `$(sync~spin) Scry: indexing${pct}`,
      tooltip: [progress.title, progress.message].filter(Boolean).join(": ") || "Scry: indexing",
      severity: "normal",
    };
  }
  if (!status) {
    return { text: "$(sync~spin) Scry", tooltip: "Scry: starting", severity: "normal" };
  }
  switch (status.state) {
    case "starting":
      return { text: "$(sync~spin) Scry", tooltip: "Scry: opening the index", severity: "normal" };
    case "indexing":
      return { text: "$(sync~spin) Scry: indexing", tooltip: "Scry: indexing", severity: "normal" };
    case "noWorkspace":
      return { text: "$(circle-slash) Scry", tooltip: "Scry: no workspace folder is open", severity: "normal" };
    case "error":
      return { text: "$(error) Scry", tooltip: `Scry: ${status.error ?? "the index is unavailable"}`, severity: "error" };
    case "ready": {
      const chunks = `${count(status.chunks)} chunks`;
      const lines = [
        `Scry: ${count(status.files)} files, ${chunks}, generation ${status.generation ?? "?"}`,
        ...(status.notices ?? []),
      ];
      if (status.mode === "lexical") {
        lines.splice(1, 0, `Search is BM25-only: ${status.modelProblem ?? "no embedding model"}`);
        return { text: `$(warning) Scry: ${chunks} (BM25-only)`, tooltip: lines.join("\n"), severity: "warning" };
      }
      lines.splice(1, 0, `Embeddings: ${status.embeddingModel ?? "?"}`);
      return { text: `$(search) Scry: ${chunks}`, tooltip: lines.join("\n"), severity: "normal" };
    }
  }
}
