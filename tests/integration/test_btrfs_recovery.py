# -*- coding: utf-8 -*-
"""btrfs_array recovery paths on real btrfs over loop devices.

* assemble after an "OS reinstall" (loops detached, kernel made to forget, re-attached under
  other loop numbers) without reformatting;
* degraded replace of a missing member;
* convert raid1 -> raid10, add one device and remove one (temporary mount path).

Peak loop usage: 5 (convert test).
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from btrfs_helpers import (blkid, have_root_and_loops, loop_pool, module_runner,  # noqa: E402
                           mutating_commands, sh, tree_checksums, write_random_files)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not have_root_and_loops(), reason='needs root and loop devices'),
]


@pytest.fixture
def pool():
    with loop_pool(prefix='btrfs-recovery-') as p:
        yield p


@pytest.fixture
def run(run_module):
    return module_runner(run_module)


def create(run, label, loops, profile):
    res = run('btrfs_array', {'label': label, 'devices': [lp.device for lp in loops],
                              'data_profile': profile, 'metadata_profile': profile})
    assert not res.failed and res['changed'], res.get('msg')
    return res


def test_assemble_after_reinstall_keeps_uuid_and_data(pool, run):
    loops = pool.new(2)
    made = create(run, 'it-reinstall', loops, 'raid1')
    mnt = pool.mount(loops[0].device)
    sums = write_random_files(mnt, count=3, size_mb=4)
    pool.umount(mnt)
    old_numbers = [lp.device for lp in loops]

    # "reinstall": disks go away, the kernel forgets them, they come back under other names
    for lp in list(loops):
        pool.detach(lp)
    spacer = pool.attach(size_mb=16)           # takes the lowest free number
    back = [pool.attach(image=lp.image) for lp in loops]
    assert [lp.device for lp in back] != old_numbers

    res = run('btrfs_array', {'label': 'it-reinstall', 'devices': [lp.device for lp in back],
                              'data_profile': 'raid1', 'metadata_profile': 'raid1'}, diff=True)
    assert not res.failed, res.get('msg')
    assert res['changed'] is False
    assert res['uuid'] == made['uuid']
    assert sorted(d['path'] for d in res['devices']) == sorted(lp.device for lp in back)
    assert res['missing_devids'] == []
    assert res['profiles']['data'] == ['raid1']
    assert mutating_commands(res) == []
    # label only (as after a reinstall, when nobody knows the new names yet)
    res = run('btrfs_array', {'label': 'it-reinstall'})
    assert res['changed'] is False and res['uuid'] == made['uuid']

    mnt = pool.mount(back[0].device)
    assert tree_checksums(mnt) == sums
    pool.umount(mnt)
    pool.detach(spacer)


def test_degraded_replace_brings_missing_devids_to_empty(pool, run):
    loops = pool.new(2)
    made = create(run, 'it-degraded', loops, 'raid1')
    mnt = pool.mount(loops[0].device)
    sums = write_random_files(mnt, count=3, size_mb=4)
    pool.umount(mnt)

    lost = loops[1]
    pool.detach(lost)
    # unmounted and degraded: the module reports the missing member (devid from the chunk tree)
    res = run('btrfs_array', {'label': 'it-degraded'})
    assert not res.failed, res.get('msg')
    assert res['changed'] is False and res['missing_devids'] == [2]
    assert res['mounted'] is False

    mnt = pool.mount(loops[0].device, options='degraded')
    # written while degraded: lands in "single" chunks that replace must convert back
    extra = write_random_files(mnt, count=2, size_mb=48, prefix='degraded')
    sums.update(extra)
    res = run('btrfs_array', {'label': 'it-degraded', 'devices': [loops[0].device, lost.device]})
    assert not res.failed, res.get('msg')
    assert res['changed'] is False
    assert res['missing_devids'] == [2]
    assert [d for d in res['devices'] if d['missing']][0]['devid'] == 2
    assert res['mounted'] is True and res['mountpoint'] == mnt
    # 96 MiB written while degraded do not fit the existing raid1 data chunk: the kernel had
    # to allocate new chunks, and with one device those are "single"
    assert res['profiles']['data'] == ['raid1', 'single'], res['profiles']

    new = pool.attach()
    args = {'label': 'it-degraded', 'devices': [loops[0].device, lost.device],
            'replace_missing': [new.device], 'mountpoint': mnt}
    plan = run('btrfs_array', args, check=True, diff=True)
    assert plan['changed'] is True
    commands = [s['command'] for s in plan['plan']]
    assert any(' replace start -B 2 %s %s' % (new.device, mnt) in c for c in commands), commands
    assert plan['diff']['after']['members'] == sorted([loops[0].device, new.device])
    assert blkid(new.device) == {}

    res = run('btrfs_array', args, diff=True)
    assert not res.failed, res.get('msg')
    assert res['changed'] is True
    assert res['missing_devids'] == []
    assert sorted(d['path'] for d in res['devices']) == sorted([loops[0].device, new.device])
    # redundancy restored: no chunk left as "single" after the degraded writes
    assert res['profiles']['data'] == ['raid1'], res['profiles']
    assert res['profiles']['metadata'] == ['raid1'], res['profiles']
    assert res['uuid'] == made['uuid']
    assert tree_checksums(mnt) == sums

    again = run('btrfs_array', args)
    assert again['changed'] is False and mutating_commands(again) == []

    # the replacement holds a full copy: the filesystem mounts and reads without the old disk
    pool.umount(mnt)
    # Only this test's devices: a bare --forget would drop every unmounted filesystem's
    # devices on the host, other tests' included.
    sh('btrfs', 'device', 'scan', '--forget', loops[0].device, new.device, check=False)
    sh('btrfs', 'device', 'scan', loops[0].device, new.device)
    mnt = pool.mount(new.device)
    assert tree_checksums(mnt) == sums


def test_convert_raid1_to_raid10_then_add_and_remove(pool, run):
    loops = pool.new(2)
    made = create(run, 'it-convert', loops, 'raid1')
    mnt = pool.mount(loops[0].device)
    sums = write_random_files(mnt, count=3, size_mb=4)
    pool.umount(mnt)

    more = pool.new(2)
    four = [lp.device for lp in loops + more]
    args = {'label': 'it-convert', 'devices': four, 'data_profile': 'raid10',
            'metadata_profile': 'raid10'}
    # without convert: the two new devices are added, the profile mismatch only reported
    res = run('btrfs_array', args, check=True)
    assert res['changed'] is True
    assert res['profile_mismatch']['data'] == {'current': ['raid1'], 'wanted': 'raid10'}
    assert not any('balance' in s['command'] for s in res['plan'] if s['command'])

    args['convert'] = True
    res = run('btrfs_array', args, diff=True)
    assert not res.failed, res.get('msg')
    assert res['changed'] is True
    assert res['temporary_mount'], 'the unmounted filesystem is mounted temporarily'
    assert res['mounted'] is False, 'the temporary mount is gone again'
    assert not os.path.ismount(res['temporary_mount'])
    assert res['profiles'] == {'data': ['raid10'], 'metadata': ['raid10'],
                               'system': ['raid10']}, res['profiles']
    assert sorted(d['path'] for d in res['devices']) == sorted(four)
    assert res['diff']['before']['profiles']['data'] == ['raid1']
    assert res['diff']['after']['profiles']['data'] == ['raid10']
    steps = [s['step'] for s in res['plan']]
    assert steps[-1].startswith('unmount the temporary mount')
    again = run('btrfs_array', args)
    assert again['changed'] is False and mutating_commands(again) == []

    # add one device and remove one in a single run (mounted this time)
    mnt = pool.mount(loops[0].device)
    fifth = pool.attach()
    five = four[1:] + [fifth.device]
    args = {'label': 'it-convert', 'devices': five, 'remove_devices': [four[0]],
            'data_profile': 'raid10', 'metadata_profile': 'raid10', 'mountpoint': mnt}
    res = run('btrfs_array', args)
    assert not res.failed, res.get('msg')
    assert res['changed'] is True and res['temporary_mount'] is None
    assert sorted(d['path'] for d in res['devices']) == sorted(five)
    assert res['profiles']['data'] == ['raid10']
    assert res['uuid'] == made['uuid']
    assert tree_checksums(mnt) == sums
    assert blkid(four[0]).get('TYPE') != 'btrfs', 'a removed device loses its signature'
    again = run('btrfs_array', args)
    assert again['changed'] is False and mutating_commands(again) == []

    # removing below what raid10 needs is refused, and changes nothing
    res = run('btrfs_array', {'label': 'it-convert', 'remove_devices': five[:2],
                              'data_profile': 'raid10', 'metadata_profile': 'raid10'})
    assert res.failed and res.get('refused') and 'raid10 needs at least 4' in res['msg']
    assert len(run('btrfs_array', {'label': 'it-convert'})['devices']) == 4


def test_replace_missing_on_unmounted_array_uses_degraded_temporary_mount(pool, run):
    """The 3 a.m. path: the array did not mount at boot because a disk died."""
    loops = pool.new(2)
    made = create(run, 'it-unmounted-replace', loops, 'raid1')
    mnt = pool.mount(loops[0].device)
    sums = write_random_files(mnt, count=2, size_mb=4)
    pool.umount(mnt)
    lost = loops[1]
    pool.detach(lost)

    new = pool.attach()
    args = {'label': 'it-unmounted-replace', 'devices': [loops[0].device, lost.device],
            'data_profile': 'raid1', 'metadata_profile': 'raid1',
            'replace_missing': [new.device]}
    plan = run('btrfs_array', args, check=True)
    assert plan['changed'] is True and plan['missing_devids'] == [2]
    mount_step = [s['command'] for s in plan['plan'] if s['step'].startswith('mount ')][0]
    assert '-o degraded,device=%s' % loops[0].device in mount_step
    assert plan['plan'][-1]['step'].startswith('unmount the temporary mount')
    assert blkid(new.device) == {}

    res = run('btrfs_array', args)
    assert not res.failed, res.get('msg')
    assert res['changed'] is True and res['missing_devids'] == []
    assert res['uuid'] == made['uuid'] and res['mounted'] is False
    assert not os.path.ismount(res['temporary_mount'])
    assert not os.path.exists(res['temporary_mount'])
    assert sorted(d['path'] for d in res['devices']) == sorted([loops[0].device, new.device])
    again = run('btrfs_array', args)
    assert again['changed'] is False and mutating_commands(again) == []

    mnt = pool.mount(new.device)          # a plain (not degraded) mount works again
    assert tree_checksums(mnt) == sums
