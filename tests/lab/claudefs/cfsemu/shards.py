"""The shard groups a node takes part in: one pysyncobj SyncObj per shard of its site.

Group membership is versioned by an *epoch* per shard (in the control record).  A new epoch
means a new group: it listens on new ports (``raft_base_port + 100*epoch + shard``) and starts a
new journal, so a fenced member that comes back with its old journal talks to ports nobody
listens on any more and can never rejoin with stale state.  The first entry of a new epoch is an
``install`` of the state the seed member carried over.
"""

import logging
import os
import threading
import time

from pysyncobj import SyncObjConf
from pysyncobj.syncobj import SyncObjException

from cfsemu.errors import ApiError
from cfsemu.statemachine import ShardSM

LOG = logging.getLogger('cfsemu.shards')
ROLES = {0: 'Follower', 1: 'Candidate', 2: 'Leader'}
FAIL = {1: 'queue full', 2: 'no leader', 3: 'discarded', 4: 'not leader', 5: 'leader changed',
        6: 'denied', 7: 'unknown outcome'}


class ShardGroups:
    """Owns this node's SyncObjs and maps pysyncobj outcomes to contract errors."""

    def __init__(self, node):
        self.node = node
        self.cluster = node.cluster
        self.groups = {}        # shard -> (epoch, members tuple, ShardSM)
        self.lock = threading.RLock()
        self.raft_dir = os.path.join(node.dir, 'raft')
        os.makedirs(self.raft_dir, exist_ok=True)
        self.wanted = threading.Event()
        self.stopping = False

    def request_reconcile(self):
        """Control record changed: reconcile in the long-lived reconciler thread.

        pysyncobj's tick thread stops when the thread that created the SyncObj ends, so
        SyncObjs must never be created in a short-lived HTTP handler thread.
        """
        self.wanted.set()

    def reconcile_loop(self):
        while not self.stopping:
            self.wanted.wait()
            self.wanted.clear()
            if self.stopping:
                return
            try:
                self.reconcile()
            except Exception:  # pylint: disable=broad-except
                LOG.exception('reconcile failed')

    def start(self):
        threading.Thread(target=self.reconcile_loop, daemon=False, name='reconciler').start()
        self.request_reconcile()

    def conf(self, shard, epoch):
        t = self.cluster.timeouts
        bind = self.addr(self.node.name, shard, epoch)  # not 0.0.0.0: one address per node
        heartbeat = t['raft_heartbeat_ms'] / 1000.0
        low = max(t['raft_election_min_ms'] / 1000.0, heartbeat * 3.2)
        high = max(t['raft_election_max_ms'] / 1000.0, low * 2)
        return SyncObjConf(
            journalFile=os.path.join(self.raft_dir, 'shard-%d-e%d.journal' % (shard, epoch)),
            appendEntriesPeriod=heartbeat, raftMinTimeout=low, raftMaxTimeout=high,
            connectionTimeout=max(high, 1.0), connectionRetryTime=0.5,
            leaderFallbackTimeout=max(high * 2, 1.0), commandsWaitLeader=False,
            logCompactionMinEntries=10 ** 9, logCompactionMinTime=10 ** 9,
            dynamicMembershipChange=False, appendEntriesUseBatch=False, useFork=False,
            bindAddress=bind, tcp_keepalive=(5, 1, 3))

    def addr(self, node, shard, epoch):
        spec = self.node.control.peek()['nodes'].get(node)   # nodes added later too
        address = spec['address'] if spec else self.cluster.address(node)
        return '%s:%d' % (address, self.cluster.raft_port(shard, epoch))

    def reconcile(self):
        """Create/replace SyncObjs so they match the control record (idempotent)."""
        control = self.node.control.snapshot()
        site = self.node.site
        for shard in range(self.cluster.shards):
            spec = control['shards'][site][str(shard)]
            epoch, members = spec['epoch'], tuple(spec['members'])
            with self.lock:
                current = self.groups.get(shard)
                if current and current[0] == epoch and current[1] == members:
                    continue
                if current:
                    self._destroy(shard)
                if self.node.name not in members:
                    continue
                sm = ShardSM(self.addr(self.node.name, shard, epoch),
                             [self.addr(m, shard, epoch) for m in members
                              if m != self.node.name],
                             self.conf(shard, epoch), shard, site, self.node.meta_apply,
                             self.may_campaign)
                self.groups[shard] = (epoch, members, sm)
            seed = spec.get('seed')
            if seed and seed.get('node') == self.node.name and current:
                threading.Thread(target=self._seed, args=(shard, epoch, sm, current[2], seed),
                                 daemon=True).start()

    def may_campaign(self, sm):
        """A majority of the group (self included) heard over SWIM within ~3 intervals, none
        of them gossiping that it leads this shard at this epoch, and this node not draining."""
        if self.node.control.peek()['nodes'].get(self.node.name, {}).get('state') == 'draining':
            return False          # a draining node does not take leaderships back
        swim = self.node.swim
        window = 3.0 * swim.interval
        epoch = self.epoch(sm.shard)
        heard = 1
        for other in sm.otherNodes:
            member = self.node.node_of_addr(other)
            if not swim.heard_within(member, window):
                continue
            heard += 1
            view = swim.views.get(member, {}).get(str(sm.shard))
            if view and view[5] == 2 and view[4] == epoch:
                return False      # a live leader exists: wait for its heartbeats
        return heard * 2 > len(sm.otherNodes) + 1

    def _destroy(self, shard):
        _epoch, _members, sm = self.groups.pop(shard)
        try:
            sm.destroy()
        except Exception:  # pylint: disable=broad-except
            pass
        return sm

    def _seed(self, shard, epoch, sm, old_sm, seed):
        """Carry the old group's state into the new epoch (run on the seed member).

        The install goes through the new group's log (pysyncobj forwards it to whichever
        member leads), so every member, present or joining later, replays the same state.
        """
        state = old_sm.snapshot_state()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not self.stopping:
            if sm.st.get('seeded_from'):
                return
            if sm._getLeader() is not None:  # pylint: disable=protected-access
                try:
                    sm.install(state, seed.get('reason', 'epoch %d' % epoch), sync=True,
                               timeout=5)
                    LOG.info('shard %d epoch %d seeded from %s', shard, epoch, seed)
                    return
                except SyncObjException as exc:
                    LOG.warning('seeding shard %d failed: %s', shard, exc)
            time.sleep(0.1)
        LOG.error('shard %d epoch %d was never seeded', shard, epoch)

    def seeded(self, shard, sm):
        """False while a rebuilt group waits for its seed state (writes must wait too)."""
        spec = self.node.control.snapshot()['shards'][self.node.site].get(str(shard), {})
        return not spec.get('seed') or bool(sm.st.get('seeded_from'))

    def get(self, shard):
        with self.lock:
            entry = self.groups.get(shard)
        if entry is None:
            raise ApiError('not_found', 'this node holds no replica of shard %d' % shard,
                           shard=shard)
        return entry[2]

    def all(self):
        with self.lock:
            return dict((k, v[2]) for k, v in self.groups.items())

    def epoch(self, shard):
        with self.lock:
            entry = self.groups.get(shard)
        return entry[0] if entry else None

    def precheck(self, shard, method='put'):
        """Refuse early (before any side effect) what the group cannot commit now."""
        sm = self.get(shard)
        if method != 'install' and not self.seeded(shard, sm):
            raise ApiError('not_leader', 'shard %d is being rebuilt at a new epoch; retry' % shard,
                           shard=shard, leader=None)
        if not self.node.control_fresh.is_set():
            raise ApiError('not_leader', 'node %s has not yet compared its membership record '
                           'with its peers; retry' % self.node.name, shard=shard, leader=None)
        if not sm.hasQuorum:
            raise ApiError('no_quorum', 'shard %d of %s has no quorum (%s)' % (
                shard, self.node.site, self._reachable(sm)), shard=shard, site=self.node.site)
        return sm

    def submit(self, shard, method, *args, timeout=None):
        """Run a replicated command; map failures to no_quorum / not_leader / timeout."""
        sm = self.precheck(shard, method)
        timeout = timeout or self.cluster.timeouts['commit_timeout_s']
        try:
            return getattr(sm, method)(*args, sync=True, timeout=timeout)
        except SyncObjException as exc:
            code = exc.errorCode
            if code == 'Timeout':
                raise ApiError('timeout', 'shard %d: no commit within %.1f s; the outcome is '
                               'unknown' % (shard, timeout), shard=shard)
            if not sm.hasQuorum:
                raise ApiError('no_quorum', 'shard %d lost quorum' % shard, shard=shard)
            leader = sm._getLeader()  # pylint: disable=protected-access
            raise ApiError('not_leader', 'shard %d: %s (election in progress)' % (
                shard, FAIL.get(code, code)), shard=shard,
                leader=self.node.node_of_addr(leader))

    def _reachable(self, sm):
        return '%d of %d members connected' % (
            1 + sum(1 for n in sm.otherNodes if sm.isNodeConnected(n)), 1 + len(sm.otherNodes))

    def status(self, shard):
        """Raft view of one shard from this node (contract: RaftShardStatus)."""
        with self.lock:
            entry = self.groups.get(shard)
        if entry is None:
            return None
        epoch, members, sm = entry
        st = sm.getStatus()
        leader = self.node.node_of_addr(st['leader'])
        out = {'shard': shard, 'site': self.node.site, 'epoch': epoch, 'leader': leader,
               'term': st['raft_term'], 'commit_index': st['commit_idx'],
               'last_applied': st['last_applied'], 'log_length': st['log_len'],
               'leader_commit_index': st['leader_commit_idx'] or st['commit_idx'],
               'has_quorum': bool(st['has_quorum']), 'last_seq': sm.st['seq'],
               'seeded': self.seeded(shard, sm),
               'reporter': self.node.name, 'members': []}
        for member in members:
            if member == self.node.name:
                role = ROLES.get(st['state'], 'Follower')
                if role == 'Follower' and sm.is_precandidate():
                    role = 'PreCandidate'
                match, reachable = st['log_len'], True
            else:
                node_id = self.addr(member, shard, epoch)
                role = 'Leader' if member == leader else 'Follower'
                match = st.get('match_idx_server_' + node_id)
                reachable = st.get('partner_node_status_server_' + node_id, 0) == 2
            out['members'].append({'node': member, 'role': role, 'match_index': match,
                                   'reachable': bool(reachable)})
        return out

    def stop(self):
        self.stopping = True
        self.wanted.set()
        with self.lock:
            for shard in list(self.groups):
                self._destroy(shard)
