"""Cross-site journal shipping: each shard leader ships its site's own writes to the other site.

Every ``replication_interval_ms`` a leader sends the operations written on its site (not those
it received from the other site) that the other site has not acknowledged, to any live node of
that site, which applies them through its own shard group (``apply_remote``: LWW conflicts are
recorded there).  The acknowledged sequence is itself committed through Raft (``set_acked``),
so a new leader resumes where the old one stopped.  Lag = unacknowledged operations and the age
of the oldest one.
"""

import logging
import threading
import time

from cfsemu.errors import ApiError

LOG = logging.getLogger('cfsemu.replication')
SHIPPED_OPS = ('put', 'delete')


class Replication:
    def __init__(self, node):
        self.node = node
        self.interval = float(node.cluster.timeouts['replication_interval_ms']) / 1000.0
        self.stopping = threading.Event()
        self.kick = threading.Event()
        self.reachable = {}       # target site -> bool (last attempt)
        self.last_ok = {}         # target site -> time of last successful ship
        self.shipped_total = 0

    def targets(self):
        return [s for s in self.node.control.snapshot()['shards'] if s != self.node.site]

    def pending(self, sm, target):
        with sm.lock:
            acked = sm.st['remote_acked'].get(target, 0)
            return [e for e in sm.st['ops'] if e['seq'] > acked and e['op'] in SHIPPED_OPS
                    and e['record'].get('site') == self.node.site]

    def ship_shard(self, shard, sm, target):
        ops = self.pending(sm, target)
        if not ops:
            return 0
        control = self.node.control.snapshot()
        body = {'origin': self.node.site, 'shard': shard, 'ops': ops[:500],
                'active_site': control['active_site'],
                'active_since': control.get('active_since', 0.0)}
        _peer, answer = self.node.call_any(target, 'POST', '/v1/internal/replicate', body,
                                           timeout=5.0)
        done = int(answer['applied_seq'])
        self.node.shards.submit(shard, 'set_acked', target, done)
        if answer.get('split_brain'):
            self.node.mark_split_brain(True)
        return sum(1 for e in ops[:500] if e['seq'] <= done)

    def once(self):
        shipped = 0
        for target in self.targets():
            for shard, sm in self.node.shards.all().items():
                if not sm._isLeader():  # pylint: disable=protected-access
                    continue
                try:
                    shipped += self.ship_shard(shard, sm, target)
                    self.reachable[target] = True
                    self.last_ok[target] = time.time()
                except ApiError as exc:
                    self.reachable[target] = exc.code not in ('node_unreachable',)
                    LOG.debug('shipping shard %d to %s deferred: %s', shard, target, exc)
                    break
        self.shipped_total += shipped
        return shipped

    def loop(self):
        while not self.stopping.is_set():
            self.kick.wait(self.interval)
            self.kick.clear()
            try:
                self.once()
            except Exception:  # pylint: disable=broad-except
                LOG.exception('shipping failed')

    def local_lag(self):
        """Lag of the shards this node leads (the metric and replicationStatus parts)."""
        ops = 0
        oldest = None
        detail = []
        for target in self.targets():
            for shard, sm in self.node.shards.all().items():
                if not sm._isLeader():  # pylint: disable=protected-access
                    continue
                pending = self.pending(sm, target)
                ops += len(pending)
                for entry in pending[:20]:
                    detail.append({'shard': shard, 'seq': entry['seq'],
                                   'path': entry['record']['path'],
                                   'timestamp': entry['record']['timestamp']})
                if pending:
                    ts = pending[0]['record']['timestamp']
                    oldest = ts if oldest is None else min(oldest, ts)
        return {'lag_ops': ops, 'lag_seconds': round(time.time() - oldest, 3) if oldest else 0.0,
                'unreplicated': detail, 'led_shards': sorted(
                    s for s, sm in self.node.shards.all().items()
                    if sm._isLeader()),  # pylint: disable=protected-access
                'reachable': all(self.reachable.get(t, True) for t in self.targets())}

    def start(self):
        threading.Thread(target=self.loop, daemon=True, name='replication').start()

    def stop(self):
        self.stopping.set()
        self.kick.set()
