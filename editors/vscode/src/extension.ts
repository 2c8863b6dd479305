// The Scry extension: starts `scry lsp` through vscode-languageclient and adds Ask,
// Search Workspace, Reindex, Restart Server and Show Output, and a status bar item with
// the index's state. The logic that needs no VS Code lives in binary.ts, settings.ts,
// status.ts and render.ts (unit-tested); this file is the glue.

import * as fs from "fs";
import * as vscode from "vscode";
import {
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  ProgressType,
  ServerOptions,
  State,
} from "vscode-languageclient/node";

import { findBinary, isFound } from "./binary";
import { askHtml, AskState, searchItems, SearchHit, Source } from "./render";
import { DEFAULTS, LogLevel, RESTART_KEYS, serverArgs, serverEnv, Settings } from "./settings";
import { describe, ScryStatus } from "./status";

let manager: Manager | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  manager = new Manager(context);
  const m = manager;
  context.subscriptions.push(
    vscode.commands.registerCommand("scry.restartServer", () => m.restart()),
    vscode.commands.registerCommand("scry.showOutput", () => m.output.show(true)),
    vscode.commands.registerCommand("scry.reindex", () => m.reindex()),
    vscode.commands.registerCommand("scry.ask", (question?: string) => m.ask(question)),
    vscode.commands.registerCommand("scry.searchWorkspace", (query?: string) => m.search(query)),
    vscode.commands.registerCommand("scry.showStatus", () => m.showStatus()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (RESTART_KEYS.some((k) => e.affectsConfiguration(`scry.${k}`))) {
        void m.restart();
      }
    }),
  );
  await m.restart();
}

export async function deactivate(): Promise<void> {
  await manager?.stop();
}

function readSettings(): Settings {
  const c = vscode.workspace.getConfiguration("scry");
  return {
    path: c.get<string>("path") || undefined,
    embeddingModel: c.get<string>("embeddingModel") || undefined,
    chatModel: c.get<string>("chatModel") || undefined,
    budget: c.get<number>("budget") || undefined,
    exclude: c.get<string[]>("exclude") ?? DEFAULTS.exclude,
    logLevel: c.get<LogLevel>("logLevel") ?? DEFAULTS.logLevel,
  };
}

function isExecutable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

class Manager {
  readonly output: vscode.LogOutputChannel;
  private client: LanguageClient | undefined;
  private readonly statusItem: vscode.StatusBarItem;
  private status: ScryStatus | undefined;
  private failure: string | undefined;
  private poll: NodeJS.Timeout | undefined;
  private roots: string[] = [];

  constructor(private readonly context: vscode.ExtensionContext) {
    this.output = vscode.window.createOutputChannel("Scry", { log: true });
    this.statusItem = vscode.window.createStatusBarItem("scry.status", vscode.StatusBarAlignment.Left, 10);
    this.statusItem.name = "Scry";
    this.statusItem.command = "scry.showStatus";
    context.subscriptions.push(this.output, this.statusItem);
    this.render();
    this.statusItem.show();
  }

  /** The single way the server is (re)started. */
  async restart(): Promise<void> {
    await this.stop();
    this.failure = undefined;
    this.status = undefined;
    const settings = readSettings();
    const found = findBinary({
      setting: settings.path,
      env: process.env,
      extensionDir: this.context.extensionPath,
      platform: process.platform,
      isExecutable,
    });
    if (!isFound(found)) {
      this.failure = "the scry binary was not found";
      this.render();
      this.output.error(`scry binary not found; looked at: ${found.tried.join("; ")}`);
      const choice = await vscode.window.showErrorMessage(
        "Scry: the `scry` binary was not found. Set `scry.path` to its location (or put it on PATH), then restart the server.",
        "Open Settings",
        "Show Output",
      );
      if (choice === "Open Settings") {
        await vscode.commands.executeCommand("workbench.action.openSettings", "scry.path");
      } else if (choice === "Show Output") {
        this.output.show(true);
      }
      return;
    }
    this.output.info(`starting ${found.path} (from ${found.source}) ${serverArgs(settings).join(" ")}`);
    const serverOptions: ServerOptions = {
      command: found.path,
      args: serverArgs(settings),
      options: { env: { ...process.env, ...serverEnv(settings) } },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: "file" }],
      outputChannel: this.output,
      connectionOptions: { maxRestartCount: 4 },
      initializationFailedHandler: (e) => {
        this.failure = `the server failed to start: ${e}`;
        this.render();
        return false;
      },
    };
    const client = new LanguageClient("scry", "Scry", serverOptions, clientOptions);
    // The server advertises `scry.reindex` and `scry.ask` as LSP commands (for clients
    // without an extension, like Neovim). The client would register VS Code commands
    // under the same ids as this extension's own and fail to start; the extension sends
    // `workspace/executeCommand` itself, so the client registers none.
    client.getFeature(ExecuteCommandRequest.method).register = () => {};
    client.onDidChangeState((e) => {
      if (e.newState === State.Stopped && this.client === client) {
        this.failure = "the server stopped (see Scry: Show Output)";
        this.render();
      }
    });
    this.client = client;
    try {
      await client.start();
    } catch (e) {
      this.failure = `the server failed to start: ${e}`;
      this.render();
      void vscode.window
        .showErrorMessage(`Scry: ${this.failure}`, "Show Output")
        .then((c) => c && this.output.show(true));
      return;
    }
    this.startPolling();
  }

  async stop(): Promise<void> {
    if (this.poll) {
      clearInterval(this.poll);
      this.poll = undefined;
    }
    const c = this.client;
    this.client = undefined;
    if (c) {
      try {
        await c.stop(2000);
      } catch (e) {
        this.output.warn(`stopping the server: ${e}`);
      }
    }
  }

  private startPolling(): void {
    const tick = async () => {
      const c = this.client;
      if (!c || !c.isRunning()) {
        return;
      }
      try {
        this.status = await c.sendRequest<ScryStatus>("scry/status", {});
        this.roots = this.status.roots ?? [];
        this.failure = undefined;
      } catch (e) {
        this.output.debug(`scry/status: ${e}`);
      }
      this.render();
    };
    void tick();
    this.poll = setInterval(tick, 2000);
  }

  private render(): void {
    const v = describe(this.status, undefined, this.failure);
    this.statusItem.text = v.text;
    this.statusItem.tooltip = v.tooltip;
    this.statusItem.backgroundColor =
      v.severity === "error"
        ? new vscode.ThemeColor("statusBarItem.errorBackground")
        : v.severity === "warning"
          ? new vscode.ThemeColor("statusBarItem.warningBackground")
          : undefined;
  }

  private running(): LanguageClient | undefined {
    if (this.client?.isRunning()) {
      return this.client;
    }
    void vscode.window
      .showErrorMessage("Scry: the server is not running.", "Restart Server", "Show Output")
      .then((c) => {
        if (c === "Restart Server") {
          void this.restart();
        } else if (c === "Show Output") {
          this.output.show(true);
        }
      });
    return undefined;
  }

  async showStatus(): Promise<void> {
    const v = describe(this.status, undefined, this.failure);
    const choice = await vscode.window.showInformationMessage(
      v.tooltip,
      { modal: false },
      "Reindex",
      "Restart Server",
      "Show Output",
    );
    if (choice === "Reindex") {
      await this.reindex();
    } else if (choice === "Restart Server") {
      await this.restart();
    } else if (choice === "Show Output") {
      this.output.show(true);
    }
  }

  async reindex(): Promise<void> {
    const c = this.running();
    if (!c) {
      return;
    }
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: "Scry: reindexing" },
      async () => {
        try {
          const r = await c.sendRequest<{ filesIndexed: number; filesRemoved: number; generation: number }>(
            "workspace/executeCommand",
            { command: "scry.reindex", arguments: [] },
          );
          this.output.info(`reindexed: ${JSON.stringify(r)}`);
        } catch (e) {
          void vscode.window.showErrorMessage(`Scry: reindexing failed: ${e}`);
        }
      },
    );
  }

  async search(initial?: string): Promise<void> {
    const c = this.running();
    if (!c) {
      return;
    }
    const pick = vscode.window.createQuickPick<vscode.QuickPickItem & { hit?: SearchHit }>();
    pick.placeholder = "Search the workspace with Scry (words, identifiers, or a description)";
    pick.matchOnDescription = false;
    pick.matchOnDetail = false;
    let seq = 0;
    let timer: NodeJS.Timeout | undefined;
    let inflight: vscode.CancellationTokenSource | undefined;
    const run = (query: string) => {
      const mine = ++seq;
      inflight?.cancel();
      if (!query.trim()) {
        pick.items = [];
        pick.busy = false;
        return;
      }
      inflight = new vscode.CancellationTokenSource();
      pick.busy = true;
      c.sendRequest<{ hits: SearchHit[]; notice?: string }>("scry/search", { query, k: 30 }, inflight.token).then(
        (r) => {
          if (mine !== seq) {
            return;
          }
          // Rank order is Scry's: keep it, do not let the quick pick re-filter.
          pick.items = searchItems(r.hits, this.roots).map((i) => ({ ...i, alwaysShow: true }));
          pick.title = r.notice ? `Scry: ${r.notice}` : undefined;
          pick.busy = false;
        },
        (e) => {
          if (mine === seq) {
            pick.busy = false;
            this.output.debug(`scry/search: ${e}`);
          }
        },
      );
    };
    pick.onDidChangeValue((v) => {
      if (timer) {
        clearTimeout(timer);
      }
      timer = setTimeout(() => run(v), 120);
    });
    pick.onDidAccept(async () => {
      const hit = pick.selectedItems[0]?.hit;
      pick.hide();
      if (hit) {
        await openAt(hit.uri, hit.range);
      }
    });
    pick.onDidHide(() => {
      inflight?.cancel();
      pick.dispose();
    });
    pick.show();
    if (initial) {
      pick.value = initial;
      run(initial);
    }
  }

  async ask(given?: string): Promise<void> {
    const c = this.running();
    if (!c) {
      return;
    }
    const question =
      given ??
      (await vscode.window.showInputBox({
        prompt: "Ask Scry about this workspace",
        placeHolder: "How does the server handle cancellation?",
        ignoreFocusOut: true,
      }));
    if (!question?.trim()) {
      return;
    }
    const panel = vscode.window.createWebviewPanel("scry.ask", "Scry: Ask", vscode.ViewColumn.Beside, {
      enableScripts: true,
      localResourceRoots: [],
    });
    const state: AskState = { question, answer: "", done: false, sources: [], notices: [] };
    const nonce = Math.random().toString(36).slice(2) + Date.now().toString(36);
    const draw = () => {
      panel.webview.html = askHtml(state, this.roots, nonce, panel.webview.cspSource);
    };
    draw();
    const cancel = new vscode.CancellationTokenSource();
    panel.onDidDispose(() => cancel.cancel());
    panel.webview.onDidReceiveMessage(async (m: { open?: number }) => {
      const src = m.open !== undefined ? state.sources[m.open] : undefined;
      if (src) {
        // Beside the panel, not in its place: the answer stays readable.
        await openAt(src.uri, src.range, vscode.ViewColumn.One);
      }
    });
    const token = `scry-ask-${nonce}`;
    // Redraws are throttled: a model streams faster than a webview repaints.
    let pending: NodeJS.Timeout | undefined;
    const progress = c.onProgress(
      new ProgressType<{ text?: string }>(),
      token,
      (value: { text?: string }) => {
        state.answer += value.text ?? "";
        pending ??= setTimeout(() => {
          pending = undefined;
          draw();
        }, 50);
      },
    );
    try {
      const r = await c.sendRequest<{
        answer: string | null;
        context?: string | null;
        model?: { name?: string } | string | null;
        sources: Source[];
        notices: string[];
      }>("scry/ask", { question, partialResultToken: token }, cancel.token);
      state.answer = r.answer ?? "";
      state.context = r.context;
      state.sources = r.sources ?? [];
      state.notices = r.notices ?? [];
      state.model = typeof r.model === "string" ? r.model : (r.model?.name ?? null);
    } catch (e) {
      state.error = cancel.token.isCancellationRequested ? "Cancelled." : `Scry could not answer: ${e}`;
    } finally {
      progress.dispose();
      if (pending) {
        clearTimeout(pending);
      }
      state.done = true;
      draw();
    }
  }
}

async function openAt(uri: string, r: Source["range"], viewColumn?: vscode.ViewColumn): Promise<void> {
  const range = new vscode.Range(r.start.line, r.start.character, r.end.line, r.end.character);
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(uri));
  await vscode.window.showTextDocument(doc, {
    selection: new vscode.Range(range.start, range.start),
    preview: false,
    viewColumn,
  });
  const editor = vscode.window.activeTextEditor;
  editor?.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
}
