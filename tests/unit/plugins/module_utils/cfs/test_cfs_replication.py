# -*- coding: utf-8 -*-
"""cfs_replication's planner and manager over answers in the emulator's shapes.

The shapes (links, unreplicated entries, file versions, conflicts) are those the emulator
answered on 2026-12-01 (tests/claudefs/test_playbooks_sites.py runs the same code
against it); the point here is the decisions: situation, RPO, refusals before any change,
idempotent conflict choices, the failback blockers.
"""

import pytest

from ansible_collections.resilience.dr.plugins.module_utils.runner import Refusal
from ansible_collections.resilience.dr.plugins.module_utils.cfs import replication as rp
from ansible_collections.resilience.dr.plugins.module_utils.cfs.raft import PlanningError
from ansible_collections.resilience.dr.plugins.module_utils.cfs.replication_manager import (
    ReplicationManager)

NOW = 1796094716.0


def status(active='site-a', a_to_b=0, b_to_a=0, a_known=True, b_known=True, unreplicated=()):
    return {'active_site': active, 'state': 'Normal', 'lag_ops': a_to_b, 'lag_seconds': 0.0,
            'failover': {'state': 'none'},
            'links': [{'source': 'site-a', 'target': 'site-b', 'lag_ops': a_to_b,
                       'lag_seconds': 2.5 if a_to_b else 0.0, 'reachable': a_known,
                       'source_reachable': a_known, 'unreplicated': list(unreplicated)},
                      {'source': 'site-b', 'target': 'site-a', 'lag_ops': b_to_a,
                       'lag_seconds': 0.0, 'reachable': b_known, 'source_reachable': b_known,
                       'unreplicated': []}]}


def version(shard, ts, site='site-a', path=None):
    return {'path': path or 'f%d-%s' % (shard, ts), 'shard': shard, 'site': site,
            'timestamp': ts, 'seq': 1}


def conflict(inode, a_ts, b_ts, resolved=False, winner=None, a_seq=3, b_seq=4):
    return {'id': '%d-site-b-1' % inode, 'inode': inode, 'path': 'p%d' % inode, 'shard': 1,
            'type': 'SplitBrain', 'resolved': resolved, 'winner': winner, 'resolution': None,
            'sites': {'site-a': {'timestamp': a_ts, 'seq': a_seq, 'sha256': 'aa'},
                      'site-b': {'timestamp': b_ts, 'seq': b_seq, 'sha256': 'bb'}}}


# -- planner -------------------------------------------------------------------------------
@pytest.mark.parametrize('heard,here,kind', [
    (True, True, rp.PLANNED), (False, True, rp.PARTITIONED), (False, False, rp.GONE),
    (True, False, rp.CUT_OFF_FROM_US)])
def test_situation_from_who_reaches_the_source(heard, here, kind):
    got, why = rp.situation(status(a_known=heard), 'site-a', 'site-b', here)
    assert got == kind and 'site-a' in why


def test_rpo_known_counts_and_ages_the_unshipped_writes():
    writes = [{'shard': 1, 'seq': 7, 'path': 'x', 'timestamp': NOW - 4.0},
              {'shard': 2, 'seq': 3, 'path': 'y', 'timestamp': NOW - 1.0}]
    rpo = rp.rpo_known(rp.link(status(a_to_b=2, unreplicated=writes), 'site-a', 'site-b'), NOW)
    assert rpo['known'] and rpo['ops'] == 2 and rpo['age_seconds'] == 4.0
    assert [w['path'] for w in rpo['writes']] == ['x', 'y']
    assert '2 acknowledged write(s)' in rp.loss_sentence(rpo, 'site-a')
    zero = rp.rpo_known(rp.link(status(), 'site-a', 'site-b'), NOW)
    assert zero['ops'] == 0 and zero['age_seconds'] == 0.0


def test_rpo_bound_is_the_oldest_newest_write_over_every_shard():
    files = [version(0, NOW - 9), version(0, NOW - 2), version(1, NOW - 3),
             version(1, NOW - 1, site='site-b')]   # site-b's own writes say nothing
    rpo = rp.rpo_bound(files, 'site-a', NOW, shards=2)
    assert not rpo['known'] and rpo['ops'] is None
    assert rpo['max_age_seconds'] == 3.0 and rpo['last_replicated_at'] == NOW - 3


def test_rpo_bound_refuses_to_bound_a_shard_it_has_nothing_of():
    rpo = rp.rpo_bound([version(0, NOW - 2)], 'site-a', NOW, shards=3)
    assert rpo['max_age_seconds'] is None and rpo['shards_without_bound'] == [1, 2]
    assert rpo['max_age_seconds_seen_shards'] == 2.0
    assert 'any number' in rp.loss_sentence(rpo, 'site-a')


def test_lww_side_timestamp_then_seq_and_ties():
    assert rp.lww_side(conflict(1, 10.0, 11.0)) == 'site-b'
    assert rp.lww_side(conflict(1, 12.0, 11.0)) == 'site-a'
    assert rp.lww_side(conflict(1, 11.0, 11.0, a_seq=5, b_seq=4)) == 'site-a'
    assert rp.lww_side(conflict(1, 11.0, 11.0, a_seq=4, b_seq=4)) is None


def test_manual_choices_validated_and_idempotent():
    items = [conflict(5, 1.0, 2.0), conflict(6, 1.0, 2.0, resolved=True, winner='site-a')]
    assert rp.normalize_choices({'6': 'site-a', 5: 'site-b'}) == [(5, 'site-b'), (6, 'site-a')]
    todo, done, errors = rp.plan_manual(items, [(5, 'site-a'), (6, 'site-a')],
                                        ['site-a', 'site-b'])
    assert [c['inode'] for c in todo] == [5] and [c['inode'] for c in done] == [6]
    assert not errors
    errors = rp.plan_manual(items, [(7, 'site-a'), (5, 'site-c')], ['site-a', 'site-b'])[2]
    assert len(errors) == 2
    with pytest.raises(PlanningError):
        rp.normalize_choices([{'inode': 5, 'winner': 'site-a'}, {'inode': 5, 'winner': 'site-b'}])
    with pytest.raises(PlanningError):
        rp.normalize_choices([{'inode': 'five', 'winner': 'site-a'}])


def test_failback_diff_blocks_on_lag_unknown_links_and_ties():
    diff = rp.failback_diff(status('site-b', b_to_a=3), [], 'site-b', 'site-a')
    assert any('3 operation(s)' in b and 'action=sync source=site-b' in b
               for b in diff['blockers'])
    diff = rp.failback_diff(status('site-b', a_known=False), [], 'site-b', 'site-a')
    assert any('cannot be asked' in b for b in diff['blockers'])
    tie = conflict(9, 5.0, 5.0, a_seq=2, b_seq=2)
    diff = rp.failback_diff(status('site-b'), [tie, conflict(8, 1.0, 2.0)], 'site-b', 'site-a')
    assert [t['inode'] for t in diff['conflicts_tied']] == [9]
    assert diff['conflicts_lww'][0]['winner'] == 'site-b'
    assert list(diff['conflicts_lww'][0]['overwrites']) == ['site-a']
    assert len(diff['conflict_log']) == 2


# -- manager: refusals before any change ------------------------------------------------------
class Fake:
    """Answers reads from a table and records every call; mutating calls are listed apart."""
    WRITES = ('failover', 'failoverPrepare', 'failback', 'conflictsResolve', 'replicationSync')

    def __init__(self, **answers):
        answers.setdefault('failoverTest', {'ok': True, 'checks': [
            {'name': 'target_has_quorum', 'ok': True}]})
        self.answers = answers
        self.calls = []

    def call(self, operation, body=None, query=None, **_):
        self.calls.append((operation, body))
        answer = self.answers[operation]
        return answer(body) if callable(answer) else answer

    @property
    def writes(self):
        return [c for c in self.calls if c[0] in self.WRITES]


class NoProbe:
    def __call__(self, endpoints):
        return []


def test_failover_after_site_loss_refused_without_confirmation_and_nothing_sent():
    fake = Fake(replicationStatus=status(a_known=False), status={'shards': 1},
                fileList={'files': [version(0, NOW - 5)]})
    manager = ReplicationManager(fake, probe=NoProbe(), clock=lambda: NOW)
    with pytest.raises(Refusal) as refused:
        manager.failover('site-a', 'site-b', ['http://a1'], False, 5)
    assert 'confirm_data_loss' in str(refused.value) and '5.0 s' in str(refused.value)
    assert refused.value.details['would_lose'] == [{'site': 'site-a', 'unknown': True}]
    assert fake.writes == []


def test_failover_check_mode_plans_the_confirmed_promotion_only():
    fake = Fake(replicationStatus=status(a_known=False), status={'shards': 1},
                fileList={'files': [version(0, NOW - 5)]})
    result = ReplicationManager(fake, check_mode=True, probe=NoProbe(),
                                clock=lambda: NOW).failover('site-a', 'site-b', [], False, 5)
    assert result['changed'] and fake.writes == []
    assert result['plan'][0]['destructive'] and 'confirm_data_loss=true' in result['plan'][0]['step']
    assert result['diff']['after']['active_site'] == 'site-b'


def test_failover_refused_when_only_this_host_lost_the_source():
    fake = Fake(replicationStatus=status(a_known=True))
    with pytest.raises(Refusal) as refused:
        ReplicationManager(fake, probe=NoProbe()).failover('site-a', 'site-b', ['x'], True, 5)
    assert 'two active sites' in str(refused.value) and fake.writes == []


def test_failover_refused_before_any_change_when_the_target_has_no_quorum():
    fake = Fake(replicationStatus=status(a_known=True), failoverTest={'ok': False, 'checks': [
        {'name': 'target_has_quorum', 'ok': False, 'detail': 'shards without quorum: [0]'}]})
    with pytest.raises(PlanningError) as refused:
        ReplicationManager(fake, probe=NoProbe()).failover('site-a', 'site-b', [], True, 5)
    assert 'shards without quorum: [0]' in str(refused.value) and fake.writes == []


def test_failover_to_the_active_site_changes_nothing():
    fake = Fake(replicationStatus=status(active='site-b'))
    result = ReplicationManager(fake).failover('site-a', 'site-b', [], False, 5)
    assert result['changed'] is False and fake.writes == []


def test_failback_refused_while_lag_is_not_zero():
    fake = Fake(replicationStatus=dict(status('site-b', b_to_a=4), failover={'state': 'failover'}),
                conflictsList={'conflicts': [], 'unresolved': 0})
    with pytest.raises(Refusal) as refused:
        ReplicationManager(fake).failback('site-b', 'site-a', 5)
    assert 'site-b has 4 operation(s)' in str(refused.value)
    assert refused.value.details['lag_not_zero'] is True and fake.writes == []


def test_failback_resolves_lww_then_switches():
    state = {'active': 'site-b'}

    def failback(body):
        state['active'] = body['to']
        return {'active_site': body['to'], 'changed': True}
    fake = Fake(replicationStatus=lambda _: dict(status(state['active']),
                                                 failover={'state': 'failover'}),
                conflictsList={'conflicts': [conflict(8, 1.0, 2.0)], 'unresolved': 1},
                conflictsResolve={'changed': True, 'resolved': []}, failback=failback)
    result = ReplicationManager(fake, sleep=lambda s: None).failback(None, None, 5)
    assert [c[0] for c in fake.writes] == ['conflictsResolve', 'failback']
    assert result['active_site'] == 'site-a' and result['diff']['before']['active_site'] == 'site-b'


def test_conflicts_manual_sends_only_what_changes():
    items = [conflict(5, 1.0, 2.0), conflict(6, 1.0, 2.0, resolved=True, winner='site-a')]
    fake = Fake(conflictsList={'conflicts': items, 'unresolved': 1},
                conflictsResolve={'changed': True, 'resolved': [items[0]]})
    result = ReplicationManager(fake).conflicts('manual', [{'inode': 5, 'winner': 'site-a'},
                                                           {'inode': 6, 'winner': 'site-a'}])
    assert fake.writes == [('conflictsResolve', {'strategy': 'manual', 'choices': [
        {'inode': 5, 'winner': 'site-a'}]})]
    assert result['planned']['already'][0]['inode'] == 6
    fake2 = Fake(conflictsList={'conflicts': [dict(items[0], resolved=True, winner='site-a'),
                                              items[1]], 'unresolved': 0})
    again = ReplicationManager(fake2).conflicts('manual', {5: 'site-a', 6: 'site-a'})
    assert again['changed'] is False and fake2.writes == []


def test_site_loss_rpo_reads_the_listing_again_while_shards_are_unavailable():
    listings = iter([{'files': [], 'unavailable_shards': [0, 1]},
                     {'files': [version(0, NOW - 4), version(1, NOW - 2)],
                      'unavailable_shards': []}])
    fake = Fake(replicationStatus=status(a_known=False), status={'shards': 2},
                fileList=lambda body: next(listings))
    result = ReplicationManager(fake, check_mode=True, probe=NoProbe(), clock=lambda: NOW,
                                sleep=lambda s: None).failover('site-a', 'site-b', [], False, 5)
    assert result['rpo']['max_age_seconds'] == 4.0
    assert result['rpo']['listing'] == {'files': 2, 'unavailable_shards': []}
