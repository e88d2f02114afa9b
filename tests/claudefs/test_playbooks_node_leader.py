"""cfs-recover-leader.yml and cfs-recover-node.yml end to end against the emulator (issue 15).

Each writes files with known checksums, starts a client that keeps writing (every outcome
logged), breaks the cluster the way the runbook describes (SIGKILL a shard leader; SIGKILL a
node), runs the playbook as an operator would, then checks every checksum, the cluster state,
the recovery report, that a second run changes nothing, and the history: no acknowledged
write lost, none present that was never written.
"""

import threading
import time

import pytest

from cfscheck import setcheck
from cfscheck.history import History
from cfscheck.workload import Files

from cfs_helpers import all_led, shard_table, wait_for
from cfs_playbooks import Writer, phase_lines, run_playbook, write_manifest

pytestmark = pytest.mark.claudefs


def written(em, seed, tmp_path, prefix, count=30):
    """``count`` files under ``prefix`` (no leading slash: the listing matches stored paths)."""
    history = History(seed=seed, meta={'test': prefix})
    files = Files(history, prefix, seed=seed)
    assert set(files.write(em.client('a1'), count)) == {'ok'}
    return history, files, write_manifest(str(tmp_path / 'manifest.json'), files.expected)


def test_leader_loss_confirmed_by_the_playbook(fresh, seed, tmp_path):
    em = fresh
    history, files, manifest = written(em, seed, tmp_path, 'dr/leader')
    leaders = all_led(em.client('b1'), 'site-a')
    victim = sorted(set(leaders.values()))[0]
    survivor = [n for n in em.nodes('site-a') if n != victim][0]
    elected = {}

    def watch():  # when does every shard have a leader again (the runbook's 5 s)?
        client = em.client(survivor, timeout=2.0)
        while 'at' not in elected and time.monotonic() - killed < 120:
            try:
                if all_led(client, 'site-a', exclude=(victim,)):
                    elected['at'] = time.monotonic() - killed
            except Exception:  # pylint: disable=broad-except
                pass
            time.sleep(0.1)
    watcher = threading.Thread(target=watch, daemon=True)
    writer = Writer(em.client(survivor, timeout=2.0), history, 'dr/leader-live')
    writer.start()
    em.cluster.kill(victim)
    killed = time.monotonic()
    watcher.start()

    try:
        run = run_playbook('cfs-recover-leader.yml', em, {'claudefs_manifest': manifest,
                                                          'claudefs_verify_replication_factor': 2})
    finally:
        writer.stop.set()
        writer.join(10)
    assert run.rc == 0, run.output[-6000:]
    led = all_led(em.client(survivor), 'site-a', exclude=(victim,))
    assert led and victim not in led.values()
    report = run.report()
    assert report['scenario'] == 'cfs-leader'
    checks = {v['check']: v['ok'] for v in report.get('verified', [])}
    assert checks.get('ClaudeFS file checksums') is True, report.get('verified')
    verify = files.verify(em.client(survivor))
    assert verify['intact'] == 30 and not verify['missing'] and not verify['corrupt']
    watcher.join(5)
    print('leader loss: every site-a shard led %s s after the SIGKILL of %s (RTO 5 s); '
          'playbook %.1f s; phases: %s' % (round(elected.get('at', -1), 2), victim, run.seconds,
                                           phase_lines(report)))

    again = run_playbook('cfs-recover-leader.yml', em, {'claudefs_manifest': manifest,
                                                        'claudefs_verify_replication_factor': 2})
    assert again.rc == 0 and again.changed == 0, again.output[-4000:]
    present = files.present(em.client(survivor)) | Files(history, 'dr/leader-live').present(
        em.client(survivor))
    result = setcheck.check_set(history.ops, present)
    assert result['valid'], setcheck.explain(result)
    print('leader loss, live client: %s' % setcheck.explain(result))


# Was a known issue (session 9): "a2 restarted by the playbook stays 2 of 3 reachable".  a2 was
# never restarted: the playbook ran while SWIM still called the SIGKILLed a2 Alive, skipped the
# start, and cfs_node (node already present, nothing to plan) returned "caught up" without
# looking.  Now the role always asks the service seam to start it (a no-op when running) and
# cfs_node waits for the node to be reachable and caught up in every group.
def test_transient_node_failure_recovered_by_the_playbook(fresh, seed, tmp_path):
    em = fresh
    history, files, manifest = written(em, seed, tmp_path, 'dr/node')
    writer = Writer(em.client('a1', timeout=2.0), history, 'dr/node-live')
    writer.start()
    em.cluster.kill('a2')
    wait_for(lambda: not shard_table(em.client('a1'), 'site-a')[('site-a', 0)]['members'][1]
             ['reachable'], 20, 0.2, 'a2 unreachable in its groups')
    started = time.monotonic()
    try:
        run = run_playbook('cfs-recover-node.yml', em, {'claudefs_manifest': manifest,
                                                        'claudefs_node_recovery_node': 'a2',
                                                        'claudefs_node_recovery_max_lag': 50})
    finally:
        writer.stop.set()
        writer.join(10)
    assert run.rc == 0, run.output[-6000:]
    for (site, shard), s in shard_table(em.client('a2'), 'site-a').items():
        if site == 'site-a':
            assert s['has_quorum'] and s['leader']
            assert all(m['reachable'] for m in s['members']), (shard, s['members'])
    report = run.report()
    assert report['scenario'] == 'cfs-node'
    assert files.verify(em.client('a2'))['intact'] == 30
    print('transient node failure: a2 back and caught up in %.1f s (RTO 2 min); phases: %s'
          % (time.monotonic() - started, phase_lines(report)))

    again = run_playbook('cfs-recover-node.yml', em, {'claudefs_manifest': manifest,
                                                      'claudefs_node_recovery_node': 'a2'})
    assert again.rc == 0 and again.changed == 0, again.output[-4000:]
    present = files.present(em.client('a1')) | Files(history, 'dr/node-live').present(
        em.client('a1'))
    result = setcheck.check_set(history.ops, present)
    assert result['valid'], setcheck.explain(result)
    print('node failure, live client: %s' % setcheck.explain(result))
