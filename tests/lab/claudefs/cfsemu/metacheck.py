"""Consistency check and repair of the on-disk metadata against the replicated shard state."""

import hashlib
import json
import random
import threading
import time

from cfsemu import sitecalls
from cfsemu.disk import content_sum
from cfsemu.errors import ApiError

# found on every replica alike: the replicated state itself is wrong, so a repair from the
# replicas cannot fix it (restore a snapshot and replay the journal)
NOT_REPAIRABLE = ('record_invalid',)


def digest(files):
    rows = sorted((v['path'], v.get('sha256'), v.get('site'), v.get('origin_seq'))
                  for v in files.values())
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def check_local(node):
    """This node's records and journal lines against its replica of each shard."""
    problems = []
    digests = {}
    checked = 0
    for shard, sm in node.shards.all().items():
        state = sm.snapshot_state()
        files = {v['inode']: v for v in state['files'].values()}
        digests[str(shard)] = digest(state['files'])
        for version in state['files'].values():
            if version.get('content_sum') and version['content_sum'] != content_sum(version):
                problems.append({'node': node.name, 'site': node.site, 'shard': shard,
                                 'inode': version['inode'], 'path': version['path'],
                                 'kind': 'record_invalid',
                                 'detail': 'inode %d corrupted in the replicated state (size %s, '
                                 '%d blobs: fails the checksum written with it); every replica '
                                 'holds the same, so no replica can repair it' % (
                                     version['inode'], version.get('size'),
                                     len(version.get('blobs') or []))})
        records = node.meta.read_records(shard)
        for inode, (record, ok) in records.items():
            checked += 1
            base = {'node': node.name, 'site': node.site, 'shard': shard, 'inode': inode}
            if not ok:
                problems.append(dict(base, kind='record_checksum', path=(record or {}).get(
                    'path', ''), detail='record checksum mismatch (expected sha256 of the '
                    'record differs from the stored one)'))
            elif inode not in files:
                problems.append(dict(base, kind='record_mismatch', path=record.get('path', ''),
                                     detail='record of an inode the shard does not hold'))
            elif record != files[inode]:
                problems.append(dict(base, kind='record_mismatch', path=record['path'],
                                     detail='record differs from the replicated state'))
        for inode, version in files.items():
            if inode not in records:
                problems.append({'node': node.name, 'site': node.site, 'shard': shard,
                                 'inode': inode, 'path': version['path'],
                                 'kind': 'record_missing', 'detail': 'no record on disk'})
        for entry in node.meta.read_journal(shard):
            if not entry['ok']:
                problems.append({'node': node.name, 'site': node.site, 'shard': shard,
                                 'kind': 'journal_checksum', 'detail': 'journal line %d fails '
                                 'its checksum' % entry['line']})
    return {'node': node.name, 'site': node.site, 'problems': problems, 'digests': digests,
            'records_checked': checked}


def repair_local(node):
    """Rewrite bad/missing records and the journal from the shard leader's replicated state."""
    report = check_local(node)
    repaired = []
    bad_shards = sorted(set(p['shard'] for p in report['problems']))
    for shard in bad_shards:
        leader_state = sitecalls.state(node, node.site, shard)['state']
        local = node.shards.get(shard).snapshot_state()
        if digest(leader_state['files']) != digest(local['files']):
            raise ApiError('conflict', 'replica of shard %d on %s differs from the leader state; '
                           'wait for it to catch up, then repair again' % (shard, node.name))
        files = {v['inode']: v for v in leader_state['files'].values()}
        for problem in [p for p in report['problems'] if p['shard'] == shard]:
            if problem['kind'] == 'journal_checksum' or problem['kind'] in NOT_REPAIRABLE:
                continue
            inode = problem['inode']
            if inode in files:
                node.meta.write_record(shard, files[inode])
            else:
                node.meta.drop_record(shard, inode)
            repaired.append(problem)
        if any(p['kind'] == 'journal_checksum' and p['shard'] == shard
               for p in report['problems']):
            node.meta.rewrite_journal(shard, [{'seq': e['seq'], 'op': e['op'],
                                               'record': e['record']}
                                              for e in leader_state['ops']])
            repaired.extend(p for p in report['problems']
                            if p['kind'] == 'journal_checksum' and p['shard'] == shard)
    return {'node': node.name, 'repaired': repaired}


def damage_replicated(node, count, seed, site=None):
    """Fault hook (lab only): a faulty metadata operation replicated to every member.

    ``count`` file versions of the site get a wrong size and lose a blob reference, through
    each shard's log (an ``install`` of the damaged state), so all replicas and their disks
    agree on the damage.  Not in the journal archive: the defect rewrote records in place.
    Returns the paths damaged.
    """
    site = site or node.control.snapshot()['active_site']
    rng = random.Random(seed)
    states = {shard: sitecalls.state(node, site, shard)['state']
              for shard in range(node.cluster.shards)}
    paths = sorted((shard, path) for shard, st in states.items() for path in st['files'])
    rng.shuffle(paths)
    damaged = {}
    for shard, path in paths[:count]:
        version = states[shard]['files'][path]
        version['size'] = int(version.get('size') or 0) // 2 + 1
        version['blobs'] = list(version.get('blobs') or [])[:-1]
        damaged.setdefault(shard, []).append(path)
    for shard in sorted(damaged):
        sitecalls.submit(node, site, shard, 'install', states[shard],
                         'fault: replicated metadata defect', timeout=10.0)
    return {'site': site, 'damaged': sorted(p for ps in damaged.values() for p in ps)}


def gather_checks(node, nodes):
    out = {}
    lock = threading.Lock()

    def one(member):
        try:
            if member == node.name:
                answer = check_local(node)
            else:
                answer = node.call_ok(member, 'GET', '/v1/internal/meta/check', timeout=5.0)
        except ApiError as exc:
            answer = {'error': exc.message}
        with lock:
            out[member] = answer
    threads = [threading.Thread(target=one, args=(m,)) for m in nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return out


def check_cluster(node, cross_site, verbose, attempts=4):
    """Check; replicas that differ only because one lags get a few short chances to agree."""
    for attempt in range(attempts):
        report = check_once(node, cross_site, verbose)
        transient = [p for p in report['problems'] if p.get('transient')]
        if not transient or attempt == attempts - 1:
            break
        time.sleep(0.3)
    for problem in report['problems']:
        problem.pop('transient', None)
    return report


def check_once(node, cross_site, verbose):
    control = node.control.snapshot()
    sites = sorted(control['shards']) if cross_site else [control['active_site']]
    nodes = [n for s in sites for n in node.nodes_of_site(s)]
    reports = gather_checks(node, [n for n in nodes if node.swim.state(n)[0] != 'Dead'])
    problems = []
    unreachable = sorted(set(nodes) - set(n for n, r in reports.items() if 'error' not in r))
    for member in unreachable:
        problems.append({'kind': 'replica_unreachable', 'node': member, 'shard': -1,
                         'site': control['nodes'][member]['site'],
                         'detail': 'node did not answer the check'})
    checked = 0
    for member, rep in sorted(reports.items()):
        if 'error' in rep:
            continue
        problems.extend(rep['problems'])
        checked += rep['records_checked']
    for site in sites:   # replicas of one shard must agree (within a site)
        for shard in range(node.cluster.shards):
            seen = {m: r['digests'][str(shard)] for m, r in reports.items()
                    if 'digests' in r and r['site'] == site and str(shard) in r['digests']}
            if len(set(seen.values())) > 1:
                problems.append({'kind': 'record_mismatch', 'node': ','.join(sorted(seen)),
                                 'site': site, 'shard': shard,
                                 'detail': 'replicas hold different file sets (lagging or '
                                 'diverged)', 'transient': True})
    if cross_site and len(sites) == 2:
        problems.extend(compare_sites(node, sites))
    summary = {}
    for problem in problems:
        summary[problem['kind']] = summary.get(problem['kind'], 0) + 1
    return {'consistent': not problems, 'cross_site': cross_site,
            'checked_nodes': sorted(n for n, r in reports.items() if 'error' not in r),
            'unreachable_nodes': unreachable, 'records_checked': checked,
            'problems': problems if verbose or len(problems) <= 50 else problems[:50],
            'summary': summary}


def compare_sites(node, sites):
    out = []
    for shard in range(node.cluster.shards):
        try:
            one, two = (sitecalls.state(node, s, shard)['state']['files'] for s in sites)
        except ApiError as exc:
            out.append({'kind': 'replica_unreachable', 'node': '', 'shard': shard,
                        'detail': exc.message})
            continue
        for path in sorted(set(one) | set(two)):
            if path not in one or path not in two:
                out.append({'kind': 'cross_site_missing', 'transient': True, 'node': '',
                            'shard': shard,
                            'site': sites[0] if path not in one else sites[1], 'path': path,
                            'detail': 'file present on one site only'})
            elif one[path].get('sha256') != two[path].get('sha256'):
                out.append({'kind': 'cross_site_mismatch', 'transient': True, 'node': '',
                            'shard': shard,
                            'path': path, 'inode': one[path]['inode'],
                            'detail': 'content differs between the sites'})
    return out
