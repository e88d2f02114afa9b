"""cfs-restore-metadata.yml end to end against the emulator (issue 15): corruption on one
node found, the repair refused without its gate (nothing changed), repaired with it, every
checksum intact, and a second run that changes nothing."""

import time

import pytest

from cfscheck.history import History
from cfscheck.workload import Files

from cfs_playbooks import phase_lines, run_playbook, write_manifest

pytestmark = pytest.mark.claudefs


def problems(em):
    report = em.client('a1').json_ok('POST', '/v1/metadata/consistency-check',
                                     {'verbose': True})
    return sorted((p['kind'], p['node'], p['shard']) for p in report['problems'])


def test_metadata_corruption_repaired_by_the_playbook(fresh, seed, tmp_path):
    em = fresh
    files = Files(History(seed=seed), 'dr/meta', seed=seed)
    assert set(files.write(em.client('a1'), 30)) == {'ok'}
    manifest = write_manifest(str(tmp_path / 'manifest.json'), files.expected)
    em.cluster.corrupt('a2', 4, seed)
    found = problems(em)
    assert found, 'the corruption was not found by the consistency check'

    refused = run_playbook('cfs-restore-metadata.yml', em, {'claudefs_manifest': manifest})
    assert refused.rc != 0 and 'claudefs_metadata_allow_repair=true' in refused.output
    assert problems(em) == found

    started = time.monotonic()
    run = run_playbook('cfs-restore-metadata.yml', em, {
        'claudefs_manifest': manifest, 'claudefs_metadata_allow_repair': True})
    assert run.rc == 0, run.output[-6000:]
    assert problems(em) == []
    assert files.verify(em.client('a2'))['intact'] == 30
    report = run.report()
    assert report['scenario'] == 'cfs-metadata'
    seconds = time.monotonic() - started
    print('metadata corruption (%d problems on a2): repaired and verified in %.1f s (RTO 1 h, '
          'target here 5 min); phases: %s' % (len(found), seconds, phase_lines(report)))

    again = run_playbook('cfs-restore-metadata.yml', em, {
        'claudefs_manifest': manifest, 'claudefs_metadata_allow_repair': True})
    assert again.rc == 0 and again.changed == 0, again.output[-4000:]
