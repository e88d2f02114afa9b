"""Behaviour tests 4 and 5 of issue 14: a wiped node re-added, corrupted metadata repaired."""

import pytest

from cfs_helpers import (all_led, assert_healthy, health, json_retrying, save_history, shard_table,
                         wait_for)
from cfscheck.history import History
from cfscheck.setcheck import check_set, explain
from cfscheck.workload import Files
from cfsemu import procs

pytestmark = pytest.mark.claudefs


def _members_caught_up(client, site, node):
    """Every shard of ``site`` lists ``node`` as a reachable member whose match index has
    reached the group's commit index (the replicas are back on it)."""
    table = shard_table(client, site)
    for status in table.values():
        member = next((m for m in status['members'] if m['node'] == node), None)
        if member is None or not member['reachable'] or member['match_index'] is None:
            return False
        if member['match_index'] < status['commit_index']:
            return False
    return True


def test_wiped_node_readded_receives_its_replicas(fresh, seed):
    site = fresh.doc['active_site']
    client = fresh.client()
    history = History(seed=seed, meta={'test': 'wipe-readd'})
    files = Files(history, 'wipe/%d' % seed, seed=seed)
    assert files.write(client, 20).count('ok') == 20
    victim = fresh.nodes(site)[-1]
    assert all(health(fresh).values())

    drained = json_retrying(client, 'POST', '/v1/nodes/%s/drain' % victim, timeout=30)
    assert drained['node'] == victim and drained['state'] == 'draining'
    wait_for(lambda: victim not in {s['leader'] for s in shard_table(client, site).values()},
             20, what='no shard led by the drained node')
    pid = fresh.cluster.stop(victim)
    assert not procs.alive(pid)
    fresh.cluster.wipe(victim)
    removed = json_retrying(client, 'DELETE', '/v1/nodes/%s' % victim, timeout=30)
    assert removed['state'] == 'removed'
    assert json_retrying(client, 'DELETE', '/v1/nodes/%s' % victim, timeout=30)['changed'] is False
    nodes = {n['name']: n for n in json_retrying(client, 'GET', '/v1/nodes')['nodes']}
    assert nodes[victim]['state'] == 'removed'
    assert files.write(client, 5, process=1).count('ok') == 5  # two replicas still commit

    fresh.cluster.start(victim)  # an empty disk: a new machine under the old name
    added = json_retrying(client, 'POST', '/v1/nodes', {'name': victim, 'site': site}, timeout=60)
    assert added['changed'] is True and added['state'] == 'active'
    wait_for(lambda: _members_caught_up(client, site, victim), 60,
             what='%s caught up on every shard' % victim)
    report = json_retrying(client, 'POST', '/v1/metadata/consistency-check', {'verbose': True},
                           timeout=60)
    assert victim in report['checked_nodes']
    assert report['consistent'], report['problems'][:5]
    # Reads served by the re-added node itself see every file with the right content.
    own = fresh.client(victim)
    result = check_set(history.ops, files.present(own))
    path = save_history(history, 'wipe-readd')
    assert result['valid'], '%s (history %s)' % (explain(result), path)
    verified = files.verify(own)
    assert not verified['missing'] and not verified['corrupt'], verified
    assert_healthy(fresh, 'after the repair')
    assert_healthy(fresh, 'after the re-add')


def test_removing_the_last_replica_holder_needs_confirmation(fresh):
    site = fresh.doc['active_site']
    client = fresh.client()
    a, b, c = fresh.nodes(site)
    for node in (a, b):
        fresh.cluster.kill(node)
    survivor = fresh.client(c, timeout=15)

    def dead():  # "last live replica": SWIM must have declared the others Dead first
        nodes = {n['name']: n['swim'] for n in survivor.json_ok('GET', '/v1/status')['nodes']}
        return nodes[a] == nodes[b] == 'Dead'
    wait_for(dead, fresh.doc['timeouts']['swim_dead_s'] + 10, what='%s and %s Dead' % (a, b))
    refused = survivor.delete('/v1/nodes/%s' % c, timeout=30)
    assert refused.status == 409 and refused.error_code == 'refused_needs_confirmation', refused
    assert refused.json['error']['details']['confirm_field'] == 'confirm_last_replica'
    assert refused.json['error']['details'].get('would_lose')
    for node in (a, b):
        fresh.cluster.start(node)
    wait_for(lambda: all_led(client, site), 30, what='quorum back')
    assert_healthy(fresh, 'after the restart')


def test_corrupted_records_are_found_and_repaired_from_replicas(fresh, seed):
    site = fresh.doc['active_site']
    client = fresh.client()
    history = History(seed=seed, meta={'test': 'corruption'})
    files = Files(history, 'corrupt/%d' % seed, seed=seed)
    assert files.write(client, 24).count('ok') == 24
    clean = client.json_ok('POST', '/v1/metadata/consistency-check', {}, timeout=60)
    assert clean['consistent'] is True

    victim = fresh.nodes(site)[1]
    touched = fresh.cluster.corrupt(victim, records=3, seed=seed)
    assert len(touched) == 3, touched  # proof the fault fired: three records rewritten
    history.mark('corrupt', node=victim, records=touched)

    report = client.json_ok('POST', '/v1/metadata/consistency-check', {'verbose': True},
                            timeout=60)
    assert report['consistent'] is False
    on_victim = [p for p in report['problems'] if p['node'] == victim]
    assert on_victim and all(p['kind'] in ('record_checksum', 'journal_checksum',
                                           'record_mismatch', 'record_missing')
                             for p in on_victim), report['problems']
    assert not [p for p in report['problems'] if p['node'] != victim], report['problems']

    refused = client.post('/v1/metadata/repair', {'auto_fix': True}, timeout=60)
    assert refused.status == 409 and refused.json['error']['details']['confirm_field'] == \
        'confirm_repair'
    still = client.json_ok('POST', '/v1/metadata/consistency-check', {}, timeout=60)
    assert still['consistent'] is False  # the refusal changed nothing
    repaired = client.json_ok('POST', '/v1/metadata/repair',
                              {'auto_fix': True, 'confirm_repair': True}, timeout=60)
    assert repaired['changed'] is True and repaired['repaired'] and not repaired['remaining']
    assert {p['node'] for p in repaired['repaired']} == {victim}
    after = client.json_ok('POST', '/v1/metadata/consistency-check', {'verbose': True},
                           timeout=60)
    assert after['consistent'] is True, after['problems']
    again = client.json_ok('POST', '/v1/metadata/repair',
                           {'auto_fix': True, 'confirm_repair': True}, timeout=60)
    assert again['changed'] is False
    own = fresh.client(victim)
    result = check_set(history.ops, files.present(own))
    save_history(history, 'corruption')
    assert result['valid'], explain(result)
    verified = files.verify(own)
    assert not verified['missing'] and not verified['corrupt'], verified
