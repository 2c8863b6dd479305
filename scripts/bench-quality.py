#!/usr/bin/env python3
"""Retrieval quality of scry on ../shared/bench-quality, beside the published peers.

For each repository: index a temporary copy (BM25-only; BM25 + the fast tier, the static
table distilled from the embedding model, which is what `scry index` and a one-shot
`scry search` use by default; BM25 + the transformer alone; or BM25 + both tiers, what
the servers search once the full tier is computed), run every annotated
query through `scry search --json`, and score NDCG@10 by the benchmark's two protocols
(file: hits de-duplicated to files; chunk: the first 10 hits, a target with a line span
found by an overlapping hit). Prints per-repository and macro tables, overall and per
category (semantic, architecture, symbol), with the peers' published numbers, and
writes the figures as JSON.

    scripts/bench-quality.py [--mode bm25|static|hybrid|tiers] [--fusion scores|rrf]
                             [--repos a,b] [--fast-weights 0.5,0] [--out FILE] [--bin SCRY]

With `--mode tiers`, every weight of `--fast-weights` (the fast tier's share of the
vector weight, SCRY_FAST_TIER_WEIGHT) is scored on the same index, one table each.

SCRY_RANK_ABLATE=kind,definition,path,evidence,spread switches ranking signals off.
"""
import argparse
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA = os.path.join(HERE, '..', '..', 'shared', 'bench-quality')
CATEGORIES = ['semantic', 'architecture', 'symbol']
PEERS = ['semble', 'coderankembed_hybrid', 'semble_bm25_ranked', 'semble_bm25_raw']
LABELS = {'semble': 'semble', 'coderankembed_hybrid': 'CRE hybrid',
          'semble_bm25_ranked': 'sm BM25+rank', 'semble_bm25_raw': 'sm BM25 raw'}


def match(result, target):
    return result == target or result.endswith('/' + target) or target.endswith('/' + result)


def target(t):
    if isinstance(t, dict):
        return t['path'], (t['start_line'], t['end_line'])
    path, _, span = t.partition(':')
    return path, tuple(map(int, span.split('-'))) if span else None


def ndcg10(hits, targets, by_chunk):
    # As the benchmark scores it: each target counts at the first rank that finds it, and
    # a rank gains 1 however many targets it finds.
    ranks = set()
    for path, span in targets:
        for rank, h in enumerate(hits[:10], 1):
            if not match(h['path'], path):
                continue
            if by_chunk and span and (h['end_line'] < span[0] or h['start_line'] > span[1]):
                continue
            ranks.add(rank)
            break
    dcg = sum(1 / math.log2(rank + 1) for rank in ranks)
    ideal = sum(1 / math.log2(i + 1) for i in range(1, min(10, len(targets)) + 1))
    return dcg / ideal


def mean(xs):
    return sum(xs) / len(xs) if xs else float('nan')


def run_repo(args, data, repo, model, root, weights):
    """Rows of every query for each weight (`None`: the default), and the index time."""
    work = tempfile.mkdtemp(prefix='scry-bench-')
    try:
        ws = os.path.join(work, 'ws')
        shutil.copytree(os.path.join(data, 'repos', repo), ws)
        env = dict(os.environ, XDG_CACHE_HOME=f'{work}/cache', XDG_CONFIG_HOME=f'{work}/config',
                   SCRY_LOG='scry_engine::search=debug')
        base = [args.bin, '-w', ws, '--index-dir', f'{work}/idx']
        base += ['--no-model'] if args.mode == 'bm25' else ['--embed-model', model]
        if args.mode == 'static':
            # The fast tier: the table distilled from the same model (cached beside it).
            base += ['--embed-backend', 'static']
        if args.mode == 'hybrid':
            base += ['--no-fast-tier']
        base += ['--fusion', args.fusion]
        index = ['index', '--json'] + (['--wait-vectors'] if args.mode == 'tiers' else [])
        t0 = time.time()
        subprocess.run(base + index, check=True, env=env, capture_output=True)
        index_s = time.time() - t0
        mode = 'lexical' if args.mode == 'bm25' else 'hybrid'
        search = ['search', '--json', '--no-refresh', '-k', '10', '--mode', mode]
        if args.mode == 'tiers':
            search.append('--full-vectors')
        by_weight = {}
        for w in weights:
            wenv = dict(env) if w is None else dict(env, SCRY_FAST_TIER_WEIGHT=str(w))
            by_weight[w] = score_queries(data, repo, root, base + search, wenv)
        return by_weight, index_s
    finally:
        shutil.rmtree(work, ignore_errors=True)


def score_queries(data, repo, root, command, env):
    rows = []
    for q in json.load(open(os.path.join(data, 'queries', f'{repo}.json'))):
        targets = [target(t) for t in q['relevant'] + q.get('secondary', [])]
        r = subprocess.run(command + [q['query']], check=True, env=env, capture_output=True)
        hits = json.loads(r.stdout)['results']
        # The ranking stage's own time, as the engine logs it (one-shot process:
        # a cold upper bound of what a warm server spends).
        m = re.search(r'ranking stage candidates=\d+ micros=(\d+)', r.stderr.decode())
        rank_us = int(m.group(1)) if m else None
        # Paths as the targets name them: from the repository's root, not the
        # benchmark root that was indexed (`app.py` is not `sansio/app.py`).
        for h in hits:
            h['path'] = f"{root}/{h['path']}" if root else h['path']
        files, seen = [], set()
        for h in hits:
            if h['path'] not in seen:
                seen.add(h['path'])
                files.append({'path': h['path'], 'start_line': 0, 'end_line': 0})
        rows.append({
            'query': q['query'],
            'category': q.get('category', 'semantic'),
            'file': ndcg10(files, [(p, None) for p, _ in targets], False),
            'chunk': ndcg10(hits, targets, True),
            'rank_us': rank_us,
        })
    return rows


def summary(rows):
    out = {}
    for proto in ['file', 'chunk']:
        out[proto] = mean([r[proto] for r in rows])
        for c in CATEGORIES:
            out[f'{proto}:{c}'] = mean([r[proto] for r in rows if r['category'] == c])
    return out


def p95(rows):
    us = sorted(r['rank_us'] for r in rows if r['rank_us'] is not None)
    return str(us[min(len(us) - 1, int(0.95 * len(us)))]) if us else '-'


def fmt(x):
    return '  -  ' if x is None or (isinstance(x, float) and math.isnan(x)) else f'{x:.3f}'


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--mode', choices=['bm25', 'static', 'hybrid', 'tiers'], default='bm25',
                    help='BM25-only; BM25 + the static (fast-tier) table; BM25 + the '
                         'transformer; BM25 + both tiers')
    ap.add_argument('--fast-weights', default=None,
                    help='with --mode tiers: the fast tier\'s shares to score, e.g. 0.5,0.25,0')
    ap.add_argument('--repos', help='comma-separated subset')
    ap.add_argument('--fusion', choices=['scores', 'rrf'], default='rrf')
    ap.add_argument('--data', default=os.environ.get('SCRY_BENCH_QUALITY', DEFAULT_DATA))
    ap.add_argument('--bin', default=os.environ.get('SCRY_BIN', os.path.expanduser(
        '~/.cache/scry/target/debug/scry')))
    ap.add_argument('--model', default=os.path.join(os.environ.get('SCRY_MODELS', os.path.expanduser(
        '~/.local/share/scry/models')), 'all-MiniLM-L6-v2-f16.gguf'))
    ap.add_argument('--out', help='write per-query and summary figures as JSON')
    args = ap.parse_args()
    meta = json.load(open(os.path.join(args.data, 'repos.json')))
    repos = sorted(meta['repos'])
    if args.repos:
        repos = [r for r in repos if r in args.repos.split(',')]
    weights = [None]
    if args.mode == 'tiers' and args.fast_weights:
        weights = [float(w) for w in args.fast_weights.split(',')]
    results = {w: {} for w in weights}
    for repo in repos:
        by_weight, index_s = run_repo(args, args.data, repo, args.model,
                                      meta['repos'][repo].get('benchmark_root'), weights)
        for w, rows in by_weight.items():
            results[w][repo] = {'summary': summary(rows), 'index_seconds': index_s,
                                'queries': rows}
        print(f'{repo}: indexed in {index_s:.1f}s', flush=True)
    for w in weights:
        print_tables(args, meta, w, results[w])
    if args.out:
        with open(args.out, 'w') as f:
            json.dump({str(w): r for w, r in results.items()} if len(weights) > 1
                      else results[weights[0]], f, indent=1)


def print_tables(args, meta, weight, results):
    label = '' if weight is None else f', fast-tier weight {weight}'
    print()
    print(f'scry {args.mode} ({args.fusion} fusion{label}), NDCG@10 (file / chunk protocol); '
          'peers as published')
    header = f'{"repo":10} {"file":>6} {"chunk":>6} {"index s":>8} {"rank p95 µs":>11}  ' + ' '.join(f'{LABELS[p]:>14}' for p in PEERS)
    print(header)
    for repo, r in results.items():
        s = r['summary']
        rows = r['queries']
        peers = [meta['peers'].get(p, {}).get('repos', {}).get(repo, {}).get('ndcg10') for p in PEERS]
        print(f'{repo:10} {fmt(s["file"]):>6} {fmt(s["chunk"]):>6} {r["index_seconds"]:8.1f} {p95(rows):>11}  '
              + ' '.join(f'{fmt(p):>14}' for p in peers), flush=True)
    print()
    print(f'{"macro":12} ' + ' '.join(f'{k:>16}' for k in ['overall'] + CATEGORIES))
    for proto in ['file', 'chunk']:
        vals = [mean([results[r]['summary'][proto if c == 'overall' else f'{proto}:{c}'] for r in results
                      if not math.isnan(results[r]['summary'][proto if c == 'overall' else f'{proto}:{c}'])])
                for c in ['overall'] + CATEGORIES]
        print(f'{"scry " + proto:12} ' + ' '.join(f'{fmt(v):>16}' for v in vals))
    for p in PEERS:
        pr = meta['peers'].get(p, {}).get('repos', {})
        overall = mean([pr[r]['ndcg10'] for r in results if r in pr])
        cats = [mean([pr[r]['by_category'][c] for r in results
                      if r in pr and c in pr[r].get('by_category', {})]) for c in CATEGORIES]
        print(f'{LABELS[p]:12} ' + ' '.join(f'{fmt(v):>16}' for v in [overall] + cats))


if __name__ == '__main__':
    main()
