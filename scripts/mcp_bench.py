"""Drives `scry mcp` over stdio with raw JSON-RPC: N tool calls, C in flight at a time,
alternating search_code and get_context over a list of queries; reports p50/p95
latency per tool, errors, and the server's peak RSS; plus, as references from the same
session, the `ping` round trip and each tool's latency one call at a time (100 calls). usage: mcp_bench.py N C -- scry ... mcp ..."""

import asyncio
import json
import os
import statistics
import sys
import time

QUERIES = [
    "how are segments merged", "IndexWriter commit", "tokenizer lowercase filter",
    "BM25 scoring weight", "fast field reader", "delete documents by term",
    "query parser boolean", "doc store compression", "collector top docs",
    "schema text field options", "term dictionary fst", "postings skip list",
    "garbage collect files", "segment reader alive bitset", "facet collector",
    "range query on u64", "phrase query positions", "mmap directory",
    "index meta json", "searcher doc address",
]


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def main():
    n, conc = int(sys.argv[1]), int(sys.argv[2])
    cmd = sys.argv[sys.argv.index("--") + 1:]
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL, limit=64 << 20)
    pending = {}

    async def reader():
        while True:
            line = await proc.stdout.readline()
            if not line:
                break
            msg = json.loads(line)
            fut = pending.pop(msg.get("id"), None)
            if fut is not None:
                fut.set_result(msg)

    rtask = asyncio.create_task(reader())
    next_id = [0]

    async def request(method, params):
        next_id[0] += 1
        i = next_id[0]
        fut = asyncio.get_running_loop().create_future()
        pending[i] = fut
        proc.stdin.write((json.dumps({"jsonrpc": "2.0", "id": i, "method": method, "params": params}) + "\n").encode())
        await proc.stdin.drain()
        return await fut

    t0 = time.perf_counter()
    await request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                 "clientInfo": {"name": "bench", "version": "1"}})
    proc.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
    # Ready: the first search answers (the index is opened, not rebuilt).
    await request("tools/call", {"name": "search_code", "arguments": {"query": "warm up"}})
    ready_ms = (time.perf_counter() - t0) * 1000

    pings = []
    for _ in range(50):
        s = time.perf_counter()
        await request("ping", {})
        pings.append((time.perf_counter() - s) * 1000)

    # One at a time first: the service time without queueing.
    solo = {"search_code": [], "get_context": []}
    for k in range(100):
        tool = "search_code" if k % 2 == 0 else "get_context"
        q = QUERIES[k % len(QUERIES)]
        args = {"query": q, "k": 10} if tool == "search_code" else {"query": q, "budget": 4000}
        s = time.perf_counter()
        await request("tools/call", {"name": tool, "arguments": args})
        solo[tool].append((time.perf_counter() - s) * 1000)

    lat = {"search_code": [], "get_context": []}
    errors = {"search_code": 0, "get_context": 0}
    sem = asyncio.Semaphore(conc)

    async def one(k):
        tool = "search_code" if k % 2 == 0 else "get_context"
        q = QUERIES[k % len(QUERIES)]
        args = {"query": q, "k": 10} if tool == "search_code" else {"query": q, "budget": 4000}
        async with sem:
            s = time.perf_counter()
            r = await request("tools/call", {"name": tool, "arguments": args})
            lat[tool].append((time.perf_counter() - s) * 1000)
            if "error" in r or r.get("result", {}).get("isError"):
                errors[tool] += 1

    s = time.perf_counter()
    await asyncio.gather(*(one(k) for k in range(n)))
    wall = time.perf_counter() - s
    rss = peak_rss_mib(proc.pid)
    status = await request("tools/call", {"name": "index_status", "arguments": {}})
    st = status["result"]["structuredContent"]
    proc.stdin.close()
    await proc.wait()
    rtask.cancel()
    out = {
        "calls": n, "concurrency": conc, "wall_s": wall, "calls_per_s": n / wall,
        "ready_ms": ready_ms, "ping_p50_ms": statistics.median(pings),
        "files": st["files"], "chunks": st["chunks"], "vectors": st["vectors"], "mode": st["search_mode"],
        "peak_rss_mib": round(rss, 1),
    }
    for tool in lat:
        out[f"{tool}_solo_p50_ms"] = pct(solo[tool], 50)
        out[f"{tool}_solo_p95_ms"] = pct(solo[tool], 95)
        out[f"{tool}_p50_ms"] = pct(lat[tool], 50)
        out[f"{tool}_p95_ms"] = pct(lat[tool], 95)
        out[f"{tool}_max_ms"] = max(lat[tool])
        out[f"{tool}_errors"] = errors[tool]
    print(json.dumps(out))


asyncio.run(main())
