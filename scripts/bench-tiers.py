#!/usr/bin/env python3
"""Time to a hybrid-searchable index, and one-shot search cost, per vector tier.

For each repository of ../shared/bench-quality (and tokio, copied from the local cargo
registry): index a temporary copy BM25-only, then with the static (fast-tier) table (what
the default `scry index` and a one-shot `scry search` do with a local model: the full
tier follows in the background), then (with --full) with the transformer alone
(`--no-fast-tier`); run one-shot `scry search` processes for the
benchmark's queries in each mode. Prints each time beside the BM25-only reference of the
same tree, measured in the same run, as a ratio: the machine is shared and noisy, the
ratios are what to compare.

The static table is distilled once per model before anything is timed (that one-time
cost is printed on its own line).

    scripts/bench-tiers.py [--repos a,b] [--full] [--queries N] [--bin SCRY] [--out FILE]
"""
import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DATA = os.path.join(HERE, '..', '..', 'shared', 'bench-quality')
TOKIO_QUERIES = ['spawn a task on the runtime', 'timer wheel for sleep deadlines',
                 'mpsc channel bounded capacity', 'AsyncRead', 'how the scheduler steals work',
                 'TcpListener accept', 'cancel a task with a JoinHandle', 'block_on']


def run(cmd, env):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, capture_output=True)
    return time.perf_counter() - t0


def measure(args, src, queries, model, env):
    work = tempfile.mkdtemp(prefix='scry-tiers-')
    try:
        ws = os.path.join(work, 'ws')
        shutil.copytree(src, ws, symlinks=True)
        tiers = [('bm25', ['--no-model']),
                 ('static', ['--embed-model', model, '--embed-backend', 'static'])]
        if args.full:
            tiers.append(('full', ['--embed-model', model, '--no-fast-tier']))
        out = {}
        for name, flags in tiers:
            base = [args.bin, '-w', ws, '--index-dir', f'{work}/idx-{name}'] + flags
            index_s = run(base + ['index', '--json'], env)
            mode = 'lexical' if name == 'bm25' else 'hybrid'
            times = [run(base + ['search', '--json', '--no-refresh', '-k', '10', '--mode', mode, q], env)
                     for q in queries[:args.queries]]
            out[name] = {'index_s': index_s, 'search_p50_s': statistics.median(times)}
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--repos', help='comma-separated subset (tokio included unless left out)')
    ap.add_argument('--full', action='store_true', help='also index with the transformer (slow)')
    ap.add_argument('--queries', type=int, default=10, help='one-shot searches per mode')
    ap.add_argument('--data', default=os.environ.get('SCRY_BENCH_QUALITY', DEFAULT_DATA))
    ap.add_argument('--bin', default=os.environ.get('SCRY_BIN', os.path.expanduser(
        '~/.cache/scry/target/debug/scry')))
    ap.add_argument('--model', default=os.path.join(os.environ.get('SCRY_MODELS', os.path.expanduser(
        '~/.local/share/scry/models')), 'all-MiniLM-L6-v2-f16.gguf'))
    ap.add_argument('--out', help='write the figures as JSON')
    args = ap.parse_args()

    sources = {}
    for repo in sorted(os.listdir(os.path.join(args.data, 'repos'))):
        qs = json.load(open(os.path.join(args.data, 'queries', f'{repo}.json')))
        sources[repo] = (os.path.join(args.data, 'repos', repo), [q['query'] for q in qs])
    tokio = sorted(glob.glob(os.path.expanduser('~/.cargo/registry/src/*/tokio-1.*')))
    if tokio:
        sources['tokio'] = (tokio[-1], TOKIO_QUERIES)
    if args.repos:
        keep = args.repos.split(',')
        sources = {k: v for k, v in sources.items() if k in keep}

    env = dict(os.environ)
    # The one-time distillation, on its own, before anything is timed.
    probe = tempfile.mkdtemp(prefix='scry-tiers-probe-')
    try:
        with open(os.path.join(probe, 'a.txt'), 'w') as f:
            f.write('warm up\n')
        t = run([args.bin, '-w', probe, '--index-dir', f'{probe}/idx', '--embed-model', args.model,
                 '--embed-backend', 'static', 'index'], env)
        print(f'static table ready in {t:.1f}s (distilled now, or read from the cache)')
    finally:
        shutil.rmtree(probe, ignore_errors=True)

    cols = ['bm25 index s', 'static index s', 'ratio', 'bm25 search ms', 'static search ms', 'ratio']
    if args.full:
        cols += ['full index s', 'ratio', 'full search ms', 'ratio']
    print(f'{"repo":10} ' + ' '.join(f'{c:>16}' for c in cols))
    results = {}
    for repo, (src, queries) in sources.items():
        r = measure(args, src, queries, args.model, env)
        results[repo] = r
        b, s = r['bm25'], r['static']
        row = [b['index_s'], s['index_s'], s['index_s'] / b['index_s'],
               b['search_p50_s'] * 1e3, s['search_p50_s'] * 1e3, s['search_p50_s'] / b['search_p50_s']]
        if args.full:
            f = r['full']
            row += [f['index_s'], f['index_s'] / b['index_s'], f['search_p50_s'] * 1e3,
                    f['search_p50_s'] / b['search_p50_s']]
        print(f'{repo:10} ' + ' '.join(f'{x:16.2f}' for x in row), flush=True)
    ratios = [r['static']['index_s'] / r['bm25']['index_s'] for r in results.values()]
    sratios = [r['static']['search_p50_s'] / r['bm25']['search_p50_s'] for r in results.values()]
    print(f'\nstatic / bm25: index time ratio max {max(ratios):.2f} (target <= 3), '
          f'one-shot search p50 ratio max {max(sratios):.2f} (target <= 3)')
    if args.out:
        json.dump(results, open(args.out, 'w'), indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
