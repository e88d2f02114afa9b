"""Metadata snapshots (tar.gz: manifest.json + one JSON state per shard) and the journal archive.

A snapshot is built from each shard's leader state, checked (every member's sha256 against the
manifest) before it is uploaded, and stored with a ``.sha256`` sidecar.  The journal archive:
each shard leader of the active site uploads its new operations every second as
``journal/<site>/<shard>/<first seq>-<last seq>.json``, so a journal survives the loss of every
node and ``replay-journal`` can bring back what happened after the last snapshot.
"""

import gzip
import hashlib
import io
import json
import logging
import os
import tarfile
import threading
import time

from cfsemu import s3
from cfsemu.errors import ApiError

LOG = logging.getLogger('cfsemu.snapshots')
FORMAT = 'cfsemu-metadata-snapshot/1'


def build(cluster_name, site, states):
    """states: {shard: state dict} -> (archive bytes, manifest). Deterministic member order."""
    members = {}
    manifest = {'format': FORMAT, 'created': time.time(), 'cluster_name': cluster_name,
                'site': site, 'shards': {}, 'last_seq': {}, 'files': 0, 'records': 0}
    for shard in sorted(states):
        state = dict(states[shard])
        state.pop('op_ids', None)
        data = json.dumps(state, sort_keys=True).encode()
        members['shards/%d.json' % shard] = data
        manifest['shards'][str(shard)] = {'last_seq': state['seq'], 'files': len(state['files']),
                                          'sha256': hashlib.sha256(data).hexdigest()}
        manifest['last_seq'][str(shard)] = state['seq']
        manifest['files'] += len(state['files'])
        manifest['records'] += len(state['ops'])
    members = dict([('manifest.json', json.dumps(manifest, sort_keys=True, indent=1).encode())]
                   + sorted(members.items()))
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode='w') as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = int(manifest['created'])
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0), manifest


def read(archive):
    """Verify and unpack an archive -> (manifest, {shard: state}); ApiError if damaged."""
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode='r:gz') as tar:
            members = {}
            for info in tar.getmembers():
                if not info.isfile() or info.name.startswith('/') or '..' in info.name:
                    raise ApiError('bad_request', 'snapshot holds an unexpected member %r' %
                                   info.name)
                members[info.name] = tar.extractfile(info).read()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ApiError('bad_request', 'not a readable tar.gz snapshot: %s' % exc)
    if 'manifest.json' not in members:
        raise ApiError('bad_request', 'snapshot has no manifest.json')
    manifest = json.loads(members['manifest.json'])
    if manifest.get('format') != FORMAT:
        raise ApiError('bad_request', 'unknown snapshot format %r' % manifest.get('format'))
    states = {}
    for shard, meta in manifest['shards'].items():
        data = members.get('shards/%s.json' % shard)
        if data is None or hashlib.sha256(data).hexdigest() != meta['sha256']:
            raise ApiError('bad_request', 'snapshot member shards/%s.json is missing or does '
                           'not match its sha256 in the manifest' % shard, shard=int(shard))
        states[int(shard)] = json.loads(data)
    return manifest, states


def split_location(node, location):
    """'s3://bucket/key' -> ('s3', endpoint name, key); 'file:///p' or '/p' -> ('file', p)."""
    if location.startswith('s3://'):
        bucket, _, key = location[5:].partition('/')
        flash = node.extras['s3queue']
        names = [flash.target()] + sorted(node.cluster.s3_endpoints())
        for name in names:
            spec = node.cluster.s3_endpoints().get(name)
            if isinstance(spec, dict) and spec.get('bucket') == bucket:
                return 's3', name, key
        raise ApiError('bad_request', 'no configured S3 endpoint serves bucket %r' % bucket)
    path = location[7:] if location.startswith('file://') else location
    if not os.path.isabs(path):
        raise ApiError('bad_request', 'give s3://bucket/key, file:///abs/path or /abs/path, '
                       'not %r' % location)
    return 'file', None, path


def store(node, location, data):
    kind, name, key = split_location(node, location)
    digest = hashlib.sha256(data).hexdigest()
    if kind == 'file':
        os.makedirs(os.path.dirname(key), exist_ok=True)
        for path, body in ((key, data), (key + '.sha256', ('%s  %s\n' % (
                digest, os.path.basename(key))).encode())):
            tmp = '%s.tmp-%d' % (path, os.getpid())
            # never through a symlink someone planted: new file, then rename over the name
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, 'wb') as handle:
                handle.write(body)
            os.replace(tmp, path)
        return
    client = node.extras['s3queue'].s3_client(name, timeout=5.0)
    try:
        client.put(key, data)
        client.put(key + '.sha256', ('%s  %s\n' % (digest, key.rsplit('/', 1)[-1])).encode())
    except s3.S3Error as exc:
        raise ApiError('s3_unavailable', 'could not write %s: %s' % (location, exc))


def fetch(node, location):
    kind, name, key = split_location(node, location)
    if kind == 'file':
        if not os.path.isfile(key):
            raise ApiError('not_found', 'no snapshot file %s' % key)
        with open(key, 'rb') as handle:
            data = handle.read()
        sidecar = key + '.sha256'
        expected = open(sidecar, encoding='utf-8').read().split()[0] \
            if os.path.exists(sidecar) else None
    else:
        client = node.extras['s3queue'].s3_client(name, timeout=5.0)
        try:
            data = client.get(key)
            side = client.get(key + '.sha256')
        except s3.S3Error as exc:
            raise ApiError('s3_unavailable', 'could not read %s: %s' % (location, exc))
        if data is None:
            raise ApiError('not_found', 'no snapshot at %s' % location)
        expected = side.decode().split()[0] if side else None
    digest = hashlib.sha256(data).hexdigest()
    if expected and expected != digest:
        raise ApiError('bad_request', 'snapshot %s has sha256 %s, its .sha256 says %s' % (
            location, digest, expected))
    return data, digest


class JournalArchiver:
    """Uploads the operations of the shards this node leads (on the active site) to S3."""

    def __init__(self, node):
        self.node = node
        self.done = {}       # shard -> (epoch, last archived seq)
        self.stopping = threading.Event()
        self.kick = threading.Event()

    def prefix(self, shard):
        return 'journal/%s/%d/' % (self.node.site, shard)

    def archived(self, client, shard, epoch):
        known = self.done.get(shard)
        if known and known[0] == epoch:
            return known[1]
        last = 0
        for key, _size, _mod in client.list(self.prefix(shard)):
            try:
                last = max(last, int(key.rsplit('/', 1)[1].split('-')[1].split('.')[0]))
            except (IndexError, ValueError):
                continue
        self.done[shard] = (epoch, last)
        return last

    def once(self):
        node = self.node
        if node.control.snapshot()['active_site'] != node.site:
            return 0
        flash = node.extras['s3queue']
        client = flash.s3_client(timeout=2.0)
        shipped = 0
        for shard, sm in node.shards.all().items():
            if not sm._isLeader():  # pylint: disable=protected-access
                continue
            # a new epoch or a new S3 target (s3-failover) is listed afresh
            epoch = (node.shards.epoch(shard), client.endpoint)
            last = self.archived(client, shard, epoch)
            with sm.lock:
                ops = [e for e in sm.st['ops'] if e['seq'] > last]
            if not ops:
                continue
            key = '%s%012d-%012d.json' % (self.prefix(shard), ops[0]['seq'], ops[-1]['seq'])
            client.put(key, json.dumps(ops, sort_keys=True).encode())
            self.done[shard] = (epoch, ops[-1]['seq'])
            shipped += len(ops)
        return shipped

    def pending(self):
        """Operations of the shards this node leads not yet in the archive (None: unknown)."""
        total = 0
        for shard, sm in self.node.shards.all().items():
            if not sm._isLeader():  # pylint: disable=protected-access
                continue
            known = self.done.get(shard)
            target = self.node.extras['s3queue'].target()
            endpoint = self.node.cluster.s3_endpoints().get(target, {}).get('endpoint')
            if not known or known[0] != (self.node.shards.epoch(shard), endpoint):
                return None
            with sm.lock:
                total += sum(1 for e in sm.st['ops'] if e['seq'] > known[1])
        return total

    def loop(self):
        while not self.stopping.is_set():
            self.kick.wait(1.0)
            self.kick.clear()
            try:
                self.once()
            except (s3.S3Error, ApiError) as exc:
                LOG.debug('journal archive deferred: %s', exc)
            except Exception:  # pylint: disable=broad-except
                LOG.exception('journal archive failed')

    def start(self):
        threading.Thread(target=self.loop, daemon=True, name='journal-archive').start()

    def stop(self):
        self.stopping.set()
        self.kick.set()


def archived_ops(node, site, shard):
    """Every archived journal entry of a shard, in sequence order (from the current target)."""
    client = node.extras['s3queue'].s3_client(timeout=5.0)
    entries = {}
    try:
        for key, _size, _mod in client.list('journal/%s/%d/' % (site, shard)):
            body = client.get(key)
            for entry in json.loads(body or b'[]'):
                entries[entry['seq']] = entry
    except s3.S3Error as exc:
        raise ApiError('s3_unavailable', 'journal archive unreadable: %s' % exc)
    return [entries[k] for k in sorted(entries)]
