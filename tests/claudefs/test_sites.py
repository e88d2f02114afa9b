"""Behaviour test 6 of issue 14 (a site partition with writes on both sides, conflicts on
heal) and the runbook's planned failover/failback drill."""

import time

import pytest

from cfs_helpers import assert_healthy, json_retrying, save_history, save_json, wait_for
from cfscheck.history import History
from cfscheck.setcheck import check_set, explain
from cfscheck.workload import Files, read_file, write_file

pytestmark = pytest.mark.claudefs


def _put(client, history, process, name, text):
    outcome, response = write_file(client, history, process, name, text.encode(), timeout=10)
    assert outcome == 'ok', response
    return response.json


def _lww_winner(conflict):
    """The contract's rule: higher timestamp, then higher sequence; a full tie has none."""
    sides = sorted(conflict['sites'].items(),
                   key=lambda kv: (kv[1]['timestamp'], kv[1]['seq']), reverse=True)
    (first, a), (unused, b) = sides[0], sides[1]
    if (a['timestamp'], a['seq']) == (b['timestamp'], b['seq']):
        return None
    return first


def test_partition_with_writes_on_both_sides_records_conflicts_on_heal(fresh, seed):
    site_a, site_b = sorted(fresh.doc['sites'])
    a = fresh.client(fresh.nodes(site_a)[0], timeout=10)
    b = fresh.client(fresh.nodes(site_b)[0], timeout=10)
    history = History(seed=seed, meta={'test': 'partition-conflicts'})
    base = Files(history, 'split/%d/base' % seed, seed=seed)
    assert base.write(a, 6).count('ok') == 6
    x, y = 'split/%d/x' % seed, 'split/%d/y' % seed
    _put(a, history, 0, x, 'x-before')
    _put(a, history, 0, y, 'y-before')
    a.json_ok('POST', '/v1/replication/sync', {'source': site_a, 'target': site_b}, timeout=40)

    fresh.cluster.partition(site_a)
    history.mark('partition', site=site_a)
    wait_for(lambda: fresh.cluster.counters()['udp_packets'] > 0, 10,
             what='packets dropped between the sites')
    lag = wait_for(lambda: [link for link in a.json_ok('GET', '/v1/replication')['links']
                            if not link['reachable']], 20, what='the other site unreachable')
    assert lag

    # site-b cannot know what site-a wrote since: a failover needs the data-loss confirmation.
    refused = b.post('/v1/replication/failover', {'from': site_a, 'to': site_b}, timeout=15)
    assert refused.status == 409 and refused.error_code == 'refused_needs_confirmation'
    assert refused.json['error']['details']['confirm_field'] == 'confirm_data_loss'
    moved = b.json_ok('POST', '/v1/replication/failover',
                      {'from': site_a, 'to': site_b, 'confirm_data_loss': True}, timeout=30)
    assert moved['active_site'] == site_b

    only_a = Files(history, 'split/%d/only-a' % seed, seed=seed + 1)
    only_b = Files(history, 'split/%d/only-b' % seed, seed=seed + 2)
    assert only_a.write(a, 4, process=1).count('ok') == 4
    assert only_b.write(b, 4, process=2).count('ok') == 4
    # x: site-a writes first, site-b later (site-b must win by timestamp);
    # y: site-b first, site-a later (site-a must win) -- then a manual choice overrides y.
    xa = _put(a, history, 1, x, 'x-from-a')
    time.sleep(0.05)
    xb = _put(b, history, 2, x, 'x-from-b')
    yb = _put(b, history, 2, y, 'y-from-b')
    time.sleep(0.05)
    ya = _put(a, history, 1, y, 'y-from-a')
    assert xb['timestamp'] > xa['timestamp'] and ya['timestamp'] > yb['timestamp']

    counters = fresh.cluster.counters()
    fresh.cluster.heal()
    history.mark('heal', packets=counters['packets'])
    assert counters['packets'] > 0 and counters['tcp_packets'] > 0, counters

    for source, target in ((site_a, site_b), (site_b, site_a)):
        wait_for(lambda: a.json_ok('POST', '/v1/replication/sync',
                                   {'source': source, 'target': target}, timeout=40), 60,
                 interval=1, what='sync %s -> %s after the heal' % (source, target))

    def recorded():
        listed = a.json_ok('GET', '/v1/conflicts')['conflicts']
        return listed if {x, y} <= {c['path'] for c in listed} else None
    listed = wait_for(recorded, 30, what='conflicts for both files recorded')
    save_json('conflicts-seed%d.json' % seed, listed)
    conflicts = {}
    for conflict in listed:  # each site may report the same divergence: they must agree
        assert set(conflict['sites']) == {site_a, site_b}, conflict
        expected = _lww_winner(conflict)
        if expected is None:
            assert conflict['type'] == 'ManualResolutionRequired' and conflict['winner'] is None
        else:
            assert conflict['type'] in ('LwwResolved', 'SplitBrain'), conflict
            assert conflict['winner'] == expected, conflict
        same = conflicts.setdefault(conflict['path'], conflict)
        assert (same['inode'], same['winner']) == (conflict['inode'], conflict['winner'])
    assert _lww_winner(conflicts[x]) == site_b and _lww_winner(conflicts[y]) == site_a

    # A manual choice for y (the LWW loser) is honoured; LWW settles the rest.
    manual = json_retrying(a, 'POST', '/v1/conflicts/resolve', {
        'strategy': 'manual', 'choices': [{'inode': conflicts[y]['inode'], 'winner': site_b}]},
        timeout=30)
    assert {c['path'] for c in manual['resolved']} == {y}
    assert {c['winner'] for c in manual['resolved']} == {site_b}
    lww = json_retrying(a, 'POST', '/v1/conflicts/resolve', {'strategy': 'last-write-wins'},
                        timeout=30)
    assert lww['unresolved'] == 0
    again = a.json_ok('POST', '/v1/conflicts/resolve', {'strategy': 'last-write-wins'})
    assert again['changed'] is False
    winners = {c['path']: c['winner'] for c in a.json_ok('GET', '/v1/conflicts')['conflicts']}
    assert winners[x] == site_b and winners[y] == site_b

    # Both sites converge on the winners and on every acknowledged unique file.
    for client in (a, b):
        assert read_file(client, x)[0] == b'x-from-b'
        assert read_file(client, y)[0] == b'y-from-b'
    wait_for(lambda: a.json_ok('POST', '/v1/metadata/consistency-check',
                               {'cross_site': True}, timeout=60)['consistent'], 60, interval=2,
             what='both sites consistent')
    status = a.json_ok('GET', '/v1/status')
    assert 'SplitBrain' not in {s['state'] for s in status['sites']}, status['sites']
    for files in (base, only_a, only_b):
        ops = [op for op in history.ops if op['value'].startswith(files.prefix)]
        for client in (a, b):
            result = check_set(ops, files.present(client))
            assert result['valid'], explain(result)
        assert not files.verify(b)['missing']
    save_history(history, 'partition-conflicts')
    assert_healthy(fresh, 'after the heal')


def test_planned_failover_and_failback(fresh, seed):
    site_a, site_b = sorted(fresh.doc['sites'])
    a = fresh.client(fresh.nodes(site_a)[0], timeout=10)
    b = fresh.client(fresh.nodes(site_b)[0], timeout=10)
    history = History(seed=seed, meta={'test': 'failover-drill'})
    files = Files(history, 'drill/%d' % seed, seed=seed)
    assert files.write(a, 8).count('ok') == 8

    prepared = a.json_ok('POST', '/v1/replication/failover/prepare',
                         {'source': site_a, 'target': site_b}, timeout=40)
    assert prepared['writes_blocked'] is True and prepared['lag_ops'] == 0
    blocked = files.write(a, 1, process=1)
    assert blocked == ['fail'], history.ops[-1]
    verdict = a.json_ok('POST', '/v1/replication/failover/test', {'target': site_b})
    assert verdict['ok'] is True, verdict['checks']
    moved = a.json_ok('POST', '/v1/replication/failover', {'from': site_a, 'to': site_b},
                      timeout=30)
    assert moved['changed'] and moved['active_site'] == site_b
    assert a.json_ok('GET', '/v1/status')['active_site'] == site_b
    assert files.write(b, 5, process=2).count('ok') == 5
    assert files.verify(b)['intact'] == 13

    early = a.post('/v1/replication/failback', {'from': site_b, 'to': site_a}, timeout=30)
    if early.status == 409:  # site-b's writes not yet shipped: the contract's refusal
        assert early.error_code == 'lag_not_zero'
    synced = b.json_ok('POST', '/v1/replication/sync', {'source': site_b, 'target': site_a},
                       timeout=40)
    assert synced['lag_ops'] == 0
    back = a.json_ok('POST', '/v1/replication/failback', {'from': site_b, 'to': site_a},
                     timeout=30)
    assert back['active_site'] == site_a
    assert files.write(a, 2, process=3).count('ok') == 2
    result = check_set(history.ops, files.present(a))
    save_history(history, 'failover-drill')
    assert result['valid'], explain(result)
    assert not files.verify(a)['missing']
    assert_healthy(fresh, 'after the failback')
