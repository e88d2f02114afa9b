# -*- coding: utf-8 -*-
"""btrfs_array on real btrfs over loop devices: create, re-run, check mode, refusals.

Needs root and free loop devices (at most 4 at a time here).
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from btrfs_helpers import (blkid, free_loops, have_root_and_loops, loop_pool,  # noqa: E402
                           module_runner, mutating_commands, sh, sha256_file)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not have_root_and_loops(), reason='needs root and loop devices'),
]


@pytest.fixture
def pool():
    with loop_pool(prefix='btrfs-array-') as p:
        yield p


@pytest.fixture
def run(run_module):
    return module_runner(run_module)


def devices(loops):
    return [lp.device for lp in loops]


@pytest.mark.parametrize('profile,count', [('raid1', 2), ('raid10', 4)])
def test_create_then_rerun_is_unchanged(pool, run, profile, count):
    if free_loops() < count:
        pytest.skip('not enough free loop devices')
    loops = pool.new(count)
    args = {'label': 'it-%s' % profile, 'devices': devices(loops),
            'data_profile': profile, 'metadata_profile': profile}

    first = run('btrfs_array', args, diff=True)
    assert not first.failed, first.get('msg')
    assert first['changed'] is True
    assert first['exists'] is True
    assert first['profiles']['data'] == [profile]
    assert first['profiles']['metadata'] == [profile]
    assert first['profiles']['system'] == [profile]
    assert [d['path'] for d in first['devices']] == devices(loops)
    assert first['missing_devids'] == []
    for lp in loops:
        probe = blkid(lp.device)
        assert probe.get('TYPE') == 'btrfs' and probe.get('UUID') == first['uuid']
        assert probe.get('LABEL') == 'it-%s' % profile
    assert first['diff']['before'] == {'exists': False}
    assert sorted(first['diff']['after']['members']) == sorted(devices(loops))

    second = run('btrfs_array', args, diff=True)
    assert not second.failed, second.get('msg')
    assert second['changed'] is False
    assert second['uuid'] == first['uuid']
    assert second['plan'] == []
    assert mutating_commands(second) == []
    assert second['diff']['before'] == second['diff']['after']

    # The filesystem is usable: mount it and see both profiles as the kernel reports them.
    mnt = pool.mount(loops[0].device)
    info = run('btrfs_array_info', {'uuid': first['uuid']})
    fs = info['filesystems'][0]
    assert fs['mounted'] is True and fs['mountpoint'] == mnt
    assert fs['profiles']['data'] == [profile]
    assert all(d['stats'] and d['stats']['corruption_errs'] == 0 for d in fs['devices'])
    third = run('btrfs_array', args)
    assert third['changed'] is False and third['mounted'] is True and third['mountpoint'] == mnt
    assert mutating_commands(third) == []


def test_check_mode_on_fresh_loops_changes_nothing(pool, run):
    loops = pool.new(4)
    hashes = [sha256_file(lp.image) for lp in loops]
    res = run('btrfs_array', {'label': 'it-check', 'devices': devices(loops),
                              'data_profile': 'raid10', 'metadata_profile': 'raid10'},
              check=True, diff=True)
    assert not res.failed, res.get('msg')
    assert res['changed'] is True
    assert [s['command'].split()[0].endswith('mkfs.btrfs') for s in res['plan']] == [True]
    assert '-d raid10 -m raid10' in res['plan'][0]['command']
    assert res['diff']['after']['members'] == sorted(devices(loops))
    assert mutating_commands(res) == []
    for lp, h in zip(loops, hashes):
        assert blkid(lp.device) == {}
        assert sha256_file(lp.image) == h


def assert_refused(res, option, *fragments):
    shown = dict((k, v) for k, v in res.items() if not k.startswith('_'))
    assert res.failed, 'expected a refusal, got %r' % shown
    assert res.get('refused') is True, res.get('msg')
    assert res.get('option') == option, res.get('msg')
    for fragment in fragments:
        assert fragment in res['msg'], res['msg']
    assert res.get('changed') is False


def test_refuses_ext4_device(pool, run):
    blank, ext4 = pool.new(2)
    sh('mkfs.ext4', '-q', ext4.device)
    sh('sync')
    before = [sha256_file(blank.image), sha256_file(ext4.image)]
    res = run('btrfs_array', {'label': 'it-ext4', 'devices': [blank.device, ext4.device],
                              'data_profile': 'raid1', 'metadata_profile': 'raid1'})
    assert_refused(res, 'force', ext4.device, 'ext4', 'force: true')
    assert [sha256_file(blank.image), sha256_file(ext4.image)] == before
    assert blkid(ext4.device)['TYPE'] == 'ext4'
    assert blkid(blank.device) == {}


def test_refuses_mounted_device_even_with_force(pool, run):
    blank, busy = pool.new(2)
    sh('mkfs.ext4', '-q', busy.device)
    target = pool.dir + '/busy'
    os.mkdir(target)
    sh('mount', '-o', 'ro,noload', busy.device, target)
    pool.mounts.append(target)
    before = [sha256_file(blank.image), sha256_file(busy.image)]
    for force in (False, True):
        res = run('btrfs_array', {'label': 'it-mounted', 'devices': [blank.device, busy.device],
                                  'data_profile': 'raid1', 'metadata_profile': 'raid1',
                                  'force': force})
        assert_refused(res, 'force', busy.device, 'mounted at %s' % target)
        assert [sha256_file(blank.image), sha256_file(busy.image)] == before
    assert blkid(blank.device) == {}


def test_refuses_member_of_another_btrfs(pool, run):
    a, b, c = pool.new(3)
    other = run('btrfs_array', {'label': 'it-other', 'devices': [a.device, b.device],
                                'data_profile': 'raid1', 'metadata_profile': 'raid1'})
    assert other['changed'] is True
    before = [sha256_file(lp.image) for lp in (a, b, c)]
    # create a new filesystem that would take a member of "it-other"
    res = run('btrfs_array', {'label': 'it-new', 'devices': [c.device, b.device],
                              'data_profile': 'raid1', 'metadata_profile': 'raid1'})
    assert_refused(res, 'force', b.device, 'btrfs member', other['uuid'])
    assert [sha256_file(lp.image) for lp in (a, b, c)] == before
    assert blkid(c.device) == {}
    # adding a member of "it-other" to an existing filesystem is refused as well
    third = run('btrfs_array', {'label': 'it-third', 'devices': [c.device],
                                'data_profile': 'single', 'metadata_profile': 'dup'})
    assert third['changed'] is True
    before = [sha256_file(lp.image) for lp in (a, b, c)]
    res = run('btrfs_array', {'label': 'it-third', 'devices': [c.device, b.device]})
    assert_refused(res, 'force', b.device, 'btrfs member', other['uuid'])
    assert [sha256_file(lp.image) for lp in (a, b, c)] == before
    assert blkid(b.device)['UUID'] == other['uuid']


def test_refuses_nonexistent_device_and_contradictions(pool, run):
    a, b = pool.new(2)
    before = [sha256_file(a.image), sha256_file(b.image)]
    res = run('btrfs_array', {'label': 'it-none', 'devices': [a.device, '/dev/does-not-exist'],
                              'data_profile': 'raid1'})
    assert_refused(res, 'devices', '/dev/does-not-exist', 'does not exist')
    res = run('btrfs_array', {'label': 'it-few', 'devices': [a.device, b.device],
                              'data_profile': 'raid10', 'metadata_profile': 'raid10'})
    assert_refused(res, 'devices', 'raid10 needs at least 4 devices')
    res = run('btrfs_array', {'label': 'it-dup', 'devices': [a.device, b.device],
                              'data_profile': 'dup'})
    assert res.failed and 'contradictory' in res['msg']
    assert [sha256_file(a.image), sha256_file(b.image)] == before
    assert blkid(a.device) == {} and blkid(b.device) == {}


def test_absent_needs_force_and_wipes(pool, run):
    a, b = pool.new(2)
    made = run('btrfs_array', {'label': 'it-absent', 'devices': [a.device, b.device],
                               'data_profile': 'raid1', 'metadata_profile': 'raid1'})
    assert made['changed']
    before = [sha256_file(a.image), sha256_file(b.image)]
    res = run('btrfs_array', {'label': 'it-absent', 'state': 'absent'})
    assert_refused(res, 'force', a.device)
    assert [sha256_file(a.image), sha256_file(b.image)] == before
    mnt = pool.mount(a.device)
    res = run('btrfs_array', {'label': 'it-absent', 'state': 'absent', 'force': True})
    assert_refused(res, 'force', 'mounted at %s' % mnt)
    pool.umount(mnt)
    res = run('btrfs_array', {'label': 'it-absent', 'state': 'absent', 'force': True},
              check=True)
    assert res['changed'] is True and blkid(a.device).get('TYPE') == 'btrfs'
    res = run('btrfs_array', {'label': 'it-absent', 'state': 'absent', 'force': True})
    assert not res.failed, res.get('msg')
    assert res['changed'] is True and res['exists'] is False
    assert blkid(a.device) == {} and blkid(b.device) == {}
    again = run('btrfs_array', {'label': 'it-absent', 'state': 'absent', 'force': True})
    assert again['changed'] is False
