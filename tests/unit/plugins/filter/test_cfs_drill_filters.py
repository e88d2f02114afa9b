# -*- coding: utf-8 -*-
"""plugins/filter/cfs_drill.py over listings captured from the emulator (fixtures/cfs/README.md):
10 files snapshotted, then d/new1 written, d/f3 overwritten and d/f7 deleted on the live cluster;
the snapshot restored on a scratch cluster."""

import copy
import json
import os

from ansible_collections.resilience.dr.plugins.filter import cfs_drill

FIX = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'cfs')


def load(name):
    with open(os.path.join(FIX, name)) as f:
        return json.load(f)


def captured():
    live = load('emulator_drill_live_get_files.json')['files']
    restored = load('emulator_drill_scratch_get_files.json')['files']
    manifest = load('emulator_drill_scratch_post_metadata_restore.json')['manifest']
    return restored, live, manifest


def test_compare_counts_what_changed_since_the_snapshot_and_compares_the_rest():
    restored, live, manifest = captured()
    out = cfs_drill.cfs_drill_compare(restored, live, manifest)
    assert out['ok'] is True
    assert (out['restored_files'], out['snapshot_files'], out['live_files']) == (10, 10, 10)
    # d/new1 and d/f3 are newer than the snapshot; d/f7 was deleted since
    assert (out['changed_since'], out['deleted_since']) == (2, 1)
    assert (out['compared'], out['equal'], out['missing'], out['differ']) == (8, 8, [], [])
    assert sorted(out['expected']) == sorted(
        f['path'] for f in live if f['path'] not in ('d/new1', 'd/f3'))
    live_sums = dict((f['path'], f['sha256']) for f in live)
    assert all(live_sums[p] == s for p, s in out['expected'].items())
    assert out['detail'].startswith('10 file(s) restored (the snapshot lists 10); live 10: '
                                    '8 compared, 8 equal, 0 missing from the restore, 0 differ')


def test_compare_fails_on_a_lost_or_different_file_and_on_a_short_restore():
    restored, live, manifest = captured()
    unchanged = [f for f in live if f['path'] not in ('d/new1', 'd/f3')]
    lost = [f for f in restored if f['path'] != unchanged[0]['path']]
    out = cfs_drill.cfs_drill_compare(lost, live, manifest)
    assert out['ok'] is False and out['missing'] == [unchanged[0]['path']]
    assert 'missing: %s' % unchanged[0]['path'] in out['detail']
    assert '9 file(s) restored (the snapshot lists 10)' in out['detail']
    bad = copy.deepcopy(restored)
    victim = next(f for f in bad if f['path'] == unchanged[1]['path'])
    victim['sha256'] = '0' * 64
    out = cfs_drill.cfs_drill_compare(bad, live, manifest)
    assert out['ok'] is False and [d['path'] for d in out['differ']] == [victim['path']]
    assert victim['path'] not in out['expected']
    short = dict(manifest, files=11)
    assert cfs_drill.cfs_drill_compare(restored, live, short)['ok'] is False


def test_compare_of_nothing_and_of_a_shard_the_manifest_does_not_know():
    out = cfs_drill.cfs_drill_compare([], [], {'files': 0, 'last_seq': {}})
    assert out['ok'] is True and out['compared'] == 0
    out = cfs_drill.cfs_drill_compare([], [{'path': 'x', 'shard': 9, 'seq': 1, 'sha256': 'a'}],
                                      {'files': 0, 'last_seq': {'0': 5}})
    assert out['changed_since'] == 1 and out['compared'] == 0


def test_guard_refuses_the_live_cluster_and_a_missing_scratch():
    live = {'endpoints': ['http://10.0.0.1:8443', 'http://10.0.0.2:8443'], 'name': 'prod'}
    assert cfs_drill.cfs_drill_guard({'endpoints': ['http://10.9.0.1:8443'], 'name': 'dr'},
                                     live) == ''
    assert 'claudefs_drill_scratch_endpoints' in cfs_drill.cfs_drill_guard(
        {'endpoints': [], 'name': ''}, live)
    shared = cfs_drill.cfs_drill_guard({'endpoints': ['http://10.0.0.2:8443/'], 'name': 'dr'},
                                       live)
    assert "live cluster's http://10.0.0.2:8443" in shared
    same = cfs_drill.cfs_drill_guard({'endpoints': ['http://10.9.0.1:8443'], 'name': 'prod'},
                                     live)
    assert "live cluster's name prod" in same


def test_check_line_and_report_check():
    check = {'name': 'restore', 'status': 'warn', 'seconds': 1.25, 'detail': 'old'}
    assert cfs_drill.cfs_drill_check_line(check) == 'restore: WARN (1.2 s) - old'
    assert cfs_drill.cfs_drill_report_check(check) == {
        'check': 'ClaudeFS drill: restore', 'ok': False, 'detail': 'warn: old'}
    assert cfs_drill.cfs_drill_report_check(dict(check, status='pass'))['ok'] is True
