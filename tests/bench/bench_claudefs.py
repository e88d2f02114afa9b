#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""Benchmark: the ClaudeFS emulator against the issue's targets and the runbook's 5 s.

    .venv/bin/python tests/bench/bench_claudefs.py [--rounds 3] [--calls 200] [--write-docs]

Per round, on a free 127.X net: brings up 6 nodes / 8 shards / 2 S3 servers (``cfsemu up``'s
code path) and times it (target <= 10 s: until every node serves and every shard of both
sites has a leader); times admin calls (status, raftStatus, one shard, s3 queue, a 4 KiB file
write and read) from one client, p50/p95 (target <= 50 ms); then SIGKILLs the node leading
the most shards of the active site and times until every one of its shards reports a new
leader through the API (the runbook: 5 s).  Records the load average.  Prints a Markdown
section and, with --write-docs, replaces the ``## ClaudeFS emulator`` section of
docs/benchmarks.md.  Takes every cluster down and deletes it.
"""

import argparse
import os
import statistics
import sys
import tempfile
import textwrap
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO_ROOT, 'tests', 'lab', 'claudefs'))
from cfscheck.api import Client, Unreachable  # noqa: E402
from cfsemu import supervisor  # noqa: E402

CALLS = (('GET', '/v1/status', None), ('GET', '/v1/raft/shards', None),
         ('GET', '/v1/raft/shards/0', None), ('GET', '/v1/s3/queue', None),
         ('PUT', '/v1/files/bench/{n}', b'x' * 4096), ('GET', '/v1/files/bench/{n}', None))


def pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def leaders(client, site):
    body = client.call('GET', '/v1/raft/shards?site=%s' % site, timeout=2).json or {}
    return {s['shard']: s['leader'] for s in body.get('shards', []) if s['site'] == site}


def one_round(base, n_calls):
    net = supervisor.free_net(150, 200)
    state = os.path.join(base, 'bench-%d' % net)
    cluster = supervisor.Cluster.create(state, owner=os.getpid(), net=net)
    supervisor.set_owner(state, os.getpid(), temporary=True)
    try:
        load = os.getloadavg()[0]
        start = time.monotonic()
        cluster.up(timeout=120)
        cold = time.monotonic() - start
        doc = cluster.doc
        site = doc['active_site']
        first = doc['sites'][site]['nodes'][0]
        client = Client('http://%s:%d' % (doc['nodes'][first]['address'], doc['admin_port']),
                        doc['admin_token'], timeout=10)
        per_call = {}
        retries = 0
        for n in range(n_calls):
            method, path, body = CALLS[n % len(CALLS)]
            path = path.format(n=n // len(CALLS))
            t0 = time.monotonic()
            while True:  # an election in progress answers retryable: the time counts
                response = client.call(method, path, raw=body)
                if response.ok or not (response.json or {}).get('error', {}).get('retryable') \
                        or time.monotonic() - t0 > 10:
                    break
                retries += 1
                time.sleep(0.05)
            elapsed = (time.monotonic() - t0) * 1000
            if not response.ok:
                raise RuntimeError('%s %s: %r' % (method, path, response))
            label = CALLS[n % len(CALLS)][1].replace('bench/{n}', '{path}')
            per_call.setdefault('%s %s' % (method, label), []).append(elapsed)
        everything = [v for values in per_call.values() for v in values]
        led = leaders(client, site)
        counts = {}
        for node in led.values():
            counts[node] = counts.get(node, 0) + 1
        victim = max(sorted(counts), key=lambda node: counts[node])
        mine = sorted(s for s, node in led.items() if node == victim)
        other = next(n for n in doc['sites'][site]['nodes'] if n != victim)
        survivor = Client('http://%s:%d' % (doc['nodes'][other]['address'], doc['admin_port']),
                          doc['admin_token'], timeout=2)
        killed = time.monotonic()
        cluster.kill(victim)
        while True:
            try:
                now = leaders(survivor, site)
                if all(now.get(s) and now[s] != victim for s in mine):
                    break
            except Unreachable:
                pass
            if time.monotonic() - killed > 60:
                raise RuntimeError('no re-election within 60 s')
            time.sleep(0.02)
        reelect = time.monotonic() - killed
        return {'cold': cold, 'p50': pct(everything, 0.5), 'p95': pct(everything, 0.95),
                'per_call': {k: (pct(v, 0.5), pct(v, 0.95)) for k, v in per_call.items()},
                'reelect': reelect, 'shards_reelected': len(mine), 'load': load,
                'retries': retries}
    finally:
        cluster.down(remove_state=True)


def markdown(results, args):
    about = ('(6 nodes in 2 sites, 8 shards per site, pysyncobj Raft with elections in '
             '300-600 ms, 2 `rclone serve s3`; 2-core host shared with other work; load = 1-min '
             'load average before the round; a call answered "retryable" (an election in '
             'progress) is retried and its whole time counted. Cold start: from `cfsemu up` '
             'to every node serving and every shard of both sites led. Re-election: SIGKILL '
             'of the node leading most shards of the active site until the API reports a new '
             'leader for each of them.)')
    command = ('Command: `.venv/bin/python tests/bench/bench_claudefs.py --rounds %d --calls %d`'
               % (args.rounds, args.calls))
    header = ('| round | cold start (s) | admin p50 (ms) | admin p95 (ms) | retried calls | '
              're-election (s) | shards re-elected | load |')
    lines = ['## ClaudeFS emulator', '', command] + textwrap.wrap(about, 96) + [
        '', header, '|---|---|---|---|---|---|---|---|']
    for i, r in enumerate(results, 1):
        lines.append('| %d | %.2f | %.1f | %.1f | %d | %.2f | %d | %.2f |' % (
            i, r['cold'], r['p50'], r['p95'], r['retries'], r['reelect'],
            r['shards_reelected'], r['load']))
    cold = statistics.median(r['cold'] for r in results)
    p95 = statistics.median(r['p95'] for r in results)
    reelect = statistics.median(r['reelect'] for r in results)
    lines += ['', 'Medians: cold start %.2f s (target <= 10 s), admin call p95 %.1f ms '
              '(target <= 50 ms), re-election after a leader kill %.2f s (runbook: 5 s).'
              % (cold, p95, reelect), '', 'Per call (last round, p50 / p95 ms):', '']
    for name, (p50, p95_call) in sorted(results[-1]['per_call'].items()):
        lines.append('- `%s`: %.1f / %.1f' % (name, p50, p95_call))
    return '\n'.join(lines) + '\n'


def write_docs(section):
    path = os.path.join(REPO_ROOT, 'docs', 'benchmarks.md')
    text = open(path).read()
    marker = '## ClaudeFS emulator'
    if marker in text:
        head, rest = text.split(marker, 1)
        index = rest.find('\n## ')
        tail = rest[index + 1:] if index >= 0 else ''
        text = head + section + ('\n' + tail if tail else '')
    else:
        text = text.rstrip('\n') + '\n\n' + section
    with open(path, 'w') as handle:
        handle.write(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--calls', type=int, default=200)
    parser.add_argument('--write-docs', action='store_true')
    args = parser.parse_args()
    supervisor.gc()
    results = []
    with tempfile.TemporaryDirectory(prefix='bench-claudefs-') as base:
        for unused in range(args.rounds):
            results.append(one_round(base, args.calls))
            print('round: cold %.2fs p50 %.1fms p95 %.1fms re-election %.2fs' % (
                results[-1]['cold'], results[-1]['p50'], results[-1]['p95'],
                results[-1]['reelect']), file=sys.stderr)
    section = markdown(results, args)
    print(section)
    if args.write_docs:
        write_docs(section)


if __name__ == '__main__':
    main()
