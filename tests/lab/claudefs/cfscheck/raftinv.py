"""Raft invariants checked over sampled raft-status answers.

A *sample* is one node's view of one shard at one instant (normalised by ``sample()``)::

    {'time': <seconds, one clock>, 'observer': 'a1', 'incarnation': <pid or boot id>,
     'site': 'site-a', 'shard': 3, 'epoch': 0, 'term': 7, 'leader': 'a2' or None,
     'role': 'Follower', 'commit_index': 41}

Invariants (Raft's Election Safety and the monotonicity of commitIndex; fencing after a heal):

- ``leader_uniqueness``: at most one leader per (site, shard, epoch, term).  A node that is
  leader reports itself; a follower reports the leader it heard from in that term.  Both are
  claims about the same term, and Raft allows one leader per term.
- ``commit_monotonic``: within one process lifetime (``incarnation``) and one epoch, a node's
  commit index never decreases.  Across restarts commitIndex is volatile in Raft (a node
  relearns it), and a new epoch (force-leader) starts a new log, so neither is compared.
- ``fenced_after_heal``: once a partition heals (plus a grace period for the stale side to
  hear the current term), no node reports itself leader at a term below the highest term
  seen for its shard, and every node that names a leader names the same one.
"""

import collections


def sample(observer, shard_status, time, incarnation=None):
    """Normalise one shard's raft-status answer (the contract's RaftShardStatus) as seen by
    ``observer`` into a sample.  The observer's own role comes from its member entry."""
    role = None
    for member in shard_status.get('members') or ():
        if member.get('node') == observer:
            role = member.get('role')
    return {
        'time': time, 'observer': observer, 'incarnation': incarnation,
        'site': shard_status.get('site'), 'shard': shard_status.get('shard'),
        'epoch': shard_status.get('epoch', 0), 'term': shard_status.get('term'),
        'leader': shard_status.get('leader'), 'role': role,
        'commit_index': shard_status.get('commit_index'),
    }


def leader_uniqueness(samples):
    leaders = collections.defaultdict(set)
    witnesses = collections.defaultdict(list)
    for s in samples:
        if s.get('leader') and s.get('term') is not None:
            key = (s['site'], s['shard'], s['epoch'], s['term'])
            leaders[key].add(s['leader'])
            witnesses[key].append((s['observer'], s['leader'], s['time']))
    return [{'invariant': 'leader_uniqueness', 'site': key[0], 'shard': key[1],
             'epoch': key[2], 'term': key[3], 'leaders': sorted(names),
             'witnesses': witnesses[key]}
            for key, names in sorted(leaders.items(), key=lambda kv: repr(kv[0]))
            if len(names) > 1]


def commit_monotonic(samples):
    last = {}
    violations = []
    for s in sorted(samples, key=lambda s: s['time']):
        if s.get('commit_index') is None:
            continue
        key = (s['observer'], s.get('incarnation'), s['site'], s['shard'], s['epoch'])
        previous = last.get(key)
        if previous is not None and s['commit_index'] < previous['commit_index']:
            violations.append({'invariant': 'commit_monotonic', 'observer': s['observer'],
                               'site': s['site'], 'shard': s['shard'], 'epoch': s['epoch'],
                               'from': previous['commit_index'], 'to': s['commit_index'],
                               'at': s['time']})
        last[key] = s
    return violations


def fenced_after_heal(samples, heal_time, grace=0.0):
    """Violations among the samples taken ``grace`` seconds or more after ``heal_time``."""
    after = [s for s in samples if s['time'] >= heal_time + grace]
    max_term = {}
    for s in samples:
        if s.get('term') is not None:
            key = (s['site'], s['shard'], s['epoch'])
            max_term[key] = max(max_term.get(key, s['term']), s['term'])
    latest = {}
    for s in sorted(after, key=lambda s: s['time']):
        latest[(s['site'], s['shard'], s['epoch'], s['observer'])] = s
    violations = []
    named = collections.defaultdict(set)
    for (site, shard, epoch, observer), s in sorted(latest.items(), key=lambda kv: repr(kv[0])):
        top = max_term.get((site, shard, epoch))
        if s.get('role') == 'Leader' and s.get('term') is not None and s['term'] < top:
            violations.append({'invariant': 'fenced_after_heal', 'observer': observer,
                               'site': site, 'shard': shard, 'epoch': epoch,
                               'term': s['term'], 'max_term': top,
                               'detail': 'still claims leadership at a stale term'})
        if s.get('leader'):
            named[(site, shard, epoch)].add(s['leader'])
    for (site, shard, epoch), names in sorted(named.items(), key=lambda kv: repr(kv[0])):
        if len(names) > 1:
            violations.append({'invariant': 'fenced_after_heal', 'site': site, 'shard': shard,
                               'epoch': epoch, 'leaders': sorted(names),
                               'detail': 'nodes disagree on the leader after the heal'})
    return violations


def check(samples, heals=(), grace=0.0):
    """Every invariant; ``heals`` are the times partitions healed."""
    violations = leader_uniqueness(samples) + commit_monotonic(samples)
    for heal_time in heals:
        violations += fenced_after_heal(samples, heal_time, grace)
    claims = sum(1 for s in samples if s.get('leader') and s.get('term') is not None)
    return {'valid': not violations, 'violations': violations, 'samples': len(samples),
            'leader_claims': claims}
