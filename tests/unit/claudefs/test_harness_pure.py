"""The harness's pure parts: cluster.json layout, the inventory, the nftables ruleset text,
the registry of instances (in a temporary directory)."""

import os
import subprocess
import sys

import pytest
import yaml

from cfsemu import netfault, topology


def test_topology_addresses_ports_and_secrets(tmp_path):
    doc = topology.build(str(tmp_path), net=91, shards=4, sites=2, nodes_per_site=3)
    assert doc['sites'] == {'site-a': {'nodes': ['a1', 'a2', 'a3']},
                            'site-b': {'nodes': ['b1', 'b2', 'b3']}}
    assert doc['nodes']['b2']['address'] == '127.91.2.2'
    assert doc['nodes']['a1']['dir'] == str(tmp_path / 'nodes' / 'a1')
    assert doc['s3']['primary']['endpoint'] == 'http://127.91.0.1:9000'
    assert doc['s3']['backup']['address'] == '127.91.0.2'
    assert doc['s3']['primary']['access_key'] != doc['s3']['backup']['access_key']
    assert len(doc['admin_token']) >= 32 and doc['replication_factor'] == 3
    t = doc['timeouts']
    assert t['raft_election_min_ms'] > 3 * t['raft_heartbeat_ms']  # pysyncobj's rule
    assert topology.build(str(tmp_path))['admin_token'] != doc['admin_token']


@pytest.mark.parametrize('options', [{'net': 0}, {'net': 255}, {'shards': 0}, {'shards': 65},
                                     {'sites': 10}, {'nodes_per_site': 0}])
def test_topology_refuses_bad_sizes(tmp_path, options):
    with pytest.raises(ValueError):
        topology.build(str(tmp_path), **options)


def test_cluster_json_is_private(tmp_path):
    doc = topology.build(str(tmp_path))
    path = topology.write(doc)
    assert oct((tmp_path / 'cluster.json').stat().st_mode)[-3:] == '600'
    assert topology.load(str(tmp_path)) == doc and path.endswith('cluster.json')


def test_inventory_groups_nodes_by_site(tmp_path):
    doc = topology.build(str(tmp_path), net=92)
    inventory = yaml.safe_load(topology.inventory(doc, ['/venv/python', '/x/cfsemu.py']))
    top = inventory['all']
    assert top['vars']['claudefs_endpoint'] == 'http://127.92.1.1:8443'
    assert top['vars']['claudefs_admin_token'] == doc['admin_token']
    assert top['vars']['claudefs_cfsemu_command'] == ['/venv/python', '/x/cfsemu.py']
    assert set(top['children']['claudefs']['children']) == {'site_a', 'site_b'}
    site_b = top['children']['site_b']
    assert site_b['vars']['claudefs_site'] == 'site-b'
    assert site_b['hosts']['b3']['ansible_host'] == '127.92.2.3'


def test_ruleset_drops_both_ways_tcp_udp_and_the_rest():
    text = netfault.ruleset(93, ['127.93.1.1'], ['127.93.1.2', '127.93.2.1'])
    assert text.startswith('table ip cfsemu_93 {')
    assert 'elements = { 127.93.1.1 }' in text
    assert 'elements = { 127.93.1.2, 127.93.2.1 }' in text
    assert 'type filter hook input priority -5; policy accept;' in text
    for direction in ('a_to_b', 'b_to_a'):
        for proto in ('tcp', 'udp', 'other'):
            assert 'comment "%s %s"' % (direction, proto) in text
    assert text.count('counter drop') == 6


def test_firewall_refuses_overlapping_or_empty_sides():
    firewall = netfault.Firewall(94)
    with pytest.raises(ValueError, match='both sides'):
        firewall.apply(['127.94.1.1'], ['127.94.1.1', '127.94.1.2'])
    with pytest.raises(ValueError, match='both sides'):
        firewall.apply([], ['127.94.1.2'])


def test_registering_a_net_is_exclusive(tmp_path, monkeypatch):
    from cfsemu import supervisor
    monkeypatch.setattr(supervisor, 'REGISTRY', str(tmp_path / 'registry'))
    monkeypatch.setattr(supervisor, 'net_in_use', lambda net: False)
    first = supervisor.Cluster.create(str(tmp_path / 'one'), owner=os.getpid(), net=201)
    assert first.doc['net'] == 201
    with pytest.raises(supervisor.ClusterError, match='used by the instance'):
        supervisor.Cluster.create(str(tmp_path / 'two'), owner=os.getpid(), net=201)
    # a stale entry (its owner is gone) is taken over
    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()
    supervisor.set_owner(str(tmp_path / 'one'), dead.pid)
    second = supervisor.Cluster.create(str(tmp_path / 'three'), owner=os.getpid(), net=201)
    assert supervisor._registered(201)['state_dir'] == second.state_dir
