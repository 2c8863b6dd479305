// The extension's settings, and the command line and environment they give `scry lsp`.
// Pure: the VS Code configuration is read into `Settings` by the caller.

export type LogLevel = "error" | "warn" | "info" | "debug" | "trace";

export interface Settings {
  path?: string;
  embeddingModel?: string;
  chatModel?: string;
  budget?: number;
  exclude: string[];
  logLevel: LogLevel;
}

export const DEFAULTS: Settings = { exclude: [], logLevel: "warn" };

/** Arguments for `scry`: global flags, then `lsp` and its own flags. */
export function serverArgs(s: Settings): string[] {
  const args: string[] = [];
  const model = s.embeddingModel?.trim();
  if (model === "none") {
    args.push("--no-model");
  } else if (model) {
    args.push("--embed-model", model);
  }
  if (s.chatModel?.trim()) {
    args.push("--chat-model", s.chatModel.trim());
  }
  for (const g of s.exclude) {
    if (g.trim()) {
      args.push("--exclude", g.trim());
    }
  }
  args.push("lsp");
  if (s.budget !== undefined && Number.isInteger(s.budget) && s.budget > 0) {
    args.push("--budget", String(s.budget));
  }
  return args;
}

/** Environment additions: the log level. */
export function serverEnv(s: Settings): Record<string, string> {
  return { SCRY_LOG: s.logLevel };
}

/** Settings whose change needs the server restarted (all of them but the trace, which
 * the language client applies live). */
export const RESTART_KEYS = ["path", "embeddingModel", "chatModel", "budget", "exclude", "logLevel"];
