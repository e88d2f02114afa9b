"""The history recorder, Jepsen's set checker and the Raft invariants, on known inputs."""

import json
import threading

import pytest

from cfscheck import raftinv
from cfscheck.history import History
from cfscheck.setcheck import check_set, explain


class FakeClock:
    def __init__(self):
        self.t = 0

    def __call__(self):
        self.t += 1
        return self.t


def test_history_records_outcomes_and_round_trips(tmp_path):
    history = History(seed=42, meta={'scenario': 'unit'}, clock=FakeClock())
    a = history.invoke(0, 'add', value=history.unique_value())
    b = history.invoke(1, 'add', value=history.unique_value())
    history.complete(a, 'ok')
    history.mark('kill', node='a1')
    history.close()  # b never completed: unknown
    assert a['invoke'] < a['complete'] and b['outcome'] == 'unknown'
    assert a['value'] != b['value'] and a['value'].startswith('v-42-')
    path = history.save(str(tmp_path / 'out' / 'h.json'))
    data = json.load(open(path))
    assert data['seed'] == 42 and data['meta'] == {'scenario': 'unit'}
    assert data['events'][0]['name'] == 'kill'
    again = History.load(path)
    assert again.ops == history.ops and again.seed == 42
    assert again.summary() == {'ok': 1, 'fail': 0, 'unknown': 1, 'total': 2, 'seed': 42}
    with pytest.raises(ValueError):
        history.complete(a, 'ok')
    with pytest.raises(ValueError):
        history.complete(history.invoke(0, 'add'), 'maybe')


def test_history_is_thread_safe():
    history = History(seed=1)

    def client(n):
        for unused in range(200):
            history.complete(history.invoke(n, 'add', value=history.unique_value()), 'ok')
    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(history.ops) == 800
    assert len({op['id'] for op in history.ops}) == 800
    assert len({op['value'] for op in history.ops}) == 800


def _ops(*spec):
    return [{'id': i, 'f': 'add', 'value': value, 'outcome': outcome}
            for i, (value, outcome) in enumerate(spec)]


def test_set_checker_classifies_like_jepsen():
    ops = _ops(('a', 'ok'), ('b', 'ok'), ('c', 'unknown'), ('d', 'unknown'), ('e', 'fail'),
               ('f', 'ok'))
    result = check_set(ops, present={'a', 'c', 'f', 'zz'})
    assert result['ok'] == ['a', 'f']
    assert result['lost'] == ['b']
    assert result['unexpected'] == ['zz']
    assert result['recovered'] == ['c']
    assert result['unknown_missing'] == ['d']
    assert result['failed_present'] == []
    assert result['valid'] is False
    assert 'lost 1 (b)' in explain(result)


def test_set_checker_all_present_is_valid():
    ops = _ops(('a', 'ok'), ('b', 'unknown'), ('c', 'fail'))
    result = check_set(ops, present={'a'})
    assert result['valid'] is True and result['lost'] == []


def test_set_checker_refused_write_present_is_invalid():
    result = check_set(_ops(('a', 'fail')), present={'a'})
    assert result['failed_present'] == ['a'] and result['valid'] is False


def test_set_checker_predicted_loss_is_allowed_but_only_that():
    ops = _ops(('a', 'ok'), ('b', 'ok'), ('c', 'ok'))
    result = check_set(ops, present={'a'}, predicted_loss={'b'})
    assert result['predicted_lost'] == ['b']
    assert result['lost'] == ['c'] and result['valid'] is False
    assert check_set(ops, present={'a'}, predicted_loss={'b', 'c'})['valid'] is True


def test_set_checker_retry_takes_best_outcome():
    ops = _ops(('a', 'unknown'), ('a', 'ok'))
    assert check_set(ops, present=set())['lost'] == ['a']


def S(t, observer, term, leader, commit, role=None, shard=0, epoch=0, inc=1, site='site-a'):
    return {'time': t, 'observer': observer, 'incarnation': inc, 'site': site, 'shard': shard,
            'epoch': epoch, 'term': term, 'leader': leader, 'role': role,
            'commit_index': commit}


def test_raft_two_leaders_in_one_term_is_a_violation():
    samples = [S(1, 'a1', 3, 'a1', 10, 'Leader'), S(1, 'a2', 3, 'a2', 10, 'Leader')]
    violations = raftinv.leader_uniqueness(samples)
    assert len(violations) == 1 and violations[0]['leaders'] == ['a1', 'a2']
    # Different terms, shards, sites or epochs are fine.
    samples = [S(1, 'a1', 3, 'a1', 10), S(2, 'a2', 4, 'a2', 11), S(2, 'a2', 3, 'a2', 1, shard=1),
               S(2, 'b2', 3, 'b2', 1, site='site-b'), S(3, 'a3', 3, 'a3', 0, epoch=1)]
    assert raftinv.leader_uniqueness(samples) == []


def test_raft_commit_index_must_not_go_backwards():
    samples = [S(1, 'a1', 3, 'a1', 10), S(2, 'a1', 3, 'a1', 12), S(3, 'a1', 4, 'a2', 11)]
    violations = raftinv.commit_monotonic(samples)
    assert len(violations) == 1 and violations[0]['from'] == 12
    # A restart (new incarnation) or a new epoch starts over.
    samples = [S(1, 'a1', 3, 'a1', 10), S(2, 'a1', 3, 'a1', 0, inc=2), S(3, 'a1', 1, 'a1', 0,
                                                                         epoch=1)]
    assert raftinv.commit_monotonic(samples) == []


def test_raft_old_leader_fenced_after_heal():
    before = [S(1, 'a1', 3, 'a1', 10, 'Leader'), S(1, 'a2', 3, 'a1', 10, 'Follower')]
    during = [S(5, 'a1', 3, 'a1', 10, 'Leader'), S(5, 'a2', 4, 'a2', 12, 'Leader'),
              S(5, 'a3', 4, 'a2', 12, 'Follower')]
    healed = [S(20, 'a1', 4, 'a2', 12, 'Follower'), S(20, 'a2', 4, 'a2', 13, 'Leader'),
              S(20, 'a3', 4, 'a2', 13, 'Follower')]
    result = raftinv.check(before + during + healed, heals=[10], grace=5)
    assert result['valid'] is True and result['leader_claims'] == 8
    stale = [S(20, 'a1', 3, 'a1', 10, 'Leader'), S(20, 'a2', 4, 'a2', 13, 'Leader')]
    result = raftinv.check(before + during + stale, heals=[10], grace=5)
    assert result['valid'] is False
    details = {v['detail'] for v in result['violations']}
    assert 'still claims leadership at a stale term' in details
    assert 'nodes disagree on the leader after the heal' in details


def test_raft_sample_normalises_a_shard_status():
    status = {'shard': 2, 'site': 'site-a', 'epoch': 0, 'leader': 'a2', 'term': 5,
              'commit_index': 9, 'has_quorum': True,
              'members': [{'node': 'a1', 'role': 'Follower', 'match_index': 9},
                          {'node': 'a2', 'role': 'Leader', 'match_index': 9}]}
    s = raftinv.sample('a1', status, time=3.0, incarnation=111)
    assert s == {'time': 3.0, 'observer': 'a1', 'incarnation': 111, 'site': 'site-a',
                 'shard': 2, 'epoch': 0, 'term': 5, 'leader': 'a2', 'role': 'Follower',
                 'commit_index': 9}
