# -*- coding: utf-8 -*-
"""module_utils/cfs/raft.py over raft-status responses (tests/unit/fixtures/cfs/README.md)."""

import json
import os

import pytest

from ansible_collections.resilience.dr.plugins.module_utils.cfs import raft

FIX = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'fixtures', 'cfs')


def load(name):
    with open(os.path.join(FIX, name)) as f:
        return json.load(f)


def test_healthy_cluster_every_shard_led():
    views = raft.views(load('contract_raft_status_healthy.json'))
    assert len(views) == 6
    assert raft.by_condition(views) == {
        'healthy': ['site-a/0', 'site-a/1', 'site-a/2', 'site-b/0', 'site-b/1', 'site-b/2'],
        'electing': [], 'no_quorum': []}
    assert raft.force_leader_plan(views) == []
    s = raft.summary(views)
    assert (s['healthy'], s['no_quorum'], s['max_lag']) == (6, 0, 1)


def test_members_carry_roles_and_lag():
    view = raft.views(load('contract_raft_status_healthy.json'), site='site-a')[1]
    assert view['leader'] == 'a2' and view['commit_index'] == 41
    lags = dict((m['node'], (m['role'], m['lag'])) for m in view['members'])
    assert lags == {'a1': ('Follower', 0), 'a2': ('Leader', 0), 'a3': ('Follower', 1)}


def test_killed_leader_leaves_one_shard_electing():
    views = raft.views(load('contract_raft_status_electing.json'), site='site-a')
    groups = raft.by_condition(views)
    assert groups['electing'] == ['site-a/0']
    assert groups['healthy'] == ['site-a/1', 'site-a/2'] and groups['no_quorum'] == []
    assert views[0]['reachable_members'] == 2


def test_majority_loss_plans_a1_and_predicts_the_loss():
    views = raft.views(load('contract_raft_status_site_a_majority_lost.json'))
    assert raft.by_condition(views)['no_quorum'] == ['site-a/0', 'site-a/1', 'site-a/2']
    plan = raft.force_leader_plan(views)
    assert [(e['shard'], e['chosen'], e['predicted_loss_entries']) for e in plan] == [
        (0, 'a1', 0), (1, 'a1', 3), (2, 'a1', 0)]
    assert all(e['fenced_members'] == ['a2', 'a3'] for e in plan)
    assert 'only reachable member' in plan[1]['reason']
    # site-b keeps its quorum and is never part of a force-leader
    assert all(e['site'] == 'site-a' for e in plan)


def test_most_up_to_date_picks_highest_match_and_ties_by_name():
    view = raft.shard_view({'shard': 5, 'site': 's', 'leader': None, 'term': 2,
                            'commit_index': 10, 'has_quorum': False, 'members': [
                                {'node': 'n3', 'role': 'Follower', 'match_index': 9,
                                 'reachable': True},
                                {'node': 'n2', 'role': 'Follower', 'match_index': 9,
                                 'reachable': True},
                                {'node': 'n1', 'role': 'Follower', 'match_index': 10,
                                 'reachable': False}]})
    node, reason, loss = raft.choose_survivor(view)
    assert (node, loss) == ('n2', 1)
    assert 'n3: 9' in reason
    node, reason, loss = raft.choose_survivor(view, 'n3')
    assert (node, loss) == ('n3', 1) and reason == 'chosen by the operator'


def test_named_survivor_must_be_a_reachable_member():
    views = raft.views(load('contract_raft_status_site_a_majority_lost.json'), site='site-a')
    with pytest.raises(raft.PlanningError, match='a2 is a member of shard 0 but not reachable'):
        raft.force_leader_plan(views, 'a2')
    with pytest.raises(raft.PlanningError, match='b1 is not a member of shard 0'):
        raft.force_leader_plan(views, 'b1')


def test_no_reachable_member_points_to_a_snapshot_restore():
    view = raft.shard_view({'shard': 1, 'site': 's', 'has_quorum': False, 'members': [
        {'node': 'x', 'role': 'Follower', 'match_index': 3, 'reachable': False}]})
    with pytest.raises(raft.PlanningError, match='cfs_metadata'):
        raft.choose_survivor(view)


def test_select_all_and_unknown_shards():
    views = raft.views(load('contract_raft_status_healthy.json'), site='site-b')
    assert len(raft.select(views, 'all')) == 3
    assert [v['shard'] for v in raft.select(views, [2])] == [2]
    with pytest.raises(raft.PlanningError, match='unknown shard.*7'):
        raft.select(views, [7])


def test_server_plan_agrees_with_local_reading():
    views = raft.views(load('contract_raft_status_site_a_majority_lost.json'))
    local = raft.force_leader_plan(views)
    server = raft.normalize_server_plan(load('contract_force_leader_plan.json'))
    assert [(e['shard'], e['chosen'], e['predicted_loss_entries']) for e in server] == [
        (e['shard'], e['chosen'], e['predicted_loss_entries']) for e in local]
    assert raft.plan_disagreements(local, server) == []
    server[1]['chosen'] = 'a3'
    assert raft.plan_disagreements(local, server) == [
        'shard site-a/1: server chose a3, local reading a1']


def test_loss_summary_names_survivor_and_fenced_members():
    views = raft.views(load('contract_raft_status_site_a_majority_lost.json'))
    text = raft.loss_summary(raft.force_leader_plan(views))
    assert 'shard site-a/1: up to 3 committed entries (survivor a1, fencing a2, a3)' in text


def test_transfer_moves_only_shards_led_by_the_node():
    views = raft.views(load('contract_raft_status_healthy.json'), site='site-a')
    moves = raft.transfer_plan(views, 'a2')
    assert [(v['site'], v['shard'], t, r) for v, t, r in moves] == [
        ('site-a', 1, 'a1', 'reachable follower with the smallest lag (0)')]
    assert [(v['shard'], t) for v, t, r in raft.transfer_plan(views, 'a2', 'a3')] == [(1, 'a3')]
    with pytest.raises(raft.PlanningError, match='b1 is not a reachable member of shard 1'):
        raft.transfer_plan(views, 'a2', 'b1')
    assert raft.transfer_plan(views, 'b1') == []
