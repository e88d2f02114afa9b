"""Shared steps of the ClaudeFS conformance tests: waiting, proofs that faults fired, output."""

import concurrent.futures
import json
import os
import time

from cfscheck import raftinv
from cfscheck.api import Unreachable

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUTPUT = os.path.join(REPO, 'tests', 'output', 'claudefs')


def wait_for(predicate, timeout, interval=0.1, what='condition'):
    """Poll ``predicate`` until it returns something truthy; that value is returned."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except (Unreachable, AssertionError, KeyError) as exc:
            last_error = exc
        if time.monotonic() > deadline:
            raise AssertionError('%s not reached within %ss (last error: %s)'
                                 % (what, timeout, last_error))
        time.sleep(interval)


def json_retrying(client, method, path, body=None, timeout=30, retry_for=20.0):
    """A call that must succeed, retried while the answer says ``retryable`` (an election in
    progress), as the contract allows for operations marked ``x-retry-safe``: anything else
    is not retried here."""
    deadline = time.monotonic() + retry_for
    while True:
        response = client.call(method, path, body=body, timeout=timeout)
        if response.ok:
            return response.json
        error = (response.json or {}).get('error') or {}
        safe = client.contract is None or client.contract.retry_safe(response.operation)
        if not (error.get('retryable') and safe) or time.monotonic() > deadline:
            raise AssertionError('%s %s failed: %r' % (method, path, response))
        time.sleep(0.3)


def shard_table(client, site=None):
    """{(site, shard): RaftShardStatus} from raftStatus."""
    path = '/v1/raft/shards' + ('?site=%s' % site if site else '')
    body = client.json_ok('GET', path)
    return {(s['site'], s['shard']): s for s in body['shards']}


def leaders(client, site):
    return {shard: s['leader'] for (s_site, shard), s in shard_table(client, site).items()
            if s_site == site}


def all_led(client, site, exclude=()):
    """Every shard of ``site`` has a leader outside ``exclude``; returns {shard: leader}."""
    current = leaders(client, site)
    if current and all(leader and leader not in exclude for leader in current.values()):
        return current
    return None


def health(emulator, nodes=None):
    """{node: True/False}: does each node's /v1/health answer (no auth, 2 s)?"""
    result = {}
    for node in nodes or emulator.nodes():
        try:
            result[node] = emulator.client(node, timeout=2.0).get('/v1/health').ok
        except Unreachable:
            result[node] = False
    return result


def assert_healthy(emulator, when, nodes=None):
    """The health check run before and after each fault: every (named) node answers."""
    result = health(emulator, nodes)
    assert all(result.values()), '%s: nodes not answering /v1/health: %s' % (
        when, sorted(n for n, ok in result.items() if not ok))
    return result


def save_history(history, name):
    """Keep a history (with its seed) under tests/output/claudefs/histories/."""
    path = os.path.join(OUTPUT, 'histories', '%s-seed%s.json' % (name, history.seed))
    return history.save(path)


def save_json(name, data):
    path = os.path.join(OUTPUT, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as handle:
        json.dump(data, handle, indent=1, sort_keys=True, default=str)
    return path


PYSYNCOBJ_ROLES = {0: 'Follower', 1: 'Candidate', 2: 'Leader'}


class RaftSampler:
    """Samples every member's own raft view of a site's shards into Raft-invariant samples.

    raftDebug answers with each member's raw view (the emulator: pysyncobj's getStatus() plus
    ``role`` and ``leader`` by name; older nodes: ``state`` 0/1/2 and ``leader`` as a Raft
    address, both understood here); the sampler keeps, per shard, each
    member's report (observer = that member), stamped with the member's process id so that
    restarts are told apart (Raft's commitIndex is volatile across them)."""

    def __init__(self, emulator, site):
        self.emulator = emulator
        self.site = site
        self.samples = []
        self.t0 = time.monotonic()

    def sample(self, timeout=3.0):
        """One sample of every shard, the shards asked in parallel (an isolated member makes
        its view time out; the others still count)."""
        client = None
        for node in self.emulator.nodes(self.site):
            if self.emulator.cluster.running(node):
                client = self.emulator.client(node, timeout=timeout)
                break
        if client is None:
            return
        now = time.monotonic() - self.t0
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda shard: self._debug(client, shard),
                                    range(self.emulator.doc['shards'])))
        for shard, body in enumerate(answers):
            if body:
                self._record(now, shard, body)

    def _debug(self, client, shard):
        try:
            response = client.get('/v1/raft/shards/%d/debug?site=%s' % (shard, self.site))
        except Unreachable:
            return None
        return response.json if response.ok else None

    def _record(self, now, shard, body):
        by_address = {spec['address']: name for name, spec in self.emulator.doc['nodes'].items()}
        for view in body['views']:
            raw = view.get('raw') or {}
            if not view.get('reachable') or 'raft_term' not in raw:
                continue
            leader = raw.get('leader')
            if leader and leader not in self.emulator.doc['nodes']:  # a Raft address
                leader = by_address.get(str(leader).rsplit(':', 1)[0])
            self.samples.append({
                'time': now, 'observer': view['node'],
                # a restart is a new process: the supervisor knows its pid
                'incarnation': self.emulator.cluster.pid(view['node']),
                'site': self.site, 'shard': shard, 'epoch': body.get('epoch', 0),
                'term': raw['raft_term'],
                'leader': leader or None,
                'role': raw.get('role') or PYSYNCOBJ_ROLES.get(raw.get('state')),
                'commit_index': raw.get('commit_idx')})

    def sample_for(self, seconds, interval=0.2):
        """Sample repeatedly for about ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.sample()
            time.sleep(interval)

    def check(self, heals=(), grace=3.0):
        return raftinv.check(self.samples, heals=heals, grace=grace)
