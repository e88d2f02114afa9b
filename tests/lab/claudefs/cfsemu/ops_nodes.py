"""nodeList, nodeAdd, nodeDrain, nodeRemove, clusterInit."""

from cfsemu import config, membership
from cfsemu.errors import ApiError, needs_confirmation
from cfsemu.ops_raft import best, gather


def register(node):
    r = node.router
    r.add('GET', '/v1/nodes', lambda req: node_list(node))
    r.add('POST', '/v1/nodes', lambda req: node_add(node, req))
    r.add('POST', '/v1/nodes/{node}/drain', lambda req: node_drain(node, req.params['node']))
    r.add('DELETE', '/v1/nodes/{node}', lambda req: node_remove(
        node, req.params['node'], req.flag('confirm_last_replica')))
    r.add('POST', '/v1/cluster/init', lambda req: cluster_init(node, req))


def held(control, name):
    spec = control['nodes'].get(name, {})
    shards = control['shards'].get(spec.get('site'), {})
    return sorted(int(k) for k, s in shards.items() if name in s['members'])


def node_list(node):
    control = node.control.snapshot()
    views = dict(node.swim.views)
    views[node.name] = node.shard_view()
    out = []
    for name, spec in sorted(control['nodes'].items()):
        swim, age = node.swim.state(name)
        view = views.get(name, {})
        out.append({'name': name, 'site': spec['site'], 'address': spec['address'],
                    'state': spec['state'], 'swim': swim, 'swim_state': swim,
                    'age_seconds': round(age, 3), 'shards': held(control, name),
                    'leader_of': sorted(int(k) for k, v in view.items() if v[5] == 2)
                    if swim != 'Dead' else []})
    return {'nodes': out}


def known(node, name):
    control = node.control.snapshot()
    if name not in control['nodes']:
        raise ApiError('not_found', 'no node %r in the cluster' % name, node=name)
    return control


def leader_for(node, site, shard, exclude):
    """A member that answers now to seed a rebuilt group from: the leader if it answers,
    else the most up-to-date answering member; None when no other member answers."""
    reports = gather(node, site)
    rep = best(node, site, shard, reports)
    if not rep.get('seeded', True):
        raise ApiError('conflict', 'shard %d of %s is still being rebuilt (its new group has not '
                       'received its state yet); retry shortly' % (shard, site), shard=shard)
    spec = node.control.snapshot()['shards'][site][str(shard)]
    live = []
    for member in spec['members']:
        own = reports.get(member, {}).get('shards', {}).get(str(shard))
        if member in exclude or not own or own['epoch'] != spec['epoch']:
            continue
        live.append((own['leader'] == member, own['commit_index'], own['last_seq'], member))
    return max(live)[3] if live else None


def node_add(node, req):
    name = req.arg('name') or req.arg('node')
    if not name:
        raise ApiError('bad_request', 'field "name" is required')
    control = node.control.snapshot()
    cluster_spec = node.cluster.nodes.get(name, {})
    if not cluster_spec and node.cluster.path:
        try:   # a node added to cluster.json after this process started
            cluster_spec = config.load(node.cluster.path).nodes.get(name, {})
        except (OSError, ValueError):
            cluster_spec = {}
    site = req.arg('site') or control['nodes'].get(name, {}).get('site') or cluster_spec.get(
        'site')
    address = req.arg('address') or control['nodes'].get(name, {}).get('address') or \
        cluster_spec.get('address')
    replaces = req.arg('replaces')
    if site not in control['shards']:
        raise ApiError('bad_request', 'give the site of %s (one of %s)' % (
            name, ', '.join(sorted(control['shards']))), node=name)
    if not address:
        raise ApiError('bad_request', 'give the address of %s (it is not in cluster.json)' % name)
    rf = int(node.cluster['replication_factor'])
    changes = {}
    for shard, spec in control['shards'][site].items():
        members = [m for m in spec['members'] if m != replaces]
        if name in members or len(members) >= rf:
            continue
        seed = leader_for(node, site, int(shard), exclude={name, replaces})
        if seed is None:
            raise ApiError('no_quorum', 'shard %s of %s has no live member to copy from; use '
                           'force-leader or restore first' % (shard, site), shard=int(shard))
        changes[int(shard)] = {'members': members + [name], 'seed': seed,
                               'reason': 'node add %s' % name}
    current = control['nodes'].get(name, {})
    registered = current.get('state') == 'active' and current.get('address') == address

    def register_node(record):
        record['nodes'][name] = {'site': site, 'address': address, 'state': 'active'}
        if replaces and replaces in record['nodes'] and \
                record['nodes'][replaces]['state'] != 'active':
            record['nodes'][replaces]['state'] = 'removed'
    if not changes and registered:
        return {'node': name, 'state': 'active', 'changed': False, 'shards': [
            {'shard': s, 'epoch': control['shards'][site][str(s)]['epoch'],
             'members': control['shards'][site][str(s)]['members']}
            for s in held(control, name)]}
    if not changes:
        node.control.update(register_node)
        return {'node': name, 'state': 'active', 'changed': True, 'shards': []}
    epochs = membership.rebuild(node, site, changes, register_node)
    ready = membership.wait_ready(node, site, epochs, timeout=30.0)
    return {'node': name, 'state': 'active', 'changed': True, 'shards': [
        {'shard': s, 'epoch': epochs[s], 'members': changes[s]['members'],
         'leader': ready[s]['leader']} for s in sorted(changes)]}


def node_drain(node, name):
    control = known(node, name)
    site = control['nodes'][name]['site']
    moved = []
    for shard in held(control, name):
        rep = best(node, site, shard, gather(node, site))
        if rep['leader'] != name:
            continue
        others = [m['node'] for m in rep['members'] if m['node'] != name and m['reachable']]
        if not others:
            raise ApiError('no_quorum', 'shard %d has no other live member to take the lead' %
                           shard, shard=shard)
        node.call_ok(name, 'POST', '/v1/internal/raft/%d/transfer' % shard, {'to': None})
        moved.append(shard)
    changed = bool(moved) or control['nodes'][name]['state'] != 'draining'
    if control['nodes'][name]['state'] == 'active':
        node.control.update(lambda r: r['nodes'][name].__setitem__('state', 'draining'))
    return {'node': name, 'state': 'draining', 'changed': changed, 'transferred': moved}


def node_remove(node, name, confirm):
    control = known(node, name)
    if control['nodes'][name]['state'] == 'removed':
        return {'node': name, 'state': 'removed', 'changed': False, 'shards': []}
    site = control['nodes'][name]['site']
    changes = {}
    last = []
    for shard in held(control, name):
        spec = control['shards'][site][str(shard)]
        rest = [m for m in spec['members'] if m != name]
        seed = leader_for(node, site, shard, exclude={name})
        if seed is None:
            last.append(shard)
        if rest:
            # without a live seed the rebuilt group starts empty: that is the confirmed loss
            changes[shard] = {'members': rest, 'seed': seed,
                              'reason': 'node remove %s' % name}
    if last and not confirm:
        raise needs_confirmation(
            'confirm_last_replica', '%s holds the last live replica of shard(s) %s of %s; '
            'removing it loses their metadata; set confirm_last_replica to proceed' % (
                name, last, site), [{'shard': s, 'site': site} for s in last])

    def mark(record):
        record['nodes'][name]['state'] = 'removed'
    epochs = membership.rebuild(node, site, changes, mark)
    if epochs:
        membership.wait_ready(node, site, {s: e for s, e in epochs.items()
                                           if changes[s]['seed']}, timeout=20.0)
    return {'node': name, 'state': 'removed', 'changed': True, 'last_replica_of': last,
            'shards': [{'shard': s, 'epoch': epochs[s], 'members': changes[s]['members']}
                       for s in sorted(changes)]}


def cluster_init(node, req):
    name = req.arg('cluster_name')
    if not name:
        raise ApiError('bad_request', 'field "cluster_name" is required')
    bootstrap = req.arg('bootstrap_node') or node.name
    control = node.control.snapshot()
    if bootstrap not in control['nodes']:
        raise ApiError('bad_request', 'bootstrap node %r is not a node of this cluster '
                       '(nodes: %s)' % (bootstrap, ', '.join(sorted(control['nodes']))))
    if control['cluster_name'] == name and control.get('initialized'):
        return {'cluster_name': name, 'bootstrap_node': bootstrap, 'changed': False,
                'epoch': control['version']}
    files = sum(len(sm.files()) for sm in node.shards.all().values())
    if files:
        raise ApiError('conflict', 'cluster %s already holds %d files on this node; init only '
                       'names a new, empty cluster' % (control['cluster_name'], files),
                       cluster_name=control['cluster_name'])

    def init(record):
        record['cluster_name'] = name
        record['initialized'] = True
        record['bootstrap_node'] = bootstrap
    node.control.update(init)
    return {'cluster_name': name, 'bootstrap_node': bootstrap, 'changed': True,
            'epoch': node.control.version}
