"""Metadata operations: snapshots (and list), restore, replay, consistency check, repair."""

import hashlib
import time

from cfsemu import s3, sitecalls, snapshots
from cfsemu.errors import ApiError, needs_confirmation
from cfsemu.metacheck import (NOT_REPAIRABLE, check_cluster, check_local, damage_replicated,
                               repair_local)


def register(node):
    r = node.router
    r.add('POST', '/v1/metadata/snapshots', lambda req: snapshot(node, req))
    r.add('GET', '/v1/metadata/snapshots', lambda req: snapshot_list(node))
    r.add('POST', '/v1/metadata/restore', lambda req: restore(node, req))
    r.add('POST', '/v1/metadata/replay-journal', lambda req: replay(node, req))
    r.add('POST', '/v1/metadata/consistency-check', lambda req: check_cluster(
        node, req.flag('cross_site'), req.flag('verbose')))
    r.add('POST', '/v1/metadata/repair', lambda req: repair(node, req))
    r.add('GET', '/v1/internal/meta/check', lambda req: check_local(node))
    r.add('POST', '/v1/internal/meta/repair', lambda req: repair_local(node))
    r.add('POST', '/v1/internal/fault/damage-replicated', lambda req: damage_replicated(
        node, int(req.arg('count') or 1), int(req.arg('seed') or 0), req.arg('site')))
    archiver = snapshots.JournalArchiver(node)
    node.extras['archiver'] = archiver


def site_of(node, req):
    site = req.arg('site') or node.control.snapshot()['active_site']
    if site not in node.control.snapshot()['shards']:
        raise ApiError('bad_request', 'no site %r' % site)
    return site


def default_location(node):
    spec = node.cluster.s3_endpoints()[node.extras['s3queue'].target()]
    return 's3://%s/metadata/metadata-%s.tar.gz' % (
        spec.get('bucket', 'claudefs'), time.strftime('%Y%m%dT%H%M%SZ', time.gmtime()))


def snapshot(node, req):
    site = site_of(node, req)
    location = req.arg('destination') or req.arg('output') or default_location(node)
    states = {}
    for shard in range(node.cluster.shards):
        states[shard] = sitecalls.state(node, site, shard)['state']
    data, manifest = snapshots.build(node.control.snapshot()['cluster_name'], site, states)
    snapshots.read(data)   # integrity check before upload: every member against the manifest
    snapshots.store(node, location, data)
    digest = hashlib.sha256(data).hexdigest()
    return {'snapshot_id': digest[:16], 'location': location, 'sha256': digest,
            'size': len(data), 'manifest': manifest}


def snapshot_list(node):
    flash = node.extras['s3queue']
    try:
        items = flash.s3_client(timeout=3.0).list('metadata/')
    except s3.S3Error as exc:
        raise ApiError('s3_unavailable', 'cannot list snapshots: %s' % exc)
    bucket = node.cluster.s3_endpoints()[flash.target()].get('bucket')
    return {'snapshots': [{'location': 's3://%s/%s' % (bucket, key), 'size': size,
                           'modified': modified}
                          for key, size, modified in sorted(items, key=lambda i: (i[2], i[0]))
                          if key.endswith('.tar.gz')]}


def restore(node, req):
    site = site_of(node, req)
    source = req.arg('source') or req.arg('from_snapshot')
    if not source:
        raise ApiError('bad_request', 'field "source" is required (s3://bucket/key or a path)')
    data, digest = snapshots.fetch(node, source)
    manifest, states = snapshots.read(data)
    if len(states) != node.cluster.shards:
        raise ApiError('bad_request', 'snapshot has %d shards, this cluster %d' % (
            len(states), node.cluster.shards))
    current = {shard: sitecalls.state(node, site, shard)['state']
               for shard in range(node.cluster.shards)}
    if all(current[s]['files'] == states[s]['files'] and current[s]['seq'] == states[s]['seq']
           for s in states):
        return {'source': source, 'sha256': digest, 'restored_shards': [], 'changed': False,
                'files': manifest['files'], 'last_seq': manifest['last_seq'],
                'manifest': manifest}
    live = {s: len(st['files']) for s, st in current.items() if st['files'] or st['seq']}
    if live and not req.flag('confirm_live_restore'):
        newer = sum(1 for s, st in current.items() for v in st['files'].values()
                    if v['seq'] > states[s]['seq'])
        raise needs_confirmation(
            'confirm_live_restore', 'site %s is live (%d files in %d shards); restoring %s '
            'replaces its metadata and drops %d files written after the snapshot; set '
            'confirm_live_restore to proceed' % (site, sum(live.values()), len(live), source,
                                                 newer),
            {'files': sum(live.values()), 'newer_than_snapshot': newer, 'shards': sorted(live)})
    for shard, state in sorted(states.items()):
        sitecalls.submit(node, site, shard, 'install', state, 'restore %s' % source)
    return {'source': source, 'sha256': digest, 'restored_shards': sorted(states),
            'files': manifest['files'], 'last_seq': manifest['last_seq'], 'changed': True,
            'manifest': manifest}


def replay(node, req):
    site = site_of(node, req)
    from_seq = req.arg('from_seq')
    from_time = req.arg('from_time') or req.arg('from')
    until = req.arg('until_time') or req.arg('until')
    try:
        from_seq = int(from_seq) if from_seq is not None else None
        from_time = float(from_time) if from_time is not None else None
        until = float(until) if until is not None else None
    except (TypeError, ValueError):
        raise ApiError('bad_request', 'from_seq must be an integer; from_time and until_time '
                       'epoch seconds')
    replayed = skipped = 0
    per_shard = {}
    last_ts = None
    for shard in range(node.cluster.shards):
        entries = snapshots.archived_ops(node, site, shard)
        chosen = [e for e in entries
                  if (from_seq is None or e['seq'] >= from_seq)
                  and (from_time is None or e['record']['timestamp'] >= from_time)
                  and (until is None or e['record']['timestamp'] <= until)]
        skipped += len(entries) - len(chosen)
        if not chosen:
            per_shard[str(shard)] = 0
            continue
        result = sitecalls.submit(node, site, shard, 'replay', chosen, timeout=10.0)
        per_shard[str(shard)] = result['applied']
        replayed += result['applied']
        skipped += len(chosen) - result['applied']
        last_ts = max([last_ts or 0] + [e['record']['timestamp'] for e in chosen])
    return {'replayed': replayed, 'skipped': skipped, 'shards': per_shard,
            'last_timestamp': last_ts, 'changed': replayed > 0}


def repair(node, req):
    report = check_cluster(node, False, True)
    fixable = [p for p in report['problems']
               if p['kind'] != 'replica_unreachable' and p['kind'] not in NOT_REPAIRABLE]
    if not req.flag('auto_fix'):
        return {'repaired': [], 'remaining': report['problems'], 'changed': False}
    if not req.flag('confirm_repair'):
        raise needs_confirmation(
            'confirm_repair', 'repair rewrites %d damaged metadata record(s)/journal line(s) on '
            '%s from the replicated shard state; their current on-disk content is discarded; '
            'set confirm_repair to proceed' % (len(fixable), ', '.join(sorted(set(
                p['node'] for p in fixable)))), fixable)
    repaired = []
    for target in sorted(set(p['node'] for p in fixable if p['node'] in node.control.snapshot()[
            'nodes'])):
        if target == node.name:
            repaired.extend(repair_local(node)['repaired'])
        else:
            repaired.extend(node.call_ok(target, 'POST', '/v1/internal/meta/repair',
                                         timeout=10.0)['repaired'])
    after = check_cluster(node, False, True)
    return {'repaired': repaired, 'remaining': after['problems'], 'changed': bool(repaired)}
