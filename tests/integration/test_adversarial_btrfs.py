# -*- coding: utf-8 -*-
"""Adversarial block-device cases for btrfs_array and bcache_cache, on real loop devices.

Each case is what an operator under stress types (a new label over an old array, a
/dev/disk/by-id symlink next to the plain name, a whole disk whose partition is mounted...).
Each asserts:

* the return code of ``ansible`` (2 for a failed task, 0 otherwise) and ``failed``;
* that the message names the cause and the option or action that fixes it, and never
  suggests ``force`` for a device that holds the very filesystem the request names;
* that nothing changed: the sha256 of every loop's backing file and the signatures blkid
  reads (type, uuid, label) before and after; data files' checksums where there are any;
* that check mode and diff mode refuse the same way.

Loops come only from ``losetup --find --show`` (btrfs_helpers.LoopPool) and are detached,
and partitions added with ``addpart`` deleted, in ``finally``.  This host's kernel has no
bcache, so the bcache cases test the no-bcache-kernel path for real; the planning with bcache
is unit tested over output captured in the lab VM (tests/unit/plugins/module_utils/test_bcache.py).
"""

import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
from btrfs_helpers import (ANSIBLE_ENV_FIX, blkid, have_root_and_loops, loop_pool,  # noqa: E402
                           sh, sha256_file, tree_checksums, write_random_files)
from testlib import REPO, ansible_env, bin_path  # noqa: E402

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not have_root_and_loops(), reason='needs root and loop devices'),
]


class Result(dict):
    rc = None

    @property
    def failed(self):
        return bool(self.get('failed'))


def ansible(name, args, check=False, diff=True):
    """Run one module ad hoc; the result dict with ``rc``, the exit code of ``ansible``."""
    argv = [bin_path('ansible'), 'localhost', '-m', 'resilience.dr.%s' % name,
            '-i', 'localhost,', '-c', 'local',
            '-e', 'ansible_python_interpreter=%s' % sys.executable]
    if args:
        argv += ['-a', json.dumps(args)]
    if check:
        argv.append('--check')
    if diff:
        argv.append('--diff')
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, check=False,
                          env=ansible_env(ANSIBLE_ENV_FIX), timeout=600)
    try:
        doc = json.loads(proc.stdout)
        result = Result(doc['plays'][0]['tasks'][0]['hosts']['localhost'])
    except (ValueError, KeyError, IndexError):
        raise AssertionError('no result from %s (rc=%s)\n%s\n%s'
                             % (name, proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
    result.rc = proc.returncode
    return result


@pytest.fixture
def pool():
    with loop_pool(prefix='adv-btrfs-') as p:
        yield p


def state(pool, extra_files=()):
    """Everything a refused run must leave alone: image checksums and blkid's view."""
    snap = {}
    for lp in pool.loops:
        probe = blkid(lp.device)
        snap[lp.device] = (sha256_file(lp.image), probe.get('TYPE'), probe.get('UUID'),
                           probe.get('LABEL'))
    for path in extra_files:
        snap[path] = sha256_file(path)
    return snap


def refused(module, args, before_state, pool, *fragments, option=None, no_force=False,
            extra_files=()):
    """Run ``args`` in check+diff mode and for real (+diff): both refuse the same way."""
    results = []
    for check in (True, False):
        res = ansible(module, args, check=check)
        shown = dict((k, v) for k, v in res.items() if k not in ('invocation',))
        assert res.rc == 2, 'expected a failed task (rc 2), got rc %s: %r' % (res.rc, shown)
        assert res.failed, shown
        assert res.get('changed') is False, shown
        for fragment in fragments:
            assert fragment in res['msg'], res['msg']
        if option is not None:
            assert res.get('option') == option, (res.get('option'), res['msg'])
        if no_force:
            assert 'force' not in res['msg'], res['msg']
            assert res.get('option') != 'force', res['msg']
        assert 'checked blank' not in res['msg']
        assert state(pool, extra_files) == before_state, 'a refused run changed a device'
        results.append(res)
    assert results[0]['msg'] == results[1]['msg'], 'check mode refuses differently'
    return results[1]


def ok(res):
    shown = dict((k, v) for k, v in res.items() if k not in ('invocation',))
    assert res.rc == 0 and not res.failed, shown
    return res


def make_array(pool, label, count=2, profile='raid1', files=True):
    loops = pool.new(count)
    devs = [lp.device for lp in loops]
    sh('mkfs.btrfs', '-q', '-f', '-L', label, '-d', profile, '-m', profile, *devs)
    sh('btrfs', 'device', 'scan', *devs)
    sums = None
    if files:
        mnt = pool.mount(devs[0])
        sums = write_random_files(mnt, count=2, size_mb=2)
        pool.umount(mnt)
    uuid = blkid(devs[0])['UUID']
    return loops, devs, uuid, sums


def data_sums(pool, dev):
    mnt = pool.mount(dev, options='ro')
    try:
        return tree_checksums(mnt)
    finally:
        pool.umount(mnt)


def mkfs_ext4(dev):
    sh('mkfs.ext4', '-q', '-F', '-E', 'lazy_itable_init=0,lazy_journal_init=0', dev)
    sh('sync')


def mount_ro(pool, dev, name):
    target = os.path.join(pool.dir, name)
    os.mkdir(target)
    sh('mount', '-o', 'ro,noload', dev, target)
    pool.mounts.append(target)
    return target


def symlink(pool, dev, name):
    """A udev-style alias (like /dev/disk/by-id/...) for ``dev``, in the pool's own tmpdir."""
    link = os.path.join(pool.dir, name)
    os.symlink(dev, link)
    return link


# -- item 2: a label is not an identity; the members' superblocks are -------------------------

def test_new_label_over_existing_array_is_not_a_reformat(pool):
    """The reproduction: label: new-name on an unmounted array's devices, with and without force."""
    loops, devs, uuid, sums = make_array(pool, 'adv-old')
    before = state(pool)
    for force in (False, True):
        for check in (True, False):
            res = ok(ansible('btrfs_array', {'label': 'adv-new', 'devices': devs,
                                             'data_profile': 'raid1', 'metadata_profile': 'raid1',
                                             'force': force}, check=check))
            assert res['changed'] is False and res['plan'] == []
            assert res['uuid'] == uuid and res['label'] == 'adv-old'
            assert res['label_mismatch'] == {'current': 'adv-old', 'wanted': 'adv-new'}
            assert not any('mkfs' in c['cmd'] for c in res['commands'])
            warning = ' '.join(res.get('warnings', []))
            assert 'relabel: true' in warning and 'labelled' in warning
            assert 'force' not in warning
            # the diff shows the real before: the filesystem exists, with its uuid
            assert res['diff']['before']['exists'] is True
            assert res['diff']['before']['uuid'] == uuid
            assert res['diff']['after'] == res['diff']['before']
    assert state(pool) == before
    assert data_sums(pool, devs[0]) == sums


def test_relabel_unmounted_then_mounted_keeps_data_and_is_idempotent(pool):
    loops, devs, uuid, sums = make_array(pool, 'adv-rl-old')
    args = {'label': 'adv-rl-new', 'devices': devs, 'relabel': True}
    planned = ok(ansible('btrfs_array', args, check=True))
    assert planned['changed'] is True
    assert [s['command'].split()[1:4] for s in planned['plan']] == [
        ['filesystem', 'label', devs[0]]]
    assert planned['diff']['before']['label'] == 'adv-rl-old'
    assert planned['diff']['after']['label'] == 'adv-rl-new'
    assert blkid(devs[0])['LABEL'] == 'adv-rl-old'
    done = ok(ansible('btrfs_array', args))
    assert done['changed'] is True and done['uuid'] == uuid and done['label'] == 'adv-rl-new'
    assert all(blkid(d).get('LABEL') == 'adv-rl-new' and blkid(d)['UUID'] == uuid for d in devs)
    again = ok(ansible('btrfs_array', args))
    assert again['changed'] is False and again['label_mismatch'] is None
    assert data_sums(pool, devs[0]) == sums
    # mounted: the label changes through the mountpoint, the mount stays
    mnt = pool.mount(devs[0])
    res = ok(ansible('btrfs_array', {'label': 'adv-rl-third', 'uuid': uuid, 'relabel': True}))
    assert res['changed'] is True and res['label'] == 'adv-rl-third'
    assert [s['command'] for s in res['plan']] == [
        '%s filesystem label %s adv-rl-third' % (res['plan'][0]['command'].split()[0], mnt)]
    assert os.path.ismount(mnt) and tree_checksums(mnt) == sums
    pool.umount(mnt)


def test_uuid_with_other_label_names_relabel_not_force(pool):
    loops, devs, uuid, sums = make_array(pool, 'adv-uuid', files=False)
    refused('btrfs_array', {'label': 'adv-other', 'uuid': uuid}, state(pool), pool,
            uuid, 'relabel: true', option='label', no_force=True)


def test_absent_with_a_mismatched_label_wipes_nothing(pool):
    loops, devs, uuid, sums = make_array(pool, 'adv-keep')
    refused('btrfs_array', {'label': 'adv-scratch', 'devices': devs, 'state': 'absent',
                            'force': True}, state(pool), pool,
            uuid, "labelled 'adv-keep'", "label: 'adv-keep'", option='label')
    assert data_sums(pool, devs[0]) == sums


# -- item 3: devices are compared as block devices ----------------------------------------------

def test_symlink_and_its_target_listed_twice(pool):
    a, b = pool.new(2)
    link = symlink(pool, a.device, 'by-id-disk-a')
    res = refused('btrfs_array', {'label': 'adv-dup', 'devices': [a.device, link, b.device],
                                  'data_profile': 'raid1'}, state(pool), pool,
                  'devices lists one device twice', a.device, link, 'list each device once')
    assert 'contradictory' in res['msg']


def test_symlink_in_devices_and_target_in_remove_devices(pool):
    """The churn reproduction: add and remove the same disk on every run."""
    loops, devs, uuid, sums = make_array(pool, 'adv-churn', count=3)
    link = symlink(pool, devs[2], 'by-id-disk-c')
    before = state(pool)
    refused('btrfs_array', {'label': 'adv-churn', 'devices': [devs[0], devs[1], link],
                            'remove_devices': [devs[2]]}, before, pool,
            'listed in both devices and remove_devices', link, devs[2], 'not in both')
    # the alias of a member is that member: nothing to add, nothing changes
    res = ok(ansible('btrfs_array', {'label': 'adv-churn', 'devices': [devs[0], devs[1], link]}))
    assert res['changed'] is False and res['plan'] == []
    assert state(pool) == before


# -- item 4: a whole disk whose partition is in use ---------------------------------------------

def test_whole_disk_with_a_mounted_partition_even_with_force(pool):
    disk, other = pool.new(2)
    part = pool.add_partition(disk, 1, 2048, 163840)
    mkfs_ext4(part)
    target = mount_ro(pool, part, 'part-mnt')
    before = state(pool)
    for force in (False, True):
        res = refused('btrfs_array', {'label': 'adv-part', 'devices': [disk.device, other.device],
                                      'data_profile': 'raid1', 'metadata_profile': 'raid1',
                                      'force': force}, before, pool,
                      disk.device, 'partition %s is mounted at %s' % (part, target),
                      'unmount or release %s' % part, 'force does not override',
                      option='force')
        assert not res.get('plan'), res.get('plan')
    assert blkid(part)['TYPE'] == 'ext4'


def test_whole_disk_with_a_swap_partition(pool):
    disk, = pool.new(1)
    part = pool.add_partition(disk, 1, 2048, 65536)
    sh('mkswap', part)
    sh('swapon', part)
    try:
        refused('btrfs_array', {'label': 'adv-swappart', 'devices': [disk.device],
                                'force': True}, state(pool), pool,
                disk.device, 'partition %s is in use as swap' % part,
                'unmount or release %s' % part, option='force')
    finally:
        sh('swapoff', part, check=False)


def test_redundant_profile_on_two_partitions_of_one_disk_warns(pool):
    disk, = pool.new(1, size_mb=700)
    p1 = pool.add_partition(disk, 1, 2048, 614400)
    p2 = pool.add_partition(disk, 2, 616448, 614400)
    before = state(pool)
    res = ok(ansible('btrfs_array', {'label': 'adv-samedisk', 'devices': [p1, p2],
                                     'data_profile': 'raid1', 'metadata_profile': 'raid1'},
                     check=True))
    warning = ' '.join(res.get('warnings', []))
    assert 'raid1 keeps its copies on different devices' in warning
    assert '%s, %s are on one disk (%s)' % (p1, p2, os.path.basename(disk.device)) in warning
    assert state(pool) == before and blkid(p1) == {} and blkid(p2) == {}


def test_swap_device_is_in_use(pool):
    a, b = pool.new(2)
    sh('mkswap', a.device)
    sh('swapon', a.device)
    try:
        before = state(pool)
        refused('btrfs_array', {'label': 'adv-swap', 'devices': [a.device, b.device],
                                'data_profile': 'raid1', 'force': True}, before, pool,
                a.device, 'in use as swap', 'force does not override')
    finally:
        sh('swapoff', a.device, check=False)


# -- the refusals operators hit ------------------------------------------------------------------

def test_nonexistent_device(pool):
    a, = pool.new(1)
    refused('btrfs_array', {'label': 'adv-none', 'devices': [a.device, '/dev/adv-no-such-disk'],
                            'data_profile': 'raid1'}, state(pool), pool,
            '/dev/adv-no-such-disk', 'does not exist', 'correct devices', option='devices',
            no_force=True)


def test_regular_file_instead_of_block_device(pool):
    a, = pool.new(1)
    image = pool.image('not-a-disk.img', size_mb=300)
    refused('btrfs_array', {'label': 'adv-file', 'devices': [a.device, image],
                            'data_profile': 'raid1', 'force': True}, state(pool, [image]), pool,
            image, 'not a block device', 'losetup --find --show', option='devices',
            no_force=True, extra_files=[image])


def test_mounted_device_with_and_without_force(pool):
    a, busy = pool.new(2)
    mkfs_ext4(busy.device)
    target = mount_ro(pool, busy.device, 'busy')
    before = state(pool)
    for force in (False, True):
        refused('btrfs_array', {'label': 'adv-mounted', 'devices': [a.device, busy.device],
                                'data_profile': 'raid1', 'force': force}, before, pool,
                busy.device, 'is mounted at %s' % target, 'unmount', option='force')


def test_member_of_another_filesystem(pool):
    loops, devs, uuid, sums = make_array(pool, 'adv-foreign')
    c, = pool.new(1)
    refused('btrfs_array', {'label': 'adv-mine', 'devices': [c.device, devs[1]],
                            'data_profile': 'raid1'}, state(pool), pool,
            devs[1], 'btrfs member', uuid, 'force: true', option='force')
    # mounted, force changes nothing
    mnt = pool.mount(devs[0])
    before = state(pool)
    refused('btrfs_array', {'label': 'adv-mine', 'devices': [c.device, devs[1]],
                            'data_profile': 'raid1', 'force': True}, before, pool,
            devs[1], uuid, 'mounted', option='force')
    assert tree_checksums(mnt) == sums


def test_too_few_devices_for_the_profile(pool):
    a, b = pool.new(2)
    refused('btrfs_array', {'label': 'adv-few', 'devices': [a.device, b.device],
                            'data_profile': 'raid1c3', 'metadata_profile': 'raid1'},
            state(pool), pool, 'raid1c3 needs at least 3 devices', 'list more devices',
            option='devices', no_force=True)


def test_ext4_device_without_then_with_force(pool):
    a, b = pool.new(2)
    mkfs_ext4(b.device)
    ext4_uuid = blkid(b.device)['UUID']
    args = {'label': 'adv-ext4', 'devices': [a.device, b.device], 'data_profile': 'raid1',
            'metadata_profile': 'raid1'}
    refused('btrfs_array', args, state(pool), pool, b.device, 'ext4', 'force: true',
            option='force')
    forced = dict(args, force=True)
    before = state(pool)
    planned = ok(ansible('btrfs_array', forced, check=True))
    assert planned['changed'] is True and planned['plan'][0]['destructive'] is True
    assert ' -f ' in planned['plan'][0]['command']
    assert any('ext4' in w and 'overwritten' in w for w in planned.get('warnings', []))
    assert state(pool) == before
    done = ok(ansible('btrfs_array', forced))
    assert done['changed'] is True and blkid(b.device)['TYPE'] == 'btrfs'
    assert blkid(b.device)['UUID'] != ext4_uuid


# -- bcache on this host's kernel, which has no bcache ---------------------------------------------

def host_has_bcache():
    return os.path.isdir('/sys/fs/bcache') or os.path.isdir('/sys/module/bcache')


@pytest.mark.skipif(host_has_bcache(), reason='the host kernel has bcache')
def test_bcache_on_a_kernel_without_bcache(pool):
    cache, backing, old = pool.new(3)
    mkfs_ext4(old.device)
    res = refused('bcache_cache', {'cache_device': cache.device,
                                   'backing_devices': [backing.device],
                                   'cache_mode': 'writeback'}, state(pool), pool,
                  'has no bcache support', os.uname()[2], 'CONFIG_BCACHE', 'Nothing was changed')
    assert 'install the package that provides modprobe' not in res['msg']
    assert res['bcache_available'] is False and res['plan'] == [] and res['executed'] == []
    # a device with another signature: force could not help on this kernel, so none is offered
    refused('bcache_cache', {'cache_device': cache.device, 'backing_devices': [old.device]},
            state(pool), pool, 'has no bcache support', no_force=True)
    info = ok(ansible('bcache_info', {}, diff=False))
    assert info['loaded'] is False


def test_bcache_refuses_a_mounted_backing_device_even_with_force(pool):
    cache, busy = pool.new(2)
    mkfs_ext4(busy.device)
    target = mount_ro(pool, busy.device, 'bcache-busy')
    refused('bcache_cache', {'cache_device': cache.device, 'backing_devices': [busy.device],
                             'force': True}, state(pool), pool,
            busy.device, 'is mounted at %s' % target, 'force does not override',
            'Unmount or release it first')


def test_bcache_nonexistent_device(pool):
    cache, = pool.new(1)
    refused('bcache_cache', {'cache_device': cache.device,
                             'backing_devices': ['/dev/adv-no-such-hdd']}, state(pool), pool,
            '/dev/adv-no-such-hdd does not exist', 'check the device name', no_force=True)


def test_bcache_same_device_under_two_names(pool):
    cache, backing = pool.new(2)
    link = symlink(pool, backing.device, 'by-id-hdd')
    refused('bcache_cache', {'cache_device': cache.device,
                             'backing_devices': [backing.device, link]}, state(pool), pool,
            'backing_devices lists the same device twice', link, 'list each device once',
            no_force=True)
    alias = symlink(pool, cache.device, 'by-partlabel-cache')
    refused('bcache_cache', {'cache_device': alias, 'backing_devices': [cache.device]},
            state(pool), pool, 'is also listed in backing_devices', 'one device cannot be both',
            no_force=True)
