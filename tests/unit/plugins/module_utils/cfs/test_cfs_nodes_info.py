# -*- coding: utf-8 -*-
"""module_utils/cfs/nodes.py and info.py over admin API responses (fixtures/cfs/README.md)."""

import json
import os

from ansible_collections.resilience.dr.plugins.module_utils.cfs import info, nodes, raft

FIX = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'fixtures', 'cfs')


def load(name):
    with open(os.path.join(FIX, name)) as f:
        return json.load(f)


def lost():
    return raft.views(load('contract_raft_status_site_a_majority_lost.json'))


def test_dead_node_that_was_ahead_holds_a_last_replica():
    views = lost()
    # a2 led shard 1 up to 41; the only reachable member a1 has 38
    assert nodes.last_replicas(views, 'a2') == [
        {'shard': 1, 'site': 'site-a', 'entries_only_here': 3, 'other_reachable_members': ['a1']}]
    # a3 is ahead of a1 nowhere (a1 has 40 and 42 where a3 has 40/42... and 40 < 41 in shard 1)
    assert [l['shard'] for l in nodes.last_replicas(views, 'a3')] == [1]
    assert nodes.last_replicas(views, 'b1') == []


def test_sole_reachable_member_is_a_last_replica():
    views = lost()
    last = nodes.last_replicas(views, 'a1')
    assert [l['shard'] for l in last] == [0, 1, 2]
    assert all(l['other_reachable_members'] == [] for l in last)


def test_healthy_cluster_has_no_last_replica_and_full_replication():
    views = raft.views(load('contract_raft_status_healthy.json'))
    assert all(nodes.last_replicas(views, n) == [] for n in ('a1', 'a2', 'a3', 'b1'))
    assert nodes.under_replicated(views) == []
    # one follower per shard is an entry behind: not caught up when no lag is allowed
    assert len(nodes.under_replicated(views, max_lag=0)) == 6
    assert nodes.under_replicated(views, factor=2, max_lag=0) == []
    assert [u['have'] for u in nodes.under_replicated(lost())] == [1, 1, 1]


def test_replicas_and_replacement():
    views = lost()
    assert [r['shard'] for r in nodes.replicas(views, 'a2')] == [0, 1, 2]
    assert not nodes.replacement_done(views, 'a2', 'a4')
    replaced = raft.views({'shards': [{'shard': 0, 'site': 'site-a', 'leader': 'a1',
                                       'commit_index': 9, 'has_quorum': True, 'members': [
                                           {'node': 'a1', 'role': 'Leader', 'match_index': 9},
                                           {'node': 'a4', 'role': 'Follower', 'match_index': 9}]}]})
    assert nodes.replacement_done(replaced, 'a2', 'a4')


def test_node_views_normalise():
    node_list = nodes.node_views(load('contract_nodes_a2_a3_dead.json'))
    assert [n['name'] for n in node_list] == ['a1', 'a2', 'a3', 'b1', 'b2', 'b3']
    assert nodes.find(node_list, 'a2')['swim_state'] == 'Dead'


def test_info_build_reports_problems_in_sentences():
    raw = {'status': {'cluster_name': 'cfsemu-77', 'epoch': 0, 'active_site': 'site-a',
                      'sites': [{'name': 'site-a', 'state': 'Degraded', 'active': True},
                                {'name': 'site-b', 'state': 'Normal', 'active': False}]},
           'shards': load('contract_raft_status_site_a_majority_lost.json'),
           'nodes': load('contract_nodes_a2_a3_dead.json'),
           'conflicts': {'conflicts': []}}
    errors = {'s3': {'code': 'unreachable', 'message': 'no endpoint answered', 'status': None,
                     'details': {}}}
    view = info.build(raw, errors)
    assert view['cluster'] == {'name': 'cfsemu-77', 'epoch': 0, 'active_site': 'site-a'}
    assert view['healthy'] is False
    assert 'node a2 is Dead' in view['problems']
    assert 'shard site-a/1 lost quorum (1 of 3 members reachable)' in view['problems']
    assert 'site site-a is Degraded' in view['problems']
    assert 's3 could not be read: no endpoint answered (unreachable)' in view['problems']
    assert view['shard_summary']['no_quorum'] == 3
    a1 = nodes.find(view['nodes'], 'a1')
    assert [r['shard'] for r in a1['replicas']] == [0, 1, 2]


def test_info_build_for_one_site_and_healthy():
    raw = {'status': {'sites': {'site-b': {'state': 'Normal'}}},
           'shards': load('contract_raft_status_healthy.json'),
           'nodes': {'nodes': [{'name': 'b1', 'site': 'site-b', 'swim_state': 'Alive'}]}}
    view = info.build(raw, {}, site='site-b')
    assert view['healthy'] is True and view['problems'] == []
    assert {v['site'] for v in view['shards']} == {'site-b'}


def test_info_files_and_snapshots_sections_only_when_asked():
    raw = {'files': load('emulator_drill_live_get_files.json'),
           'snapshots': load('emulator_drill_live_get_metadata_snapshots.json')}
    view = info.build(raw, {})
    assert len(view['files']) == 10 and view['files_unavailable_shards'] == []
    assert {f['path'] for f in view['files']} >= {'d/new1', 'd/f3'}
    assert [s['location'] for s in view['snapshots']] == [
        s['location'] for s in reversed(raw['snapshots']['snapshots'])]
    assert 'files' not in info.build({}, {}) and 'snapshots' not in info.build({}, {})
    partial = info.build({'files': {'files': [], 'unavailable_shards': [2, 5]}}, {})
    assert 'the file listing misses shard(s) 2, 5 (no member answered)' in partial['problems']


def test_info_gather_asks_for_the_files_of_a_site_only():
    class Client:
        def __init__(self):
            self.calls = []

        def call(self, operation, query=None):
            self.calls.append((operation, query))
            return {}
    client = Client()
    info.gather(client, ['status', 'files', 'snapshots'], site='site-b')
    assert client.calls == [('status', None), ('fileList', {'site': 'site-b'}),
                            ('metadataSnapshotList', None)]
