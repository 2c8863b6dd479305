#!/usr/bin/env python3
"""Peak memory while indexing, against the size of the source indexed.

Builds trees of growing size from crates in the local cargo registry (the same crates,
in name order, so a larger tree contains the smaller ones), copies each to a temporary
directory and runs `scry index` on it in a fresh process per mode, reading the process's
own peak RSS from the kernel (wait4). The reference is the same command on a one-file
tree, measured in the same run: what a process costs before it holds any source (the
binary, the index's buffers). A second reference, per tree, holds the smallest file of
each kind (extension) the tree has: each language's grammar tables, paged in from the
binary, and its compiled chunk queries cost the same for one small file as for a
thousand (6-8 MiB on the 10 MiB tree, which is Rust, C, Python, Markdown, TOML, JSON,
YAML, shell...), so they are the process's cost, not the source's. Prints, per tree, the
peak and the peak above each reference as multiples of the source's bytes (issue 15's
target: at most 2x the source without a model; with a model, the model's size on top;
above the per-kind reference, its own few hundred KiB of source are subtracted too).
Each figure is the median of --reps runs (the range beside it), each run of a tree
paired with runs of both references just before it: how much tantivy's background
merges overlap the next segment being built varies from run to run by a few MiB, and so
does how much of the binary the page cache maps in (the one-file reference moved
between 35 and 38 MiB in one session).

    scripts/bench-memory.py [--sizes 10,45,90] [--large-files 48] [--reps 3] [--model-tree-mb 1]
                            [--bin SCRY] [--out FILE]
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


def build_large_files(dest, crates, count, size):
    """Writes `count` Rust files of about `size` bytes, each whole source files of the
    crates end to end: generated code and vendored bundles come this big, and a batch of
    them is where holding files instead of streaming them shows."""
    os.makedirs(dest)
    sources = (p for c, _ in crates for p in sorted(glob.glob(f'{c}/**/*.rs', recursive=True))
               if os.path.isfile(p) and not os.path.islink(p))
    for i in range(count):
        parts, total = [], 0
        while total < size:
            text = open(next(sources), encoding='utf-8', errors='replace').read()
            if total + len(text) > 2 * size:
                continue
            parts.append(text)
            total += len(text)
        with open(os.path.join(dest, f'large_{i:02}.rs'), 'w') as f:
            f.write(''.join(parts))
    return source_bytes(dest)


def kinds_reference(dest, tree):
    """Copies the smallest file of each kind (extension, or whole name) in `tree`."""
    smallest = {}
    for root, _, files in os.walk(tree):
        for f in files:
            p = os.path.join(root, f)
            if not os.path.isfile(p) or os.path.islink(p):
                continue
            kind = f.rsplit('.', 1)[-1] if '.' in f else f
            size = os.path.getsize(p)
            if size > 0 and (kind not in smallest or size < smallest[kind][0]):
                smallest[kind] = (size, p)
    os.makedirs(dest)
    for i, (kind, (_, p)) in enumerate(sorted(smallest.items())):
        shutil.copy(p, os.path.join(dest, f'{i}-{os.path.basename(p)}'))
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
    ap.add_argument('--large-files', type=int, default=48,
                    help='also a tree of this many 512 KiB files (0: none)')
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

        print(f'{"tree":>10} {"source MiB":>11} {"mode":>10} {"peak MiB":>9} '
              f'{"above one-file ref":>19} {"range x":>10} {"above per-kind ref":>19} {"range x":>10}')
        trees = [(f'{size:g}MB', lambda d, size=size: build_tree(d, crates, size))
                 for size in [float(s) for s in args.sizes.split(',')]]
        if args.large_files:
            trees.append((f'{args.large_files}x512K',
                          lambda d: build_large_files(d, crates, args.large_files, 512 << 10)))
        for size, build in trees:
            tree = os.path.join(work, f'tree-{size}')
            src = build(tree)
            kinds = os.path.join(work, f'kinds-{size}')
            kinds_src = kinds_reference(kinds, tree)
            for i, (m, fl) in enumerate(modes.items()):
                # Each run of the tree beside its own runs of both references: the page
                # cache (how many of the binary's pages a fault maps) drifts by a few MiB
                # over a session, and a pair measured together drifts together.
                runs = []
                for _ in range(args.reps):
                    ref = index(args, one, f'{work}/idx-one-{i}', fl)
                    kinds_peak = index(args, kinds, f'{work}/idx-kinds-{size}-{i}', fl)
                    peak = index(args, tree, f'{work}/idx-{size}-{i}', fl)
                    runs.append(((peak - ref) / src, (peak - kinds_peak) / (src - kinds_src),
                                 peak, ref, kinds_peak))
                one_x = sorted(r[0] for r in runs)
                kinds_x = sorted(r[1] for r in runs)
                mid = len(runs) // 2
                peak = sorted(r[2] for r in runs)[mid]
                results[f'{size}/{m}'] = {'source': src, 'kinds_source': kinds_src,
                                               'runs': [dict(zip(('above_one_x', 'above_kinds_x',
                                                                  'peak', 'one_peak',
                                                                  'kinds_peak'), r))
                                                        for r in runs]}
                print(f'{size:>10} {src / MIB:11.1f} {m:>10} {peak / MIB:9.0f} '
                      f'{one_x[mid] * src / MIB:11.0f} MiB {one_x[mid]:5.2f}x '
                      f'{one_x[0]:.2f}-{one_x[-1]:.2f} '
                      f'{kinds_x[mid] * (src - kinds_src) / MIB:11.0f} MiB {kinds_x[mid]:5.2f}x '
                      f'{kinds_x[0]:.2f}-{kinds_x[-1]:.2f}', flush=True)
                rows.setdefault(m, []).append((one_x[mid], kinds_x[mid]))
            shutil.rmtree(tree)
            shutil.rmtree(kinds)

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
            one, kinds = [a for a, _ in r], [k for _, k in r]
            print(f'{m}: peak above the one-file reference {min(one):.2f}x to {max(one):.2f}x the '
                  f'source; above the per-kind reference {min(kinds):.2f}x to {max(kinds):.2f}x '
                  f'(target <= 2x)')
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.out:
        json.dump(results, open(args.out, 'w'), indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
