"""Force-leader planning: the loss predicted per survivor and the choice of leader."""

from cfsemu import plan


def test_predicted_loss_is_last_known_leader_commit_minus_survivor_commit():
    out = plan.survivor_loss(120, 57, {'node': 'a3', 'commit_index': 112, 'last_seq': 50})
    assert out['predicted_loss_entries'] == 8
    assert out['predicted_loss_seq_range'] == [51, 57]


def test_a_survivor_ahead_of_the_last_report_predicts_no_loss():
    out = plan.survivor_loss(10, 4, {'node': 'a3', 'commit_index': 12, 'last_seq': 6})
    assert out['predicted_loss_entries'] == 0
    assert out['predicted_loss_seq_range'] == [7, 6]      # empty range


def test_last_known_takes_the_maximum_over_every_report():
    reports = [{'commit_index': 10, 'leader_commit_index': 14, 'last_seq': 7, 'leader': None},
               {'commit_index': 12, 'leader_commit_index': 0, 'last_seq': 9, 'leader': 'a1'}]
    assert plan.last_known(reports) == (14, 9, 'a1')


def test_most_up_to_date_survivor_is_chosen_unless_one_is_named():
    survivors = [{'node': 'a2', 'commit_index': 9, 'last_seq': 4},
                 {'node': 'a3', 'commit_index': 11, 'last_seq': 5}]
    assert plan.choose(survivors, 'most-up-to-date')[0] == 'a3'
    assert plan.choose(survivors, 'a2')[0] == 'a2'
    chosen, reason = plan.choose(survivors, 'a1')
    assert chosen is None and 'not a live member' in reason
    assert plan.choose([], None)[0] is None


def test_a_shard_with_quorum_is_left_alone():
    entry = plan.plan_shard(3, 0, ['a1', 'a2', 'a3'],
                            [{'node': 'a2', 'commit_index': 5, 'last_seq': 2},
                             {'node': 'a3', 'commit_index': 5, 'last_seq': 2}],
                            [], True, 'a3')
    assert entry['chosen'] is None and entry['fenced_members'] == []


def test_a_quorumless_shard_fences_the_dead_members():
    entry = plan.plan_shard(1, 2, ['a1', 'a2', 'a3'],
                            [{'node': 'a3', 'commit_index': 30, 'last_seq': 20}],
                            [{'commit_index': 33, 'leader_commit_index': 33, 'last_seq': 23,
                              'leader': 'a1'}], False, 'a3')
    assert entry['chosen'] == 'a3' and entry['fenced_members'] == ['a1', 'a2']
    loss = plan.chosen_loss(entry)
    assert loss['predicted_loss_entries'] == 3 and loss['predicted_loss_seq_range'] == [21, 23]
