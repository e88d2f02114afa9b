# -*- coding: utf-8 -*-
"""resilience.dr.bcache_loss_record on the host (it reads no device, so it needs no bcache):
the record is written once, a re-run changes nothing, check mode writes nothing, it is kept
until a finished scrub is given, and never written through a symlink."""

import json
import os
import stat

import pytest

from testlib import run_module

pytestmark = pytest.mark.integration

LOST = [{'device': '/dev/vdb', 'missing_cache_set_uuid': '3dfff529-1f15-4b68-90d8-00dc3eb1025d',
         'superblock_state': 'dirty', 'bcache_device': None, 'waiting_for_cache': True}]
SCRUB = {'status': 'finished', 'corrected_errors': 0, 'uncorrectable_errors': 2,
         'affected_summary': 'homes/alice/data/dirty.bin'}


def test_record_rerun_query_and_clear_after_a_scrub(tmp_path):
    path = str(tmp_path / 'var-lib' / 'dirty-cache-loss.json')
    check = run_module('bcache_loss_record', {'state': 'present', 'path': path, 'devices': LOST,
                                              'scenario': 'bcache-ssd'}, check=True, diff=True)
    assert check['changed'] and not os.path.exists(path), check
    assert '/dev/vdb' in check['diff']['after']

    first = run_module('bcache_loss_record', {'state': 'present', 'path': path, 'devices': LOST,
                                              'scenario': 'bcache-ssd'})
    assert first['changed'] and first['recorded'], first
    on_disk = json.load(open(path))
    assert on_disk['devices'][0] == {'device': '/dev/vdb', 'superblock_state': 'dirty',
                                     'missing_cache_set_uuid': LOST[0]['missing_cache_set_uuid']}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert 'Not yet scrubbed' in first['message']

    again = run_module('bcache_loss_record', {'state': 'present', 'path': path, 'devices': LOST,
                                              'scenario': 'os-disk'})
    assert not again['changed'] and again['record'] == on_disk  # first acceptance kept

    query = run_module('bcache_loss_record', {'path': path})
    assert not query['changed'] and query['recorded'] and query['record'] == on_disk

    unfinished = run_module('bcache_loss_record', {'state': 'absent', 'path': path,
                                                   'scrub': dict(SCRUB, status='running')})
    assert unfinished.failed and 'only after a scrub' in unfinished['msg']
    assert os.path.exists(path)

    cleared = run_module('bcache_loss_record', {'state': 'absent', 'path': path, 'scrub': SCRUB})
    assert cleared['changed'] and not cleared['recorded'] and cleared['cleared'] == on_disk
    assert 'homes/alice/data/dirty.bin' in cleared['message'] and 'cleared' in cleared['message']
    assert not os.path.exists(path)
    assert not run_module('bcache_loss_record', {'state': 'absent', 'path': path,
                                                 'scrub': SCRUB})['changed']


def test_never_through_a_symlink(tmp_path):
    victim = tmp_path / 'victim'
    victim.write_text('keep me')
    link = tmp_path / 'dirty-cache-loss.json'
    link.symlink_to(victim)
    result = run_module('bcache_loss_record', {'state': 'present', 'path': str(link),
                                               'devices': LOST})
    assert result.failed and 'symbolic link' in result['msg'], result
    assert victim.read_text() == 'keep me' and os.path.islink(str(link))
