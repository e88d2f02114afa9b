"""The test data path: files = metadata through Raft + content blobs on the site's flash.

A write splits the content into blobs of ``blob_size``, stores them on this node's flash and on
the other live members of the shard (at least two copies when two are alive), commits the
metadata through the shard's group and, in write-through mode, waits for the S3 upload.
A read goes through the log (linearizable) and assembles the blobs from flash, the site's peers,
the other site, then S3 (current target first).  A scrubber fetches blobs a replica is missing
(after a wipe, or on the other site after journal shipping) unless S3 already has them.
"""

import hashlib
import logging
import threading
import time

from cfsemu import peers, s3
from cfsemu.disk import content_sum
from cfsemu.errors import ApiError
from cfsemu.statemachine import shard_of

LOG = logging.getLogger('cfsemu.datapath')


class DataPath:
    def __init__(self, node, flash):
        self.node = node
        self.flash = flash
        self.stopping = threading.Event()

    def split(self, data):
        size = int(self.node.cluster['blob_size'])
        chunks = [data[i:i + size] for i in range(0, len(data), size)] or [b'']
        return [(hashlib.sha256(c).hexdigest(), c) for c in chunks]

    # ---- write -----------------------------------------------------------------------
    def write(self, path, data, op_id=None):
        node = self.node
        shard = shard_of(path, node.cluster.shards)
        node.shards.precheck(shard)
        blobs = self.split(data)
        new = [(sha, chunk) for sha, chunk in blobs if not self.flash.has(sha)]
        incoming = sum(len(c) for _s, c in new)
        if self.flash.mode(incoming) != 'write-back':
            self.flash.evict(need=incoming)
        mode = self.flash.mode(incoming)
        if mode == 'enospc':
            raise ApiError('enospc', 'flash quota reached (%d of %d bytes used, %d incoming) and '
                           'S3 has not taken the queue; writes resume once it drains' % (
                               self.flash.used(), self.flash.quota, incoming),
                           used=self.flash.used(), quota=self.flash.quota)
        for sha, chunk in new:
            self.flash.put(sha, chunk)
        try:
            self._replicate(shard, blobs)
        except ApiError:
            for sha, _chunk in new:
                self.flash.drop(sha)
            raise
        rec = {'path': path, 'size': len(data), 'sha256': hashlib.sha256(data).hexdigest(),
               'blobs': [sha for sha, _c in blobs], 'timestamp': time.time(),
               'site': node.site, 'node': node.name, 'op_id': op_id}
        rec['content_sum'] = content_sum(rec)
        version = node.shards.submit(shard, 'put', rec)
        version['mode'] = mode
        archiver = node.extras.get('archiver')
        if archiver is not None:
            archiver.kick.set()
        if mode == 'write-through':
            self._write_through(path, version, blobs)
        return version

    def _write_through(self, path, version, blobs):
        """Above the high watermark the ack waits for S3.  The write is committed and its
        blobs stay queued on flash; if S3 does not take them in time the client learns
        ``timeout``: the outcome is not acknowledged (it completes once S3 is back), and the
        queue keeps filling flash up to ENOSPC."""
        limit = float(self.node.cluster.timeouts['write_through_s'])
        try:
            for sha, _chunk in blobs:
                self.flash.upload(sha, timeout=limit)
        except ApiError as exc:
            raise ApiError('timeout', 'write-through mode (flash above the high watermark): '
                           '%s is committed on flash but S3 did not take its content within '
                           '%.0f s (%s); it is not acknowledged' % (path, limit, exc.message),
                           path=path, seq=version['seq'], shard=version['shard'],
                           mode='write-through')

    def _replicate(self, shard, blobs):
        """Copy the blobs to the shard group's other live members (two copies at least)."""
        node = self.node
        members = node.control.snapshot()['shards'][node.site][str(shard)]['members']
        peers_alive = [n for n in members if n != node.name and node.swim.state(n)[0] != 'Dead']
        copies = 1
        full = []
        for peer in peers_alive:
            try:
                for sha, chunk in blobs:
                    status, _ = node.call(peer, 'PUT', '/v1/internal/blobs/%s' % sha, chunk,
                                          timeout=2.0)
                    if status == 507:
                        full.append(peer)
                    if status != 200:
                        raise peers.PeerError('HTTP %s' % status)
                copies += 1
            except peers.PeerError as exc:
                LOG.info('blob copy to %s failed: %s', peer, exc)
        if copies < min(2, len(members)):
            if full:
                raise ApiError('enospc', 'the flash of %s is full; nothing was written' %
                               ', '.join(full), nodes=full)
            raise ApiError('node_unreachable', 'no peer of %s took a copy of the content; '
                           'nothing was written' % node.site, nodes=peers_alive)

    # ---- read ------------------------------------------------------------------------
    def read(self, path):
        shard = shard_of(path, self.node.cluster.shards)
        version = self.node.shards.submit(shard, 'read', path)
        if version is None:
            raise ApiError('not_found', 'no file %s' % path, path=path)
        data = b''.join(self.blob(sha) for sha in version.get('blobs', []))
        if hashlib.sha256(data).hexdigest() != version['sha256']:
            raise ApiError('internal', 'content of %s does not match its sha256' % path)
        return version, data

    def blob(self, sha, fetch_only=False):
        data = self.flash.get(sha)
        if data is not None:
            return data
        node = self.node
        others = [n for n in node.nodes_of_site(node.site, alive_only=True) if n != node.name]
        for site in node.control.snapshot()['shards']:
            if site != node.site:
                others += node.nodes_of_site(site, alive_only=True)
        for peer in others:
            try:
                status, body, _h = node.call(peer, 'GET', '/v1/internal/blobs/%s' % sha,
                                             timeout=2.0, raw=True)
            except peers.PeerError:
                continue
            if status == 200 and hashlib.sha256(body).hexdigest() == sha:
                if not fetch_only and self.flash.mode(len(body)) != 'enospc':
                    self.flash.put(sha, body)
                return body
        target = self.flash.target()
        names = [target] + [n for n in node.cluster.s3_endpoints() if n not in (target,
                                                                                'active')]
        for name in names:
            try:
                body = self.flash.s3_client(name).get('blobs/' + sha)
            except (s3.S3Error, ApiError):
                continue
            if body is not None and hashlib.sha256(body).hexdigest() == sha:
                return body
        raise ApiError('s3_unavailable', 'blob %s is on no reachable flash and no reachable S3 '
                       'endpoint' % sha, blob=sha)

    # ---- scrub: bring missing replicas back --------------------------------------------
    def scrub_once(self, budget=200):
        fixed = 0
        target = self.flash.target()
        for sm in self.node.shards.all().values():
            for version in sm.files():
                for sha in version.get('blobs', []):
                    if self.flash.has(sha) or sha in self.flash._marks(target):  # noqa
                        continue
                    if budget <= 0:
                        return fixed
                    budget -= 1
                    try:
                        if self.flash.s3_client(target, timeout=1.0).exists('blobs/' + sha):
                            self.flash.mark_uploaded(sha, target)
                            continue
                    except (s3.S3Error, ApiError):
                        pass
                    try:
                        self.blob(sha)
                        fixed += 1
                    except ApiError:
                        pass
        return fixed

    def scrub_loop(self):
        while not self.stopping.wait(2.0):
            try:
                self.scrub_once()
            except Exception as exc:  # pylint: disable=broad-except
                LOG.warning('scrub failed: %s', exc)

    def start(self):
        threading.Thread(target=self.scrub_loop, daemon=True, name='scrub').start()

    def stop(self):
        self.stopping.set()
