# -*- coding: utf-8 -*-
"""The planners over responses captured from the emulator (capture.py; fixtures/cfs/README.md).

emulator_healthy_*        6 nodes, 8 shards per site, every shard led
emulator_a2a3dead_*       a2 and a3 SIGKILLed, 8 s later (SWIM Dead), with the cluster's plan
emulator_stuck_after_nodeadd_*  after force-leader from a1 and nodeAdd a4: the emulator bug
                          where a1 never joined the epoch-2 groups (alive but unreachable)
"""

import json
import os

import pytest

from ansible_collections.resilience.dr.plugins.module_utils.cfs import info, nodes, raft
from ansible_collections.resilience.dr.plugins.module_utils.cfs.raft import PlanningError
from ansible_collections.resilience.dr.plugins.module_utils.cfs.raft_manager import RaftManager

FIX = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'fixtures', 'cfs')


def load(name):
    with open(os.path.join(FIX, name)) as f:
        return json.load(f)


def test_healthy_emulator():
    views = raft.views(load('emulator_healthy_get_raft_shards.json'))
    assert len(views) == 16
    assert raft.summary(views)['healthy'] == 16
    node_list = nodes.node_views(load('emulator_healthy_get_nodes.json'))
    assert [n['swim_state'] for n in node_list] == ['Alive'] * 6
    view = info.build({'status': load('emulator_healthy_get_status.json'),
                       'shards': load('emulator_healthy_get_raft_shards.json'),
                       'nodes': load('emulator_healthy_get_nodes.json')}, {})
    assert view['healthy'] is True, view['problems']
    assert view['cluster']['active_site'] == 'site-a'


def test_majority_loss_as_the_emulator_reports_it():
    views = raft.views(load('emulator_a2a3dead_get_raft_shards.json'))
    groups = raft.by_condition(views)
    assert len(groups['no_quorum']) == 8 and all(g.startswith('site-a/') for g in groups['no_quorum'])
    assert len(groups['healthy']) == 8
    # a dead leader is reported as the last known one, never as a usable leader
    zero = [v for v in views if v['site'] == 'site-a' and v['shard'] == 0][0]
    assert zero['last_known_leader'] == 'a3' and zero['leader'] is None
    local = raft.force_leader_plan(views)
    assert {e['chosen'] for e in local} == {'a1'}
    assert all(e['fenced_members'] == ['a2', 'a3'] for e in local)
    server = raft.normalize_server_plan(load('emulator_a2a3dead_post_raft_force-leader_plan.json'))
    assert raft.plan_disagreements(local, [e for e in server if not e['has_quorum']]) == []
    assert [e['predicted_loss_entries'] for e in server] == [e['predicted_loss_entries']
                                                             for e in local]
    assert nodes.find(nodes.node_views(load('emulator_a2a3dead_get_nodes.json')),
                      'a2')['swim_state'] == 'Dead'


class Replay:
    def __init__(self, **answers):
        self.answers = answers
        self.asked = []

    def call(self, operation, body=None, **kw):
        self.asked.append(operation)
        return self.answers[operation]


def test_a_member_alive_but_stuck_at_the_old_epoch_is_not_fenced():
    views = raft.views(load('emulator_stuck_after_nodeadd_get_raft_shards.json'), 'site-a')
    assert {v['condition'] for v in views} == {'no_quorum'}
    c = Replay(raftStatus=load('emulator_stuck_after_nodeadd_get_raft_shards.json'),
               nodeList=load('emulator_a2a3dead_get_nodes.json'))
    with pytest.raises(PlanningError, match='SWIM reports Alive.*a1'):
        RaftManager(c, check_mode=True).force_leader('all', 'site-a', 'most-up-to-date', True,
                                                     None, 5)
    assert 'raftForceLeaderPlan' not in c.asked
