"""health, status, configExport, and the internal control-record endpoints."""

import time

from cfsemu.errors import ApiError

SITE_STATES = ('Normal', 'Degraded', 'Failover', 'Recovery', 'SplitBrain')


def register(node):
    r = node.router
    r.add('GET', '/v1/health', lambda req: health(node), auth=False)
    r.add('GET', '/v1/status', lambda req: status(node))
    r.add('GET', '/v1/config/export', lambda req: export_config(node))
    r.add('GET', '/v1/internal/control', lambda req: node.control.snapshot())
    r.add('POST', '/v1/internal/control', lambda req: {'adopted': node.control.offer(req.json())})


def health(node):
    return {'node': node.name, 'site': node.site, 'status': 'ok', 'version': '0.1.0-emulator',
            'uptime_seconds': round(time.time() - node.started, 3),
            'control_version': node.control.version}


def shard_table(node):
    """Per site, per shard: leader/commit as reported by the members (own groups + gossip)."""
    control = node.control.snapshot()
    table = {}
    views = dict(node.swim.views)
    views[node.name] = node.shard_view()
    for site, shards in control['shards'].items():
        rows = {}
        for shard, spec in shards.items():
            alive = [m for m in spec['members'] if node.swim.state(m)[0] != 'Dead']
            leader = None
            claimed = None
            commit = 0
            for member in alive:
                view = views.get(member, {}).get(shard)
                if view and view[4] == spec['epoch']:
                    commit = max(commit, view[1])
                    if view[5] == 2:
                        leader = member
                    elif view[0] in alive:
                        claimed = view[0]     # a follower's view of its leader
            leader = leader or claimed
            quorum = len(alive) * 2 > len(spec['members'])
            mine = views[node.name].get(shard) if site == node.site else None
            if mine and mine[4] == spec['epoch']:
                # this node's own Raft connections: faster and surer than SWIM suspicion
                quorum = quorum and mine[6]
                if not mine[6]:
                    leader = None
            rows[shard] = {'epoch': spec['epoch'], 'members': spec['members'], 'leader': leader,
                           'has_quorum': quorum, 'commit_index': commit}
        if any(not row['leader'] for row in rows.values()):
            confirm(node, site, rows)
        table[site] = rows
    return table


def confirm(node, site, rows):
    """Gossip lags a SWIM round behind elections: ask the site's nodes directly before
    calling a shard leaderless."""
    from cfsemu.ops_raft import best, gather   # pylint: disable=import-outside-toplevel
    reports = gather(node, site)
    if not reports:
        return
    for shard, row in rows.items():
        if row['leader']:
            continue
        rep = best(node, site, int(shard), reports)
        if rep['leader'] and rep['leader'] == rep.get('reporter'):
            row.update(leader=rep['leader'], has_quorum=rep['has_quorum'],
                       commit_index=max(row['commit_index'], rep['commit_index']))


def site_state(site, control, table, nodes):
    fo = control.get('failover', {})
    members = [n for n in nodes if n['site'] == site and n['state'] not in ('removed', 'fenced')]
    if fo.get('split_brain'):
        return 'SplitBrain'
    if fo.get('state') == 'failover' and fo.get('from') == site:
        # failed away from: Failover while it is down, Recovery once its nodes are back
        return 'Recovery' if any(n['swim'] == 'Alive' for n in members) else 'Failover'
    rows = table.get(site, {}).values()
    if any(n['swim'] != 'Alive' for n in members) or any(
            not r['has_quorum'] or not r['leader'] for r in rows):
        return 'Degraded'
    return 'Normal'


def status(node):
    control = node.control.snapshot()
    table = shard_table(node)
    nodes = []
    for name, spec in sorted(control['nodes'].items()):
        swim_state, age = node.swim.state(name)
        nodes.append({'name': name, 'site': spec['site'], 'address': spec['address'],
                      'state': spec['state'], 'swim': swim_state,
                      'age_seconds': round(age, 3)})
    sites = []
    for site in sorted(control['shards']):
        rows = table[site]
        sites.append({'name': site, 'state': site_state(site, control, table, nodes),
                      'active': site == control['active_site'],
                      'shards_total': len(rows),
                      'shards_with_leader': sum(1 for r in rows.values() if r['leader']),
                      'shards_without_quorum': sorted(int(k) for k, r in rows.items()
                                                      if not r['has_quorum'])})
    return {'cluster_name': control['cluster_name'], 'epoch': control['version'],
            'reporter': node.name, 'active_site': control['active_site'],
            'initialized': control.get('initialized', True),
            'sites': sites, 'nodes': nodes, 'shards': node.cluster.shards,
            's3_target': control['s3_target'], 'time': time.time()}


def export_config(node):
    control = node.control.snapshot()
    cluster = node.cluster
    s3 = {}
    for name, spec in cluster.s3_endpoints().items():
        if isinstance(spec, dict):
            s3[name] = {'endpoint': spec.get('endpoint'), 'bucket': spec.get('bucket')}
    if not control:
        raise ApiError('internal', 'no control record')
    return {'cluster_name': control['cluster_name'], 'version': control['version'],
            'active_site': control['active_site'], 'shards': cluster.shards,
            'replication_factor': int(cluster['replication_factor']),
            'sites': {site: [n for n, s in sorted(control['nodes'].items())
                             if s['site'] == site and s['state'] != 'removed']
                      for site in sorted(control['shards'])},
            'nodes': control['nodes'], 'shard_epochs': {
                site: {k: v['epoch'] for k, v in shards.items()}
                for site, shards in control['shards'].items()},
            's3': s3, 's3_target': control['s3_target'], 'flash': dict(cluster.flash),
            'timeouts': dict(cluster.timeouts)}
