"""cfs-restore-metadata.yml's restore branch end to end against the emulator (issue 15).

Metadata damaged beyond repair - a faulty operation replicated to every member, so no replica
holds a good copy - while the newest snapshots in the bucket are themselves bad (one bit-rotted
after upload, one whose member does not match its manifest).  The playbook must find that the
repair cannot fix it, refuse the restore without its gate, then with the gate: take a
pre-restore snapshot, skip both bad snapshots naming why, restore the newest one that
verifies, replay the journal up to the moment of the fault, and verify every checksum.
"""

import time

import pytest

from cfscheck import setcheck
from cfscheck.history import History
from cfscheck.workload import Files

from cfs_playbooks import phase_lines, run_playbook, write_manifest
from cfs_snapshots import keys_under, plant_bad_snapshots, wait_journal_archived

pytestmark = pytest.mark.claudefs


def problem_kinds(em):
    report = em.client('a1').json_ok('POST', '/v1/metadata/consistency-check',
                                     {'verbose': True})
    return report['summary']


def test_metadata_beyond_repair_restored_from_the_newest_snapshot_that_verifies(
        fresh, seed, tmp_path):
    em = fresh
    history = History(seed=seed, meta={'test': 'restore'})
    before = Files(history, 'dr/restore-old', seed=seed)
    assert set(before.write(em.client('a1'), 20)) == {'ok'}
    good = em.client('a1').json_ok('POST', '/v1/metadata/snapshots', {})
    after = Files(history, 'dr/restore-new', seed=seed + 1)
    assert set(after.write(em.client('a1'), 10)) == {'ok'}
    wait_journal_archived(em)
    planted = plant_bad_snapshots(em, good['location'])
    expected = dict(before.expected, **after.expected)
    manifest = write_manifest(str(tmp_path / 'manifest.json'), expected)

    fault_at = time.time()
    damaged = em.cluster.corrupt_replicated('a1', 4, seed)
    assert problem_kinds(em) == {'record_invalid': 12}, 'the damage is on all 3 replicas'

    refused = run_playbook('cfs-restore-metadata.yml', em, {
        'claudefs_manifest': manifest, 'claudefs_metadata_allow_repair': True})
    assert refused.rc != 0 and 'claudefs_metadata_allow_live_restore=true' in refused.output
    assert 'newest that verifies of: %s' % planted['badmember'] in refused.output
    assert problem_kinds(em) == {'record_invalid': 12}, 'the refusal changed something'
    assert keys_under(em, 'pre-restore') == []

    started = time.monotonic()
    run = run_playbook('cfs-restore-metadata.yml', em, {
        'claudefs_manifest': manifest, 'claudefs_metadata_allow_repair': True,
        'claudefs_metadata_allow_live_restore': True,
        'claudefs_metadata_replay_until': str(fault_at)})
    seconds = time.monotonic() - started
    assert run.rc == 0, run.output[-6000:]
    assert problem_kinds(em) == {}
    out = run.output
    restored = out[out.find('Print the snapshot restored'):][:3000]
    assert 'Restored %s' % good['location'] in out, restored
    assert '%s: snapshot' % planted['bitrot'] in out and 'its .sha256 says' in out
    assert '%s: snapshot member shards/0.json' % planted['badmember'] in out
    assert len(keys_under(em, 'pre-restore')) == 1
    for files in (before, after):
        result = files.verify(em.client('a2'))
        assert not result['missing'] and not result['corrupt'], result
    report = run.report()
    checks = {v['check']: v for v in report['verified']}
    assert checks['ClaudeFS file checksums']['ok'] is True
    detail = checks['ClaudeFS metadata consistency']['detail']
    assert 'skipped 2 newer that did not verify' in detail and 'replayed 10 journal' in detail
    present = before.present(em.client('a1')) | after.present(em.client('a1'))
    result = setcheck.check_set(history.ops, present)
    assert result['valid'], setcheck.explain(result)
    print('metadata beyond repair (%d records damaged on every replica): restored %s, skipped %d '
          'bad newer snapshots, replayed the journal; %.1f s (RTO 1 h, target here 5 min); '
          'phases: %s' % (len(damaged), good['location'], len(planted), seconds,
                          phase_lines(report)))

    again = run_playbook('cfs-restore-metadata.yml', em, {
        'claudefs_manifest': manifest, 'claudefs_metadata_allow_repair': True,
        'claudefs_metadata_allow_live_restore': True})
    assert again.rc == 0 and again.changed == 0, again.output[-4000:]
