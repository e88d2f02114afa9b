# -*- coding: utf-8 -*-
"""Unit tests for the cache-SSD replacement's decision (bcache/ssd_swap.py) and the dirty-cache
loss record (bcache/loss_record.py), over bcache_info results built from sysfs trees and
bcache-super-show output captured in the Debian 13 lab VM (tests/unit/fixtures/bcache/trixie)."""

import os
import stat

import pytest

from ansible_collections.resilience.dr.plugins.filter.train_cache import train_cache_plan
from ansible_collections.resilience.dr.plugins.module_utils.bcache import (
    discovery, loss_record, ssd_swap)
from ansible_collections.resilience.dr.plugins.module_utils.bcache.preflight import BcacheFailure

from test_bcache import CapturedRunner, fixture, sysfs_tree

NAMES = ['vdb', 'vdc', 'vdd', 'vde']


def info(tmp_path, tree, super_show):
    """The bcache_info result of a captured tree, as the module computes it."""
    blkid_text = ''.join(fixture('trixie', 'backing.blkid-export.txt').replace('/dev/vdb', '/dev/' + n)
                         + '\n' for n in NAMES)
    runner = CapturedRunner(blkid_text, dict(
        ('/dev/' + n, fixture('trixie', super_show % n)) for n in NAMES))
    return discovery.gather_info(runner, sysfs_tree(tmp_path, tree))


@pytest.fixture
def dead_ssd(tmp_path):
    """The cache NVMe replaced by a blank one: every HDD waits; the superblocks of some say
    the lost cache held dirty data for them."""
    return info(tmp_path, 'waiting-for-cache', 'backing-waiting-%s.super-show.txt')


@pytest.fixture
def attached(tmp_path):
    return info(tmp_path, 'attached-clean', 'backing-clean-%s.super-show.txt')


# -- the decision ------------------------------------------------------------------------------

def test_the_planned_path_is_refused_when_the_ssd_is_gone(dead_ssd):
    for swapped in (False, True):
        plan = ssd_swap.plan(dead_ssd, 'planned', swapped)
        assert plan['phase'] is None
        assert 'the SSD is gone' in plan['refusal'] and 'Nothing was changed' in plan['refusal']
        assert 'train_cache_ssd_path=unplanned' in plan['refusal']
        for name in NAMES:
            assert '/dev/%s' % name in plan['refusal']
        assert plan['missing_cache_sets'] and plan['missing_cache_sets'][0] in plan['refusal']
    assert 'swapped before the HDDs were detached' in ssd_swap.plan(dead_ssd, 'planned', True)['refusal']


def test_unplanned_with_a_dead_ssd_starts_the_waiting_hdds_and_names_the_dirty_ones(dead_ssd):
    plan = ssd_swap.plan(dead_ssd, 'unplanned')
    assert plan['refusal'] == '' and plan['phase'] == 'replace'
    assert plan['waiting'] == ['/dev/%s' % n for n in NAMES]
    dirty = [d['device'] for d in plan['lost_dirty']]
    expected = ['/dev/%s' % n for n in NAMES
                if 'dirty' in fixture('trixie', 'backing-waiting-%s.super-show.txt' % n).split('cache_state')[1]
                .splitlines()[0]]
    assert dirty == expected and dirty
    assert 'held dirty data' in plan['summary']


def test_planned_step_one_detaches_step_two_replaces(attached):
    assert attached['waiting_for_cache'] == []
    one = ssd_swap.plan(attached, 'planned')
    assert one['refusal'] == '' and one['phase'] == 'detach'
    assert one['attached'] == ['/dev/%s' % n for n in NAMES]
    assert 'flush' in one['summary'] and '/dev/vdb' in one['summary']
    two = ssd_swap.plan(attached, 'planned', True)
    assert two['phase'] == 'replace' and two['lost_dirty'] == []


def slurped(record):
    import base64
    import json
    return {'content': base64.b64encode(json.dumps(record).encode()).decode(),
            'source': '/var/lib/resilience-dr/bcache-swap.json'}


def test_step_two_is_refused_while_the_detached_cache_set_is_still_registered(attached):
    """Step 2 run before the swap: the failing SSD's cache set is still there, and "the new
    cache" would be that same set, the HDDs attached to it again."""
    sets = attached['cache_sets']
    assert len(sets) == 1
    old = sets[0]['uuid']
    one = ssd_swap.plan(attached, 'planned')
    assert one['attached_cache_sets'] == [old]          # what step 1 records
    two = train_cache_plan(attached, 'planned', True, slurped({'detached_from': [old]}))
    assert two['phase'] is None
    assert old in two['refusal'] and 'has not been swapped' in two['refusal']
    assert 'Nothing was changed' in two['refusal']
    assert 'train_cache_ssd_swapped=true' in two['refusal']


def test_step_two_after_the_swap_or_without_a_record_replaces(attached):
    swapped_out = slurped({'detached_from': ['0f0f0f0f-dead-4ead-8ead-000000000000']})
    assert train_cache_plan(attached, 'planned', True, swapped_out)['phase'] == 'replace'
    for none in (None, {'skipped': True}, {'failed': True, 'msg': 'file not found'}):
        assert train_cache_plan(attached, 'planned', True, none)['phase'] == 'replace'
    # Step 1 and the unplanned path do not read the record.
    assert train_cache_plan(attached, 'planned', False, swapped_out)['phase'] == 'detach'


def test_an_unreadable_swap_record_stops_with_what_to_do(attached):
    from ansible.errors import AnsibleFilterError
    with pytest.raises(AnsibleFilterError, match='not readable JSON: remove it'):
        train_cache_plan(attached, 'planned', True, {'content': 'bm90IGpzb24=', 'source': 'x'})


def test_unplanned_when_nothing_is_lost_converges_without_a_refusal(attached):
    # a re-run after the recovery: attached to the new set, nothing waits, nothing to refuse
    plan = ssd_swap.plan(attached, 'unplanned')
    assert plan['refusal'] == '' and plan['phase'] == 'replace' and plan['waiting'] == []


@pytest.mark.parametrize('path', ['', None, 'dead', 'PLANNED'])
def test_an_unknown_path_is_refused_naming_both(path):
    plan = train_cache_plan({}, path)
    assert 'train_cache_ssd_path=planned' in plan['refusal']
    assert 'train_cache_ssd_path=unplanned' in plan['refusal']
    assert plan['phase'] is None


def test_the_filter_refuses_what_is_not_a_bcache_info_result():
    from ansible.errors import AnsibleFilterError
    with pytest.raises(AnsibleFilterError, match='bcache_info'):
        train_cache_plan(None, 'planned')


# -- the record ---------------------------------------------------------------------------------

def test_a_new_record_keeps_what_the_superblocks_said(dead_ssd):
    lost = ssd_swap.lost_dirty(dead_ssd)
    record = loss_record.new_record(lost, 'bcache-ssd', '2026-12-01T07:00:00Z')
    assert record['format'] == loss_record.FORMAT and record['scrubbed'] is False
    assert [d['device'] for d in record['devices']] == sorted(d['device'] for d in lost)
    for entry in record['devices']:
        assert set(entry) == set(loss_record.DEVICE_KEYS)
        assert entry['superblock_state'] == 'dirty' and entry['missing_cache_set_uuid']
    line = loss_record.summary(record)
    assert '2026-12-01T07:00:00Z' in line and 'Not yet scrubbed' in line
    assert record['devices'][0]['device'] in line


def test_merge_is_idempotent_and_keeps_the_first_acceptance(dead_ssd):
    lost = ssd_swap.lost_dirty(dead_ssd)
    record = loss_record.new_record(lost[:1], 'os-disk', 'T1')
    again, added = loss_record.merge(record, lost[:1])
    assert again == record and added == []
    more, added = loss_record.merge(record, lost + ['/dev/extra'])
    assert added == [d['device'] for d in lost[1:]] + ['/dev/extra']
    assert [d['device'] for d in more['devices']] == sorted(d['device'] for d in lost + [
        {'device': '/dev/extra'}])
    assert more['recorded_at'] == 'T1' and more['scenario'] == 'os-disk'


def test_bad_input_and_foreign_files_are_refused():
    with pytest.raises(BcacheFailure, match='needs the devices'):
        loss_record.new_record([], 'x', 'T')
    with pytest.raises(BcacheFailure, match='needs a device'):
        loss_record.new_record([{'state': 'dirty'}], 'x', 'T')
    with pytest.raises(BcacheFailure, match='not a dirty-cache loss record.*move it aside'):
        loss_record.parse('{"format": "something/else"}', '/p')
    with pytest.raises(BcacheFailure, match='not a dirty-cache loss record'):
        loss_record.parse('not json', '/p')


def test_cleared_only_after_a_finished_scrub_and_the_line_names_the_files():
    record = loss_record.new_record(['/dev/vdb'], 'bcache-ssd', 'T1')
    assert not loss_record.scrub_done({'status': 'running', 'uncorrectable_errors': 0})
    assert not loss_record.scrub_done(None)
    scrub = {'status': 'finished', 'corrected_errors': 0, 'uncorrectable_errors': 3,
             'affected_summary': 'homes/alice/data/dirty.bin'}
    assert loss_record.scrub_done(scrub)
    line = loss_record.cleared_summary(record, scrub)
    assert '3 uncorrectable' in line and 'homes/alice/data/dirty.bin' in line
    assert 'record is cleared' in line and '/dev/vdb' in line


class AtomicModule:
    def __init__(self):
        self.moves = []

    def atomic_move(self, src, dest):
        self.moves.append((src, dest))
        os.rename(src, dest)


def test_the_file_is_written_atomically_0600_and_read_back(tmp_path):
    path = str(tmp_path / 'state' / 'dirty-cache-loss.json')
    module = AtomicModule()
    store = loss_record.RecordFile(path, module)
    assert store.read() is None
    record = loss_record.new_record(['/dev/vdb'], 'bcache-ssd', 'T1')
    store.write(record)
    assert module.moves and module.moves[0][1] == path
    assert os.path.dirname(module.moves[0][0]) == os.path.dirname(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    assert store.read() == record
    assert os.listdir(os.path.dirname(path)) == ['dirty-cache-loss.json']
    store.remove()
    assert store.read() is None


def test_symlinks_are_never_followed(tmp_path):
    target = tmp_path / 'elsewhere.json'
    target.write_text('{}')
    link = tmp_path / 'dirty-cache-loss.json'
    link.symlink_to(target)
    store = loss_record.RecordFile(str(link), AtomicModule())
    with pytest.raises(BcacheFailure, match='symbolic link'):
        store.read()
    with pytest.raises(BcacheFailure, match='symbolic link'):
        store.remove()
    assert target.read_text() == '{}'
    real = tmp_path / 'real'
    real.mkdir()
    (tmp_path / 'dirlink').symlink_to(real)
    with pytest.raises(BcacheFailure, match='symbolic link'):
        loss_record.RecordFile(str(tmp_path / 'dirlink' / 'r.json'), AtomicModule()).read()
    with pytest.raises(BcacheFailure, match='absolute'):
        loss_record.RecordFile('relative.json')
