# -*- coding: utf-8 -*-
"""Restore of "the newest snapshot that verifies": the order tried, what is skipped and why,
and what is never sent (nothing mutating in check mode; the pre-restore snapshot outside
metadata/)."""

from ansible_collections.resilience.dr.plugins.module_utils.cfs import snapshot_choice
from ansible_collections.resilience.dr.plugins.module_utils.cfs.client import CfsApiError
from ansible_collections.resilience.dr.plugins.module_utils.cfs.metadata import MetadataManager

LISTING = {'snapshots': [
    {'location': 's3://claudefs/metadata/metadata-20261130T000000Z.tar.gz', 'size': 10,
     'modified': '2026-11-30T00:00:00.000Z'},
    {'location': 's3://claudefs/metadata/metadata-20261201T020000Z.tar.gz', 'size': 10,
     'modified': '2026-12-01T02:00:00.000Z'},
    {'location': 's3://claudefs/metadata/metadata-20261201T010000Z.tar.gz', 'size': 10,
     'modified': '2026-12-01T01:00:00.000Z'},
]}


class Fake:
    def __init__(self, bad=(), files=3):
        self.bad = set(bad)
        self.files = files
        self.asked = []

    def call(self, operation, body=None, **kw):
        self.asked.append((operation, body))
        if operation == 'metadataSnapshotList':
            return LISTING
        if operation == 'fileList':
            return {'files': [{'path': 'f%d' % i} for i in range(self.files)]}
        if operation == 'metadataSnapshot':
            return {'location': body['destination'], 'sha256': 'ab'}
        if operation == 'metadataRestore':
            if body['source'] in self.bad:
                raise CfsApiError('bad_request', 'snapshot %s has sha256 x, its .sha256 says y'
                                  % body['source'], status=400)
            return {'source': body['source'], 'changed': True, 'files': 3,
                    'manifest': {'created': 1.0}}
        raise AssertionError(operation)


def test_candidates_newest_first_and_pre_restore_outside_metadata():
    names = [s['location'] for s in snapshot_choice.candidates(LISTING)]
    assert names == [LISTING['snapshots'][1]['location'], LISTING['snapshots'][2]['location'],
                     LISTING['snapshots'][0]['location']]
    where = snapshot_choice.pre_restore_location(LISTING['snapshots'][1], clock=lambda: 0)
    assert where == 's3://claudefs/pre-restore/metadata-pre-restore-19700101T000000Z.tar.gz'


def test_skips_the_snapshots_that_do_not_verify_and_says_why():
    newest, second, oldest = [s['location'] for s in snapshot_choice.candidates(LISTING)]
    client = Fake(bad=(newest,))
    result = MetadataManager(client, clock=lambda: 0).restore(
        snapshot_choice.NEWEST_VERIFIED, None, True, None)
    assert result['source'] == second and result['changed'] is True
    assert [s['location'] for s in result['skipped']] == [newest]
    assert 'its .sha256 says' in result['skipped'][0]['reason']
    ops = [(o, (b or {}).get('source') or (b or {}).get('destination')) for o, b in client.asked]
    assert ops.index(('metadataSnapshot', result['pre_restore_snapshot']['location'])) < \
        ops.index(('metadataRestore', newest))
    assert '/pre-restore/' in result['pre_restore_snapshot']['location']
    assert ('metadataRestore', oldest) not in ops


def test_none_verifies_fails_and_says_nothing_was_restored():
    client = Fake(bad=[s['location'] for s in LISTING['snapshots']])
    result = MetadataManager(client, clock=lambda: 0).restore(
        snapshot_choice.NEWEST_VERIFIED, None, True, None)
    assert result['failed'] is True and 'nothing was restored' in result['msg']
    assert len(result['skipped']) == 3 and result['restored'] is None


def test_check_mode_lists_the_candidates_and_sends_nothing_mutating():
    client = Fake()
    result = MetadataManager(client, check_mode=True).restore(
        snapshot_choice.NEWEST_VERIFIED, None, True, None)
    assert result['changed'] is True and len(result['candidates']) == 3
    assert [o for o, _b in client.asked if o in ('metadataSnapshot', 'metadataRestore')] == []
