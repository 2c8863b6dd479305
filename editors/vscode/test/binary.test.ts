// Finding the scry binary: the setting, then $SCRY_PATH, then bundled, then PATH.
import { test } from "node:test";
import assert from "node:assert/strict";
import { expand, findBinary, isFound } from "../src/binary";

const lookup = (exec: string[], over: Partial<Parameters<typeof findBinary>[0]> = {}) =>
  findBinary({
    env: { PATH: "/usr/bin:/opt/scry/bin", HOME: "/home/u" },
    extensionDir: "/ext",
    platform: "linux",
    isExecutable: (p) => exec.includes(p),
    ...over,
  });

test("the setting wins, and a wrong setting is an error rather than a fallback", () => {
  const all = ["/custom/scry", "/ext/bin/scry", "/opt/scry/bin/scry"];
  assert.deepEqual(lookup(all, { setting: "/custom/scry" }), { path: "/custom/scry", source: "setting" });
  const r = lookup(all, { setting: "/missing/scry" });
  assert.equal(isFound(r), false);
  assert.match(JSON.stringify(r), /scry.path setting: \/missing\/scry/);
});

test("then SCRY_PATH, then the bundled binary, then PATH", () => {
  const env = { PATH: "/usr/bin:/opt/scry/bin", SCRY_PATH: "/env/scry", HOME: "/home/u" };
  assert.equal((lookup(["/env/scry", "/ext/bin/scry"], { env }) as { source: string }).source, "environment");
  assert.equal((lookup(["/ext/bin/scry", "/opt/scry/bin/scry"], { env }) as { source: string }).source, "bundled");
  assert.deepEqual(lookup(["/opt/scry/bin/scry"], { env }), { path: "/opt/scry/bin/scry", source: "PATH" });
});

test("nothing found lists every place looked at", () => {
  const r = lookup([]);
  assert.equal(isFound(r), false);
  assert.deepEqual((r as { tried: string[] }).tried, ["bundled: /ext/bin/scry", "PATH"]);
});

test("windows looks for scry.exe on a semicolon PATH", () => {
  const r = lookup(["C:\\tools\\scry.exe"], {
    platform: "win32",
    env: { PATH: "C:\\bin;C:\\tools" },
  });
  assert.equal(isFound(r), true);
});

test("~ and ${env:VAR} expand in paths", () => {
  assert.equal(expand("~/bin/scry", { HOME: "/home/u" }), "/home/u/bin/scry");
  assert.equal(expand("${env:TOOLS}/scry", { TOOLS: "/t" }), "/t/scry");
  assert.equal(expand("/a~b", { HOME: "/home/u" }), "/a~b");
});
