#!/usr/bin/env python3
"""Many agents at once against one `scry serve`: latency per client, errors, rate limits,
cache hits and peak memory, with and without one client flooding the server.

    scripts/bench-load.py [--source DIR] [--sessions 200] [--calls 10] [--flood-threads 32]

The codebase defaults to tokio from the local cargo registry. Each session initializes
over streamable HTTP, then makes its calls (search_code and get_context, queries drawn
from a list, half of them repeated across sessions, half made distinct by an extra
word) one after another, as an agent does. After a warm-up round, two rounds run
against the same server: the sessions alone (the reference), then the same sessions
while one more session floods the server with as many distinct calls as
`--flood-threads` connections can send. It prints p50/p95 over the sessions' calls in each round, their ratio (the target:
the flood raises the others' p95 by at most 2x), the flooder's refusals, the cache hit
rate from /metrics and the server's peak RSS.
"""
import argparse
import glob
import http.client
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
QUERIES = [
    "spawn a task on the runtime", "TcpListener accept loop", "mpsc channel bounded send",
    "how does the scheduler steal work", "JoinHandle abort", "timeout future elapsed",
    "read_to_end AsyncReadExt", "broadcast channel lagged receivers", "Semaphore acquire permits",
    "block_on current thread runtime", "signal ctrl_c handler", "interval tick missed behavior",
    "Notify notify_waiters", "io driver readiness", "RwLock write guard", "unix socket pair",
    "LocalSet spawn_local", "oneshot channel closed", "process child wait", "fs File open",
    "select macro branches", "Barrier wait", "sleep_until Instant", "watch channel changed",
    "budget cooperative yielding", "task_local macro", "copy_bidirectional", "split a TcpStream",
    "BufReader lines", "Runtime shutdown_timeout",
]


class Session:
    """One MCP session over streamable HTTP, on its own keep-alive connection."""

    def __init__(self, host, port, join=None, first_id=1):
        """A new session, or another connection into the session `join` (its id)."""
        self.conn = http.client.HTTPConnection(host, port, timeout=120)
        self.headers = {"Content-Type": "application/json",
                        "Accept": "application/json, text/event-stream"}
        self.next_id = first_id
        if join:
            self.headers["Mcp-Session-Id"] = join
            return
        r = self.post({"jsonrpc": "2.0", "id": self.take_id(), "method": "initialize",
                       "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                                  "clientInfo": {"name": "bench-load", "version": "1"}}})
        self.headers["Mcp-Session-Id"] = r[1]
        self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def take_id(self):
        self.next_id += 1
        return self.next_id

    def post(self, msg):
        self.conn.request("POST", "/mcp", json.dumps(msg), self.headers)
        resp = self.conn.getresponse()
        body = resp.read().decode("utf-8", "replace")
        if resp.status >= 400:
            raise RuntimeError(f"HTTP {resp.status}: {body[:200]}")
        result = None
        for line in body.splitlines():
            if line.startswith("data:") and line[5:].strip():
                m = json.loads(line[5:])
                if m.get("id") == msg.get("id"):
                    result = m
        if result is None and body.strip().startswith("{"):
            result = json.loads(body)
        return result, resp.getheader("Mcp-Session-Id")

    def call(self, tool, args):
        """(seconds, outcome) with outcome ok, rate_limited or error."""
        t = time.perf_counter()
        r, _ = self.post({"jsonrpc": "2.0", "id": self.take_id(), "method": "tools/call",
                          "params": {"name": tool, "arguments": args}})
        dt = time.perf_counter() - t
        res = (r or {}).get("result") or {}
        if not res.get("isError"):
            return dt, "ok"
        sc = res.get("structuredContent") or {}
        return dt, "rate_limited" if sc.get("error") == "rate_limited" else "error"


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))] if xs else float("nan")


WORDS = ["waker", "poll", "budget", "shutdown", "driver", "handle", "worker", "queue",
         "permit", "buffer", "deadline", "registration", "interest", "park", "unpark", "cancel"]


def plan_of(rng, calls):
    plan = []
    for _ in range(calls):
        q = rng.choice(QUERIES)
        if rng.random() < 0.5:
            q = f"{q} {rng.choice(WORDS)} {rng.randrange(10_000)}"
        plan.append(("search_code" if rng.random() < 0.6 else "get_context", q))
    return plan


def round_of(host, port, sessions, calls, flood_threads, seed):
    rng = random.Random(seed)
    plans = [plan_of(rng, calls) for _ in range(sessions)]
    lat, outcomes, lock = [], {}, threading.Lock()
    start = threading.Barrier(sessions + (1 if flood_threads else 0))
    stop = threading.Event()
    flood = {"ok": 0, "rate_limited": 0, "error": 0}

    def agent(plan):
        s = Session(host, port)
        start.wait()
        for tool, q in plan:
            args = {"query": q, "k": 10} if tool == "search_code" else {"query": q, "budget": 2000}
            dt, out = s.call(tool, args)
            with lock:
                outcomes[out] = outcomes.get(out, 0) + 1
                if out == "ok":
                    lat.append(dt)

    def flooder():
        s = Session(host, port)
        start.wait()
        sid = s.headers["Mcp-Session-Id"]

        # One session over many connections; distinct queries, so the cache cannot
        # absorb the flood.
        def worker(w):
            c = Session(host, port, join=sid, first_id=1_000_000 * (w + 1))
            i = w
            while not stop.is_set():
                _, out = c.call("search_code", {"query": f"{QUERIES[i % len(QUERIES)]} flood {i}", "k": 10})
                with lock:
                    flood[out] += 1
                i += flood_threads
        ts = [threading.Thread(target=worker, args=(w,)) for w in range(flood_threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()

    threads = [threading.Thread(target=agent, args=(p,)) for p in plans]
    ft = threading.Thread(target=flooder) if flood_threads else None
    t0 = time.perf_counter()
    for t in threads + ([ft] if ft else []):
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    stop.set()
    if ft:
        ft.join()
    return {"lat": lat, "outcomes": outcomes, "flood": flood, "wall": wall}


def metrics(host, port):
    c = http.client.HTTPConnection(host, port, timeout=30)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    val = lambda name: sum(float(l.split()[-1]) for l in text.splitlines()
                           if l.startswith(name) and not l.startswith("#"))
    return val("scry_cache_hits_total"), val("scry_cache_misses_total")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source", help="codebase to serve (default: tokio from ~/.cargo/registry)")
    ap.add_argument("--bin", default=os.environ.get("SCRY_BIN", os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.join(HERE, "..", "target")), "debug", "scry")))
    ap.add_argument("--sessions", type=int, default=200)
    ap.add_argument("--calls", type=int, default=10)
    ap.add_argument("--flood-threads", type=int, default=32)
    ap.add_argument("--rate-limit", help="the server's --rate-limit (default: its own; 0: none, to see the flood unchecked)")
    a = ap.parse_args()
    src = a.source or (sorted(glob.glob(os.path.expanduser("~/.cargo/registry/src/*/tokio-1.*"))) or [None])[-1]
    if not src or not os.path.isdir(src):
        sys.exit("no codebase: pass --source DIR")
    work = tempfile.mkdtemp(prefix="scry-load-")
    try:
        ws = os.path.join(work, "ws")
        shutil.copytree(src, ws)
        subprocess.run([a.bin, "--no-model", "-w", ws, "index"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        err = open(os.path.join(work, "server.err"), "w+")
        # Sessions well above the load; the default rate limit and cache.
        server = subprocess.Popen([a.bin, "--no-model", "-w", ws, "serve", "--http", "127.0.0.1:0",
                                   "--no-watch", "--max-sessions", str(4 * a.sessions)]
                                  + (["--rate-limit", a.rate_limit] if a.rate_limit else []),
                                  stdout=subprocess.DEVNULL, stderr=err)
        addr = None
        for _ in range(600):
            err.seek(0)
            m = re.search(r"serving MCP at http://([\d.]+):(\d+)/mcp", err.read())
            if m:
                addr = (m.group(1), int(m.group(2)))
                break
            time.sleep(0.1)
        if not addr:
            server.kill()
            err.seek(0)
            sys.exit("the server did not start:\n" + err.read()[-2000:])
        files = sum(len(f) for _, _, f in os.walk(ws))
        limit = "no rate limit" if a.rate_limit == "0" else f"rate limit {a.rate_limit or 'default'}"
        print(f"# load: {a.sessions} sessions x {a.calls} calls on {os.path.basename(src)} "
              f"({files} files), BM25-only, {os.cpu_count()} CPUs, {limit}", flush=True)
        round_of(*addr, a.sessions, a.calls, 0, seed=0)  # warm-up: the popular queries cached
        w_hits, w_misses = metrics(*addr)
        ref = round_of(*addr, a.sessions, a.calls, 0, seed=1)
        hits0, misses0 = metrics(*addr)
        loaded = round_of(*addr, a.sessions, a.calls, a.flood_threads, seed=2)
        hits1, misses1 = metrics(*addr)
        peak = 0
        for line in open(f"/proc/{server.pid}/status"):
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
        server.terminate()
        server.wait(timeout=30)

        rows = [("round", "calls ok", "refused", "errors", "p50 ms", "p95 ms", "wall s", "cache hits")]
        for name, r, h, m in (("sessions alone", ref, hits0 - w_hits, misses0 - w_misses),
                              ("with one flooding", loaded, hits1 - hits0, misses1 - misses0)):
            o = r["outcomes"]
            rows.append((name, str(o.get("ok", 0)), str(o.get("rate_limited", 0)), str(o.get("error", 0)),
                         f"{1000 * pct(r['lat'], 0.5):.1f}", f"{1000 * pct(r['lat'], 0.95):.1f}",
                         f"{r['wall']:.1f}", f"{h / max(1, h + m):.0%} of {int(h + m)}"))
        w = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for i, r in enumerate(rows):
            print("| " + " | ".join(c.ljust(w[j]) for j, c in enumerate(r)) + " |")
            if i == 0:
                print("|" + "|".join("-" * (x + 2) for x in w) + "|")
        f = loaded["flood"]
        ratio = pct(loaded["lat"], 0.95) / pct(ref["lat"], 0.95)
        print(f"\nflooder ({a.flood_threads} connections, one session): {f['ok']} served, "
              f"{f['rate_limited']} rate limited, {f['error']} errors")
        print(f"others' p95 with the flood / alone: {ratio:.2f}x (target <= 2x)")
        print(f"server peak RSS: {peak:.0f} MiB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
