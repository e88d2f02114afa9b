# -*- coding: utf-8 -*-
"""module_utils/cfs/metadata.py: archive verification and the restore refusal."""

import hashlib
import io
import json
import tarfile

import pytest

from ansible_collections.resilience.dr.plugins.module_utils.runner import Refusal
from ansible_collections.resilience.dr.plugins.module_utils.cfs import metadata
from ansible_collections.resilience.dr.plugins.module_utils.cfs.raft import PlanningError


def archive(path, members):
    with tarfile.open(path, 'w:gz') as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_verify_archive_checks_sha256_and_manifest(tmp_path):
    manifest = {'created': 1.0, 'files': 3, 'records': 9, 'cluster_name': 'c', 'shards': {}}
    good = str(tmp_path / 'good.tar.gz')
    digest = archive(good, {'snap/manifest.json': json.dumps(manifest).encode(),
                            '../../etc/evil': b'never extracted'})
    assert metadata.verify_archive(good, digest)['files'] == 3
    with pytest.raises(PlanningError, match='does not count as a backup'):
        metadata.verify_archive(good, '0' * 64)
    bare = str(tmp_path / 'bare.tar.gz')
    digest = archive(bare, {'data': b'x'})
    with pytest.raises(PlanningError, match='no manifest.json'):
        metadata.verify_archive(bare, digest)
    assert not (tmp_path / 'etc').exists()


def test_epoch_and_local_path():
    assert metadata.epoch_of('2026-11-30T23:00:00.000Z') == 1796079600
    assert metadata.epoch_of('garbage') is None and metadata.epoch_of(None) is None
    assert metadata.local_path('file:///tmp/a.tar.gz') == '/tmp/a.tar.gz'
    assert metadata.local_path('s3://b/k') is None


class Replay:
    def __init__(self, **answers):
        self.answers, self.asked = answers, []

    def call(self, operation, body=None, **kw):
        self.asked.append(operation)
        return self.answers[operation]


def test_restore_over_a_live_cluster_refused_before_any_call_that_changes():
    c = Replay(fileList={'files': [{'path': 'a'}, {'path': 'b'}]})
    with pytest.raises(Refusal) as exc:
        metadata.MetadataManager(c).restore('s3://b/m.tar.gz', None, False, None)
    assert exc.value.option == 'allow_live_restore' and '2 file(s)' in str(exc.value)
    assert c.asked == ['fileList']


def test_restore_over_a_live_cluster_takes_a_pre_restore_snapshot_first():
    c = Replay(fileList={'files': [{'path': 'a'}]}, metadataSnapshot={'snapshot_id': 'pre'},
               metadataRestore={'changed': True, 'files': 1})
    result = metadata.MetadataManager(c).restore('s3://b/m.tar.gz', None, True, None)
    assert c.asked == ['fileList', 'metadataSnapshot', 'metadataRestore']
    assert result['pre_restore_snapshot'] == {'snapshot_id': 'pre'} and result['changed']


def test_restore_into_an_empty_cluster_needs_no_confirmation():
    c = Replay(fileList={'files': []}, metadataRestore={'changed': True, 'files': 5})
    result = metadata.MetadataManager(c, check_mode=True).restore('s3://b/m', None, False, None)
    assert c.asked == ['fileList'] and result['changed']
    assert [s['destructive'] for s in result['plan']] == [False]
