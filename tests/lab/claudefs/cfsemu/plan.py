"""Force-leader planning arithmetic (pure; unit-tested).

For one shard whose group lost its quorum, every surviving member is a candidate.  The loss a
candidate would cause is predicted from the *last known* leader state: the highest commit index
(and shard sequence) any node reported for the group, from Raft heartbeats or SWIM gossip.

    predicted_loss_entries = last_known_leader_commit_index - survivor_commit_index

and the shard sequence numbers that may be lost are (survivor_seq, last_known_seq].
Writes acknowledged after the last report reached anyone are beyond what can be known.
"""


def survivor_loss(leader_commit, leader_seq, survivor):
    loss = max(0, int(leader_commit) - int(survivor['commit_index']))
    first = int(survivor.get('last_seq', 0)) + 1
    last = max(int(leader_seq), first - 1)
    return dict(survivor, predicted_loss_entries=loss, predicted_loss_seq_range=[first, last])


def last_known(reports):
    """(commit index, seq, leader) from every report of the group: [{node, commit_index,
    leader_commit_index, last_seq, leader}]."""
    commit = seq = 0
    leader = None
    for rep in reports:
        commit = max(commit, int(rep.get('commit_index') or 0),
                     int(rep.get('leader_commit_index') or 0))
        seq = max(seq, int(rep.get('last_seq') or 0))
        leader = rep.get('leader') or leader
    return commit, seq, leader


def choose(survivors, wanted):
    """The survivor to lead: the requested node, or the most up-to-date one."""
    if not survivors:
        return None, 'no member of the group is alive: restore from a snapshot instead'
    if wanted and wanted not in ('most-up-to-date', 'auto'):
        if any(s['node'] == wanted for s in survivors):
            return wanted, 'requested leader %s is alive' % wanted
        return None, 'requested leader %s is not a live member of this group' % wanted
    best = max(survivors, key=lambda s: (int(s['commit_index']), int(s.get('last_seq', 0)),
                                         s['node']))
    return best['node'], 'most up-to-date survivor'


def plan_shard(shard, epoch, members, survivors, reports, has_quorum, wanted):
    commit, seq, leader = last_known(reports)
    scored = [survivor_loss(commit, seq, s) for s in survivors]
    entry = {'shard': shard, 'epoch': epoch, 'has_quorum': has_quorum,
             'last_known_leader': leader, 'last_known_leader_commit_index': commit,
             'last_known_leader_seq': seq, 'survivors': scored,
             'fenced_members': sorted(set(members) - set(s['node'] for s in survivors))}
    if has_quorum:
        entry.update(chosen=None, reason='group has a quorum: nothing to force (use '
                     'raftTransferLeader to move the leadership)', fenced_members=[])
    else:
        entry['chosen'], entry['reason'] = choose(scored, wanted)
    return entry


def chosen_loss(entry):
    for survivor in entry['survivors']:
        if survivor['node'] == entry.get('chosen'):
            return survivor
    return None
