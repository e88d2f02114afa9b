"""Test clients on the data path, each operation recorded in a History.

- ``write_file``: PUT /v1/files/<path> with unique content; the history's value is the path,
  and the expected SHA-256 is kept so a later read proves the content, not just the name.
- ``Files``: a set workload (many files with known checksums) and its verification:
  what is listed, what reads back with the right hash.
- ``RegisterWorkers``: concurrent clients reading and writing a few keys (files) for the
  linearizability checker; a read's output is the content read (None when absent).
"""

import hashlib
import random
import threading
import time
import urllib.parse

from cfscheck.api import Unreachable


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def file_path(name):
    return '/v1/files/' + urllib.parse.quote(name.lstrip('/'), safe='/')


def write_file(client, history, process, name, content, timeout=5.0, op_id=None):
    """One recorded write; returns (outcome, Response or None)."""
    op = history.invoke(process, 'add', key=name, value=name)
    op['sha256'] = sha256(content)
    headers = {'X-Client-Op-Id': op_id or '%s-%d' % (history.seed, op['id'])}
    try:
        response = client.call('PUT', file_path(name), raw=content, headers=headers,
                               timeout=timeout)
    except Unreachable as exc:
        history.complete(op, 'fail' if exc.definite else 'unknown', error=str(exc))
        return op['outcome'], None
    history.complete(op, response.outcome(), output=response.json,
                     error=None if response.ok else response.error_code)
    return op['outcome'], response


def read_file(client, name, timeout=5.0, retry_for=0.0):
    """(content or None when absent, the response).  ``retry_for`` seconds: retry answers the
    contract marks retryable (an election in progress), as a client following it would."""
    deadline = time.monotonic() + retry_for
    while True:
        response = client.call('GET', file_path(name), timeout=timeout)
        retryable = isinstance(response.json, dict) and \
            (response.json.get('error') or {}).get('retryable')
        if response.ok or not retryable or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if response.status == 404:
        return None, response
    if not response.ok:
        raise AssertionError('reading %s failed: %r' % (name, response))
    header = response.headers.get('x-content-sha256')
    if header and header != sha256(response.raw):
        raise AssertionError('%s: X-Content-Sha256 %s but the body hashes to %s'
                             % (name, header, sha256(response.raw)))
    return response.raw, response


def list_files(client, prefix, retry_for=15.0):
    deadline = time.monotonic() + retry_for
    while True:
        response = client.call('GET', '/v1/files?prefix=' + urllib.parse.quote(prefix))
        retryable = isinstance(response.json, dict) and \
            (response.json.get('error') or {}).get('retryable')
        partial = response.ok and (response.json or {}).get('unavailable_shards')
        if (response.ok and not partial) or (not response.ok and not retryable) or \
                time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if not response.ok:
        raise AssertionError('listing %s failed: %r' % (prefix, response))
    if response.json.get('unavailable_shards'):  # a partial list must not count as a loss
        raise AssertionError('listing %s: shards %s unavailable' % (
            prefix, response.json['unavailable_shards']))
    body = response.json
    return body.get('files', body) if isinstance(body, dict) else body


class Files:
    """A batch of files with known content, written through one client."""

    def __init__(self, history, prefix, seed=0, size=(64, 4096)):
        self.history = history
        self.prefix = prefix.strip('/') + '/'  # the API stores paths without a leading /
        self.rng = random.Random(seed)
        self.size = size
        self.expected = {}  # name -> sha256 of what an acknowledged write stored

    def content(self, name):
        n = self.rng.randint(*self.size)
        return ('%s\n' % name).encode() + self.rng.randbytes(n)

    def write(self, client, count, process=0, timeout=5.0, election_wait=10.0):
        """Write ``count`` new files.  A ``not_leader`` refusal (an election in progress: the
        contract's retryable, definite refusal) is retried for ``election_wait`` seconds, as a
        client following the contract does; each attempt is its own op in the history."""
        outcomes = []
        for unused in range(count):
            name = self.prefix + self.history.unique_value('f')
            data = self.content(name)
            deadline = time.monotonic() + election_wait
            while True:
                outcome, response = write_file(client, self.history, process, name, data,
                                               timeout)
                refused_by_election = response is not None and response.error_code == 'not_leader'
                if outcome != 'fail' or not refused_by_election or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            if outcome in ('ok', 'unknown'):
                self.expected[name] = sha256(data)
            outcomes.append(outcome)
        return outcomes

    def acknowledged(self):
        return [op['value'] for op in self.history.ops
                if op['f'] == 'add' and op['outcome'] == 'ok'
                and op['value'].startswith(self.prefix)]

    def present(self, client):
        """Names listed under the prefix (the set checker's final read)."""
        return {entry['path'] if isinstance(entry, dict) else entry
                for entry in list_files(client, self.prefix)}

    def verify(self, client, names=None):
        """Read back (acknowledged) files: {'intact': n, 'missing': [...], 'corrupt': [...]}."""
        result = {'intact': 0, 'missing': [], 'corrupt': []}
        for name in names if names is not None else self.acknowledged():
            data, unused = read_file(client, name, retry_for=15.0)
            if data is None:
                result['missing'].append(name)
            elif sha256(data) != self.expected.get(name):
                result['corrupt'].append(name)
            else:
                result['intact'] += 1
        return result


class RegisterWorkers:
    """``clients`` concurrent processes, each looping read/write over ``keys`` until stopped."""

    def __init__(self, clients, history, keys, seed=0, timeout=2.0, write_ratio=0.5):
        self.clients = clients
        self.history = history
        self.keys = keys
        self.seed = seed
        self.timeout = timeout
        self.write_ratio = write_ratio
        self.stop = threading.Event()
        self.threads = []

    def _run(self, process):
        rng = random.Random('%s-%d' % (self.seed, process))
        client = self.clients[process % len(self.clients)]
        while not self.stop.is_set():
            key = rng.choice(self.keys)
            if rng.random() < self.write_ratio:
                value = self.history.unique_value('r%d' % process)
                op = self.history.invoke(process, 'write', key=key, value=value)
                try:
                    response = client.call('PUT', file_path(key), raw=value.encode(),
                                           timeout=self.timeout)
                    self.history.complete(op, response.outcome(), error=response.error_code)
                except Unreachable as exc:
                    self.history.complete(op, 'fail' if exc.definite else 'unknown',
                                          error=str(exc))
            else:
                op = self.history.invoke(process, 'read', key=key)
                try:
                    data, response = read_file(client, key, timeout=self.timeout)
                    if response.ok or response.status == 404:
                        self.history.complete(op, 'ok',
                                              output=None if data is None else data.decode())
                    else:
                        self.history.complete(op, 'fail', error=response.error_code)
                except (Unreachable, AssertionError) as exc:
                    self.history.complete(op, 'unknown', error=str(exc))
            time.sleep(rng.uniform(0.0, 0.02))

    def start(self, processes):
        for process in range(processes):
            thread = threading.Thread(target=self._run, args=(process,), daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def finish(self):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=self.timeout + 5)
        self.history.close()
