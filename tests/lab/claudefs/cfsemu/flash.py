"""Flash: the node's content-addressed blob cache and its S3 upload queue.

``flash/blobs/<sha256>`` holds content; ``flash/uploaded/<target>/<sha256>`` marks a blob the
named S3 endpoint has.  The upload queue is every blob on flash not yet marked for the current
target, so an s3-failover re-queues (and drains to the backup) everything still on flash.
What the current target has is mirrored to the other endpoint in the background (the backup is
a replica), and blobs are evicted, oldest first, only once every endpoint has them and only
while flash use is above the evict watermark.  Write modes from flash use over the quota: write-back below
the high watermark, write-through from it, ENOSPC when a write would pass 100%.
"""

import hashlib
import logging
import os
import threading
import time

from cfsemu import s3
from cfsemu.errors import ApiError

LOG = logging.getLogger('cfsemu.flash')


class Flash:
    def __init__(self, node):
        self.node = node
        self.cluster = node.cluster
        self.root = os.path.join(node.dir, 'flash')
        self.blob_dir = os.path.join(self.root, 'blobs')
        os.makedirs(self.blob_dir, exist_ok=True)
        self.lock = threading.RLock()
        self.sizes = {}
        for name in os.listdir(self.blob_dir):
            if len(name) == 64:
                self.sizes[name] = os.path.getsize(os.path.join(self.blob_dir, name))
        self.uploaded = {}          # target -> set(sha)
        self.uploaded_total = 0
        self.last_success = None
        self.last_error = None
        self.down = set()           # endpoints whose last upload attempt failed
        self.stopping = threading.Event()
        self.kick = threading.Event()

    # ---- configuration ---------------------------------------------------------------
    @property
    def quota(self):
        return int(self.cluster.flash['quota_bytes'])

    def target(self):
        return self.node.control.snapshot()['s3_target']

    def s3_client(self, name=None, timeout=2.0):
        spec = self.cluster.s3_endpoints().get(name or self.target())
        if not isinstance(spec, dict):
            raise ApiError('s3_unavailable', 'no S3 endpoint named %s' % name)
        return s3.client(spec, timeout=timeout)

    def _marks(self, target):
        if target not in self.uploaded:
            path = os.path.join(self.root, 'uploaded', target)
            os.makedirs(path, exist_ok=True)
            self.uploaded[target] = set(os.listdir(path))
        return self.uploaded[target]

    def mark_uploaded(self, sha, target):
        with self.lock:
            marks = self._marks(target)
            if sha not in marks:
                open(os.path.join(self.root, 'uploaded', target, sha), 'wb').close()
                marks.add(sha)

    # ---- blobs -----------------------------------------------------------------------
    def used(self):
        with self.lock:
            return sum(self.sizes.values())

    def has(self, sha):
        return sha in self.sizes

    @staticmethod
    def valid(sha):
        """Blob names come from URLs: only 64 lowercase hex digits name a file."""
        return isinstance(sha, str) and len(sha) == 64 and \
            all(c in '0123456789abcdef' for c in sha)

    def put(self, sha, data):
        if not self.valid(sha):
            raise ApiError('bad_request', 'a blob is named by its sha256 (64 hex digits)')
        if hashlib.sha256(data).hexdigest() != sha:
            raise ApiError('bad_request', 'blob content does not match its sha256 %s' % sha)
        with self.lock:
            if sha in self.sizes:
                return False
            path = os.path.join(self.blob_dir, sha)
            with open(path + '.tmp', 'wb') as handle:
                handle.write(data)
            os.replace(path + '.tmp', path)
            self.sizes[sha] = len(data)
        self.kick.set()
        return True

    def get(self, sha):
        if not self.valid(sha):
            return None
        try:
            with open(os.path.join(self.blob_dir, sha), 'rb') as handle:
                data = handle.read()
        except FileNotFoundError:
            return None
        if hashlib.sha256(data).hexdigest() != sha:
            LOG.warning('blob %s on flash is corrupt; dropping it', sha)
            self.drop(sha)
            return None
        return data

    def drop(self, sha):
        if not self.valid(sha):
            return
        with self.lock:
            self.sizes.pop(sha, None)
            try:
                os.unlink(os.path.join(self.blob_dir, sha))
            except FileNotFoundError:
                pass

    # ---- watermarks ------------------------------------------------------------------
    def mode(self, incoming=0):
        ratio = (self.used() + incoming) / float(self.quota)
        if ratio > 1.0 or (incoming == 0 and ratio >= 1.0):
            return 'enospc'
        if ratio >= float(self.cluster.flash['high_watermark']):
            return 'write-through'
        return 'write-back'

    def queue(self):
        target = self.target()
        with self.lock:
            marks = self._marks(target)
            return [sha for sha in self.sizes if sha not in marks]

    def status(self):
        queue = self.queue()
        used = self.used()
        journal = self.node.extras['archiver'].pending() if 'archiver' in self.node.extras \
            and self.node.control.peek()['active_site'] == self.node.site else 0
        return {'node': self.node.name,
                # blobs, plus the journal entries (or 1 if not yet known) still to upload
                'depth': len(queue) + (1 if journal is None else journal),
                'bytes': sum(self.sizes.get(sha, 0) for sha in queue),
                'flash_used_bytes': used, 'flash_quota_bytes': self.quota,
                'flash_used_ratio': round(used / float(self.quota), 4),
                'mode': self.mode(), 'target': self.target(), 'reachable': True,
                'critical': used / float(self.quota) >= float(
                    self.cluster.flash['critical_watermark']),
                'uploaded_total': self.uploaded_total,
                'journal_pending': journal}

    def endpoints(self):
        return sorted(n for n, spec in self.cluster.s3_endpoints().items()
                      if isinstance(spec, dict))

    def evict(self, need=0):
        """Drop blobs the S3 endpoints have, oldest first, down to the evict watermark (or to
        fit ``need``).  The backup endpoint is a replica: while it answers, a blob only on the
        primary stays on flash, so an s3-failover does not strand data on an endpoint that
        then goes down.  An endpoint that does not answer does not hold eviction back."""
        limit = float(self.cluster.flash['evict_watermark']) * self.quota
        target = self.target()
        with self.lock:
            # on the current target, and on every other endpoint that answers
            keep_for = [n for n in self.endpoints() if n != target and n not in self.down]
            evictable = set(self._marks(target))
            for name in keep_for:
                evictable &= self._marks(name)
            candidates = sorted((os.path.getmtime(os.path.join(self.blob_dir, sha)), sha)
                                for sha in self.sizes if sha in evictable)
        for _mtime, sha in candidates:
            used = self.used()
            if used <= limit and used + need <= self.quota:
                break
            self.drop(sha)

    def mirror(self):
        """Copy what the current target has to the other endpoints (best effort)."""
        target = self.target()
        for name in self.endpoints():
            if name == target:
                continue
            with self.lock:
                todo = [sha for sha in self.sizes if sha in self._marks(target)
                        and sha not in self._marks(name)]
            for sha in todo:
                if self.stopping.is_set():
                    return
                try:
                    self.upload(sha, name, timeout=1.0)
                except ApiError:
                    break

    # ---- uploads ---------------------------------------------------------------------
    def upload(self, sha, target=None, timeout=2.0):
        target = target or self.target()
        data = self.get(sha)
        if data is None:
            return False
        client = self.s3_client(target, timeout=timeout)
        try:
            if not client.exists('blobs/' + sha):
                client.put('blobs/' + sha, data)
                self.uploaded_total += 1
        except s3.S3Error as exc:
            self.last_error = str(exc)
            self.down.add(target)
            raise ApiError('s3_unavailable', 'S3 %s: %s' % (target, exc), target=target)
        self.mark_uploaded(sha, target)
        self.down.discard(target)
        if target == self.target():
            self.last_success = time.time()
        return True

    def upload_loop(self):
        while not self.stopping.is_set():
            self.kick.wait(0.5)
            self.kick.clear()
            failed = False
            for sha in self.queue():
                if self.stopping.is_set():
                    return
                try:
                    self.upload(sha)
                except ApiError:
                    failed = True
                    break
            if not failed:
                self.mirror()
                self.evict()
            else:
                self.stopping.wait(0.5)

    def start(self):
        threading.Thread(target=self.upload_loop, daemon=True, name='uploader').start()

    def stop(self):
        self.stopping.set()
        self.kick.set()
