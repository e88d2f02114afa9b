"""A node's on-disk metadata: a journal with sequence numbers and checksummed inode records.

Layout under ``<node dir>/meta/``::

    journal-<shard>.log          one JSON line per applied operation: {seq, op, record, crc}
    records/<shard>/<inode>.json {"record": {...}, "sha256": sha256(canonical record)}

Every line and record carries the sha256 of its canonical JSON, so a flipped byte is found by
``verify()``.  ``corrupt_metadata`` and ``wipe`` are the fault hooks the harness calls (the node
must be stopped for ``wipe``; ``corrupt_metadata`` works on a live node too, as a bit flip would).
"""

import hashlib
import json
import os
import random
import shutil
import threading


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(',', ':')).encode()


def checksum(obj):
    return hashlib.sha256(canonical(obj)).hexdigest()


CONTENT_FIELDS = ('path', 'size', 'sha256', 'blobs')


def content_sum(record):
    """The checksum a file version carries over what it says about its content (path, size,
    sha256, blobs), set once at write time: a record damaged after that - by a faulty
    operation that was then replicated to every member - fails it on every replica."""
    return checksum(dict((k, record.get(k)) for k in CONTENT_FIELDS))


def _atomic_write(path, data):
    tmp = '%s.tmp' % path
    with open(tmp, 'wb') as handle:
        handle.write(data)
    os.replace(tmp, path)


class MetaStore:
    """Writes and checks one node's journal and records (thread-safe)."""

    def __init__(self, node_dir):
        self.root = os.path.join(node_dir, 'meta')
        os.makedirs(self.root, exist_ok=True)
        self.lock = threading.Lock()
        self.last_seq = {}

    def _journal(self, shard):
        return os.path.join(self.root, 'journal-%d.log' % shard)

    def _record(self, shard, inode):
        return os.path.join(self.root, 'records', str(shard), '%d.json' % inode)

    def journal_last_seq(self, shard):
        if shard not in self.last_seq:
            last = 0
            for entry in self.read_journal(shard):
                if entry.get('ok'):
                    last = max(last, entry['seq'])
            self.last_seq[shard] = last
        return self.last_seq[shard]

    def append(self, shard, seq, op, record):
        """Journal one applied operation and rewrite the inode record (idempotent per seq)."""
        with self.lock:
            if seq <= self.journal_last_seq(shard):
                # journaled already (a raft log replay at start, or a journal replay after a
                # restore): the line stays, but the record must show this version again - a
                # restore may have put an older one (or a damaged one) there meanwhile
                self.write_record(shard, record)
                return False
            body = {'seq': seq, 'op': op, 'record': record}
            line = dict(body, crc=checksum(body))
            with open(self._journal(shard), 'ab') as handle:
                handle.write(canonical(line) + b'\n')
            self.last_seq[shard] = seq
            self.write_record(shard, record)
            return True

    def write_record(self, shard, record):
        path = self._record(shard, record['inode'])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        _atomic_write(path, canonical({'record': record, 'sha256': checksum(record)}))

    def drop_record(self, shard, inode):
        try:
            os.unlink(self._record(shard, inode))
        except FileNotFoundError:
            pass

    def read_journal(self, shard):
        """Every journal line, each with ``ok`` telling whether its checksum holds."""
        out = []
        try:
            with open(self._journal(shard), 'rb') as handle:
                for number, line in enumerate(handle, start=1):
                    try:
                        entry = json.loads(line)
                        crc = entry.pop('crc')
                        entry['ok'] = crc == checksum(entry)
                    except (ValueError, KeyError, AttributeError):
                        entry = {'ok': False, 'seq': -1, 'line': number}
                    entry.setdefault('line', number)
                    out.append(entry)
        except FileNotFoundError:
            pass
        return out

    def read_records(self, shard):
        """{inode: (record or None, ok)} for every record file of a shard."""
        out = {}
        base = os.path.join(self.root, 'records', str(shard))
        for name in sorted(os.listdir(base)) if os.path.isdir(base) else []:
            if not name.endswith('.json'):
                continue
            inode = int(name[:-5])
            try:
                with open(os.path.join(base, name), 'rb') as handle:
                    doc = json.loads(handle.read())
                out[inode] = (doc['record'], doc['sha256'] == checksum(doc['record']))
            except (ValueError, KeyError, TypeError, UnicodeDecodeError):
                out[inode] = (None, False)
        return out

    def rewrite_journal(self, shard, entries):
        """Replace the journal of a shard by good entries (repair)."""
        with self.lock:
            data = b''.join(canonical(dict(e, crc=checksum(e))) + b'\n' for e in entries)
            _atomic_write(self._journal(shard), data)
            self.last_seq[shard] = max([e['seq'] for e in entries] or [0])


def corrupt_metadata(node_dir, count, seed):
    """Flip one byte in ``count`` metadata files (records first, then journals); return them.

    Deterministic for a seed.  Returns the list of touched ids (``records/<shard>/<inode>`` or
    ``journal-<shard>:<byte offset>``).
    """
    root = os.path.join(node_dir, 'meta')
    rng = random.Random(seed)
    records = []
    for dirpath, _dirs, files in os.walk(os.path.join(root, 'records')):
        records.extend(os.path.join(dirpath, f) for f in files if f.endswith('.json'))
    records.sort()
    rng.shuffle(records)
    touched = []
    for path in records[:count]:
        with open(path, 'r+b') as handle:
            data = bytearray(handle.read())
            # flip a byte inside the record body (after the opening key), keep it JSON-ish
            pos = data.find(b'"size":')
            pos = pos + 7 if pos >= 0 else rng.randrange(len(data))
            data[pos] = ord('9') if data[pos] != ord('9') else ord('8')
            handle.seek(0)
            handle.write(bytes(data))
        touched.append(os.path.relpath(path, root)[:-5])
    return touched


def wipe(node_dir):
    """Delete everything a node stored (flash, metadata, raft) as a replaced disk would."""
    for sub in ('flash', 'meta', 'raft', 'control.json', 'ready'):
        path = os.path.join(node_dir, sub)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        elif os.path.lexists(path):
            os.unlink(path)
