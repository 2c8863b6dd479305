#!/usr/bin/env python3
"""Peak memory while indexing, against the size of the source indexed.

Builds trees of growing size from crates in the local cargo registry (the same crates,
in name order, so a larger tree contains the smaller ones), copies each to a temporary
directory and runs `scry index` on it in a fresh process per mode, reading the process's
own peak RSS from the kernel (wait4). The reference is the same command on a one-file
tree, measured in the same run: what a process costs before it holds any source (the
binary, grammars, the index's buffers). Prints, per tree, the peak, the peak above that
reference, and both as multiples of the source's bytes (issue 15's target: at most 2x the
source without a model; with a model, the model's size on top). Each figure is the
median of --reps runs (the range beside it): when tantivy's background merges overlap
the next segment being built varies from run to run by a few MiB.

    scripts/bench-memory.py [--sizes 10,45,90] [--reps 3] [--model-tree-mb 1] [--bin SCRY] [--out FILE]
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

MIB = 2 ** 20


def peak_rss(cmd):
    """Runs `cmd` to completion and returns its peak resident set size in bytes."""
    # stderr to a file, not a pipe: nobody reads a pipe while wait4 waits, and a chatty
    # process would block on a full one.
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            err.seek(0)
            tail = err.read().decode(errors='replace')[-2000:]
            sys.exit(f'{" ".join(cmd)} failed ({code}):\n{tail}')
    return usage.ru_maxrss * 1024  # kilobytes on Linux


def source_bytes(tree):
    total = 0
    for root, _, files in os.walk(tree):
        for f in files:
            p = os.path.join(root, f)
            if os.path.isfile(p) and not os.path.islink(p):
                total += os.path.getsize(p)
    return total


def build_tree(dest, crates, mb):
    """Copies whole crates, in order, until the tree holds at least `mb` MiB."""
    os.makedirs(dest)
    total = 0
    for c, size in crates:
        if total >= mb * MIB:
            break
        shutil.copytree(c, os.path.join(dest, os.path.basename(c)), symlinks=True)
        total += size
    return source_bytes(dest)


def index(args, ws, idx, flags, index_flags=()):
    shutil.rmtree(idx, ignore_errors=True)
    return peak_rss([args.bin, '-w', ws, '--index-dir', idx] + flags + ['index', '--json',
                                                                        *index_flags])


def median_of(args, ws, idx, flags):
    """The median peak of --reps fresh indexings of `ws`, and all of them."""
    peaks = sorted(index(args, ws, idx, flags) for _ in range(args.reps))
    return peaks[len(peaks) // 2], peaks


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--sizes', default='10,45,90', help='tree sizes in MiB, comma-separated')
    ap.add_argument('--reps', type=int, default=3, help='runs per figure (the median is kept)')
    ap.add_argument('--model-tree-mb', type=float, default=1.0,
                    help='size of the tree indexed with the full model (it embeds every chunk)')
    ap.add_argument('--bin', default=os.environ.get('SCRY_BIN', os.path.expanduser(
        '~/.cache/scry/target/debug/scry')))
    ap.add_argument('--model', default=os.path.join(os.environ.get('SCRY_MODELS', os.path.expanduser(
        '~/.local/share/scry/models')), 'all-MiniLM-L6-v2-f16.gguf'))
    ap.add_argument('--out', help='write the figures as JSON')
    args = ap.parse_args()

    # Crates of ordinary size only: a few vendor whole C libraries or data tables.
    crates = [(c, source_bytes(c)) for c in sorted(glob.glob(os.path.expanduser(
        '~/.cargo/registry/src/*/*'))) if os.path.isdir(c)]
    crates = [(c, s) for c, s in crates if s <= 4 * MIB]
    if not crates:
        sys.exit('no crates in ~/.cargo/registry/src (run a cargo build first)')
    work = tempfile.mkdtemp(prefix='scry-memory-')
    rows, results = {}, {}
    try:
        one = os.path.join(work, 'one')
        os.makedirs(one)
        with open(os.path.join(one, 'lib.rs'), 'w') as f:
            f.write('pub fn one() -> u32 { 1 }\n')
        modes = {'bm25': ['--no-model'],
                 'fast tier': ['--embed-model', args.model, '--embed-backend', 'static']}
        base = {m: median_of(args, one, f'{work}/idx-one-{i}', fl)[0]
                for i, (m, fl) in enumerate(modes.items())}
        print('reference (one-file tree): ' + ', '.join(f'{m} {b / MIB:.0f} MiB' for m, b in base.items()))

        print(f'{"tree":>10} {"source MiB":>11} {"mode":>10} {"peak MiB":>9} {"x source":>9} '
              f'{"above ref MiB":>14} {"x source":>9} {"range x":>12}')
        for size in [float(s) for s in args.sizes.split(',')]:
            tree = os.path.join(work, f'tree-{size:g}')
            src = build_tree(tree, crates, size)
            for i, (m, fl) in enumerate(modes.items()):
                peak, peaks = median_of(args, tree, f'{work}/idx-{size:g}-{i}', fl)
                above = peak - base[m]
                results[f'{size:g}MiB/{m}'] = {'source': src, 'peak': peak, 'peaks': peaks,
                                               'reference': base[m]}
                spread = f'{(peaks[0] - base[m]) / src:.2f}-{(peaks[-1] - base[m]) / src:.2f}'
                print(f'{size:>8g}MB {src / MIB:11.1f} {m:>10} {peak / MIB:9.0f} {peak / src:9.2f} '
                      f'{above / MIB:14.0f} {above / src:9.2f} {spread:>12}', flush=True)
                rows.setdefault(m, []).append(above / src)
            shutil.rmtree(tree)

        # With the full model: what it adds is the model, whatever the tree.
        tree = os.path.join(work, 'tree-model')
        src = build_tree(tree, crates, args.model_tree_mb)
        model = os.path.getsize(args.model)
        peak = index(args, tree, f'{work}/idx-model', ['--embed-model', args.model],
                     ['--wait-vectors'])
        above = peak - base['fast tier'] - model
        results['model'] = {'source': src, 'peak': peak, 'model_file': model,
                            'reference': base['fast tier']}
        print(f'\nwith the full model (--wait-vectors), {src / MIB:.1f} MiB tree: peak {peak / MIB:.0f} MiB, '
              f'model file {model / MIB:.0f} MiB; above the fast-tier reference and the model file: '
              f'{above / MIB:.0f} MiB (llama.cpp\'s context and compute buffers, whatever the tree)')
        for m, r in rows.items():
            print(f'{m}: peak above the one-file reference {min(r):.2f}x to {max(r):.2f}x the source '
                  f'(target <= 2x)')
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.out:
        json.dump(results, open(args.out, 'w'), indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
