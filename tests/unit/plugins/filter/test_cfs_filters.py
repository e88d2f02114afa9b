# -*- coding: utf-8 -*-
"""plugins/filter/cfs.py: the sentences and the shortfall list the ClaudeFS roles print."""

from ansible_collections.resilience.dr.plugins.filter import cfs


def test_plan_line():
    entry = {'site': 'site-a', 'shard': 1, 'chosen': 'a1', 'reason': 'highest match index 40',
             'predicted_loss_entries': 3, 'fenced_members': ['a2', 'a3']}
    assert cfs.cfs_plan_line(entry) == ('shard site-a/1: rebuild from a1 (highest match index 40)'
                                        ' - up to 3 committed entries lost; fence a2, a3')
    assert cfs.cfs_plan_line(dict(entry, fenced_members=[])).endswith('fence nobody')


def test_short_of():
    shards = [{'site': 's', 'shard': 0, 'condition': 'healthy',
               'members': [{'reachable': True}] * 3},
              {'site': 's', 'shard': 1, 'condition': 'healthy',
               'members': [{'reachable': True}, {'reachable': False}, {'reachable': True}]},
              {'site': 's', 'shard': 2, 'condition': 'no_quorum', 'members': [{'reachable': True}]}]
    assert cfs.cfs_short_of(shards, 3) == ['s/1 (healthy, 2 of 3 reachable)',
                                           's/2 (no_quorum, 1 of 3 reachable)']
    assert cfs.cfs_short_of(shards, 2) == ['s/2 (no_quorum, 1 of 2 reachable)']
    assert sorted(cfs.FilterModule().filters()) == ['cfs_plan_line', 'cfs_short_of']
