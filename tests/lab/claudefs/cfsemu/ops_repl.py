"""replicationStatus/Sync, failoverPrepare/Test, failover, failback, conflictsList/Resolve."""

import threading
import time

from cfsemu import lww, sitecalls
from cfsemu.errors import ApiError, needs_confirmation
from cfsemu.replication import Replication


def register(node):
    repl = Replication(node)
    node.extras['replication'] = repl
    r = node.router
    r.add('POST', '/v1/internal/replicate', lambda req: receive(node, req.json()))
    r.add('GET', '/v1/internal/replication/lag', lambda req: repl.local_lag())
    r.add('POST', '/v1/internal/replication/ship', lambda req: {'shipped': repl.once()})
    r.add('GET', '/v1/replication', lambda req: status(node))
    r.add('POST', '/v1/replication/sync', lambda req: sync(node, req))
    r.add('POST', '/v1/replication/failover/prepare', lambda req: prepare(node, req))
    r.add('POST', '/v1/replication/failover/test', lambda req: test(node, req))
    r.add('POST', '/v1/replication/failover', lambda req: failover(node, req))
    r.add('POST', '/v1/replication/failback', lambda req: failback(node, req))
    r.add('GET', '/v1/conflicts', lambda req: conflicts(node, req.flag('unresolved')))
    r.add('POST', '/v1/conflicts/resolve', lambda req: resolve(node, req))


def receive(node, body):
    result = node.shards.submit(int(body['shard']), 'apply_remote', body['origin'], body['ops'],
                                body.get('active_site'), body.get('active_since'), timeout=5.0)
    split = lww.SPLIT_BRAIN in result['conflicts']
    if split:
        node.mark_split_brain(True)
    return {'applied_seq': result['done'], 'conflicts': len(result['conflicts']),
            'split_brain': split}


def site_name(node, value, default=None):
    """Accept a site name or the runbook's primary/secondary (primary = configured active)."""
    sites = sorted(node.control.snapshot()['shards'])
    value = value or default
    primary = node.cluster['active_site']
    if value == 'primary':
        return primary
    if value == 'secondary':
        return [s for s in sites if s != primary][0]
    if value not in sites:
        raise ApiError('bad_request', 'unknown site %r: use one of %s, primary or secondary' % (
            value, ', '.join(sites)))
    return value


def site_lag(node, source):
    """Lag of source -> other site, asking every live node of source (leaders report)."""
    total = {'lag_ops': 0, 'lag_seconds': 0.0, 'unreplicated': [], 'reachable': True,
             'answered': 0, 'led': set()}
    lock = threading.Lock()

    def one(member):
        try:
            if member == node.name:
                rep = node.extras['replication'].local_lag()
            else:
                rep = node.call_ok(member, 'GET', '/v1/internal/replication/lag', timeout=2.0)
        except ApiError:
            return
        with lock:
            total['answered'] += 1
            total['lag_ops'] += rep['lag_ops']
            total['lag_seconds'] = max(total['lag_seconds'], rep['lag_seconds'])
            total['unreplicated'].extend(rep['unreplicated'])
            total['reachable'] = total['reachable'] and rep['reachable']
            total['led'].update(rep['led_shards'])
    threads = [threading.Thread(target=one, args=(m,))
               for m in node.nodes_of_site(source, alive_only=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return total


def links(node):
    sites = sorted(node.control.snapshot()['shards'])
    out = []
    for source in sites:
        for target in sites:
            if source == target:
                continue
            lag = site_lag(node, source)
            known = lag['answered'] > 0
            out.append({'source': source, 'target': target, 'lag_ops': lag['lag_ops'],
                        'lag_seconds': lag['lag_seconds'] if known and lag['reachable']
                        else None, 'reachable': known and lag['reachable'],
                        'source_reachable': known, 'unreplicated': lag['unreplicated'][:50]})
    return out


def status(node):
    from cfsemu.ops_core import status as cluster_status
    control = node.control.snapshot()
    everything = links(node)
    active = control['active_site']
    main = [link for link in everything if link['source'] == active]
    state = [s['state'] for s in cluster_status(node)['sites'] if s['name'] == active][0]
    return {'active_site': active, 'state': state,
            'lag_seconds': main[0]['lag_seconds'] if main else 0.0,
            'lag_ops': sum(link['lag_ops'] for link in main), 'links': everything,
            'failover': control.get('failover', {})}


def ship_and_wait(node, source, timeout):
    deadline = time.monotonic() + timeout
    shipped = 0
    while True:
        for member in node.nodes_of_site(source, alive_only=True):
            try:
                if member == node.name:
                    shipped += node.extras['replication'].once()
                else:
                    shipped += node.call_ok(member, 'POST', '/v1/internal/replication/ship',
                                            timeout=8.0)['shipped']
            except ApiError:
                continue
        lag = site_lag(node, source)
        if lag['answered'] and lag['lag_ops'] == 0 and len(lag['led']) == node.cluster.shards:
            return shipped, 0
        if time.monotonic() > deadline:
            return shipped, lag['lag_ops']
        time.sleep(0.2)


def sync(node, req):
    source = site_name(node, req.arg('source'))
    target = site_name(node, req.arg('target'))
    if source == target:
        raise ApiError('bad_request', 'source and target are the same site')
    if not node.nodes_of_site(target, alive_only=True):
        raise ApiError('node_unreachable', 'no node of %s is alive' % target, site=target)
    shipped, left = ship_and_wait(node, source, float(req.arg('timeout_seconds', 30)))
    if left:
        raise ApiError('timeout', '%d operations of %s still unreplicated to %s' % (
            left, source, target), lag_ops=left)
    return {'source': source, 'target': target, 'shipped_ops': shipped, 'lag_ops': 0,
            'conflicts': len(conflicts(node, True)['conflicts']), 'changed': shipped > 0}


def pair(node, req, default_from=None):
    control = node.control.snapshot()
    to = site_name(node, req.arg('to') or req.arg('target'))
    frm = site_name(node, req.arg('from') or req.arg('source'),
                    default_from or [s for s in control['shards'] if s != to][0])
    if frm == to:
        raise ApiError('bad_request', 'from and to are the same site (%s)' % to)
    return frm, to


def checks(node, frm, to):
    from cfsemu.ops_core import shard_table
    table = shard_table(node)[to]
    lag = site_lag(node, frm)
    out = [{'name': 'target_has_quorum', 'ok': all(r['has_quorum'] for r in table.values()),
            'detail': 'shards without quorum: %s' % sorted(
                int(k) for k, r in table.items() if not r['has_quorum'])},
           {'name': 'target_has_leaders', 'ok': all(r['leader'] for r in table.values()),
            'detail': '%d of %d shards led' % (sum(1 for r in table.values() if r['leader']),
                                               len(table))},
           {'name': 'source_reachable', 'ok': lag['answered'] > 0,
            'detail': '%d nodes of %s answered' % (lag['answered'], frm)},
           {'name': 'replication_lag_zero', 'ok': lag['answered'] > 0 and lag['lag_ops'] == 0,
            'detail': '%d operations of %s not yet on %s' % (lag['lag_ops'], frm, to)}]
    return out, lag


def prepare(node, req):
    frm, to = pair(node, req)
    current = node.control.snapshot().get('failover', {})
    already = current.get('writes_blocked') and current.get('from') == frm and \
        current.get('to') == to
    if not already:
        node.control.update(lambda r: r.__setitem__('failover', dict(
            r.get('failover', {}), writes_blocked=True, **{'from': frm, 'to': to,
                                                           'state': 'prepared'})))
    shipped, left = ship_and_wait(node, frm, 10.0)
    return {'active_site': node.control.snapshot()['active_site'],
            'changed': not already or shipped > 0, 'writes_blocked': True, 'lag_ops': left,
            'ok': left == 0}


def test(node, req):
    frm, to = pair(node, req, node.control.snapshot()['active_site'])
    found, lag = checks(node, frm, to)
    return {'active_site': node.control.snapshot()['active_site'], 'changed': False,
            'ok': all(c['ok'] for c in found[:2]), 'checks': found, 'lag_ops': lag['lag_ops'],
            'unreplicated_ops': lag['lag_ops']}


def failover(node, req):
    control = node.control.snapshot()
    frm, to = pair(node, req, control['active_site'])
    if control['active_site'] == to:
        return {'active_site': to, 'previous_active_site': to, 'changed': False, 'ok': True}
    found, lag = checks(node, frm, to)
    if not found[0]['ok']:
        raise ApiError('no_quorum', '%s cannot take over: %s' % (to, found[0]['detail']))
    unknown = lag['answered'] == 0
    if (unknown or lag['lag_ops']) and not req.flag('confirm_data_loss'):
        if unknown:
            what = '%s does not answer: writes it made after its last shipment are unknown' % frm
        else:
            what = '%d operations of %s are not yet on %s' % (lag['lag_ops'], frm, to)
        raise needs_confirmation('confirm_data_loss', 'failover from %s to %s: %s; set '
                                 'confirm_data_loss to proceed' % (frm, to, what),
                                 lag['unreplicated'] or [{'site': frm, 'unknown': unknown}])
    now = time.time()
    node.control.update(lambda r: r.update(active_site=to, active_since=now, failover={
        'state': 'failover', 'from': frm, 'to': to, 'at': now, 'writes_blocked': False,
        'split_brain': False, 'lost_ops': lag['lag_ops'], 'source_unknown': unknown}))
    return {'active_site': to, 'previous_active_site': frm, 'changed': True, 'ok': True,
            'checks': found, 'lag_ops': lag['lag_ops'], 'unreplicated_ops': lag['lag_ops'],
            'would_lose': lag['unreplicated'], 'writes_blocked': False}


def failback(node, req):
    control = node.control.snapshot()
    frm, to = pair(node, req, control['active_site'])
    if control['active_site'] == to and control.get('failover', {}).get('state') in (
            None, 'none'):
        return {'active_site': to, 'previous_active_site': to, 'changed': False, 'ok': True}
    if not node.nodes_of_site(to, alive_only=True):
        raise ApiError('node_unreachable', 'no node of %s is alive' % to, site=to)
    found, lag = checks(node, frm, to)
    if not found[0]['ok']:
        raise ApiError('no_quorum', '%s cannot take over: %s' % (to, found[0]['detail']))
    if lag['answered'] == 0 or lag['lag_ops']:
        raise ApiError('lag_not_zero', '%s has %d operations %s lacks; run replicationSync '
                       '--source %s --target %s first' % (frm, lag['lag_ops'], to, frm, to),
                       lag_ops=lag['lag_ops'], source=frm, target=to)
    now = time.time()
    node.control.update(lambda r: r.update(active_site=to, active_since=now, failover={
        'state': 'none', 'from': frm, 'to': to, 'at': now, 'writes_blocked': False,
        'split_brain': False}))
    return {'active_site': to, 'previous_active_site': frm, 'changed': True, 'ok': True,
            'checks': found, 'lag_ops': 0}


def all_states(node):
    """{(site, shard): state} of every shard group that answers (asked in parallel)."""
    out = {}
    lock = threading.Lock()

    def one(site, shard):
        try:
            answer = sitecalls.state(node, site, shard)['state']
        except ApiError:
            return
        with lock:
            out[(site, shard)] = answer
    threads = [threading.Thread(target=one, args=(site, shard))
               for site in sorted(node.control.snapshot()['shards'])
               for shard in range(node.cluster.shards)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return out


def conflicts(node, unresolved_only):
    seen = {}
    states = all_states(node)
    for where in sorted(states):
        for conflict in states[where]['conflicts']:
            key = (conflict['inode'], tuple(sorted(
                (s, v['seq']) for s, v in conflict['sites'].items())))
            item = {k: v for k, v in conflict.items() if k != 'candidates'}
            if key not in seen or (not item['resolved'] and seen[key]['resolved']):
                seen[key] = item
    items = sorted(seen.values(), key=lambda c: (c['detected_at'], c['inode']))
    if unresolved_only:
        items = [c for c in items if not c['resolved']]
    return {'conflicts': items, 'unresolved': sum(1 for c in items if not c['resolved'])}


def resolve(node, req):
    strategy = req.arg('strategy')
    if strategy not in ('last-write-wins', 'manual'):
        raise ApiError('bad_request', 'strategy must be last-write-wins or manual')
    open_items = conflicts(node, True)['conflicts']
    choices = req.arg('choices') or []
    if strategy == 'manual':
        if not choices:
            raise ApiError('bad_request', 'manual resolution needs choices [{inode, winner}]')
        sites = node.control.snapshot()['shards']
        for choice in choices:
            if choice.get('winner') not in sites:
                raise ApiError('bad_request', 'winner must be a site (%s)' % ', '.join(sites))
            if not any(c['inode'] == int(choice['inode']) for c in open_items) and not any(
                    c['inode'] == int(choice['inode']) for c in conflicts(node, False)[
                        'conflicts']):
                raise ApiError('not_found', 'no conflict for inode %s' % choice['inode'])
        wanted = [(int(c['inode']), c['winner']) for c in choices]
    else:
        wanted = sorted(set((c['inode'], None) for c in open_items))
    resolved = {}
    for inode, winner in wanted:
        shard = inode % node.cluster.shards
        for site in sorted(node.control.snapshot()['shards']):
            for item in sitecalls.submit(node, site, shard, 'resolve', inode, winner, strategy):
                key = (item['inode'], tuple(sorted((s, v['seq'])
                                                   for s, v in item['sites'].items())))
                resolved.setdefault(key, item)   # both sites record the same conflict
    resolved = sorted(resolved.values(), key=lambda c: (c['detected_at'], c['inode']))
    left = conflicts(node, True)
    if not any(c['type'] == lww.SPLIT_BRAIN for c in left['conflicts']):
        node.mark_split_brain(False)
    return {'strategy': strategy, 'resolved': [{k: v for k, v in c.items()
                                                if k != 'candidates'} for c in resolved],
            'unresolved': left['unresolved'], 'changed': bool(resolved)}
