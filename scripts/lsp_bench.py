#!/usr/bin/env python3
"""Measures `scry lsp` as an editor sees it, over stdio, on an existing index.

usage: lsp_bench.py WORKSPACE EDIT_FILE -- SCRY LSP ARGS...
Prints one JSON object: initialize→searchable/ready (median of fresh starts), unsaved
edit→searchable and workspace/symbol latencies (p50/p95), the scry/status round trip
(the protocol's own floor, for comparison) and the server's peak RSS.
"""
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

STARTS = 5
EDITS = 60
SYMBOL_QUERIES = 100


class Client:
    def __init__(self, cmd):
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.next_id = 0

    def send(self, obj):
        body = json.dumps(obj).encode()
        self.p.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.p.stdin.flush()

    def read(self):
        header = b""
        while not header.endswith(b"\r\n\r\n"):
            c = self.p.stdout.read(1)
            if not c:
                raise EOFError("server closed")
            header += c
        n = int(header.split(b":")[1].split(b"\r\n")[0])
        return json.loads(self.p.stdout.read(n))

    def notify(self, method, params):
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method, params):
        self.next_id += 1
        rid = self.next_id
        self.send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        while True:
            m = self.read()
            if "method" in m and "id" in m:  # a server request: accept it
                self.send({"jsonrpc": "2.0", "id": m["id"], "result": None})
            elif m.get("id") == rid and "method" not in m:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m["result"]

    def close(self):
        self.request("shutdown", None)
        self.notify("exit", None)
        self.p.wait(timeout=10)

    def peak_rss_mib(self):
        for line in open(f"/proc/{self.p.pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return None


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def ms(s):
    return round(s * 1000, 2)


def main():
    sep = sys.argv.index("--")
    ws, edit_file = pathlib.Path(sys.argv[1]).resolve(), sys.argv[2]
    cmd = sys.argv[sep + 1 :]
    init = {"processId": os.getpid(), "rootUri": ws.as_uri(), "workspaceFolders": [{"uri": ws.as_uri(), "name": "ws"}],
            "capabilities": {"general": {"positionEncodings": ["utf-16"]}}}

    # initialize → searchable (a search answered with hits) and → ready (refresh done).
    t_init, t_search, t_ready = [], [], []
    for _ in range(STARTS):
        c = Client(cmd)
        t0 = time.perf_counter()
        c.request("initialize", init)
        t_init.append(time.perf_counter() - t0)
        c.notify("initialized", {})
        while not c.request("scry/search", {"query": "index writer commit", "k": 5})["hits"]:
            pass
        t_search.append(time.perf_counter() - t0)
        while c.request("scry/status", {})["state"] != "ready":
            time.sleep(0.002)
        t_ready.append(time.perf_counter() - t0)
        c.close()

    c = Client(cmd)
    c.request("initialize", init)
    c.notify("initialized", {})
    while c.request("scry/status", {})["state"] != "ready":
        time.sleep(0.01)
    status = c.request("scry/status", {})

    # The protocol's floor: a request that does no work.
    floor = []
    for _ in range(50):
        t = time.perf_counter()
        c.request("scry/status", {})
        floor.append(time.perf_counter() - t)

    # Unsaved edit → searchable: an incremental didChange, then a search for what it added.
    path = ws / edit_file
    text = path.read_text()
    uri = path.as_uri()
    c.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "rust", "version": 1, "text": text}})
    c.request("scry/search", {"query": "warmup", "k": 1})
    line = text.count("\n")
    edits = []
    for i in range(EDITS):
        add = f"pub fn scry_bench_marker_{i}() -> u32 {{ {i} }}\n"
        t = time.perf_counter()
        c.notify("textDocument/didChange", {
            "textDocument": {"uri": uri, "version": i + 2},
            "contentChanges": [{"range": {"start": {"line": line, "character": 0}, "end": {"line": line, "character": 0}}, "text": add}],
        })
        hits = c.request("scry/search", {"query": f"scry_bench_marker_{i}", "k": 3})["hits"]
        edits.append(time.perf_counter() - t)
        assert any(f"scry_bench_marker_{i}" in h["snippet"] for h in hits), f"edit {i} not found"
        line += 1

    # workspace/symbol on prefixes of real symbol names, as an editor sends while typing.
    names = []
    for word in ["index", "segment", "term", "doc", "query", "reader", "writer", "field", "score", "merge"]:
        for h in c.request("scry/search", {"query": word, "k": 50, "mode": "lexical"})["hits"]:
            if h.get("symbol") and len(h["symbol"]) >= 4 and h["symbol"] not in names:
                names.append(h["symbol"])
    queries = [n[: 3 + i % 4] for i, n in enumerate(names)][:SYMBOL_QUERIES] or ["index"]
    syms = []
    for q in queries:
        t = time.perf_counter()
        c.request("workspace/symbol", {"query": q})
        syms.append(time.perf_counter() - t)

    rss = c.peak_rss_mib()
    c.close()
    print(json.dumps({
        "files": status["files"], "chunks": status["chunks"], "vectors": status["vectors"], "mode": status["mode"],
        "initialize_ms": ms(statistics.median(t_init)),
        "searchable_ms": ms(statistics.median(t_search)),
        "ready_ms": ms(statistics.median(t_ready)),
        "status_roundtrip_p50_ms": ms(pct(floor, 50)),
        "edit_p50_ms": ms(pct(edits, 50)), "edit_p95_ms": ms(pct(edits, 95)),
        "symbol_p50_ms": ms(pct(syms, 50)), "symbol_p95_ms": ms(pct(syms, 95)),
        "symbol_queries": len(syms), "edits": len(edits),
        "peak_rss_mib": round(rss, 1) if rss else None,
    }))


main()
