"""cfs-s3-outage.yml end to end against the emulator (issue 16).

Files with known checksums, the primary S3 server (rclone) stopped, writes until the flash
high watermark switches the cluster to write-through (writes refused from then on), then the
playbook: diagnosis, failover to the backup after the threshold, queue drained. The primary
comes back: a second run switches back and drains; a third changes nothing. Every
acknowledged file is readable with its checksum, the queue is empty, no failed upload is left,
and the history has no acknowledged write lost and none that was never written.
"""

import pytest

from cfscheck.history import History
from cfscheck.setcheck import check_set, explain
from cfscheck.workload import Files

from cfs_helpers import save_history, wait_for
from cfs_playbooks import phase_lines, run_playbook, write_manifest

pytestmark = pytest.mark.claudefs


def test_s3_outage_until_the_watermark_then_failover_and_back(cluster_factory, seed, tmp_path):
    em = cluster_factory(flash_quota=512 * 1024)
    client = em.client(timeout=10)
    history = History(seed=seed, meta={'test': 's3-outage-playbook'})
    files = Files(history, 's3pb/%d' % seed, seed=seed, size=(12 * 1024, 20 * 1024))
    assert files.write(client, 4).count('ok') == 4
    wait_for(lambda: client.json_ok('GET', '/v1/s3/queue')['depth'] == 0, 30,
             what='the first uploads to reach S3')

    assert em.cluster.s3_stop('primary')
    history.mark('s3-stop', endpoint='primary')
    modes = []
    for unused in range(80):       # the client keeps writing until the watermark refuses it
        outcome = files.write(client, 1, process=1, timeout=10)[0]
        modes.append(client.json_ok('GET', '/v1/s3/queue')['mode'])
        if outcome != 'ok' and modes[-1] != 'write-back':
            break
    assert 'write-through' in modes or 'enospc' in modes, modes
    manifest = write_manifest(str(tmp_path / 'manifest.json'),
                              dict((n, files.expected[n]) for n in files.acknowledged()))
    extra = {'claudefs_manifest': manifest, 'claudefs_s3_outage_threshold': 3,
             'claudefs_s3_outage_drain_timeout': 60}

    run = run_playbook('cfs-s3-outage.yml', em, extra)
    assert run.rc == 0, run.output[-6000:]
    queue = client.json_ok('GET', '/v1/s3/queue')
    assert queue['target'] == 'backup' and queue['depth'] == 0 and queue['mode'] == 'write-back'
    report = run.report()
    assert report['scenario'] == 'cfs-s3-outage'
    checks = {v['check']: v['ok'] for v in report.get('verified', [])}
    assert checks.get('ClaudeFS S3 upload queue drained') is True, report.get('verified')
    assert checks.get('ClaudeFS file checksums') is True, report.get('verified')
    assert files.write(client, 2, process=2).count('ok') == 2   # write-back again

    em.cluster.s3_start('primary')
    wait_for(lambda: all(e['reachable'] for e in client.json_ok('GET', '/v1/s3/health')[
        'endpoints']), 20, what='the primary S3 endpoint back')
    back = run_playbook('cfs-s3-outage.yml', em, extra)
    assert back.rc == 0 and back.changed > 0, back.output[-6000:]
    queue = client.json_ok('GET', '/v1/s3/queue')
    assert queue['target'] == 'primary' and queue['depth'] == 0
    assert all(n.get('reachable', True) and n['mode'] == 'write-back' for n in queue['nodes'])

    again = run_playbook('cfs-s3-outage.yml', em, extra)
    assert again.rc == 0 and again.changed == 0, again.output[-4000:]

    # Every acknowledged file, with its checksum; nothing lost, nothing never written.
    verdict = files.verify(client)
    assert not verdict['missing'] and not verdict['corrupt'], verdict
    result = check_set(history.ops, files.present(client))
    path = save_history(history, 's3-outage-playbook')
    assert result['valid'], '%s (history %s)' % (explain(result), path)
    print('s3 outage: failover run %.1f s, switch-back run %.1f s; modes seen %s; phases: %s' % (
        run.seconds, back.seconds, sorted(set(modes)), phase_lines(report)))
