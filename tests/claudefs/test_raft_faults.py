"""Behaviour tests 1-3 of issue 14 (Raft faults) and per-key linearizability under a kill.

Each test has a cluster of its own (the ``fresh`` fixture), writes files with known checksums
first, proves its fault fired (the pid is gone, the node's health check fails, the rule
counters moved) and judges by the clients' history afterwards (set checker, linearizability,
Raft invariants), saving the history with its seed under tests/output/claudefs/histories/.
"""

import threading
import time

import pytest

from cfs_helpers import (RaftSampler, all_led, assert_healthy, health, leaders, save_history,
                         save_json, shard_table, wait_for)
from cfscheck.history import History
from cfscheck.linearizability import check_registers
from cfscheck.setcheck import check_set, explain
from cfscheck.workload import Files, RegisterWorkers, list_files
from cfsemu import procs

pytestmark = pytest.mark.claudefs


def _site(cfs):
    return cfs.doc['active_site']


def _busiest_leader(client, site):
    counts = {}
    for leader in leaders(client, site).values():
        counts[leader] = counts.get(leader, 0) + 1
    return max(sorted(counts), key=lambda n: counts[n]), counts


def _judge(files, client, name, predicted_loss=None):
    present = files.present(client)
    result = check_set(files.history.ops, present, predicted_loss=predicted_loss)
    path = save_history(files.history, name)
    assert result['valid'], '%s (history: %s)' % (explain(result), path)
    verified = files.verify(client)
    assert not verified['missing'] and not verified['corrupt'], verified
    return result


def test_killed_node_stops_answering_and_its_shards_get_new_leaders(fresh, seed):
    site = _site(fresh)
    client = fresh.client()
    history = History(seed=seed, meta={'test': 'kill-node'})
    files = Files(history, 'kill/%d' % seed, seed=seed)
    assert files.write(client, 12).count('ok') == 12
    victim, counts = _busiest_leader(client, site)
    assert health(fresh) == {n: True for n in fresh.nodes()}
    sampler = RaftSampler(fresh, site)
    sampler.sample()

    pid = fresh.cluster.kill(victim)
    killed_at = time.monotonic()
    history.mark('kill', node=victim, pid=pid)
    assert not procs.alive(pid), 'the killed process is still there'
    assert health(fresh, [victim]) == {victim: False}

    survivor = fresh.client(next(n for n in fresh.nodes(site) if n != victim))
    new = wait_for(lambda: all_led(survivor, site, exclude={victim}), 30,
                   what='a new leader for every shard %s led' % victim)
    elapsed = time.monotonic() - killed_at
    sampler.sample()
    assert victim not in new.values()
    files.write(survivor, 8, process=1)
    swim = wait_for(lambda: next(n['swim'] for n in survivor.json_ok('GET', '/v1/status')['nodes']
                                 if n['name'] == victim) in ('Suspect', 'Dead'), 15,
                    what='SWIM marks %s Suspect or Dead' % victim)
    assert swim
    _judge(files, survivor, 'kill-node')
    save_json('reelection-kill-node.json', {'seed': seed, 'victim': victim,
                                            'shards_led': counts[victim],
                                            'seconds': round(elapsed, 3)})

    fresh.cluster.start(victim)
    assert health(fresh) == {n: True for n in fresh.nodes()}
    wait_for(lambda: all_led(client, site), 30, what='every shard led after the restart')
    sampler.sample()
    invariants = sampler.check()
    assert invariants['leader_claims'] > 0, invariants  # the invariants were not vacuous
    assert invariants['valid'], invariants['violations']


def test_killing_a_site_majority_refuses_writes_with_no_quorum(fresh, seed):
    site = _site(fresh)
    client = fresh.client()
    history = History(seed=seed, meta={'test': 'majority-loss'})
    files = Files(history, 'majority/%d' % seed, seed=seed)
    assert files.write(client, 10).count('ok') == 10
    nodes = fresh.nodes(site)
    survivor, victims = nodes[-1], nodes[:2]
    for victim in victims:
        pid = fresh.cluster.kill(victim)
        assert not procs.alive(pid)
        history.mark('kill', node=victim, pid=pid)
    assert health(fresh, victims) == {v: False for v in victims}
    remaining = fresh.client(survivor, timeout=10)

    def refused():
        outcomes = files.write(remaining, 1, process=2, timeout=10)
        op = history.ops[-1]
        return outcomes == ['fail'] and op['error'] == 'no_quorum'
    wait_for(refused, 30, interval=0.5, what='a write refused with no_quorum')

    def degraded():  # SWIM needs its suspicion timeout to see the dead nodes
        status = remaining.json_ok('GET', '/v1/status')
        row = next(s for s in status['sites'] if s['name'] == site)
        return row if row['state'] != 'Normal' and row['shards_without_quorum'] else None
    wait_for(degraded, fresh.doc['timeouts']['swim_dead_s'] + 10, what='site %s Degraded' % site)

    for victim in victims:
        fresh.cluster.start(victim)
    assert all(health(fresh).values())
    wait_for(lambda: all_led(client, site), 30, what='quorum back after restarting')
    # Every shard has a leader again, but the restarted members may still trigger an election
    # or two while they catch up: writes are accepted again within the window, not at once.
    wait_for(lambda: files.write(client, 1, process=3).count('ok') == 1, 30, interval=0.5,
             what='a write accepted after the restart')
    assert files.write(client, 3, process=3).count('ok') == 3
    _judge(files, client, 'majority-loss')
    assert_healthy(fresh, 'after the restart')


def _survivor_plan(client, site, survivor):
    plan = client.json_ok('POST', '/v1/raft/force-leader/plan',
                          {'shards': 'all', 'site': site, 'leader': survivor}, timeout=15)
    return plan


def _predicted(history, applied):
    """The acknowledged writes whose (shard, seq) falls in the applied plan's predicted loss
    range of their shard (``[first, last]``; ``last`` None: everything from ``first`` on)."""
    ranges = {s['shard']: s.get('predicted_loss_seq_range') or [1, 0] for s in applied['shards']}
    predicted = set()
    for op in history.ops:
        if op['f'] == 'add' and op['outcome'] == 'ok' and op.get('output'):
            first, last = ranges.get(op['output']['shard'], [1, 0])
            if first <= op['output']['seq'] and (last is None or op['output']['seq'] <= last):
                predicted.add(op['value'])
    return predicted


def _apply(client, site, survivor, plan):
    answer = client.post('/v1/raft/force-leader',
                         {'plan_id': plan['plan_id'], 'confirm_data_loss': True}, timeout=60)
    if answer.error_code == 'plan_stale':  # the cluster moved since: an operator re-plans
        plan = _survivor_plan(client, site, survivor)
        answer = client.post('/v1/raft/force-leader',
                             {'plan_id': plan['plan_id'], 'confirm_data_loss': True},
                             timeout=60)
    assert answer.ok, answer
    return plan, answer.json


def _quorum_lost(fresh, client, site, survivor):
    def lost():  # every shard: both other members gone (SWIM's view settles)
        plan = _survivor_plan(client, site, survivor)
        return plan if all(not s['has_quorum'] for s in plan['shards']) else None
    return wait_for(lost, fresh.doc['timeouts']['swim_dead_s'] + 15,
                    what='the plan to see every shard without quorum')


def test_force_leader_needs_confirmation_and_loses_at_most_the_prediction(fresh, seed):
    site = _site(fresh)
    client = fresh.client()
    history = History(seed=seed, meta={'test': 'force-leader'})
    files = Files(history, 'force/%d' % seed, seed=seed)
    assert files.write(client, 16).count('ok') == 16
    before_failure = set(files.acknowledged())
    nodes = fresh.nodes(site)
    survivor, victims = nodes[-1], nodes[:2]

    # Writers keep going while the majority dies: some acknowledged writes may not have
    # reached the survivor, which is exactly what the plan must predict.
    stop = threading.Event()

    def writer(n):
        c = fresh.client(nodes[n % 3], timeout=3)
        while not stop.is_set():
            files.write(c, 1, process=10 + n, timeout=3, election_wait=0)
    threads = [threading.Thread(target=writer, args=(n,), daemon=True) for n in range(2)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    for victim in victims:
        history.mark('kill', node=victim, pid=fresh.cluster.kill(victim))
    stop.set()
    for t in threads:
        t.join(10)
    history.close()
    assert health(fresh, victims) == {v: False for v in victims}

    remaining = fresh.client(survivor, timeout=15)

    plan = _quorum_lost(fresh, remaining, site, survivor)
    save_json('force-leader-plan-seed%d.json' % seed, plan)
    planned = [s for s in plan['shards'] if not s['has_quorum']]
    assert planned and all(s['chosen'] == survivor for s in planned)
    assert all(set(s['fenced_members']) == set(victims) for s in planned)

    refused = remaining.post('/v1/raft/force-leader', {'plan_id': plan['plan_id']})
    assert refused.status == 409 and refused.error_code == 'refused_needs_confirmation'
    assert refused.json['error']['details']['confirm_field'] == 'confirm_data_loss'
    assert 'would_lose' in refused.json['error']['details']
    assert not all_led(remaining, site, exclude=set(victims))  # nothing changed

    plan, applied = _apply(remaining, site, survivor, plan)
    save_json('force-leader-applied-seed%d.json' % seed, applied)
    assert applied['applied'] and applied['changed']
    for shard in applied['shards']:
        assert shard['leader'] == survivor and 'predicted_loss_entries' in shard
    again = remaining.json_ok('POST', '/v1/raft/force-leader',
                              {'plan_id': plan['plan_id'], 'confirm_data_loss': True})
    assert again['changed'] is False

    wait_for(lambda: all_led(remaining, site, exclude=set(victims)), 30,
             what='every shard led by the survivor')
    assert files.write(remaining, 4, process=20, timeout=10).count('ok') == 4
    # Every file committed before the failure is intact.
    verified = files.verify(remaining, sorted(before_failure))
    assert verified['intact'] == len(before_failure), verified

    # Acknowledged writes that are missing must be inside the predicted loss ranges.
    predicted = _predicted(history, applied)
    present = {f['path'] for f in list_files(remaining, files.prefix)}
    result = check_set(history.ops, present, predicted_loss=predicted)
    path = save_history(history, 'force-leader')
    assert result['valid'], '%s (history %s)' % (explain(result), path)

    # The old members come back: fenced by the new epoch, they lead nothing and lose nothing.
    new_epochs = {s['shard']: s['epoch'] for s in applied['shards']}
    for victim in victims:
        fresh.cluster.start(victim)
    assert_healthy(fresh, 'after the old members restarted')
    time.sleep(2.0)
    table = shard_table(remaining, site)
    for (unused, shard), status in table.items():
        if shard in new_epochs:
            assert status['epoch'] == new_epochs[shard] and status['leader'] == survivor, status
    assert files.verify(remaining, sorted(before_failure))['intact'] == len(before_failure)


def test_force_leader_on_a_lagging_survivor_loses_at_most_the_prediction(fresh, seed):
    """The survivor was cut off while the other two kept committing, then they died: what
    it never received is lost, and the plan must have said so."""
    site = _site(fresh)
    nodes = fresh.nodes(site)
    survivor, victims = nodes[-1], nodes[:2]
    client = fresh.client(victims[0], timeout=10)
    history = History(seed=seed, meta={'test': 'force-leader-lagging'})
    files = Files(history, 'lag/%d' % seed, seed=seed)
    assert files.write(client, 8).count('ok') == 8
    before = set(files.acknowledged())
    fresh.cluster.isolate(survivor)
    history.mark('isolate', node=survivor)
    wait_for(lambda: all_led(client, site, exclude={survivor}), 30,
             what='the two connected members leading every shard')
    assert files.write(client, 8, process=1).count('ok') == 8
    behind = set(files.acknowledged()) - before
    counters = fresh.cluster.counters()
    assert counters['tcp_packets'] > 0, counters  # the survivor really was cut off
    for victim in victims:
        history.mark('kill', node=victim, pid=fresh.cluster.kill(victim))
    fresh.cluster.heal()
    history.mark('heal', packets=counters['packets'])

    remaining = fresh.client(survivor, timeout=15)
    plan = _quorum_lost(fresh, remaining, site, survivor)
    save_json('force-leader-lagging-plan-seed%d.json' % seed, plan)
    plan, applied = _apply(remaining, site, survivor, plan)
    save_json('force-leader-lagging-applied-seed%d.json' % seed, applied)
    wait_for(lambda: all_led(remaining, site, exclude=set(victims)), 30,
             what='every shard led by the survivor')
    assert files.verify(remaining, sorted(before))['intact'] == len(before)
    present = {f['path'] for f in list_files(remaining, files.prefix)}
    result = check_set(history.ops, present, predicted_loss=_predicted(history, applied))
    path = save_history(history, 'force-leader-lagging')
    assert result['valid'], '%s (history %s)' % (explain(result), path)
    assert set(result['predicted_lost']) == behind - present  # the loss was real, and foreseen


def test_per_key_linearizability_through_a_leader_kill_and_an_isolation(fresh, seed):
    site = _site(fresh)
    nodes = fresh.nodes(site)
    clients = [fresh.client(n, timeout=3) for n in nodes]
    history = History(seed=seed, meta={'test': 'linearizability'})
    keys = ['lin/%d/k%d' % (seed, i) for i in range(3)]
    sampler = RaftSampler(fresh, site)
    workers = RegisterWorkers(clients, history, keys, seed=seed, timeout=3).start(4)
    try:
        sampler.sample_for(2.0)
        table = shard_table(clients[0], site)
        victim = _busiest_leader(clients[0], site)[0]
        history.mark('kill', node=victim, pid=fresh.cluster.kill(victim))
        sampler.sample_for(2.0)
        fresh.cluster.start(victim)
        history.mark('restart', node=victim)
        wait_for(lambda: all_led(clients[-1], site), 30, what='every shard led again')
        isolated = leaders(clients[0], site)[min(shard for (unused, shard) in table)]
        fresh.cluster.isolate(isolated)
        history.mark('isolate', node=isolated)
        sampler.sample_for(4.0)
        counters = fresh.cluster.counters()
        fresh.cluster.heal()
        history.mark('heal', counters=counters)
        heal_at = time.monotonic() - sampler.t0
        assert counters['packets'] > 0 and counters['tcp_packets'] > 0, counters
        sampler.sample_for(4.0)
    finally:
        workers.finish()
    assert_healthy(fresh, 'after the kill and the isolation')
    path = save_history(history, 'linearizability')
    result = check_registers(history.ops)
    summary = history.summary()
    assert summary['ok'] > 20, summary
    assert result['valid'] is True, 'not linearizable (%s); history %s: %s' % (
        result['valid'], path, {k: v for k, v in result['keys'].items() if not v['valid']})
    invariants = sampler.check(heals=[heal_at], grace=4.0)
    assert invariants['leader_claims'] > 0, invariants  # the invariants were not vacuous
    assert invariants['valid'], invariants['violations'][:5]
