#!/usr/bin/env python3
"""The shared Postgres store beside the local one, on ../shared/bench-quality.

Starts a scratch PostgreSQL 17 with pg_search and pgvector (scripts/pg-cluster.sh), then
for each of the 8 repositories: indexes a copy locally with the default setup (BM25 +
the fast tier) and publishes it into the one store (`scry index --store --repo NAME`);
runs every annotated query against the local index and against the store (`scry search
--store --repo NAME`, the engine's same ranking stage over Postgres rows); and scores
NDCG@10 by both protocols for each. Then:

- query latency as an agent meets it: `search_code` calls to `scry serve --store` over
  MCP's streamable HTTP (query embedding, one read transaction in Postgres, the
  ranking stage), per repository and across all 8, measured by the client;
- publish throughput (chunks per second into Postgres) with one indexer publishing all
  repositories in turn, and with two indexers publishing half each at once.

    scripts/bench-store.py [--repos a,b] [--bin SCRY] [--out FILE]
"""
import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location('bq', os.path.join(HERE, 'bench-quality.py'))
bq = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bq)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))] if xs else float('nan')


class Mcp:
    """A minimal MCP client over streamable HTTP: JSON-RPC POSTs, answers as JSON or SSE."""

    def __init__(self, url):
        self.url, self.session, self.next = url, None, 1
        self.call('initialize', {'protocolVersion': '2025-06-18', 'capabilities': {},
                                 'clientInfo': {'name': 'bench-store', 'version': '1'}})
        self.post({'jsonrpc': '2.0', 'method': 'notifications/initialized'})

    def post(self, body):
        headers = {'Content-Type': 'application/json',
                   'Accept': 'application/json, text/event-stream'}
        if self.session:
            headers['Mcp-Session-Id'] = self.session
        req = urllib.request.Request(self.url, json.dumps(body).encode(), headers)
        with urllib.request.urlopen(req, timeout=120) as r:
            self.session = r.headers.get('Mcp-Session-Id', self.session)
            text = r.read().decode()
        for line in text.splitlines():
            if line.startswith('data:') and line[5:].strip():
                return json.loads(line[5:])
        return json.loads(text) if text.strip() else None

    def call(self, method, params):
        self.next += 1
        out = self.post({'jsonrpc': '2.0', 'id': self.next, 'method': method, 'params': params})
        if 'error' in out:
            raise RuntimeError(out['error'])
        return out['result']

    def search(self, query, repo):
        args = {'query': query, 'k': 10, 'mode': 'hybrid'}
        if repo:
            args['repos'] = [repo]
        t0 = time.perf_counter()
        r = self.call('tools/call', {'name': 'search_code', 'arguments': args})
        us = int((time.perf_counter() - t0) * 1e6)
        if r.get('isError'):
            raise RuntimeError(r['content'])
        return r['structuredContent']['hits'], us


def serve(args, url, env):
    """`scry serve --store` on a free port; the MCP endpoint and the process."""
    p = subprocess.Popen([args.bin, '--embed-model', args.model, 'serve', '--store', url,
                          '--org', 'bench', '--http', '127.0.0.1:0'],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for line in p.stderr:
        m = re.search(r'(http://127\.0\.0\.1:\d+/mcp)', line)
        if m:
            threading.Thread(target=lambda: [None for _ in p.stderr], daemon=True).start()
            return m.group(1), p
    raise RuntimeError('scry serve --store did not start')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--repos', help='comma-separated subset')
    ap.add_argument('--data', default=os.environ.get('SCRY_BENCH_QUALITY', bq.DEFAULT_DATA))
    ap.add_argument('--bin', default=os.environ.get('SCRY_BIN', os.path.expanduser(
        '~/.cache/scry/target/debug/scry')))
    ap.add_argument('--model', default=os.path.join(os.environ.get('SCRY_MODELS', os.path.expanduser(
        '~/.local/share/scry/models')), 'all-MiniLM-L6-v2-f16.gguf'))
    ap.add_argument('--out', help='write the figures as JSON')
    args = ap.parse_args()
    meta = json.load(open(os.path.join(args.data, 'repos.json')))
    repos = sorted(meta['repos'])
    if args.repos:
        repos = [r for r in repos if r in args.repos.split(',')]
    work = tempfile.mkdtemp(prefix='scry-bench-store-')
    # As root, Postgres runs as `nobody`, who must reach its directory.
    os.chmod(work, 0o755)
    pg = os.path.join(work, 'pg')
    port = 20000 + os.getpid() % 20000
    url = subprocess.run([os.path.join(HERE, 'pg-cluster.sh'), 'start', pg, str(port)],
                         check=True, capture_output=True, text=True).stdout.strip()
    try:
        run(args, meta, repos, work, url)
    finally:
        subprocess.run([os.path.join(HERE, 'pg-cluster.sh'), 'stop', pg])
        shutil.rmtree(work, ignore_errors=True)


def run(args, meta, repos, work, url):
    env = dict(os.environ, XDG_CACHE_HOME=f'{work}/cache', XDG_CONFIG_HOME=f'{work}/config',
               SCRY_LOG='scry_engine::search=debug,scry_store_pg=debug')
    bases, results = {}, {}
    for repo in repos:
        ws = os.path.join(work, repo, 'ws')
        shutil.copytree(os.path.join(args.data, 'repos', repo), ws)
        base = [args.bin, '-w', ws, '--index-dir', os.path.join(work, repo, 'idx'),
                '--embed-model', args.model]
        bases[repo] = base
        t0 = time.time()
        out = subprocess.run(base + ['index', '--json', '--store', url, '--org', 'bench',
                                     '--repo', repo], check=True, env=env, capture_output=True)
        index_s = time.time() - t0
        published = json.loads(out.stdout)['published']
        root = meta['repos'][repo].get('benchmark_root')
        local = bq.score_queries(args.data, repo, root, base + [
            'search', '--json', '--no-refresh', '-k', '10', '--mode', 'hybrid'], env)
        results[repo] = {'local': bq.summary(local),
                         'index_seconds': index_s,
                         'published': published}
        print(f'{repo}: indexed in {index_s:.1f}s, published {published["chunks"]} chunks '
              f'in {published["seconds"]:.2f}s', flush=True)
    # Every repository published: an agent's server searches them, warm.
    endpoint, server = serve(args, url, env)
    try:
        client = Mcp(endpoint)
        for repo in repos:
            root = meta['repos'][repo].get('benchmark_root')
            rows, micros = score_store(client, args.data, repo, root)
            results[repo]['store'] = bq.summary(rows)
            results[repo]['store_micros'] = micros
        # Every repository at once: the same queries, no repository filter.
        across = []
        for repo in repos:
            across += score_store(client, args.data, repo, None, every=True)[1]
    finally:
        server.terminate()
        server.wait()
    throughput = publish_throughput(bases, repos, url, env)
    print_tables(meta, repos, results, across, throughput)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump({'repos': results, 'across_micros': across, 'publish': throughput}, f,
                      indent=1)


def score_store(client, data, repo, root, every=False):
    """Scores as bench-quality does, and each call's time as the client saw it."""
    rows, micros = [], []
    for q in json.load(open(os.path.join(data, 'queries', f'{repo}.json'))):
        hits, us = client.search(q['query'], None if every else repo)
        micros.append(us)
        targets = [bq.target(t) for t in q['relevant'] + q.get('secondary', [])]
        for h in hits:
            h['path'] = f"{root}/{h['path']}" if root else h['path']
        files, seen = [], set()
        for h in hits:
            if h['path'] not in seen:
                seen.add(h['path'])
                files.append({'path': h['path'], 'start_line': 0, 'end_line': 0})
        rows.append({'query': q['query'], 'category': q.get('category', 'semantic'),
                     'file': bq.ndcg10(files, [(p, None) for p, _ in targets], False),
                     'chunk': bq.ndcg10(hits, targets, True), 'rank_us': None})
    return rows, micros


def publish_throughput(bases, repos, url, env):
    """Chunks per second into the store: one indexer for all, then two at once."""
    def publish(subset, out):
        for repo in subset:
            r = subprocess.run(bases[repo] + ['index', '--json', '--store', url, '--org',
                                              'bench', '--repo', repo],
                               check=True, env=env, capture_output=True)
            out.append(json.loads(r.stdout)['published']['chunks'])
    one = []
    t0 = time.time()
    publish(repos, one)
    one_s = time.time() - t0
    halves = [repos[0::2], repos[1::2]]
    outs = [[], []]
    threads = [threading.Thread(target=publish, args=(h, o)) for h, o in zip(halves, outs)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    two_s = time.time() - t0
    return {'chunks': sum(one), 'one_seconds': one_s, 'two_seconds': two_s}


def print_tables(meta, repos, results, across, throughput):
    print()
    print('NDCG@10, local store vs Postgres store (BM25 + fast tier), file / chunk protocol;'
          ' store query µs: search_code over MCP HTTP, as the client measured it')
    print(f'{"repo":10} {"local file":>10} {"store file":>10} {"local chunk":>11} '
          f'{"store chunk":>11} {"p50 µs":>8} {"p95 µs":>8}')
    for repo in repos:
        r = results[repo]
        print(f'{repo:10} {bq.fmt(r["local"]["file"]):>10} {bq.fmt(r["store"]["file"]):>10} '
              f'{bq.fmt(r["local"]["chunk"]):>11} {bq.fmt(r["store"]["chunk"]):>11} '
              f'{pct(r["store_micros"], 0.5):>8} {pct(r["store_micros"], 0.95):>8}')
    print()
    print(f'{"macro":12} ' + ' '.join(f'{k:>14}' for k in ['overall'] + bq.CATEGORIES))
    for side in ['local', 'store']:
        for proto in ['file', 'chunk']:
            vals = [bq.mean([results[r][side][proto if c == 'overall' else f'{proto}:{c}']
                             for r in repos]) for c in ['overall'] + bq.CATEGORIES]
            print(f'{side + " " + proto:12} ' + ' '.join(f'{bq.fmt(v):>14}' for v in vals))
    allq = [u for r in repos for u in results[r]['store_micros']]
    print()
    print(f'store query µs, one repository: p50 {pct(allq, 0.5)} p95 {pct(allq, 0.95)}; '
          f'all {len(repos)} repositories: p50 {pct(across, 0.5)} p95 {pct(across, 0.95)}')
    print(f'local one-shot CLI search for reference: see scripts/bench.sh (a warm local search '
          f'is ~1-2 ms)')
    t = throughput
    print(f'publish: {t["chunks"]} chunks; one indexer {t["one_seconds"]:.1f}s '
          f'({t["chunks"] / t["one_seconds"]:.0f} chunks/s incl. process start and refresh); '
          f'two indexers {t["two_seconds"]:.1f}s ({t["chunks"] / t["two_seconds"]:.0f} chunks/s, '
          f'{t["one_seconds"] / t["two_seconds"]:.2f}x)')


if __name__ == '__main__':
    main()
