"""The replicated state of one metadata shard of one site (a pysyncobj SyncObj).

Commands are ``@replicated``: called on any member, pysyncobj forwards them to the leader and
applies them on every member in log order.  Everything an apply needs (timestamps, the writer's
view of the active site) travels in the command, so every replica computes the same state.
``on_apply(shard, seq, op, record)`` lets the node journal each applied operation on its disk.
"""

import copy
import hashlib
import threading
import time

from pysyncobj import SyncObj, replicated

from cfsemu import lww


def inode_of(path):
    return int(hashlib.sha256(path.encode()).hexdigest()[:12], 16)


def shard_of(path, shards):
    return inode_of(path) % shards


def empty_state():
    return {'files': {}, 'seq': 0, 'ops': [], 'op_ids': {}, 'remote_applied': {},
            'remote_acked': {}, 'conflicts': [], 'seeded_from': None, 'last_ts': 0.0}


class ShardSM(SyncObj):
    """Files of one shard: path -> version; an ops journal for shipping and replay."""

    def __init__(self, self_addr, others, conf, shard, site, on_apply=None, may_campaign=None):
        # attributes set before SyncObj.__init__ are excluded from pysyncobj dumps (the state
        # is rebuilt by replaying the on-disk raft journal instead; compaction is disabled)
        self.shard = shard
        self.site = site
        self.on_apply = on_apply
        self.may_campaign = may_campaign
        self.precandidate_at = 0.0
        self.lock = threading.RLock()
        self.st = empty_state()
        super().__init__(self_addr, others, conf)

    def _SyncObj__connectedToAnyone(self):  # pylint: disable=invalid-name
        """Stand for election only while SWIM hears a majority of the group and no member
        heard within the window gossips that it leads (a PreVote substitute): an isolated or
        restarted member does not inflate its term and disrupt a working group.  Overrides
        pysyncobj's private check of the same (mangled) name."""
        connected = SyncObj._SyncObj__connectedToAnyone(self)  # pylint: disable=no-member
        if not connected or self.may_campaign is None:
            return connected
        if getattr(self, '_SyncObj__transferInProgress', False):
            return True       # the leader itself asked for this election (TimeoutNow)
        if getattr(self, '_SyncObj__raftState', 0) == 1:
            # already a Candidate at a higher term: the group's leader can no longer reach it
            # (stale term), so only finishing an election brings it back
            return True
        allowed = self.may_campaign(self)
        # our election timer ran out but the check said no: a PreCandidate in Raft's terms
        self.precandidate_at = 0.0 if allowed else time.monotonic()
        return allowed

    def is_precandidate(self):
        return time.monotonic() - self.precandidate_at < 1.0

    # ---- helpers (not replicated) -------------------------------------------------------
    def _log(self, op, record):
        st = self.st
        st['seq'] += 1
        entry = {'seq': st['seq'], 'op': op, 'record': record, 'shard': self.shard,
                 'site': self.site}
        st['ops'].append(entry)
        st['last_ts'] = max(st['last_ts'], float(record.get('timestamp', 0)))
        if self.on_apply:
            try:
                self.on_apply(self.shard, st['seq'], op, record)
            except Exception:  # pylint: disable=broad-except
                pass  # a disk error must not stop raft; consistency-check finds it
        return entry

    def snapshot_state(self):
        with self.lock:
            return copy.deepcopy(self.st)

    def files(self):
        with self.lock:
            return [dict(v) for v in self.st['files'].values()]

    def get(self, path):
        with self.lock:
            version = self.st['files'].get(path)
            return dict(version) if version else None

    # ---- replicated commands ------------------------------------------------------------
    @replicated
    def put(self, rec):
        with self.lock:
            st = self.st
            op_id = rec.get('op_id')
            if op_id and op_id in st['op_ids']:
                return dict(st['op_ids'][op_id], duplicate=True)
            prev = st['files'].get(rec['path'])
            version = dict(rec, inode=inode_of(rec['path']), shard=self.shard,
                           site=rec.get('site', self.site), seq=st['seq'] + 1,
                           base=[prev['site'], prev['origin_seq']] if prev else None)
            version['origin_seq'] = version['seq']
            st['files'][rec['path']] = version
            self._log('put', version)
            if op_id:
                st['op_ids'][op_id] = version
            return dict(version)

    @replicated
    def read(self, path):
        """A linearizable read: it goes through the log like a write, changing nothing."""
        return self.get(path)

    @replicated
    def delete(self, rec):
        with self.lock:
            st = self.st
            prev = st['files'].pop(rec['path'], None)
            if prev is None:
                return None
            tomb = dict(prev, deleted=True, timestamp=rec['timestamp'], site=rec['site'],
                        base=[prev['site'], prev['origin_seq']], origin_seq=st['seq'] + 1,
                        seq=st['seq'] + 1)
            self._log('delete', tomb)
            return tomb

    @replicated
    def install(self, state, reason):
        """Seed a rebuilt group (force-leader, membership epoch, restore) with a full state."""
        with self.lock:
            self.st = copy.deepcopy(state)
            self.st['seeded_from'] = reason
            for version in self.st['files'].values():
                if self.on_apply:
                    try:
                        self.on_apply(self.shard, version['seq'], 'install', version)
                    except Exception:  # pylint: disable=broad-except
                        pass
            return self.st['seq']

    @replicated
    def apply_remote(self, origin, ops, active_site, active_since):
        """Apply ops shipped from site ``origin``; record LWW conflicts (returns last seq seen)."""
        with self.lock:
            st = self.st
            done = st['remote_applied'].get(origin, 0)
            before = len(st['conflicts'])
            for entry in ops:
                if entry['seq'] <= done:
                    continue
                done = entry['seq']
                remote = entry['record']
                self._apply_one_remote(origin, entry['op'], remote, active_site, active_since)
            st['remote_applied'][origin] = done
            return {'done': done, 'conflicts': [c['type'] for c in st['conflicts'][before:]]}

    def _apply_one_remote(self, origin, op, remote, active_site, active_since):
        st = self.st
        path = remote['path']
        local = st['files'].get(path)
        local_tomb = None
        if local is None:
            # a local delete of a version the remote also changed is a conflict too
            for entry in reversed(st['ops']):
                if entry['record']['path'] == path and entry['record']['site'] == self.site:
                    local_tomb = entry['record'] if entry['op'] == 'delete' else None
                    break
        current = local or local_tomb
        base = remote.get('base')
        if current is None or current['site'] == origin or \
                (base and [current['site'], current['origin_seq']] == list(base)):
            self._adopt(op, remote)
            return
        kind, side = lww.classify(current, remote, active_site, active_since)
        conflict = {'id': '%d-%s-%d' % (remote['inode'], origin, remote['origin_seq']),
                    'inode': remote['inode'], 'path': path, 'shard': self.shard,
                    'type': kind, 'detected_at': remote['timestamp'],
                    'sites': {current['site']: _side(current), origin: _side(remote)},
                    'winner': None, 'resolved': kind == lww.LWW_RESOLVED, 'resolution': None,
                    'reported_by_site': self.site}
        if side == 'remote':
            conflict['winner'] = origin
            self._adopt(op, remote)
        elif side == 'local':
            conflict['winner'] = current['site']
        conflict['resolution'] = 'last-write-wins' if side else None
        conflict['candidates'] = {current['site']: current, origin: remote}
        st['conflicts'].append(conflict)

    def _adopt(self, op, remote):
        version = dict(remote)
        if op == 'delete' or version.get('deleted'):
            self.st['files'].pop(version['path'], None)
        else:
            self.st['files'][version['path']] = version
        self._log('remote-' + op, version)

    @replicated
    def replay(self, entries):
        """Re-apply archived journal entries newer than the state (restore + replay)."""
        with self.lock:
            st = self.st
            applied = 0
            for entry in entries:
                if entry['seq'] <= st['seq']:
                    continue
                record = dict(entry['record'])
                if entry['op'].endswith('delete') or record.get('deleted'):
                    st['files'].pop(record['path'], None)
                else:
                    st['files'][record['path']] = record
                st['seq'] = entry['seq'] - 1
                self._log(entry['op'], record)
                applied += 1
            return {'applied': applied, 'seq': st['seq']}

    @replicated
    def set_acked(self, target, seq):
        with self.lock:
            self.st['remote_acked'][target] = max(seq, self.st['remote_acked'].get(target, 0))

    @replicated
    def resolve(self, inode, winner, strategy):
        """Honour a choice for the open conflicts of an inode: ``winner`` names a site whose
        version becomes current, or None to accept the LWW winners already applied."""
        with self.lock:
            done = []
            for conflict in self.st['conflicts']:
                if conflict['inode'] != inode or conflict['resolved']:
                    continue
                if winner is None:
                    if conflict['winner'] is None:
                        continue      # a full tie: LWW cannot decide
                    conflict.update(resolved=True, resolution=strategy)
                    done.append(dict(conflict))
                    continue
                chosen = conflict['candidates'].get(winner)
                if chosen is None:
                    continue
                conflict.update(winner=winner, resolved=True, resolution=strategy)
                version = dict(chosen, resolved_conflict=conflict['id'])
                if chosen.get('deleted'):
                    self.st['files'].pop(chosen['path'], None)
                else:
                    self.st['files'][chosen['path']] = version
                self._log('resolve', version)
                done.append(dict(conflict))
            return done


def _side(version):
    return {'seq': version['origin_seq'], 'timestamp': version['timestamp'],
            'sha256': version.get('sha256'), 'size': version.get('size'),
            'deleted': bool(version.get('deleted'))}
