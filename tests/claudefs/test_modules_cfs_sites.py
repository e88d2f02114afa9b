"""cfs_replication and cfs_s3 against the emulator, one module call at a time (issue 16).

The partitioned failover the site-loss playbook test does not reach: site-a cut off from
site-b but answering this host. The module must see that, refuse without the confirmation
(listing the very writes site-a acknowledged and could not ship), fence site-a (its writes
refused from then on), report those writes as the RPO, and after the heal merge them back
through sync and failback; re-runs change nothing.
"""

import pytest

from cfscheck.history import History
from cfscheck.workload import Files, write_file

from cfs_helpers import wait_for

pytestmark = pytest.mark.claudefs


def endpoints(em, site):
    return ['http://%s:%d' % (em.doc['nodes'][n]['address'], em.doc['admin_port'])
            for n in em.nodes(site)]


def test_partitioned_failover_fences_reports_rpo_and_merges_back(fresh, seed, run_module):
    em = fresh
    a_eps, b_eps = endpoints(em, 'site-a'), endpoints(em, 'site-b')
    conn = {'endpoints': b_eps + a_eps, 'token': em.doc['admin_token'], 'timeout': 5}
    a = em.client('a1', timeout=10)
    history = History(seed=seed, meta={'test': 'partitioned-failover-module'})
    files = Files(history, 'mod/sites/%d/base' % seed, seed=seed)
    assert set(files.write(a, 5)) == {'ok'}
    b = em.client('b1', timeout=10)
    wait_for(lambda: b.json_ok('GET', '/v1/replication')['lag_ops'] == 0, 20, what='zero lag')

    em.cluster.partition('site-a')
    wait_for(lambda: not [link for link in b.json_ok('GET', '/v1/replication')['links']
                          if link['source'] == 'site-a'][0]['source_reachable'], 30,
             what='site-b to lose site-a')
    cut_off = Files(history, 'mod/sites/%d/cut-off' % seed, seed=seed + 1)
    assert set(cut_off.write(a, 3, process=1)) == {'ok'}   # acknowledged by site-a only
    args = dict(conn, action='failover', source='site-a', target='site-b',
                source_endpoints=a_eps)

    planned = run_module('cfs_replication', args, check=True, diff=True)
    assert planned['situation'] == 'partitioned' and planned['changed'], planned
    assert planned['rpo']['known'] and planned['rpo']['ops'] >= 3
    assert set(cut_off.acknowledged()) <= {w['path'] for w in planned['rpo']['writes']}
    assert planned['diff']['after']['active_site'] == 'site-b'

    refused = run_module('cfs_replication', args)
    assert refused.get('failed') and 'confirm_data_loss' in refused['msg'], refused
    assert refused['changed'] is False
    assert b.json_ok('GET', '/v1/replication')['active_site'] == 'site-a'

    done = run_module('cfs_replication', dict(args, confirm_data_loss=True))
    assert done['changed'] and done['active_site'] == 'site-b', done
    assert done['rpo']['known'] and done['rpo']['ops'] >= 3 and done['rpo_seconds'] >= 0
    # The fence: site-a refuses writes although it still cannot hear site-b.
    outcome, response = write_file(a, history, 3, 'mod/sites/%d/after-fence' % seed, b'x')
    assert outcome == 'fail' and response.status == 409, response
    assert not run_module('cfs_replication', dict(args, confirm_data_loss=True))['changed']

    em.cluster.heal()
    synced = run_module('cfs_replication', dict(conn, action='sync', source='site-a',
                                                target='site-b'))
    assert not synced.get('failed') and synced['in_sync'], synced
    assert cut_off.present(b) >= set(cut_off.acknowledged())  # merged, not lost

    back_args = dict(conn, action='failback', target='site-a')
    dry = run_module('cfs_replication', back_args, check=True, diff=True)
    assert dry['changed'] and 'merge' in dry and dry['diff']['after']['active_site'] == 'site-a'
    run_module('cfs_replication', dict(conn, action='sync', source='site-b', target='site-a'))
    back = run_module('cfs_replication', back_args)
    assert back['changed'] and back['active_site'] == 'site-a', back
    assert not run_module('cfs_replication', back_args)['changed']
    assert set(files.write(a, 1, process=4)) == {'ok'}     # unblocked after the failback
    for group in (files, cut_off):
        for client in (a, b):
            verdict = group.verify(client)
            assert not verdict['missing'] and not verdict['corrupt'], verdict

    s3 = run_module('cfs_s3', conn)
    assert s3['healthy'] and s3['target'] == 'primary' and not s3['problems'], s3
    assert {r['name'] for r in s3['diagnosis']['endpoints']} == {'primary', 'backup'}
    same = run_module('cfs_s3', dict(conn, action='failover', target='primary'), diff=True)
    assert same['changed'] is False and same['drained'] is True, same
    bad = run_module('cfs_replication', dict(conn, action='conflicts', strategy='manual',
                                             choices=[{'inode': 1, 'winner': 'site-c'}]))
    assert bad.get('failed') and 'nothing was changed' in bad['msg'], bad
