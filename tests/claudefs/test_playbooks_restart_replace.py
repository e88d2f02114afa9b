"""The runbook's gentler paths end to end against the emulator (issue 15):

- quorum loss where the lost members can come back (runbook option 1): cfs-recover-quorum.yml
  restarts them through the service seam, quorum returns, no force-leader runs, the epochs
  stay, nothing is lost;
- permanent loss of one node: cfs-recover-node.yml joins a replacement in its place and the
  old node leaves every shard.
"""

import pytest

from cfscheck.history import History
from cfscheck.workload import Files

from cfs_helpers import shard_table, wait_for
from cfs_playbooks import phase_lines, reap_added_nodes, run_playbook, write_manifest

pytestmark = pytest.mark.claudefs


@pytest.fixture
def emu(fresh):
    """``fresh``, plus the nodes the playbook added stopped at the end (before its down)."""
    yield fresh
    assert all(reap_added_nodes(fresh).values()), 'a node the playbook added is still running'


def site_a(em, node='a1'):
    return {shard: s for (site, shard), s in shard_table(em.client(node), 'site-a').items()
            if site == 'site-a'}


def test_quorum_back_by_restarting_the_lost_members(emu, seed, tmp_path):
    em = emu
    files = Files(History(seed=seed), 'dr/restart', seed=seed)
    assert set(files.write(em.client('a1'), 20)) == {'ok'}
    manifest = write_manifest(str(tmp_path / 'manifest.json'), files.expected)
    epochs = {k: v['epoch'] for k, v in site_a(em).items()}
    em.cluster.kill('a2')
    em.cluster.kill('a3')
    wait_for(lambda: not any(s['has_quorum'] for s in site_a(em).values()), 30, 0.2,
             'site-a without quorum')
    # The operator arrives after the detection: SWIM has declared the two nodes Dead (before
    # that, the preflight's plan refuses to fence members SWIM still reports Alive).
    survivor = em.client('a1')
    wait_for(lambda: {n['name']: n['swim'] for n in survivor.json_ok('GET', '/v1/status')
                      ['nodes'] if n['name'] in ('a2', 'a3')} == {'a2': 'Dead', 'a3': 'Dead'},
             30, 0.2, 'a2 and a3 declared Dead by SWIM')
    # no gate: option 1 needs none; the force-leader would be refused if it were reached
    run = run_playbook('cfs-recover-quorum.yml', em, {'claudefs_quorum_site': 'site-a',
                                                      'claudefs_manifest': manifest})
    assert run.rc == 0, run.output[-6000:]
    after = site_a(em)
    assert all(s['has_quorum'] and s['leader'] for s in after.values())
    assert {k: v['epoch'] for k, v in after.items()} == epochs  # no force-leader ran
    assert files.verify(em.client('a3'))['intact'] == 20
    print('quorum back by restarting a2, a3 in %.1f s; phases: %s'
          % (run.seconds, phase_lines(run.report())))


def test_permanent_node_loss_replaced_by_the_playbook(emu, seed, tmp_path):
    em = emu
    files = Files(History(seed=seed), 'dr/replace', seed=seed)
    assert set(files.write(em.client('a1'), 20)) == {'ok'}
    manifest = write_manifest(str(tmp_path / 'manifest.json'), files.expected)
    em.cluster.kill('a3')
    extra = {'claudefs_node_recovery_node': 'a3', 'claudefs_node_recovery_permanent': True,
             'claudefs_node_recovery_replacement': {'name': 'a6'}, 'claudefs_manifest': manifest}
    run = run_playbook('cfs-recover-node.yml', em, extra)
    assert run.rc == 0, run.output[-6000:]
    for shard, s in site_a(em).items():
        members = sorted(m['node'] for m in s['members'])
        assert members == ['a1', 'a2', 'a6'], (shard, members)
        assert s['has_quorum'] and s['leader']
    assert files.verify(em.client('a1'))['intact'] == 20
    print('permanent loss of a3: replaced by a6 in %.1f s (RTO 10 min); phases: %s'
          % (run.seconds, phase_lines(run.report())))
    again = run_playbook('cfs-recover-node.yml', em, extra)
    assert again.rc == 0 and again.changed == 0, again.output[-4000:]
