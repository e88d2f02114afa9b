"""Behaviour tests 7 and 8 of issue 14: S3 down (queue, watermarks, failover to the backup),
and the whole cluster destroyed (init, restore from the last snapshot, journal replay)."""

import os
import time

import pytest

from cfs_helpers import (all_led, assert_healthy, health, json_retrying, save_history, save_json,
                         wait_for)
from cfscheck.history import History
from cfscheck.setcheck import check_set, explain
from cfscheck.workload import Files, write_file
from cfsemu import procs

pytestmark = pytest.mark.claudefs


def _queue(client):
    return client.json_ok('GET', '/v1/s3/queue')


def _drained(client):
    queue = _queue(client)
    return queue if queue['depth'] == 0 else None


def _archived(client, site_nodes):
    """Blobs uploaded and the journal archived: a total loss now loses nothing acknowledged."""
    queue = _queue(client)
    pending = [n.get('journal_pending') for n in queue['nodes'] if n['node'] in site_nodes]
    return queue if queue['depth'] == 0 and pending and all(p == 0 for p in pending) else None


def _objects(directory):
    count = 0
    for unused_root, unused_dirs, names in os.walk(directory):
        count += len(names)
    return count


def test_s3_outage_queues_switches_modes_and_drains_to_the_backup(cluster_factory, seed):
    fresh = cluster_factory(flash_quota=512 * 1024)
    client = fresh.client(timeout=10)
    history = History(seed=seed, meta={'test': 's3-outage'})
    files = Files(history, 's3/%d' % seed, seed=seed, size=(12 * 1024, 20 * 1024))
    assert files.write(client, 4).count('ok') == 4
    first = set(files.acknowledged())
    wait_for(lambda: _drained(client), 30, what='the first uploads to reach S3')
    assert _queue(client)['mode'] == 'write-back'

    assert fresh.cluster.s3_stop('primary')
    history.mark('s3-stop', endpoint='primary')
    assert not fresh.cluster.status()['s3']['primary']['running']  # the process is gone

    def outage_seen():
        answer = client.json_ok('GET', '/v1/s3/health')
        return None if answer['healthy'] else answer
    s3 = wait_for(outage_seen, 20, what='s3Health to see the outage')
    primary = next(e for e in s3['endpoints'] if e['name'] == 'primary')
    assert primary['reachable'] is False

    depths, modes, errors, acked_modes = [], [], [], []
    for unused in range(80):
        outcome = files.write(client, 1, process=1, timeout=10)[0]
        op = history.ops[-1]
        if outcome == 'ok':
            acked_modes.append(op['output'].get('mode'))
        else:
            errors.append(op['error'])
        queue = _queue(client)
        depths.append(queue['depth'])
        modes.append(queue['mode'])
        if errors.count('s3_unavailable') >= 2:
            break
    # 100% of the quota: a write that cannot fit on flash any more is refused with ENOSPC.
    quota = fresh.doc['flash']['quota_bytes']
    big = 's3/%d/too-big' % seed
    outcome, response = write_file(client, history, 1, big, b'z' * (quota // 2), timeout=10)
    save_json('s3-outage-seed%d.json' % seed, {'depths': depths, 'modes': modes,
                                               'errors': errors, 'acked_modes': acked_modes,
                                               'big_write': repr(response)})
    assert max(depths) > depths[0] >= 1, depths  # the queue grew while S3 was down
    assert 'write-through' in modes, modes  # the high watermark switched the mode
    assert modes[0] == 'write-back'
    # in write-through a write waits for S3, which is down: refused, never acknowledged
    assert 'write-through' not in acked_modes, acked_modes
    assert errors and set(errors) <= {'s3_unavailable', 'timeout', 'not_leader', 'enospc'}, \
        errors
    assert outcome == 'fail' and response.status == 507 and response.error_code == 'enospc', \
        response

    switched = client.json_ok('POST', '/v1/s3/failover', {'target': 'backup'}, timeout=30)
    assert switched['changed'] and switched['target'] == 'backup'
    drained = wait_for(lambda: _drained(client), 60, interval=0.5,
                       what='the queue to drain to the backup')
    assert drained['mode'] == 'write-back' and drained['target'] == 'backup'
    backup_dir = os.path.join(fresh.doc['s3']['backup']['dir'], fresh.doc['s3']['backup']['bucket'])
    assert _objects(backup_dir) >= len(files.acknowledged()) - 4  # blobs landed in the backup
    assert files.write(client, 2, process=2).count('ok') == 2  # write-back again

    result = check_set(history.ops, files.present(client))
    path = save_history(history, 's3-outage')
    assert result['valid'], '%s (history %s)' % (explain(result), path)
    # What was written during the outage is readable now (flash or the backup); what was
    # uploaded to the primary before it and evicted from flash waits for the primary.
    during = [name for name in files.acknowledged() if name not in first]
    verified = files.verify(client, during)
    assert verified['intact'] == len(during), verified
    fresh.cluster.s3_start('primary')
    wait_for(lambda: client.json_ok('GET', '/v1/s3/health')['healthy'], 20,
             what='both S3 endpoints reachable again')
    verified = files.verify(client)  # nothing lost: every acknowledged file, right content
    assert not verified['missing'] and not verified['corrupt'], verified
    assert_healthy(fresh, 'after S3 came back')


def test_destroyed_cluster_comes_back_from_snapshot_and_journal(fresh, seed):
    site = fresh.doc['active_site']
    client = fresh.client(timeout=10)
    history = History(seed=seed, meta={'test': 'total-loss'})
    before = Files(history, 'dr/%d/before' % seed, seed=seed)
    assert before.write(client, 12).count('ok') == 12
    wait_for(lambda: _drained(client), 30, what='uploads before the snapshot')
    snapshot = client.json_ok('POST', '/v1/metadata/snapshots', {}, timeout=60)
    save_json('total-loss-snapshot-seed%d.json' % seed, snapshot)
    assert snapshot['location'].startswith('s3://')
    created = snapshot['manifest']['created']
    time.sleep(0.05)
    after = Files(history, 'dr/%d/after' % seed, seed=seed + 1)
    assert after.write(client, 6, process=1).count('ok') == 6
    wait_for(lambda: _archived(client, fresh.nodes(site)), 30, interval=0.3,
             what='blobs uploaded and journal archived (journal_pending 0) after it')
    config = client.json_ok('GET', '/v1/config/export')

    pids = [fresh.cluster.pid(n) for n in fresh.nodes()]
    fresh.cluster.destroy()
    history.mark('destroy')
    assert not any(health(fresh).values())
    assert not any(os.path.exists(fresh.doc['nodes'][n]['dir']) for n in fresh.nodes())
    assert not any(procs.alive(p) for p in pids)

    for node in fresh.nodes():  # new, empty machines under the same names
        fresh.cluster.start(node, wait=False)
    fresh.cluster.wait_ready(fresh.nodes(), timeout=60)
    wait_for(lambda: all_led(client, site), 60, what='Raft groups on the new machines')
    request = {'cluster_name': config['cluster_name'] + '-restored',
               'bootstrap_node': fresh.nodes(site)[0]}
    init = json_retrying(client, 'POST', '/v1/cluster/init', request, timeout=30)
    assert init['changed'] is True
    assert before.present(client) == set()  # an empty cluster

    restored = json_retrying(client, 'POST', '/v1/metadata/restore',
                             {'source': snapshot['location']}, timeout=120)
    assert restored['sha256'] == snapshot['sha256']
    assert restored['files'] == snapshot['manifest']['files']
    verified = before.verify(client)
    assert verified['intact'] == 12, verified  # content comes back from S3
    assert after.present(client) == set()  # not yet: they are younger than the snapshot

    replayed = json_retrying(client, 'POST', '/v1/metadata/replay-journal',
                             {'from_time': created}, timeout=120)
    assert replayed['replayed'] >= 6 and replayed['changed'] is True
    again = json_retrying(client, 'POST', '/v1/metadata/replay-journal',
                          {'from_time': created}, timeout=120)
    assert again['changed'] is False and again['replayed'] == 0
    live = client.post('/v1/metadata/restore', {'source': snapshot['location']}, timeout=60)
    assert live.status == 409 and live.error_code == 'refused_needs_confirmation'
    assert live.json['error']['details']['confirm_field'] == 'confirm_live_restore'

    report = client.json_ok('POST', '/v1/metadata/consistency-check', {'verbose': True},
                            timeout=60)
    assert report['consistent'], report['problems'][:5]
    result = check_set(history.ops, before.present(client) | after.present(client))
    path = save_history(history, 'total-loss')
    assert result['valid'], '%s (history %s)' % (explain(result), path)
    assert after.verify(client)['intact'] == 6
    assert_healthy(fresh, 'after the rebuild')
