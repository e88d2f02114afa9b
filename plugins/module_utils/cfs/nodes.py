# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure planners over the node list and the shard membership.  No I/O here.

A node (``GET /v1/nodes``) is ``{"name", "site", "address", "swim": Alive|Suspect|Dead,
"age_seconds", "state": active|draining|removed, "shards", "leader_of"}``; its replicas are
the shards that list it as a member in raft-status (:mod:`raft` views).  A removed node is
absent: :func:`node_views` leaves it out.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

ALIVE = 'Alive'


def node_view(node):
    """One node in the modules' result shape, whatever spelling the server used."""
    return {'name': node.get('name') or node.get('node'), 'site': node.get('site'),
            'address': node.get('address'),
            'swim_state': node.get('swim_state') or node.get('swim') or node.get('health'),
            'swim_age_seconds': node.get('swim_age_seconds', node.get('age_seconds')),
            'state': node.get('state') or node.get('status') or 'active',
            'leader_of': node.get('leader_of')}


def node_views(response):
    """Every node that is not removed, sorted by name."""
    if isinstance(response, dict):
        response = response.get('nodes', [])
    out = (node_view(n) for n in response or [])
    return sorted((n for n in out if n['state'] != 'removed'), key=lambda n: str(n['name']))


def leads(shard_views, name):
    """The shards (``site/shard``) that ``name`` leads."""
    return ['%s/%s' % (v['site'], v['shard']) for v in shard_views if v['leader'] == name]


def find(nodes, name):
    for n in nodes:
        if n['name'] == name:
            return n
    return None


def replicas(shard_views, name):
    """The shards ``name`` is a member of, with its role and lag in each."""
    out = []
    for v in shard_views:
        for m in v['members']:
            if m['node'] == name:
                out.append({'shard': v['shard'], 'site': v['site'], 'role': m['role'],
                            'lag': m['lag'], 'reachable': m['reachable']})
    return out


def last_replicas(shard_views, name):
    """Shards where ``name`` holds the only up-to-date copy among the reachable members.

    Only a shard without quorum can have one: with a quorum, every committed entry is on a
    majority, so one member can go.  Without quorum, removing the node drops entries that
    exist nowhere else when no other member is reachable or every other reachable member
    lags behind it.
    """
    out = []
    for v in shard_views:
        mine = [m for m in v['members'] if m['node'] == name]
        if not mine or v['has_quorum']:
            continue
        others = [m for m in v['members'] if m['node'] != name and m['reachable']]
        if not others or all(m['match_index'] < mine[0]['match_index'] for m in others):
            ahead = mine[0]['match_index'] - max([m['match_index'] for m in others] or [0])
            out.append({'shard': v['shard'], 'site': v['site'],
                        'entries_only_here': max(0, ahead),
                        'other_reachable_members': [m['node'] for m in others]})
    return out


def caught_up(shard_views, name, max_lag=0):
    """True when ``name`` is a reachable member with lag <= ``max_lag`` wherever it is one."""
    mine = replicas(shard_views, name)
    return all(r['reachable'] and r['lag'] <= max_lag for r in mine)


def under_replicated(shard_views, factor=3, max_lag=None):
    """Shards with fewer than ``factor`` reachable members (with lag <= ``max_lag`` when
    given): ``[{shard, site, have, members}]``."""
    out = []
    for v in shard_views:
        good = [m for m in v['members'] if m['reachable']
                and (max_lag is None or m['lag'] <= max_lag)]
        if len(good) < factor:
            out.append({'shard': v['shard'], 'site': v['site'], 'have': len(good),
                        'members': [m['node'] for m in v['members']]})
    return out


def replacement_done(shard_views, old, new):
    """A replacement is done when ``new`` sits where ``old`` was and ``old`` is nowhere."""
    return not replicas(shard_views, old) and bool(replicas(shard_views, new)) and caught_up(
        shard_views, new)
