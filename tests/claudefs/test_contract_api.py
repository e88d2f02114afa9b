"""Every non-destructive operation of the contract on the shared cluster, answers validated.

Each call goes through ``cfscheck.api.Client``, which validates the answer against the schema
the OpenAPI document gives for its status (and fails on an undocumented status).  Tests here
leave the cluster as they found it; destructive operations are in the behaviour tests, each on
a cluster of its own.
"""

import hashlib

import pytest

from cfs_helpers import all_led, leaders, shard_table, wait_for

pytestmark = pytest.mark.claudefs


def test_health_needs_no_token_and_every_node_answers(cfs):
    for node in (cfs.nodes() if cfs.doc else [None]):
        body = cfs.client(node, token='').json_ok('GET', '/v1/health')
        assert body['status'] == 'ok'
        if node:
            assert body['node'] == node


@pytest.mark.parametrize('token', ['', 'wrong-token'])
def test_other_calls_need_the_token(cfs, token):
    response = cfs.client(token=token).get('/v1/status')
    assert response.status == 401 and response.error_code == 'unauthorized'
    assert response.json['error']['retryable'] is False


def test_status_reports_sites_nodes_and_shards(cfs):
    body = cfs.client().json_ok('GET', '/v1/status')
    assert body['active_site'] in [site['name'] for site in body['sites']]
    for site in body['sites']:
        assert site['state'] == 'Normal', site
        assert site['shards_with_leader'] == site['shards_total'] == body['shards']
    assert {n['swim'] for n in body['nodes']} == {'Alive'}
    if cfs.doc:
        assert {n['name'] for n in body['nodes']} == set(cfs.doc['nodes'])


def test_node_list_and_idempotent_add(cfs):
    client = cfs.client()
    nodes = client.json_ok('GET', '/v1/nodes')['nodes']
    assert nodes and all(n['state'] == 'active' for n in nodes)
    existing = nodes[0]
    request = {'name': existing['name'], 'site': existing['site']}
    again = client.json_ok('POST', '/v1/nodes', request)
    assert again['changed'] is False


def test_config_export_holds_no_secrets(cfs):
    body = cfs.client().json_ok('GET', '/v1/config/export')
    assert body['shards'] >= 1 and body['sites']
    if cfs.doc:
        text = repr(body)
        assert cfs.doc['admin_token'] not in text
        for role in ('primary', 'backup'):
            assert cfs.doc['s3'][role]['secret_key'] not in text


def test_raft_status_per_shard_and_debug(cfs):
    client = cfs.client()
    table = shard_table(client)
    assert table and all(s['leader'] and s['has_quorum'] for s in table.values())
    site, shard = sorted(table)[0]
    one = client.json_ok('GET', '/v1/raft/shards/%d?site=%s' % (shard, site))
    assert one['shard'] == shard and one['site'] == site
    roles = sorted(m['role'] for m in one['members'])
    assert roles.count('Leader') == 1 and one['leader'] in [m['node'] for m in one['members']]
    # the runbook's spelling of a shard number
    assert client.json_ok('GET', '/v1/raft/shards/001?site=%s' % site)['shard'] == 1
    missing = client.get('/v1/raft/shards/9999')
    assert missing.status == 404 and missing.error_code == 'not_found'
    bad = client.get('/v1/raft/shards/abc')
    assert bad.status in (400, 404)
    debug = client.json_ok('GET', '/v1/raft/shards/%d/debug?site=%s' % (shard, site))
    assert {v['node'] for v in debug['views']} >= {m['node'] for m in one['members']}


def test_force_election_and_leader_transfer(cfs):
    client = cfs.client()
    site = client.json_ok('GET', '/v1/status')['active_site']
    before = client.json_ok('GET', '/v1/raft/shards/2?site=%s' % site)
    elected = client.json_ok('POST', '/v1/raft/shards/2/election', {'site': site}, timeout=15)
    assert elected['leader'] and elected['term'] > before['term']
    follower = next(m['node'] for m in before['members'] if m['node'] != elected['leader'])
    moved = client.json_ok('POST', '/v1/raft/shards/2/transfer-leader',
                           {'to': follower, 'site': site}, timeout=15)
    assert moved['leader'] == follower
    again = client.json_ok('POST', '/v1/raft/shards/2/transfer-leader',
                           {'to': follower, 'site': site}, timeout=15)
    assert again['changed'] is False and again['leader'] == follower
    wait_for(lambda: all_led(client, site), 15, what='every shard led after the transfer')


def test_force_leader_plan_on_a_healthy_cluster_touches_nothing(cfs):
    client = cfs.client()
    site = client.json_ok('GET', '/v1/status')['active_site']
    before = leaders(client, site)
    plan = client.json_ok('POST', '/v1/raft/force-leader/plan', {'shards': 'all', 'site': site})
    assert plan['shards'] and all(s['has_quorum'] and s['chosen'] is None
                                  for s in plan['shards'])
    refused = client.post('/v1/raft/force-leader', {'plan_id': plan['plan_id']})
    assert refused.status == 409 and refused.error_code == 'refused_needs_confirmation'
    assert refused.json['error']['details']['confirm_field'] == 'confirm_data_loss'
    assert leaders(client, site) == before
    unknown = client.post('/v1/raft/force-leader', {'plan_id': '0123456789abcdef',
                                                    'confirm_data_loss': True})
    assert unknown.status == 404 and unknown.error_code == 'not_found'
    malformed = client.post('/v1/raft/force-leader', {'plan_id': '../etc/passwd',
                                                      'confirm_data_loss': True})
    assert malformed.status == 400 and malformed.error_code == 'bad_request'


def test_files_write_read_list_delete_and_idempotent_retry(cfs, seed):
    client = cfs.client()
    data = b'conformance %d\n' % seed
    name = 'contract/%d/a.txt' % seed
    headers = {'X-Client-Op-Id': 'contract-%d' % seed}
    written = client.call('PUT', '/v1/files/' + name, raw=data, headers=headers)
    assert written.ok, written
    assert written.json['sha256'] == hashlib.sha256(data).hexdigest()
    assert written.json['size'] == len(data)
    retry = client.call('PUT', '/v1/files/' + name, raw=data, headers=headers)
    assert retry.ok and retry.json['seq'] == written.json['seq']
    read = client.get('/v1/files/' + name)
    assert read.ok and read.raw == data
    assert read.headers['x-content-sha256'] == written.json['sha256']
    listed = client.json_ok('GET', '/v1/files?prefix=contract/%d/' % seed)['files']
    assert [f['path'] for f in listed] == [name]
    assert client.json_ok('DELETE', '/v1/files/' + name)['path'] == name
    assert client.get('/v1/files/' + name).status == 404
    assert client.delete('/v1/files/' + name).status == 404


def test_snapshot_and_list(cfs, seed):
    client = cfs.client()
    client.call('PUT', '/v1/files/contract/snap-%d' % seed, raw=b'x')
    snap = client.json_ok('POST', '/v1/metadata/snapshots', {}, timeout=30)
    assert snap['location'].startswith(('s3://', 'file://', '/'))
    assert len(snap['sha256']) == 64 and snap['manifest']['files'] >= 1
    listed = client.json_ok('GET', '/v1/metadata/snapshots')['snapshots']
    assert snap['location'] in [s['location'] for s in listed]


def test_consistency_check_and_repair_needs_confirmation(cfs):
    client = cfs.client()
    report = client.json_ok('POST', '/v1/metadata/consistency-check',
                            {'cross_site': False, 'verbose': True}, timeout=30)
    assert report['consistent'] is True and report['problems'] == []
    refused = client.post('/v1/metadata/repair', {'auto_fix': True})
    assert refused.status == 409 and refused.error_code == 'refused_needs_confirmation'
    assert refused.json['error']['details']['confirm_field'] == 'confirm_repair'
    repaired = client.json_ok('POST', '/v1/metadata/repair',
                              {'auto_fix': True, 'confirm_repair': True}, timeout=30)
    assert repaired['changed'] is False and repaired['repaired'] == []


def test_replication_status_sync_and_failover_test(cfs):
    client = cfs.client()
    status = client.json_ok('GET', '/v1/replication')
    active = status['active_site']
    other = next(link['target'] for link in status['links'] if link['source'] == active)
    synced = client.json_ok('POST', '/v1/replication/sync', {'source': active, 'target': other},
                            timeout=40)
    assert synced['lag_ops'] == 0
    verdict = client.json_ok('POST', '/v1/replication/failover/test',
                             {'from': active, 'to': other})
    assert verdict['checks'] and verdict['active_site'] == active
    assert client.json_ok('GET', '/v1/replication')['active_site'] == active
    already = client.json_ok('POST', '/v1/replication/failover', {'from': other, 'to': active})
    assert already['changed'] is False


def test_conflicts_empty_and_resolve_is_a_no_op(cfs):
    client = cfs.client()
    listed = client.json_ok('GET', '/v1/conflicts')
    assert listed['unresolved'] == 0
    resolved = client.json_ok('POST', '/v1/conflicts/resolve', {'strategy': 'last-write-wins'})
    assert resolved['changed'] is False
    bad = client.post('/v1/conflicts/resolve', {'strategy': 'coin-toss'})
    assert bad.status == 400 and bad.error_code == 'bad_request'


def test_s3_health_queue_and_noop_failover(cfs):
    client = cfs.client()
    health = client.json_ok('GET', '/v1/s3/health')
    assert health['healthy'] and all(e['reachable'] for e in health['endpoints'])
    queue = client.json_ok('GET', '/v1/s3/queue')
    assert queue['mode'] == 'write-back'
    assert queue['watermarks']['high'] < queue['watermarks']['critical'] <= 1.0
    same = client.json_ok('POST', '/v1/s3/failover', {'target': health['target']})
    assert same['changed'] is False
