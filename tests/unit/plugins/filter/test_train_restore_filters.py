# -*- coding: utf-8 -*-
"""plugins/filter/train_restore.py: recover-full-restore.yml's choices, over restic 0.14 and
0.18 snapshot lists and real wipefs(8) output."""

import json
import os

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.resilience.dr.plugins.filter import train_restore as tr
from ansible_collections.resilience.dr.plugins.module_utils.restic.parsers import (
    snapshot_summary)

FIX = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..',
                                    'fixtures', 'restic'))
SNAPS = [
    {'id': 'a' * 64, 'short_id': 'aaaaaaaa', 'time': '2026-11-20T02:00:00Z', 'paths': []},
    {'id': 'b' * 64, 'short_id': 'bbbbbbbb', 'time': '2026-11-21T02:00:00.5+00:00',
     'paths': ['/mnt/storage/snapshots/backup_20261121_020000/homes',
               '/mnt/storage/snapshots/backup_20261121_020000/docker-volumes',
               '/root/train-server']},
    {'id': 'c' * 64, 'short_id': 'cccccccc', 'time': '2026-11-22T02:00:00Z', 'paths': []},
]


def test_snapshot_latest_id_and_before():
    assert tr.train_restore_snapshot(SNAPS)['short_id'] == 'cccccccc'
    assert tr.train_restore_snapshot(SNAPS, 'bbbb')['short_id'] == 'bbbbbbbb'
    assert tr.train_restore_snapshot(SNAPS, 'latest', '2026-11-22T01:59:59Z')['short_id'] == \
        'bbbbbbbb'
    assert tr.train_restore_snapshot(SNAPS, '', '2026-11-22T02:00:01+00:00')['short_id'] == \
        'cccccccc'
    with pytest.raises(AnsibleFilterError, match='the oldest is aaaaaaaa'):
        tr.train_restore_snapshot(SNAPS, 'latest', '2026-11-19T00:00:00Z')
    with pytest.raises(AnsibleFilterError, match='not both'):
        tr.train_restore_snapshot(SNAPS, 'bbbb', '2026-11-22T00:00:00Z')
    with pytest.raises(AnsibleFilterError, match='cannot read'):
        tr.train_restore_snapshot(SNAPS, 'latest', 'yesterday')
    with pytest.raises(AnsibleFilterError, match='not among'):
        tr.train_restore_snapshot(SNAPS, 'dddd')


@pytest.mark.parametrize('version', ['0.14', '0.18'])
def test_snapshot_over_captured_restic_output(version):
    with open(os.path.join(FIX, 'snapshots_%s.json' % version)) as handle:
        snaps = [snapshot_summary(s) for s in json.load(handle)]
    chosen = tr.train_restore_snapshot(snaps)
    assert chosen['id'] == snaps[-1]['id']
    assert tr.train_restore_snapshot(snaps, chosen['short_id'])['id'] == chosen['id']


def test_jobs_only_for_what_the_snapshot_holds():
    jobs = tr.train_restore_jobs(['homes', 'docker-volumes', 'shared/datasets'], '/mnt/storage/',
                                 '/mnt/storage/snapshots', SNAPS[1]['paths'])
    assert jobs == [
        {'path': 'homes', 'source_path': '/mnt/storage/snapshots/backup_*/homes',
         'target': '/mnt/storage/homes'},
        {'path': 'docker-volumes', 'source_path': '/mnt/storage/snapshots/backup_*/docker-volumes',
         'target': '/mnt/storage/docker-volumes'}]
    assert len(tr.train_restore_jobs(['homes', 'shared/datasets'], '/m', '/m/s')) == 2
    with pytest.raises(AnsibleFilterError, match='relative'):
        tr.train_restore_jobs(['../etc'], '/m', '/m/s')


def test_summary_notices_and_warnings():
    results = [{'item': {'path': 'homes'}, 'owner_map': {'renumbered': ['alice 1000 -> 1001']}},
               {'item': {'path': 'docker-volumes'},
                'owner_map': {'renumbered': ['alice 1000 -> 1001']}}]
    out = tr.train_restore_summary(results, SNAPS[1], ['homes', 'docker-volumes',
                                                       'shared/tensorboard'],
                                   ['workspaces', 'cache'], '/mnt/storage')
    assert out['notices'][0].startswith('Not restorable by design: workspaces, cache under '
                                        '/mnt/storage')
    assert 'Restored snapshot bbbbbbbb' in out['notices'][1]
    assert out['notices'][1].endswith('Owners mapped by name: alice 1000 -> 1001.')
    assert out['notices'][2].startswith('The snapshot holds none of shared/tensorboard')
    assert out['warnings'] == []


def test_disk_signatures_from_wipefs():
    ext4 = json.dumps({'signatures': [{'device': 'loop0', 'offset': '0x438', 'type': 'ext4',
                                       'uuid': 'x', 'label': None}]})
    results = [{'item': '/dev/vdb', 'rc': 0, 'stdout': ''},
               {'item': '/dev/vdc', 'rc': 0, 'stdout': ext4},
               {'item': '/dev/vdd', 'rc': 1, 'stdout': '', 'stderr': 'wipefs: error: busy'}]
    assert tr.train_disk_signatures(results) == ['/dev/vdc: ext4 at offset 0x438',
                                                 '/dev/vdd: cannot be probed (wipefs: error: busy)']
    assert tr.train_disk_signatures([results[0]]) == []
