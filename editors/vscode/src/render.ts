// HTML for the Ask panel and items for the search quick pick, from `scry/ask` and
// `scry/search` results. Pure and escaped, so it is unit-tested without VS Code.

export interface Range {
  start: { line: number; character: number };
  end: { line: number; character: number };
}

export interface Source {
  uri: string;
  range: Range;
  symbol?: string | null;
  tier?: string;
}

export interface AskState {
  question: string;
  /** The text streamed so far, or the final answer. */
  answer: string;
  done: boolean;
  /** The packed context, when no model answered. */
  context?: string | null;
  model?: string | null;
  sources: Source[];
  notices: string[];
  error?: string;
}

export function escapeHtml(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** A workspace-relative label for a file URI. */
export function label(uri: string, roots: string[]): string {
  const p = decodeURIComponent(uri.replace(/^file:\/\//, ""));
  for (const r of roots) {
    const root = r.endsWith("/") ? r : `${r}/`;
    if (p.startsWith(root)) {
      return p.slice(root.length);
    }
  }
  return p;
}

export function lines(r: Range): string {
  const a = r.start.line + 1;
  const b = r.end.line + 1;
  return a === b ? `${a}` : `${a}-${b}`;
}

/** The panel's body. Source links post `{open: index}` to the extension (no command
 * URIs: the webview runs scripts only from this page, with a nonce). */
export function askHtml(s: AskState, roots: string[], nonce: string, cspSource: string): string {
  const notices = s.notices.map((n) => `<p class="notice">${escapeHtml(n)}</p>`).join("");
  const body = s.error
    ? `<p class="error">${escapeHtml(s.error)}</p>`
    : s.answer
      ? `<pre class="answer">${escapeHtml(s.answer)}${s.done ? "" : "<span class=\"cursor\">▍</span>"}</pre>`
      : s.context
        ? `<p>No model answered; the context Scry would have sent:</p><pre class="context">${escapeHtml(s.context)}</pre>`
        : s.done
          ? "<p>(no answer)</p>"
          : "<p class=\"waiting\">Thinking…</p>";
  const sources = s.sources
    .map(
      (src, i) =>
        `<li><a href="#" class="source" data-index="${i}">${escapeHtml(label(src.uri, roots))}:${lines(src.range)}</a>` +
        (src.symbol ? ` <code>${escapeHtml(src.symbol)}</code>` : "") +
        "</li>",
    )
    .join("");
  return `<!DOCTYPE html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${cspSource} 'unsafe-inline'; script-src 'nonce-${nonce}';">
<style>
body { font-family: var(--vscode-font-family); padding: 0 1em; }
pre { white-space: pre-wrap; font-family: var(--vscode-editor-font-family); }
.notice { color: var(--vscode-editorWarning-foreground); }
.error { color: var(--vscode-errorForeground); }
</style></head><body>
<h3 class="question">${escapeHtml(s.question)}</h3>
${notices}
<div id="answer">${body}</div>
${sources ? `<h4>Sources</h4><ol class="sources">${sources}</ol>` : ""}
${s.model ? `<p class="model">${escapeHtml(s.model)}</p>` : ""}
<script nonce="${nonce}">
const vscode = acquireVsCodeApi();
for (const a of document.querySelectorAll("a.source")) {
  a.addEventListener("click", (e) => { e.preventDefault(); vscode.postMessage({ open: Number(a.dataset.index) }); });
}
</script></body></html>`;
}

export interface SearchHit {
  uri: string;
  range: Range;
  symbol?: string | null;
  kind?: string;
  language?: string;
  score?: number;
  stale?: boolean;
  snippet?: string;
}

export interface PickItem {
  label: string;
  description: string;
  detail: string;
  hit: SearchHit;
}

/** One quick-pick item per hit: the symbol (or file), where it is, its first code line. */
export function searchItems(hits: SearchHit[], roots: string[]): PickItem[] {
  return hits.map((h) => {
    const where = `${label(h.uri, roots)}:${lines(h.range)}`;
    const first = (h.snippet ?? "")
      .split("\n")
      .map((l) => l.trim())
      .find((l) => l && !/^(\/\/|#|\*|\/\*)/.test(l)) ?? "";
    return {
      label: `${h.symbol ? `$(symbol-${symbolIcon(h.kind)}) ${h.symbol}` : `$(file) ${label(h.uri, roots)}`}`,
      description: where + (h.stale ? " (changed since indexing)" : ""),
      detail: first,
      hit: h,
    };
  });
}

function symbolIcon(kind?: string): string {
  switch (kind) {
    case "function":
    case "method":
      return "method";
    case "struct":
    case "class":
    case "impl":
      return "class";
    case "enum":
      return "enum";
    case "trait":
    case "interface":
      return "interface";
    case "section":
      return "string";
    default:
      return "misc";
  }
}
