"""cfs-rebuild-cluster.yml end to end against the emulator (issue 15): complete loss.

Files written, a snapshot taken, more files written after it (archived in the journal), then
every node destroyed (processes killed, disks deleted; S3 keeps the data, the snapshot and the
journal).  Without its gate the playbook prints the plan and starts nothing; with it, it starts
every node as a new machine, inits a new cluster, restores the snapshot from S3, replays the
journal and verifies every checksum (the content comes back from S3).  A second run changes
nothing.
"""

import time

import pytest

from cfscheck import setcheck
from cfscheck.history import History
from cfscheck.workload import Files

from cfs_helpers import health, wait_for
from cfs_playbooks import phase_lines, run_playbook, write_manifest
from cfs_snapshots import wait_journal_archived

pytestmark = pytest.mark.claudefs


def uploaded(client):
    queue = client.json_ok('GET', '/v1/s3/queue')
    pending = [n.get('journal_pending') for n in queue['nodes']]
    return queue['depth'] == 0 and all(p in (0, None) for p in pending)


def test_complete_loss_rebuilt_from_s3_by_the_playbook(fresh, seed, tmp_path):
    em = fresh
    client = em.client('a1', timeout=10)
    history = History(seed=seed, meta={'test': 'rebuild'})
    before = Files(history, 'dr/rebuild-old', seed=seed)
    assert set(before.write(client, 16)) == {'ok'}
    wait_for(lambda: uploaded(client), 30, 0.3, 'uploads before the snapshot')
    snapshot = client.json_ok('POST', '/v1/metadata/snapshots', {}, timeout=60)
    after = Files(history, 'dr/rebuild-new', seed=seed + 1)
    assert set(after.write(client, 8)) == {'ok'}
    wait_journal_archived(em)
    wait_for(lambda: uploaded(client), 30, 0.3, 'uploads after the snapshot')
    manifest = write_manifest(str(tmp_path / 'manifest.json'),
                              dict(before.expected, **after.expected))

    em.cluster.destroy()
    assert not any(health(em).values())

    refused = run_playbook('cfs-rebuild-cluster.yml', em, {'claudefs_manifest': manifest})
    assert refused.rc != 0 and 'claudefs_rebuild_confirm=true' in refused.output
    assert '1. start a1, a2, a3, b1, b2, b3' in refused.output
    assert not any(em.cluster.running(n) for n in em.nodes()), 'the refusal started a node'

    started = time.monotonic()
    name = em.doc['name'] + '-rebuilt'
    run = run_playbook('cfs-rebuild-cluster.yml', em, {
        'claudefs_manifest': manifest, 'claudefs_rebuild_confirm': True,
        'claudefs_rebuild_cluster_name': name})
    seconds = time.monotonic() - started
    assert run.rc == 0, run.output[-6000:]
    assert 'Restored %s' % snapshot['location'] in run.output
    status = em.client('a2').json_ok('GET', '/v1/status')
    assert status['cluster_name'] == name
    for files in (before, after):
        result = files.verify(em.client('b1'))
        assert not result['missing'] and not result['corrupt'], result
    report = run.report()
    assert report['scenario'] == 'cfs-rebuild'
    checks = {v['check']: v for v in report['verified']}
    assert checks['ClaudeFS file checksums']['ok'] is True
    assert 'journal entries replayed' in checks['ClaudeFS cluster rebuilt from S3']['detail']
    present = before.present(client) | after.present(client)
    result = setcheck.check_set(history.ops, present)
    assert result['valid'], setcheck.explain(result)
    print('complete loss: 6 nodes destroyed; rebuilt from S3 (%d + %d files, journal replayed) '
          'and every checksum verified in %.1f s (RTO 2+ h, target here 5 min); phases: %s'
          % (len(before.expected), len(after.expected), seconds, phase_lines(report)))

    again = run_playbook('cfs-rebuild-cluster.yml', em, {
        'claudefs_manifest': manifest, 'claudefs_rebuild_confirm': True,
        'claudefs_rebuild_cluster_name': name})
    assert again.rc == 0 and again.changed == 0, again.output[-4000:]
