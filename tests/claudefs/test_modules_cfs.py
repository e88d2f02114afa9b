"""The cfs_* modules against the emulator, one module call at a time (issue 15).

Run through ``ansible`` (the ``run_module`` fixture), so argument specs, check mode, diff
mode and no_log are exercised as in a playbook.  Each test brings up its own cluster.
"""

import pytest

from cfs_helpers import shard_table, wait_for

pytestmark = pytest.mark.claudefs


def conn(em, first=None):
    """Connection options: every node's endpoint, optionally a dead one first."""
    endpoints = ['http://%s:%d' % (em.doc['nodes'][n]['address'], em.doc['admin_port'])
                 for n in sorted(em.doc['nodes'])]
    if first:
        endpoints.insert(0, first)
    return {'endpoints': endpoints, 'token': em.doc['admin_token'], 'timeout': 5}


def site_state(em, node='a1', site='site-a'):
    return {shard: (s['epoch'], tuple(sorted(m['node'] for m in s['members'])), s['has_quorum'])
            for (s_site, shard), s in shard_table(em.client(node), site).items() if s_site == site}


def swim(em, node='a1'):
    return {n['name']: n['swim'] for n in em.client(node).json_ok('GET', '/v1/status')['nodes']}


def majority_lost(em):
    """a2 and a3 SIGKILLed, until raft shows no quorum and SWIM has declared them Dead."""
    em.cluster.kill('a2')
    em.cluster.kill('a3')
    wait_for(lambda: not any(q for _e, _m, q in site_state(em).values()), 30, 0.2,
             'site-a without quorum')
    wait_for(lambda: swim(em)['a2'] == swim(em)['a3'] == 'Dead', 30, 0.2, 'a2, a3 SWIM Dead')


def test_info_reads_everything_and_fails_over(fresh, run_module):
    em = fresh
    # the first endpoint refuses connections (nothing listens there): the next one answers
    result = run_module('cfs_info', conn(em, first='http://127.0.0.1:9'))
    assert not result.failed, result.get('msg')
    assert result['cluster']['active_site'] == 'site-a'
    assert result['shard_summary']['healthy'] == result['shard_summary']['shards'] == 16
    assert {n['swim_state'] for n in result['nodes']} == {'Alive'}
    assert result['api_calls'][0]['attempts'] == 2
    assert em.doc['admin_token'] not in result['_stdout']

    bad = run_module('cfs_info', dict(conn(em), token='not-the-admin-token'))
    assert bad.failed and 'unauthorized' in bad['msg']
    assert 'not-the-admin-token' not in bad['_stdout']


def test_force_leader_refused_planned_applied_verified(fresh, run_module):
    em = fresh
    majority_lost(em)
    before = site_state(em)

    healthy = run_module('cfs_raft', dict(conn(em), site='site-a', state='healthy'))
    assert healthy.failed and healthy['refused'] and healthy['option'] == 'force_leader'
    assert len(healthy['force_leader_plan']) == 8

    refused = run_module('cfs_raft', dict(conn(em), site='site-a',
                                          force_leader='most-up-to-date'))
    assert refused.failed and refused['refused'] and refused['option'] == 'allow_data_loss'
    assert 'allow_data_loss' in refused['msg'] and 'committed entries' in refused['msg']
    assert site_state(em) == before

    plan = run_module('cfs_raft', dict(conn(em), site='site-a',
                                       force_leader='most-up-to-date'), check=True, diff=True)
    assert not plan.failed and plan['changed'] and plan['plan_id']
    assert plan['requires'] == 'allow_data_loss'
    assert {e['chosen'] for e in plan['force_leader_plan']} == {'a1'}
    assert all(sorted(e['fenced_members']) == ['a2', 'a3'] for e in plan['force_leader_plan'])
    assert site_state(em) == before

    applied = run_module('cfs_raft', dict(conn(em), site='site-a', force_leader='most-up-to-date',
                                          allow_data_loss=True, plan_id=plan['plan_id']),
                         diff=True)
    assert not applied.failed, applied.get('msg')
    assert applied['changed'] and applied['applied']['plan_id'] == plan['plan_id']
    assert applied['summary']['healthy'] == 8
    assert applied['diff']['after']['site-a/0']['condition'] == 'healthy'
    after = site_state(em)
    assert all(q and e > before[k][0] and m == ('a1',) for k, (e, m, q) in after.items())

    again = run_module('cfs_raft', dict(conn(em), site='site-a', force_leader='most-up-to-date',
                                        allow_data_loss=True, plan_id=plan['plan_id']))
    assert not again.failed and not again['changed']


def test_node_removal_of_the_last_live_replica_is_refused(fresh, run_module):
    em = fresh
    majority_lost(em)
    before = site_state(em)
    result = run_module('cfs_node', dict(conn(em), name='a1', state='absent'))
    assert result.failed and result['refused'] and result['option'] == 'allow_data_loss'
    assert 'last up-to-date replica' in result['msg']
    assert len(result['last_replicas']) == 8
    assert site_state(em) == before

    planned = run_module('cfs_node', dict(conn(em), name='b1', state='absent'), check=True)
    assert not planned.failed and planned['changed']
    assert [s['step'].split(' (')[0] for s in planned['plan']] == [
        'POST /v1/nodes/b1/drain', 'DELETE /v1/nodes/b1']


def test_leader_transfer_moves_leadership_off_a_node(fresh, run_module):
    em = fresh
    led_by_a1 = [shard for (site, shard), s in shard_table(em.client('a2'), 'site-a').items()
                 if site == 'site-a' and s['leader'] == 'a1']
    args = dict(conn(em), site='site-a', leader_transfer={'from': 'a1'})
    moved = run_module('cfs_raft', args)
    assert not moved.failed, moved.get('msg')
    assert moved['changed'] == bool(led_by_a1)
    assert not [s for s in moved['shards'] if s['leader'] == 'a1']
    again = run_module('cfs_raft', args)
    assert not again.failed and not again['changed']


def test_metadata_check_repair_snapshot_and_live_restore_refusal(
        fresh, run_module, seed, tmp_path):
    from cfscheck.history import History
    from cfscheck.workload import Files

    em = fresh
    files = Files(History(seed=seed), 'dr/meta', seed=seed)
    assert set(files.write(em.client('a1'), 20)) == {'ok'}
    check = run_module('cfs_metadata', dict(conn(em), action='check'))
    assert not check.failed and check['consistent'], check.get('report')

    em.cluster.corrupt('a2', 3, seed)
    found = run_module('cfs_metadata', dict(conn(em), action='check', fail_on_problems=True))
    assert found.failed and not found['consistent'] and found['report']['problems']

    refused = run_module('cfs_metadata', dict(conn(em), action='repair'))
    assert refused.failed and refused['refused'] and refused['option'] == 'allow_repair'
    planned = run_module('cfs_metadata', dict(conn(em), action='repair'), check=True)
    assert not planned.failed and planned['changed'] and planned['would_repair']
    repaired = run_module('cfs_metadata', dict(conn(em), action='repair', allow_repair=True))
    assert not repaired.failed and repaired['changed'] and repaired['consistent'], repaired
    again = run_module('cfs_metadata', dict(conn(em), action='repair', allow_repair=True))
    assert not again.failed and not again['changed']
    assert files.verify(em.client('a2'))['intact'] == 20

    archive = str(tmp_path / 'metadata.tar.gz')
    snap = run_module('cfs_metadata', dict(conn(em), action='snapshot',
                                           destination='file://' + archive))
    assert not snap.failed, snap.get('msg')
    assert snap['snapshot']['verified_manifest']['files'] >= 20

    restore = run_module('cfs_metadata', dict(conn(em), action='restore',
                                              source='file://' + archive))
    assert restore.failed and restore['refused'] and restore['option'] == 'allow_live_restore'
    assert restore['live_files'] >= 20
    assert files.verify(em.client('a1'))['intact'] == 20
