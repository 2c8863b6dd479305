// Finds the `scry` binary: the `scry.path` setting, then $SCRY_PATH, then a binary
// bundled in the extension, then PATH. Pure (the filesystem is passed in) so it is
// unit-tested without VS Code.

import * as path from "path";

export type BinarySource = "setting" | "environment" | "bundled" | "PATH";

export interface Found {
  path: string;
  source: BinarySource;
}

export interface Lookup {
  setting?: string;
  env: Record<string, string | undefined>;
  /** The extension's own directory (a bundled binary lives in `<dir>/bin/`). */
  extensionDir: string;
  platform: NodeJS.Platform;
  isExecutable: (p: string) => boolean;
}

/** Where each candidate was looked for, for the "not found" message. */
export interface NotFound {
  tried: string[];
}

export function exeName(platform: NodeJS.Platform): string {
  return platform === "win32" ? "scry.exe" : "scry";
}

/** Expands a leading `~` and `${env:VAR}`, as users write paths in settings. */
export function expand(p: string, env: Record<string, string | undefined>): string {
  let out = p.replace(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, v) => env[v] ?? "");
  if (out === "~" || out.startsWith("~/")) {
    out = (env.HOME ?? env.USERPROFILE ?? "~") + out.slice(1);
  }
  return out;
}

export function findBinary(l: Lookup): Found | NotFound {
  const tried: string[] = [];
  const setting = l.setting?.trim();
  if (setting) {
    const p = expand(setting, l.env);
    tried.push(`scry.path setting: ${p}`);
    // An explicit setting that is wrong is an error, not a reason to fall through.
    return l.isExecutable(p) ? { path: p, source: "setting" } : { tried };
  }
  const fromEnv = l.env.SCRY_PATH?.trim();
  if (fromEnv) {
    const p = expand(fromEnv, l.env);
    tried.push(`$SCRY_PATH: ${p}`);
    if (l.isExecutable(p)) {
      return { path: p, source: "environment" };
    }
  }
  const paths = l.platform === "win32" ? path.win32 : path.posix;
  const bundled = paths.join(l.extensionDir, "bin", exeName(l.platform));
  tried.push(`bundled: ${bundled}`);
  if (l.isExecutable(bundled)) {
    return { path: bundled, source: "bundled" };
  }
  const sep = l.platform === "win32" ? ";" : ":";
  for (const dir of (l.env.PATH ?? "").split(sep).filter(Boolean)) {
    const p = paths.join(dir, exeName(l.platform));
    if (l.isExecutable(p)) {
      return { path: p, source: "PATH" };
    }
  }
  tried.push("PATH");
  return { tried };
}

export function isFound(r: Found | NotFound): r is Found {
  return (r as Found).path !== undefined;
}
