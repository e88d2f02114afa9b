#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""Benchmark: resilience.dr.restic_restore against the raw ``restic restore`` it wraps.

    .venv/bin/python tests/bench/bench_restic.py [--gib 1.5] [--rounds 2]
        [--restic /usr/bin/restic] [--restic .build/restic-0.18/restic] [--write-docs]

Makes >= 1 GiB of mixed file sizes (incompressible) in a tmpdir under /tmp under a timestamped
snapshot prefix, backs it up into a local repository, then per restic binary and round restores
the ``homes`` subtree with the raw command and with the module (through ``ansible``, as a
playbook would run it) into fresh targets. The order alternates per round (raw first, then
module first), and every timed run starts after ``sync`` so that writeback of the previous
run's gigabyte does not land in the next one. Checks the restored trees are identical, records
the load average around each run and the module's own per-command times, prints a Markdown
section and, with --write-docs, replaces the ``## restic`` section of docs/benchmarks.md.
Deletes everything it made.
"""

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO_ROOT, 'tests', 'integration'))
from restic_helpers import ansible_argv, ansible_env  # noqa: E402

PASSWORD = 'bench-password'


def make_data(root, gib, seed=5):
    """Mixed sizes: a few big files, many medium, lots of small ones (about gib GiB)."""
    rnd = random.Random(seed)
    target = int(gib * 2 ** 30)
    plan = [(64 * 2 ** 20, 0.40), (2 * 2 ** 20, 0.35), (64 * 2 ** 10, 0.20), (4 * 2 ** 10, 0.05)]
    files = nbytes = 0
    for size, share in plan:
        budget = int(target * share)
        i = 0
        while budget > 0:
            n = min(budget, rnd.randint(size // 2, size * 3 // 2))
            d = os.path.join(root, 'user%d' % (i % 5), 'd%d' % (i % 37))
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, 'f%d_%d.bin' % (size, i)), 'wb') as handle:
                handle.write(os.urandom(n))
            budget -= n
            nbytes += n
            files += 1
            i += 1
    return files, nbytes


def digest(root):
    out = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if name == '.restic-restore.json':
                continue
            path = os.path.join(dirpath, name)
            out.update(os.path.relpath(path, root).encode())
            with open(path, 'rb') as handle:
                for block in iter(lambda: handle.read(1 << 20), b''):
                    out.update(block)
    return out.hexdigest()


def restic(binary, repo, *args):
    env = dict(os.environ, RESTIC_PASSWORD=PASSWORD, RESTIC_REPOSITORY=repo, LC_ALL='C')
    return subprocess.run([binary] + list(args), env=env, check=True, capture_output=True,
                          text=True)


def loadavg():
    return os.getloadavg()[0]


def command_kind(cmd):
    """``/usr/bin/restic --no-lock ls --json ...`` -> ``ls --recursive`` / ``ls`` / ``restore``."""
    words = cmd.split()
    for word in words[1:]:
        if not word.startswith('-'):
            if word == 'ls' and '--recursive' in words:
                return 'ls --recursive'
            return word
    return words[0]


def version_of(binary):
    out = subprocess.run([binary, 'version'], capture_output=True, text=True, check=False).stdout
    return out.split()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--gib', type=float, default=1.5)
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--restic', action='append')
    parser.add_argument('--write-docs', action='store_true')
    args = parser.parse_args()
    binaries = args.restic or ['/usr/bin/restic']
    base = tempfile.mkdtemp(prefix='bench-restic-', dir='/tmp')
    rows = []
    try:
        homes = os.path.join(base, 'data', 'mnt', 'storage', 'snapshots', 'backup_20250101_020000', 'homes')
        t0 = time.time()
        files, nbytes = make_data(homes, args.gib)
        print('data: %d files, %.2f GiB in %.0f s' % (files, nbytes / 2 ** 30, time.time() - t0),
              flush=True)
        want = digest(homes)
        for binary in binaries:
            version = version_of(binary)
            repo = os.path.join(base, 'repo-%s' % version)
            restic(binary, repo, 'init')
            t0 = time.time()
            restic(binary, repo, 'backup', '--host', 'train', homes)
            print('restic %s backup: %.0f s' % (version, time.time() - t0), flush=True)
            snap = json.loads(restic(binary, repo, 'snapshots', '--json').stdout)[-1]['id']
            native = tuple(int(x) for x in version.split('.')) >= (0, 17, 0)
            raw, mod, inner, ratios, loads, parts = [], [], [], [], [], {}

            def run_raw(rnd):
                target = os.path.join(base, 'raw-%s-%d' % (version, rnd))
                if native:
                    argv = ['restore', '%s:%s' % (snap, homes), '--target', target]
                else:
                    argv = ['restore', snap, '--target', target, '--include', homes]
                os.sync()
                loads.append(loadavg())
                t0 = time.time()
                restic(binary, repo, *argv)
                raw.append(time.time() - t0)
                got = target if native else os.path.join(target, homes.lstrip('/'))
                assert digest(got) == want, 'raw restore differs'
                shutil.rmtree(target)

            def run_module(rnd):
                target = os.path.join(base, 'mod-%s-%d' % (version, rnd))
                margs = {'repository': repo, 'password': PASSWORD, 'executable': binary,
                         'source_path': '*/snapshots/backup_*/homes', 'target': target}
                os.sync()
                loads.append(loadavg())
                t0 = time.time()
                proc = subprocess.run(ansible_argv('restic_restore', margs), env=ansible_env(),
                                      capture_output=True, text=True, check=False)
                mod.append(time.time() - t0)
                result = json.loads(proc.stdout)['plays'][0]['tasks'][0]['hosts']['localhost']
                assert not result.get('failed'), result.get('msg')
                assert (result['files'], result['bytes']) == (files, nbytes), 'module counts'
                inner.append(result['duration'])
                for cmd in result['commands']:
                    parts.setdefault(command_kind(cmd['cmd']), []).append(cmd['seconds'])
                assert digest(target) == want, 'module restore differs'
                shutil.rmtree(target)

            for rnd in range(args.rounds):
                order = (run_raw, run_module) if rnd % 2 == 0 else (run_module, run_raw)
                for step in order:
                    step(rnd)
                ratios.append(inner[-1] / raw[-1])
                print('restic %s round %d (%s first): raw %.1f s, module %.1f s (duration %.1f s,'
                      ' %.2fx), load %.1f' % (version, rnd, 'raw' if rnd % 2 == 0 else 'module',
                                              raw[-1], mod[-1], inner[-1], ratios[-1],
                                              loads[-1]), flush=True)
            rows.append({'version': version, 'method': 'native' if native else 'staging',
                         'raw': statistics.median(raw), 'module': statistics.median(mod),
                         'inner': statistics.median(inner), 'ratios': ratios,
                         'load': (min(loads), max(loads)),
                         'parts': dict((k, statistics.median(v)) for k, v in parts.items())})
    finally:
        shutil.rmtree(base, ignore_errors=True)

    cmd = 'tests/bench/bench_restic.py ' + ' '.join(sys.argv[1:])
    lines = ['## restic', '',
             'Restore of the `homes` subtree (%d files, %.2f GiB, mixed sizes 4 KiB - 96 MiB, '
             'incompressible) from a local repository, under a timestamped snapshot prefix. '
             'Median of %d rounds; raw and module alternate, each into a fresh target; the '
             'restored trees are checked byte for byte against the source.'
             % (files, nbytes / 2 ** 30, args.rounds), '',
             'Command: `.venv/bin/python %s`' % cmd.replace(' --write-docs', ''), '',
             'Host: %s, %d cores; 1-minute load average %.1f-%.1f at the start of the timed '
             'runs (other jobs shared the machine).'
             % (os.uname()[1], os.cpu_count(), min(r['load'][0] for r in rows),
                max(r['load'][1] for r in rows)), '',
             '| restic | method | raw `restic restore` | module via `ansible` | module `duration` '
             '| overhead (ansible) | overhead (module) | per round (module) |',
             '|---|---|---|---|---|---|---|---|']
    for row in rows:
        lines.append('| %s | %s | %.1f s | %.1f s | %.1f s | %.2fx | %.2fx | %s |' % (
            row['version'], row['method'], row['raw'], row['module'], row['inner'],
            row['module'] / row['raw'], row['inner'] / row['raw'],
            ', '.join('%.2fx' % r for r in row['ratios'])))
    lines += ['', 'Medians. "module via ansible" is the wall clock of `ansible localhost -m '
              'resilience.dr.restic_restore`, including ansible\'s own start-up (about 1-1.5 s '
              'here); "module duration" is the module\'s own `duration` result (everything it '
              'does: snapshot selection, version, restore, renames, counting, state file). '
              '"per round" is module `duration` / raw of the same round. Target: overhead '
              '<= 1.10x.', '',
              'The module\'s restic commands (median seconds, from its `commands` result):', '']
    for row in rows:
        parts = sorted(row['parts'].items(), key=lambda kv: -kv[1])
        lines.append('- restic %s: %s' % (row['version'],
                                          ', '.join('`%s` %.2f s' % kv for kv in parts)))
    lines.append('')
    # prose paragraphs wrapped like the rest of docs/benchmarks.md; tables and lists as they are
    text = '\n'.join(textwrap.fill(line, 100, break_on_hyphens=False)
                     if len(line) > 100 and not line.startswith(('|', '- ', 'Command:')) else line
                     for line in lines)
    print(text)
    if args.write_docs:
        path = os.path.join(REPO_ROOT, 'docs', 'benchmarks.md')
        doc = open(path).read() if os.path.exists(path) else '# Benchmarks\n'
        start = doc.find('\n## restic\n')
        if start >= 0:
            end = doc.find('\n## ', start + 1)
            doc = doc[:start + 1] + text + ('\n' + doc[end + 1:] if end >= 0 else '')
        else:
            doc = doc.rstrip('\n') + '\n\n' + text
        with open(path, 'w') as handle:
            handle.write(doc)
    return 0


if __name__ == '__main__':
    sys.exit(main())
