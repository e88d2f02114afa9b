# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The read-only cluster view of cfs_info: one call per section, each section on its own.

A section whose call fails is reported under ``errors`` instead of failing the whole read:
a preflight during an outage needs whatever the cluster can still say.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.resilience.dr.plugins.module_utils.cfs import nodes, raft
from ansible_collections.resilience.dr.plugins.module_utils.cfs.snapshot_choice import candidates
from ansible_collections.resilience.dr.plugins.module_utils.cfs.client import CfsApiError

SECTIONS = {
    'status': 'status',
    'shards': 'raftStatus',
    'nodes': 'nodeList',
    'replication': 'replicationStatus',
    's3': 's3Health',
    's3_queue': 's3QueueStatus',
    'conflicts': 'conflictsList',
    # only when asked for (a listing of every file can be long)
    'files': 'fileList',
    'snapshots': 'metadataSnapshotList',
}
DEFAULT_SECTIONS = ['status', 'shards', 'nodes', 'replication', 's3', 's3_queue', 'conflicts']


def gather(client, sections=None, site=None):
    """``{section: raw response}`` and ``{section: error}`` for the requested sections."""
    raw, errors = {}, {}
    for name in sections or DEFAULT_SECTIONS:
        query = {'site': site} if site and name == 'files' else None
        try:
            raw[name] = client.call(SECTIONS[name], query=query)
        except CfsApiError as exc:
            errors[name] = {'code': exc.code, 'message': exc.api_message,
                            'status': exc.status, 'details': exc.details}
    return raw, errors


def _conflict_list(response):
    if isinstance(response, dict):
        return response.get('conflicts', [])
    return response or []


def _sites(sites):
    """The contract's list of sites (``[{name, state, active, ...}]``); a mapping also works."""
    if isinstance(sites, dict):
        return [dict(v if isinstance(v, dict) else {'state': v}, name=k)
                for k, v in sorted(sites.items())]
    return list(sites or [])


def build(raw, errors, site=None):
    """The result of cfs_info from the raw responses (pure)."""
    status = raw.get('status') or {}
    shard_views = raft.views(raw['shards'], site) if 'shards' in raw else []
    node_list = nodes.node_views(raw['nodes']) if 'nodes' in raw else nodes.node_views(
        status.get('nodes', []))
    sites = _sites(status.get('sites'))
    if site:
        node_list = [n for n in node_list if n['site'] == site]
        sites = [s for s in sites if s.get('name') == site]
    for n in node_list:
        n['replicas'] = nodes.replicas(shard_views, n['name'])
    conflicts = _conflict_list(raw.get('conflicts'))
    result = {
        'cluster': {'name': status.get('cluster_name') or status.get('name'),
                    'epoch': status.get('epoch'), 'active_site': status.get('active_site')},
        'sites': sites,
        'nodes': node_list,
        'shards': shard_views,
        'shard_summary': raft.summary(shard_views),
        'replication': raw.get('replication'),
        's3': {'health': raw.get('s3'), 'queue': raw.get('s3_queue')},
        'conflicts': conflicts,
        'errors': errors,
    }
    if 'files' in raw:
        result['files'], result['files_unavailable_shards'] = file_listing(raw['files'])
    if 'snapshots' in raw:
        result['snapshots'] = candidates(raw['snapshots'])
    result['problems'] = problems(result)
    result['healthy'] = not result['problems']
    return result


def file_listing(response):
    """(files, unavailable shards) of a fileList answer (a mapping or a bare list)."""
    if isinstance(response, dict):
        return list(response.get('files') or []), list(response.get('unavailable_shards') or [])
    return list(response or []), []


def problems(view):
    """Plain sentences for everything that is not healthy, for preflights and reports."""
    out = []
    for section, err in sorted(view['errors'].items()):
        out.append('%s could not be read: %s (%s)' % (section, err['message'], err['code']))
    for n in view['nodes']:
        if n['swim_state'] and n['swim_state'] != nodes.ALIVE:
            out.append('node %s is %s' % (n['name'], n['swim_state']))
    for v in view['shards']:
        if v['condition'] == raft.NO_QUORUM:
            out.append('shard %s/%s lost quorum (%d of %d members reachable)' % (
                v['site'], v['shard'], v['reachable_members'], len(v['members'])))
        elif v['condition'] == raft.ELECTING:
            out.append('shard %s/%s has no leader (election running)' % (v['site'], v['shard']))
    for site in view['sites']:
        if site.get('state') and site['state'] != 'Normal':
            out.append('site %s is %s' % (site['name'], site['state']))
    if view.get('files_unavailable_shards'):
        out.append('the file listing misses shard(s) %s (no member answered)' % ', '.join(
            str(s) for s in view['files_unavailable_shards']))
    unresolved = [c for c in view['conflicts'] if not c.get('resolved', False)]
    if unresolved:
        out.append('%d unresolved conflict(s)' % len(unresolved))
    return out
