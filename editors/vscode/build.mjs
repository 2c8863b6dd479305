// Bundles the extension with esbuild (vscode stays external) and, with --tests, the
// unit tests, after a type check with tsc.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";

execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "--noEmit", "-p", "."], { stdio: "inherit" });
await build({
  entryPoints: ["src/extension.ts"],
  bundle: true,
  platform: "node",
  target: "node18",
  format: "cjs",
  external: ["vscode"],
  outfile: "dist/extension.js",
  sourcemap: true,
  logLevel: "warning",
});
if (process.argv.includes("--tests")) {
  await build({
    entryPoints: readdirSync("test").filter((f) => f.endsWith(".test.ts")).map((f) => `test/${f}`),
    bundle: true,
    platform: "node",
    target: "node18",
    format: "cjs",
    outdir: "out/test",
    logLevel: "warning",
  });
}
