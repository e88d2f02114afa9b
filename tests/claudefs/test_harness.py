"""The cfsemu harness itself, with stand-in nodes: processes, real packet drops, S3, cleanup.

These run without the emulator's node (``CFSEMU_NODE_MODULE=cfsemu_standin``) so that a
failure here points at the harness, not at the node.
"""

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from cfsemu import procs, s3servers, supervisor

pytestmark = pytest.mark.claudefs
NET = supervisor.free_net(200, 250)


@pytest.fixture
def standin(tmp_path, monkeypatch):
    monkeypatch.setenv('CFSEMU_NODE_MODULE', 'cfsemu_standin')
    cluster = supervisor.Cluster.create(str(tmp_path / 'cfs'), owner=os.getpid(), net=NET,
                                        shards=2, nodes_per_site=2)
    try:
        yield cluster
    finally:
        cluster.down()
        assert not cluster.firewall.exists()


def test_up_status_faults_and_down(standin):
    timings = standin.up(timeout=30)
    assert timings['leaders'] >= timings['nodes_ready'] >= timings['s3']
    status = standin.status()
    assert all(n['running'] and n['ready'] for n in status['nodes'].values())
    assert all(s['running'] for s in status['s3'].values())
    inventory = open(os.path.join(standin.state_dir, 'inventory.yml')).read()
    assert 'site_a:' in inventory and 'a2:' in inventory and '127.%d.2.1' % NET in inventory
    assert oct(os.stat(os.path.join(standin.state_dir, 'inventory.yml')).st_mode)[-3:] == '600'
    listed = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-inventory'),
                             '-i', os.path.join(standin.state_dir, 'inventory.yml'), '--list'],
                            capture_output=True, text=True, timeout=120, check=True)
    groups = json.loads(listed.stdout)
    assert sorted(groups['site_a']['hosts']) == ['a1', 'a2']
    assert groups['_meta']['hostvars']['b2']['ansible_host'] == '127.%d.2.2' % NET

    # The S3 endpoints are real rclone servers: an unsigned request is refused.
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(standin.doc['s3']['primary']['endpoint'] + '/claudefs/x',
                               timeout=5)
    assert refused.value.code in (400, 403)
    assert standin.s3_stop('backup') and not status_s3(standin)['backup']
    standin.s3_start('backup')
    assert status_s3(standin)['backup']

    # A site partition drops real packets both ways, TCP and UDP, and nothing else.
    standin.partition('site-a')
    time.sleep(0.5)
    counters = standin.counters()
    assert counters['active'] and counters['tcp_packets'] > 0 and counters['udp_packets'] > 0
    assert {r['rule'] for r in counters['rules'] if r['packets']} >= {'a_to_b udp', 'b_to_a udp'}
    assert sorted(counters['side_a']) == ['127.%d.1.1' % NET, '127.%d.1.2' % NET]
    # the test client (127.0.0.1) still reaches both sides
    for node in ('a1', 'b1'):
        assert standin.admin(node).get('/v1/health')['node'] == node
    standin.heal()
    healed = standin.counters()
    time.sleep(0.3)
    assert not standin.counters()['active']
    assert standin.counters()['packets'] == healed['packets']  # nothing dropped after heal

    standin.isolate('a2')
    time.sleep(0.4)
    counters = standin.counters()
    assert counters['side_a'] == ['127.%d.1.2' % NET] and counters['packets'] > 0
    standin.heal()

    # kill: the pid is gone; wipe refuses a running node; start brings it back.
    pid = standin.kill('b2')
    assert not procs.alive(pid) and not standin.running('b2')
    with pytest.raises(supervisor.ClusterError, match='running'):
        standin.wipe('a1')
    standin.wipe('b2')
    new_pid = standin.start('b2')
    assert new_pid != pid and standin.running('b2')
    old = standin.stop('a1')
    assert not procs.alive(old)
    standin.start('a1')

    # add-node: a new machine on the site's next free address, in cluster.json from now on
    added = standin.add_node('a9', 'site-a')
    assert added['address'] == '127.%d.1.3' % NET and standin.running('a9')
    assert supervisor.Cluster(standin.state_dir).doc['nodes']['a9']['site'] == 'site-a'
    with pytest.raises(supervisor.ClusterError, match='already exists'):
        standin.add_node('a9', 'site-a')
    # a node added by another process (the CLI) is stopped by this object's destroy/down too
    env = dict(os.environ, CFSEMU_NODE_MODULE='cfsemu_standin')
    cli = [sys.executable, os.path.join(supervisor.LAB, 'cfsemu.py')]
    added = subprocess.run(cli + ['add-node', 'b9', '--site', 'site-b', '--state',
                                  standin.state_dir], env=env, capture_output=True, text=True,
                           timeout=60, check=False)
    assert added.returncode == 0, added.stderr
    late_pid = json.loads(added.stdout)['pid']
    assert procs.alive(late_pid)

    # destroy kills every node and deletes their disks, keeps S3.
    pids = [standin.pid(n) for n in standin.doc['nodes']]
    standin.destroy()
    assert not any(procs.alive(p) for p in pids) and not procs.alive(late_pid)
    assert not os.path.exists(standin.doc['nodes']['a1']['dir'])
    assert os.path.isdir(os.path.join(standin.doc['s3']['primary']['dir'], 'claudefs'))
    assert all(status_s3(standin).values())


def status_s3(cluster):
    return {role: s['running'] for role, s in cluster.status()['s3'].items()}


def test_gc_takes_down_an_instance_whose_owner_died(tmp_path):
    owner = subprocess.Popen([sys.executable, '-c', 'pass'])
    owner.wait()
    env = dict(os.environ, CFSEMU_NODE_MODULE='cfsemu_standin')
    state = str(tmp_path / 'orphan')
    cli = [sys.executable, os.path.join(supervisor.LAB, 'cfsemu.py')]
    net = supervisor.free_net(NET + 1, 250)
    up = subprocess.run(cli + ['up', '--state', state, '--net', str(net), '--shards', '1',
                               '--sites', '1', '--nodes-per-site', '1',
                               '--owner', str(owner.pid)],
                        env=env, capture_output=True, text=True, timeout=60, check=False)
    assert up.returncode == 0, up.stderr
    assert 'every shard led in' in up.stderr
    doc = json.loads(up.stdout)
    pid = doc['nodes']['a1']['pid']
    cluster = supervisor.Cluster(state)
    try:
        partition = subprocess.run(cli + ['isolate', 'a1', '--state', state], env=env,
                                   capture_output=True, text=True, timeout=30, check=False)
        # one node has no peers: an isolation with an empty side is refused, clearly
        assert partition.returncode == 1 and 'both sides' in partition.stderr
        assert procs.alive(pid)
        cleaned = supervisor.gc()
        assert state in cleaned
        assert not procs.alive(pid) and not cluster.firewall.exists()
        assert not cluster.status()['s3']['primary']['running']
    finally:
        cluster.down()


def test_gc_finds_the_processes_of_a_deleted_state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv('CFSEMU_NODE_MODULE', 'cfsemu_standin')
    owner = subprocess.Popen([sys.executable, '-c', 'pass'])
    owner.wait()
    state = str(tmp_path / 'deleted')
    cluster = supervisor.Cluster.create(state, owner=owner.pid,
                                        net=supervisor.free_net(NET + 1, 250), shards=1,
                                        sites=2, nodes_per_site=1)
    cluster.up(timeout=30)
    cluster.partition('site-a')
    pids = [cluster.pid('a1'), cluster.pid('b1'), s3servers.pid(cluster.doc, 'primary')]
    assert all(procs.alive(p) for p in pids)
    shutil.rmtree(state)  # e.g. pytest removed an old basetemp
    try:
        assert state in supervisor.gc()
        assert not any(procs.alive(p) for p in pids)
        assert not cluster.firewall.exists()
    finally:
        for pid in pids:
            procs.signal_and_wait(pid, 9, 5.0, marker=state)
        cluster.firewall.remove()
