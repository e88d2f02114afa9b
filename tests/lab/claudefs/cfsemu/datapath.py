"""The test data path: files = metadata through Raft + content blobs on the site's flash.

A write splits the content into blobs of ``blob_size``, stores them on this node's flash and on
the other live nodes of the site (at least two copies when the site has two live nodes), uploads
them synchronously in write-through mode, then commits the metadata through the shard's group.
A read goes through the log (linearizable) and assembles the blobs from flash, the site's peers,
the other site, then S3 (current target first).  A scrubber fetches blobs a replica is missing
(after a wipe, or on the other site after journal shipping) unless S3 already has them.
"""

import hashlib
import logging
import threading
import time

from cfsemu import peers, s3
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
        if mode == 'write-through':
            # flash above the high watermark: the blobs must reach S3 before the ack
            try:
                for sha, _chunk in blobs:
                    self.flash.upload(sha, timeout=float(node.cluster.timeouts['write_through_s']))
            except ApiError as exc:
                for sha, _chunk in new:
                    self.flash.drop(sha)
                raise ApiError('s3_unavailable', 'write-through mode (flash above the high '
                               'watermark) and S3 did not take the blobs: %s; nothing was '
                               'written' % exc.message, mode=mode)
        try:
            self._replicate(shard, blobs)
        except ApiError:
            for sha, _chunk in new:
                self.flash.drop(sha)
            raise
        rec = {'path': path, 'size': len(data), 'sha256': hashlib.sha256(data).hexdigest(),
               'blobs': [sha for sha, _c in blobs], 'timestamp': time.time(),
               'site': node.site, 'node': node.name, 'op_id': op_id}
        version = node.shards.submit(shard, 'put', rec)
        version['mode'] = mode
        return version

    def _replicate(self, shard, blobs):
        """Copy the blobs to the shard group's other live members (two copies at least)."""
        node = self.node
        members = node.control.snapshot()['shards'][node.site][str(shard)]['members']
        peers_alive = [n for n in members if n != node.name and node.swim.state(n)[0] != 'Dead']
        copies = 1
        for peer in peers_alive:
            try:
                for sha, chunk in blobs:
                    status, _ = node.call(peer, 'PUT', '/v1/internal/blobs/%s' % sha, chunk,
                                          timeout=2.0)
                    if status != 200:
                        raise peers.PeerError('HTTP %s' % status)
                copies += 1
            except peers.PeerError as exc:
                LOG.info('blob copy to %s failed: %s', peer, exc)
        if copies < min(2, len(members)):
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
