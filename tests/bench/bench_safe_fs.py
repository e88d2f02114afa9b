#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""Benchmark: the descriptor-based merge of a staged tree against the path-based one it replaced.

    .venv/bin/python tests/bench/bench_safe_fs.py [--files 20000] [--rounds 3]

restic < 0.17 restores into a staging directory and the module renames the staged tree into the
target. Issue 10 replaced the path-based merge (``os.rename`` by path, which follows symlinks
planted in the target) with ``safe_fs.merge_tree_at`` (``O_NOFOLLOW`` directory descriptors,
``renameat``) and the metadata pass with ``fchmod``/``fchown``/``futimens`` on descriptors. This
times both on the same tree: ``--files`` small files in 100-file directories, merged into a
target that already holds every directory (the worst case: every directory is opened on both
sides). Prints the median seconds per variant and round. Deletes everything it made.
"""

import argparse
import os
import shutil
import stat
import statistics
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO_ROOT, '.build', 'collections'))
from ansible_collections.resilience.dr.plugins.module_utils.restic import target as restic_target  # noqa: E402


def old_merge_tree(src, dst):
    """The path-based merge before issue 10 (kept here only to compare)."""
    for name in os.listdir(src):
        s = os.path.join(src, name)
        d = os.path.join(dst, name)
        s_st = os.lstat(s)
        try:
            d_st = os.lstat(d)
        except OSError:
            d_st = None
        if d_st is None:
            os.rename(s, d)
        elif stat.S_ISDIR(s_st.st_mode) and stat.S_ISDIR(d_st.st_mode):
            old_merge_tree(s, d)
        else:
            if stat.S_ISDIR(d_st.st_mode):
                shutil.rmtree(d)
            os.replace(s, d)


def old_dir_metadata(target, dirs):
    for rel, node in dirs:
        path = os.path.join(target, rel) if rel else target
        if not os.path.isdir(path) or os.path.islink(path):
            continue
        os.chmod(path, node['mode'])
        os.utime(path, ns=(node['mtime_ns'], node['mtime_ns']))


def make_tree(root, files, with_files=True):
    dirs = []
    for i in range(files):
        rel = 'u%03d/d%04d' % (i // 1000, i // 100)
        if i % 100 == 0:
            os.makedirs(os.path.join(root, rel), exist_ok=True)
            dirs.append(rel)
        if with_files:
            with open(os.path.join(root, rel, 'f%05d' % i), 'w') as handle:
                handle.write('x')
    return dirs


def one_round(base, files, variant):
    staged, target = os.path.join(base, 'staged'), os.path.join(base, 'target')
    dirs = make_tree(staged, files)
    make_tree(target, files, with_files=False)
    nodes = dict((rel, {'type': 'dir', 'mode': 0o750, 'uid': None, 'gid': None,
                        'mtime_ns': 10 ** 18}) for rel in dirs)
    os.sync()
    started = time.perf_counter()
    if variant == 'path-based (before)':
        old_merge_tree(staged, target)
        old_dir_metadata(target, sorted(nodes.items(), key=lambda kv: -kv[0].count('/')))
    else:
        restic_target.merge_staged(staged, target, [])
        restic_target.apply_dir_metadata(target, None, nodes, own=False)
    seconds = time.perf_counter() - started
    count = sum(len(names) for _unused, _unused2, names in os.walk(target))
    assert count == files, (variant, count)
    shutil.rmtree(staged)
    shutil.rmtree(target)
    return seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--files', type=int, default=20000)
    parser.add_argument('--rounds', type=int, default=3)
    opts = parser.parse_args()
    variants = ['path-based (before)', 'safe_fs descriptors (now)']
    times = dict((v, []) for v in variants)
    base = tempfile.mkdtemp(prefix='bench-safe-fs-', dir='/tmp')
    try:
        for rnd in range(opts.rounds):
            order = variants if rnd % 2 == 0 else list(reversed(variants))
            for variant in order:
                times[variant].append(one_round(base, opts.files, variant))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print('| merge + directory metadata, %d files in %d dirs | median s | rounds |'
          % (opts.files, opts.files // 100))
    print('|---|---|---|')
    for variant in variants:
        print('| %s | %.3f | %s |' % (variant, statistics.median(times[variant]),
                                      ', '.join('%.3f' % t for t in times[variant])))


if __name__ == '__main__':
    main()
