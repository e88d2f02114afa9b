"""cfs-site-failover.yml and cfs-site-failback.yml end to end against the emulator (issue 16).

One cluster for the whole runbook: files with known checksums, a client that keeps writing
to site-a (every outcome logged), SIGKILL of every site-a node, then the playbooks as an
operator runs them:

* site-a is partitioned from site-b, keeps acknowledging writes for 1.5 s, then dies;
* failover without the gate is refused (the old site cannot be asked: writes may be missing)
  and changes nothing; with it, site-b is promoted and the report carries the RPO; the
  history checker then proves no acknowledged write is missing from site-b beyond that RPO
  (only writes younger than the bound); a second run changes nothing;
* site-a comes back (passive), a partition keeps site-b's new writes from it: failback
  without the sync is refused (lag not zero) and changes nothing; after the heal the failback
  merges, syncs, checks both sites and switches; every acknowledged write is then on both
  sites with its checksum; a second run changes nothing.
"""

import time

import pytest

from cfscheck.history import History
from cfscheck.setcheck import check_set, explain
from cfscheck.workload import Files

from cfs_helpers import json_retrying, wait_for
from cfs_playbooks import Writer, phase_lines, run_playbook, write_manifest

pytestmark = pytest.mark.claudefs


def acked(history, prefix):
    return [op for op in history.ops if op['value'].startswith(prefix) and op['outcome'] == 'ok']


def test_site_loss_failover_then_failback(fresh, seed, tmp_path):
    em = fresh
    site_a, site_b = sorted(em.doc['sites'])
    a, b = em.client(em.nodes(site_a)[0], timeout=10), em.client(em.nodes(site_b)[0], timeout=10)
    history = History(seed=seed, meta={'test': 'site-failover'})
    files = Files(history, 'dr/site/%d' % seed, seed=seed)
    assert set(files.write(a, 20)) == {'ok'}
    # Every shard holds a write of site-a: a shard without one gives the RPO no bound (the
    # module then reports it unknown), which 20 random names leave to chance.
    for unused in range(100):
        listing = a.json_ok('GET', '/v1/files?prefix=%s' % files.prefix)['files']
        if len({v['shard'] for v in listing}) == em.doc['shards']:
            break
        assert files.write(a, 1) == ['ok']
    manifest = write_manifest(str(tmp_path / 'manifest.json'), files.expected)
    a.json_ok('POST', '/v1/replication/sync', {'source': site_a, 'target': site_b}, timeout=40)

    live = 'dr/site-live/%d' % seed
    writer = Writer(em.client(em.nodes(site_a)[0], timeout=2.0), history, live)
    writer.start()
    time.sleep(1.0)
    # The site is cut off first, then dies: what it acknowledged meanwhile never reached
    # site-b (the RPO), and comes back only with the site (the failback's merge).
    em.cluster.partition(site_a)
    history.mark('site-a partitioned')
    time.sleep(1.5)
    for node in em.nodes(site_a):
        em.cluster.kill(node)
    history.mark('site-a killed')
    writer.stop.set()
    writer.join(10)
    em.cluster.heal()
    extra = {'claudefs_manifest': manifest}

    # Refusal: the old site cannot be asked, so writes may be missing - nothing changes.
    refused = run_playbook('cfs-site-failover.yml', em, extra)
    assert refused.rc != 0 and 'claudefs_failover_confirm_data_loss=true' in refused.output, \
        refused.output[-3000:]
    assert b.json_ok('GET', '/v1/replication')['active_site'] == site_a

    run = run_playbook('cfs-site-failover.yml', em, dict(
        extra, claudefs_failover_confirm_data_loss=True))
    assert run.rc == 0, run.output[-6000:]
    report = run.report()
    assert report['scenario'] == 'cfs-site-failover'
    status = b.json_ok('GET', '/v1/replication')
    assert status['active_site'] == site_b
    promoted_at = status['failover']['at']
    checks = {v['check']: v['ok'] for v in report.get('verified', [])}
    assert checks.get('ClaudeFS file checksums') is True, report.get('verified')
    rpo = report.get('rpo_achieved_seconds') or report.get('rpo', {}).get('achieved_seconds')
    assert rpo is not None, (report, run.output[-8000:])

    # History checker: every acknowledged write older than the RPO bound is on site-b; only
    # younger ones may be missing (and the emulator says when it promoted).
    on_b = files.present(b) | Files(history, live).present(b)
    ops = acked(history, 'dr/site')
    bound = promoted_at - float(rpo)
    allowed = set(op['value'] for op in ops if float(op['output']['timestamp']) > bound)
    result = check_set([op for op in history.ops if op['value'].startswith('dr/site')], on_b,
                       predicted_loss=allowed)
    assert result['valid'], explain(result)
    lost = set(op['value'] for op in ops) - on_b
    assert lost, 'writes acknowledged by site-a while partitioned must be missing on site-b'
    assert not files.verify(b)['missing'] and not files.verify(b)['corrupt']
    print('site failover: playbook %.1f s (refused run %.1f s); %d writes acked by the client, '
          '%d missing on site-b, RPO bound %.2f s; phases: %s' % (
              run.seconds, refused.seconds, writer.count, len(lost), float(rpo),
              phase_lines(report)))

    again = run_playbook('cfs-site-failover.yml', em, dict(
        extra, claudefs_failover_confirm_data_loss=True))
    assert again.rc == 0 and again.changed == 0, again.output[-4000:]

    # site-a returns (passive) but is partitioned: site-b's new writes cannot reach it.
    for node in em.nodes(site_a):
        em.cluster.start(node)
    wait_for(lambda: a.json_ok('GET', '/v1/status')['active_site'] == site_b, 30,
             what='site-a adopts site-b as the active site')
    em.cluster.partition(site_a)
    after = Files(history, 'dr/site-after/%d' % seed, seed=seed + 1)
    assert set(after.write(b, 5, process=2)) == {'ok'}
    early = run_playbook('cfs-site-failback.yml', em, dict(
        extra, claudefs_failback_sync=False, claudefs_verify_fail=False))
    assert early.rc != 0 and 'refused' in early.output, early.output[-3000:]
    assert b.json_ok('GET', '/v1/replication')['active_site'] == site_b
    em.cluster.heal()

    back = run_playbook('cfs-site-failback.yml', em, extra)
    assert back.rc == 0, back.output[-6000:]
    assert a.json_ok('GET', '/v1/replication')['active_site'] == site_a
    # Merged, not discarded: every acknowledged write is on both sites now.
    everything = [op for op in history.ops if op['value'].startswith('dr/site')]
    for client in (a, b):
        present = files.present(client) | Files(history, live).present(client) | \
            after.present(client)
        result = check_set(everything, present)
        assert result['valid'], explain(result)
    for group in (files, after):
        for client in (a, b):
            verdict = group.verify(client)
            assert not verdict['missing'] and not verdict['corrupt'], verdict
    conflicts = json_retrying(a, 'GET', '/v1/conflicts')
    assert conflicts['unresolved'] == 0
    print('site failback: playbook %.1f s (refused run %.1f s); %d acknowledged writes lost at '
          'promotion came back by the merge' % (back.seconds, early.seconds, len(lost)))
    again = run_playbook('cfs-site-failback.yml', em, extra)
    assert again.rc == 0 and again.changed == 0, again.output[-4000:]
