# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure planners over the contract's raft-status responses.  No I/O here.

A shard status (``GET /v1/raft/shards``) looks like::

    {"shard": 3, "site": "site-a", "epoch": 0, "leader": "a1", "term": 7,
     "commit_index": 120, "has_quorum": true,
     "members": [{"node": "a1", "role": "Leader", "match_index": 120, "reachable": true}, ...]}

From such a list these functions say which shards are healthy, which are between leaders
(quorum but no leader: an election should finish by itself), which have lost quorum, which
survivor a force-leader would pick and why, and how many committed entries each survivor
would lose (the last commit index known for the shard minus the survivor's match index).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

HEALTHY = 'healthy'
ELECTING = 'electing'      # a majority is reachable but there is no leader (yet)
NO_QUORUM = 'no_quorum'    # no majority reachable: only a force-leader helps
MOST_UP_TO_DATE = 'most-up-to-date'


class PlanningError(ValueError):
    """The request does not fit the cluster (an unknown shard or node): nothing was changed."""


def _shards_of(response):
    """The list of shard dicts in a raftStatus response (a list, or ``{"shards": [...]}``)."""
    if isinstance(response, dict):
        response = response.get('shards', [])
    return list(response or [])


def last_known_index(shard):
    """The highest index the shard is known to have committed (its leader's, when it had one)."""
    indexes = [shard.get('commit_index') or 0]
    indexes += [m.get('match_index') or 0 for m in shard.get('members', [])]
    return max(indexes)


def shard_view(shard):
    """One shard as the modules return it: members with roles and lag, and its condition."""
    top = last_known_index(shard)
    members = []
    for m in shard.get('members', []):
        match = m.get('match_index') or 0
        members.append({'node': m.get('node'), 'role': m.get('role'),
                        'match_index': match, 'lag': max(0, top - match),
                        'reachable': bool(m.get('reachable', True))})
    reachable = sum(1 for m in members if m['reachable'])
    quorum = bool(shard.get('has_quorum', reachable > len(members) // 2))
    leader = shard.get('leader')
    if leader and any(m['node'] == leader and not m['reachable'] for m in members):
        leader = None  # the last leader known, but it cannot be reached: no usable leader
    if not quorum:
        condition = NO_QUORUM
    elif leader:
        condition = HEALTHY
    else:
        condition = ELECTING
    return {'shard': shard.get('shard'), 'site': shard.get('site'),
            'epoch': shard.get('epoch', 0), 'leader': leader or None,
            'last_known_leader': shard.get('leader') or None,
            'term': shard.get('term'), 'commit_index': shard.get('commit_index'),
            'has_quorum': quorum, 'condition': condition,
            'reachable_members': reachable, 'members': members}


def views(response, site=None):
    """``shard_view`` of every shard in a raftStatus response, optionally of one site."""
    out = [shard_view(s) for s in _shards_of(response)]
    if site:
        out = [v for v in out if v['site'] == site]
    return sorted(out, key=lambda v: (str(v['site']), v['shard']))


def select(all_views, shards='all'):
    """The views selected by ``shards`` (``'all'`` or a list of shard numbers)."""
    if shards in (None, 'all', ['all']):
        return list(all_views)
    wanted = [int(s) for s in shards]
    known = set(v['shard'] for v in all_views)
    unknown = sorted(set(wanted) - known)
    if unknown:
        raise PlanningError('unknown shard(s) %s; the cluster has shards %s' % (
            ', '.join(str(s) for s in unknown), ', '.join(str(s) for s in sorted(known))))
    return [v for v in all_views if v['shard'] in wanted]


def label(view):
    """``site-a/3``: shard numbers repeat across sites (each site has its own groups)."""
    return '%s/%s' % (view['site'], view['shard'])


def by_condition(selected):
    """``{healthy: [label...], electing: [...], no_quorum: [...]}`` of the selected views."""
    out = {HEALTHY: [], ELECTING: [], NO_QUORUM: []}
    for v in selected:
        out[v['condition']].append(label(v))
    return out


def survivors(view):
    """Reachable members with the entries each would lose as the new single leader."""
    top = max([view['commit_index'] or 0] + [m['match_index'] for m in view['members']])
    return [{'node': m['node'], 'match_index': m['match_index'],
             'predicted_loss_entries': max(0, top - m['match_index'])}
            for m in view['members'] if m['reachable']]


def choose_survivor(view, leader=MOST_UP_TO_DATE):
    """``(node, reason, predicted_loss_entries)`` for a force-leader of one shard.

    ``most-up-to-date`` takes the reachable member with the highest match index (ties go to
    the lowest node name, so that the choice is repeatable).  A named node must be a
    reachable member of the shard.
    """
    alive = survivors(view)
    if not alive:
        raise PlanningError('shard %s has no reachable member to rebuild from; restore its '
                            'metadata from a snapshot instead (cfs_metadata)' % view['shard'])
    if leader in (None, MOST_UP_TO_DATE):
        best = sorted(alive, key=lambda s: (-s['match_index'], s['node']))[0]
        others = [s for s in alive if s is not best]
        reason = 'highest match index %d among the reachable members' % best['match_index']
        if others:
            reason += ' (%s)' % ', '.join('%s: %d' % (s['node'], s['match_index']) for s in others)
        else:
            reason = 'only reachable member (match index %d)' % best['match_index']
        return best['node'], reason, best['predicted_loss_entries']
    for s in alive:
        if s['node'] == leader:
            best = sorted(alive, key=lambda x: -x['match_index'])[0]
            reason = 'chosen by the operator'
            if best['match_index'] > s['match_index']:
                reason += ' (%s is further ahead: match index %d against %d)' % (
                    best['node'], best['match_index'], s['match_index'])
            return leader, reason, s['predicted_loss_entries']
    members = [m['node'] for m in view['members']]
    if leader in members:
        raise PlanningError('%s is a member of shard %s but not reachable; choose one of %s or '
                            'most-up-to-date' % (leader, view['shard'],
                                                 ', '.join(s['node'] for s in alive)))
    raise PlanningError('%s is not a member of shard %s (members: %s)' % (
        leader, view['shard'], ', '.join(members)))


def force_leader_plan(selected, leader=MOST_UP_TO_DATE):
    """The local force-leader plan: one entry per selected shard that lost its quorum.

    Shards that still have a quorum are left alone (a force-leader there would throw away a
    working majority).  Each entry names the survivor, why, what it would lose, and the
    members that will be fenced (every unreachable member: it must never rejoin with its
    old log).
    """
    entries = []
    for v in selected:
        if v['condition'] != NO_QUORUM:
            continue
        node, reason, loss = choose_survivor(v, leader)
        entries.append({'shard': v['shard'], 'site': v['site'], 'epoch': v['epoch'],
                        'has_quorum': False, 'survivors': survivors(v), 'chosen': node,
                        'reason': reason, 'predicted_loss_entries': loss,
                        'fenced_members': [m['node'] for m in v['members']
                                           if not m['reachable']]})
    return entries


def normalize_server_plan(plan):
    """The contract's raftForceLeaderPlan response in the shape of :func:`force_leader_plan`."""
    entries = []
    for s in plan.get('shards', []):
        chosen = s.get('chosen')
        loss = None
        for cand in s.get('survivors', []):
            if cand.get('node') == chosen:
                loss = cand.get('predicted_loss_entries')
        entries.append({'shard': s.get('shard'), 'site': s.get('site') or plan.get('site'),
                        'epoch': s.get('epoch'), 'has_quorum': bool(s.get('has_quorum')),
                        'survivors': s.get('survivors', []), 'chosen': chosen,
                        'reason': s.get('reason'), 'predicted_loss_entries': loss,
                        'fenced_members': s.get('fenced_members', [])})
    return entries


def plan_disagreements(local, server):
    """Where the server's plan differs from the local reading of the same status (a list of
    strings).  A difference usually means the cluster moved between the two reads."""
    notes = []
    mine = dict((label(e), e) for e in local)
    theirs = dict((label(e), e) for e in server if not e.get('has_quorum'))
    for shard in sorted(set(mine) | set(theirs)):
        a, b = mine.get(shard), theirs.get(shard)
        if a is None or b is None:
            notes.append('shard %s: %s' % (shard, 'only the server plans it' if a is None
                                           else 'only the local reading plans it'))
        elif a['chosen'] != b['chosen']:
            notes.append('shard %s: server chose %s, local reading %s' % (
                shard, b['chosen'], a['chosen']))
    return notes


def loss_summary(entries):
    """One line per shard: what a force-leader would lose, for refusals and reports."""
    return '; '.join('shard %s: up to %s committed entries (survivor %s, fencing %s)' % (
        label(e), e['predicted_loss_entries'], e['chosen'],
        ', '.join(e['fenced_members']) or 'nobody') for e in entries)


def transfer_plan(selected, from_node, to_node=None):
    """Leader transfers that move leadership off ``from_node``: ``[(view, target, reason)]``.

    The target is ``to_node`` when given (it must be a reachable member with no lag), else
    the reachable follower with the smallest lag.
    """
    moves = []
    for v in selected:
        if v['leader'] != from_node:
            continue
        followers = [m for m in v['members'] if m['node'] != from_node and m['reachable']]
        if to_node:
            match = [m for m in followers if m['node'] == to_node]
            if not match:
                raise PlanningError('%s is not a reachable member of shard %s; cannot take its '
                                    'leadership' % (to_node, v['shard']))
            moves.append((v, to_node, 'requested'))
            continue
        if not followers:
            raise PlanningError('shard %s has no reachable follower to take over from %s' % (
                v['shard'], from_node))
        best = sorted(followers, key=lambda m: (m['lag'], m['node']))[0]
        moves.append((v, best['node'], 'reachable follower with the smallest lag (%d)'
                      % best['lag']))
    return moves


def summary(selected):
    """Counts for a result or a report line."""
    groups = by_condition(selected)
    return {'shards': len(selected), 'healthy': len(groups[HEALTHY]),
            'electing': len(groups[ELECTING]), 'no_quorum': len(groups[NO_QUORUM]),
            'max_lag': max([m['lag'] for v in selected for m in v['members']] or [0])}
