# -*- coding: utf-8 -*-
"""bcache_cache / bcache_info acceptance in ONE lab VM (issue 4).

The VM has 4 virtio data disks (HDDs, by-id virtio-hdd0..3) and an NVMe whose first
partition is the "OS partition" of the reference layout; the test lays the ``ml-bcache``
partition after it, like the server's setup does.  The tests run in file order and build on
each other: build -> persistence -> dirty detach -> SSD failure -> OS reinstall -> absent.
"""

import re

import pytest

from testlib import run_module

pytestmark = pytest.mark.lab

HDDS = ['/dev/disk/by-id/virtio-hdd%d' % i for i in range(4)]
KERNEL_NAMES = ['vdb', 'vdc', 'vdd', 'vde']
KERNEL_NAMES_DEV = ['/dev/%s' % n for n in KERNEL_NAMES]
CACHE = '/dev/disk/by-partlabel/ml-bcache'
TRAIN = {'cache_device': CACHE, 'backing_devices': HDDS, 'cache_mode': 'writeback',
         'sequential_cutoff': '0', 'writeback_percent': 40, 'persist': True}
SUMS = {}
# Slow HDDs behind the fast NVMe cache: 48 MiB of dirty data per HDD take >= 8 s to flush.
HDD_WRITE_MB_PER_S = 6


def bc(vm, args, check=False, diff=False):
    return run_module('bcache_cache', args, check=check, diff=diff, inventory=vm.inventory,
                      host='train')


def info(vm):
    result = run_module('bcache_info', {}, inventory=vm.inventory, host='train')
    assert not result.failed, result
    return result


def make_cache_partition(vm):
    """The setup script's ml-bcache partition: after the OS partition, to the end of the disk."""
    vm.ssh('sgdisk -n 2:0:0 -c 2:ml-bcache /dev/nvme0n1 >/dev/null && partprobe /dev/nvme0n1 '
           '&& udevadm settle && test -b /dev/disk/by-partlabel/ml-bcache')


def blkid_types(vm, devices):
    out = vm.ssh('for d in %s; do echo "$d=$(blkid -p -s TYPE -o value $d)"; done'
                 % ' '.join(devices)).stdout
    return dict(line.split('=', 1) for line in out.splitlines() if '=' in line)


def sysfs_backing(vm, attr):
    out = vm.ssh('for d in %s; do echo "$d=$(cat /sys/block/$d/bcache/%s 2>/dev/null)"; done'
                 % (' '.join(KERNEL_NAMES), attr)).stdout
    return dict(line.split('=', 1) for line in out.splitlines() if '=' in line)


def mount_storage(vm):
    vm.ssh('mkdir -p /mnt/storage && btrfs device scan >/dev/null && udevadm settle && '
           '(mountpoint -q /mnt/storage || mount -o compress=zstd:3 LABEL=ml-storage '
           '/mnt/storage)')


def write_file(vm, name, mib):
    """Write random data and remember its checksum (taken from the stream, not the file)."""
    out = vm.ssh('head -c %dM /dev/urandom | tee /mnt/storage/%s | sha256sum && sync'
                 % (mib, name)).stdout
    SUMS[name] = out.split()[0]


def verify_checksums(vm):
    out = vm.ssh('sync; echo 3 > /proc/sys/vm/drop_caches; cd /mnt/storage && sha256sum %s'
                 % ' '.join(sorted(SUMS))).stdout
    got = dict((line.split()[1], line.split()[0]) for line in out.splitlines())
    assert got == SUMS


def flush_and_unmount(vm):
    """Before a hardware fault: unmount and let writeback empty the cache (state clean)."""
    vm.ssh('umount /mnt/storage; for d in %s; do echo 0 > /sys/block/$d/bcache/writeback_percent;'
           ' echo 0 > /sys/block/$d/bcache/writeback_delay;'
           ' done; for i in $(seq 600); do n=$(cat /sys/block/vd[b-e]/bcache/state | '
           'grep -c -v clean); [ "$n" = 0 ] && exit 0; sleep 0.5; done; exit 1'
           % ' '.join(KERNEL_NAMES))


@pytest.fixture(scope='module')
def vm(lab_factory):
    lab = lab_factory('bcache')
    machine = lab.boot('train', data_disks_mb=[1024] * 4, nvme_mb=1024, nvme_os_partition_mb=128,
                       hdd_write_mb_per_s=HDD_WRITE_MB_PER_S)
    make_cache_partition(machine)
    return machine


def commands(result, key='plan'):
    return [s['command'] or '' for s in result[key]]


def test_check_mode_on_blank_disks_plans_and_leaves_them_blank(vm):
    result = bc(vm, TRAIN, check=True, diff=True)
    assert not result.failed, result
    assert result['changed'] is True
    cmds = commands(result)
    assert len([c for c in cmds if ' -C ' in c and 'make-bcache' in c]) == 1
    assert len([c for c in cmds if ' -B ' in c and 'make-bcache' in c]) == 4
    assert any('echo writeback > /sys/block/vdb/bcache/cache_mode' in s['step']
               for s in result['plan'])
    assert result['executed'] == []
    assert result['diff']['after']['cache_set_uuid'] == result['cache_set_uuid']
    assert set(blkid_types(vm, KERNEL_NAMES_DEV + [CACHE]).values()) == {''}
    assert vm.ssh('ls /sys/fs/bcache | grep -c -- -', check=False).stdout.strip() == '0'


def test_refuses_a_backing_device_that_holds_a_filesystem(vm):
    vm.ssh('mkfs.ext4 -q -F %s' % HDDS[3])
    result = bc(vm, TRAIN)
    assert result.failed and result['refused'] is True, result
    assert result['option'] == 'force'
    assert 'ext4' in result['msg'] and 'force' in result['msg']
    types = blkid_types(vm, [HDDS[3], CACHE] + HDDS[:3])
    assert types[HDDS[3]] == 'ext4'
    assert [types[d] for d in [CACHE] + HDDS[:3]] == ['', '', '', '']
    vm.ssh('wipefs -q -a %s' % HDDS[3])


def test_build_the_train_stack_and_rerun_is_unchanged(vm):
    result = bc(vm, TRAIN)
    assert not result.failed, result
    assert result['changed'] is True
    cset = result['cache_set_uuid']
    assert re.match(r'^[0-9a-f-]{36}$', cset)
    executed = [s['command'] or '' for s in result['executed']]
    assert len([c for c in executed if 'make-bcache' in c]) == 5
    devs = result['backing_devices']
    assert [d['device'] for d in devs] == HDDS
    assert sorted(d['bcache_device'] for d in devs) == ['/dev/bcache%d' % i for i in range(4)]
    for dev in devs:
        assert dev['cache_set_uuid'] == cset
        assert dev['state'] == 'clean'
        assert dev['cache_mode'] == 'writeback'
        assert dev['sequential_cutoff_bytes'] == 0
        assert dev['writeback_percent'] == 40
        assert dev['dirty_data_bytes'] == 0
    # the train server's BTRFS raid10 on /dev/bcache0..3
    vm.ssh('mkfs.btrfs -q -f -L ml-storage -d raid10 -m raid10 %s'
           % ' '.join(d['bcache_device'] for d in devs))
    mount_storage(vm)
    write_file(vm, 'before-anything.bin', 16)

    again = bc(vm, TRAIN, diff=True)
    assert not again.failed, again
    assert again['changed'] is False
    assert again['plan'] == []
    assert again['diff']['before'] == again['diff']['after']

    state = info(vm)
    [cset_info] = state['cache_sets']
    assert cset_info['uuid'] == cset
    assert cset_info['cache_devices'] == ['/dev/nvme0n1p2']
    assert cset_info['backing_devices'] == KERNEL_NAMES_DEV
    assert isinstance(cset_info['hit_ratio'], int)
    rules = vm.ssh('cat /etc/udev/rules.d/70-resilience-bcache.rules').stdout
    assert rules.count('ENV{ID_FS_UUID}==') == 4


def test_tunables_survive_a_reboot(vm):
    vm.reboot()
    assert sysfs_backing(vm, 'sequential_cutoff') == dict((n, '0.0k') for n in KERNEL_NAMES)
    assert sysfs_backing(vm, 'writeback_percent') == dict((n, '40') for n in KERNEL_NAMES)
    result = bc(vm, TRAIN)
    assert not result.failed and result['changed'] is False, result
    mount_storage(vm)
    verify_checksums(vm)


def test_dirty_detach_fails_on_short_timeout_and_flushes_on_a_long_one(vm):
    # Hold writeback so that the cache really keeps dirty data, and switch off bcache's
    # congestion bypass (under TCG the emulated NVMe looks "congested" and writes would go
    # straight to the HDDs), then write 192 MiB: 48 MiB per HDD, which at the VM's throttled
    # HDD speed (HDD_WRITE_MB_PER_S) needs far longer than the short flush_timeout below.  An
    # unthrottled host once wrote it all back within 1 s.
    vm.ssh('for d in %s; do echo 0 > /sys/block/$d/bcache/writeback_running; done; '
           'for c in /sys/fs/bcache/*-*; do echo 0 > $c/congested_write_threshold_us; '
           'echo 0 > $c/congested_read_threshold_us; done' % ' '.join(KERNEL_NAMES))
    write_file(vm, 'dirty.bin', 192)
    assert set(sysfs_backing(vm, 'state').values()) == {'dirty'}
    cset = info(vm)['cache_sets'][0]['uuid']

    # No flush at all is refused outright, naming the option.
    none = bc(vm, {'backing_devices': HDDS, 'state': 'detached', 'flush_timeout': 0})
    assert none.failed and none.get('refused') and none['option'] == 'flush_timeout', none

    short = bc(vm, {'backing_devices': HDDS, 'state': 'detached', 'flush_timeout': 1})
    assert short.failed, short
    assert 'flush_timeout' in short['msg']
    # not clean yet: dirty bytes left, or 0 bytes while the kernel has not marked it clean
    assert short['dirty_bytes_left'] and set(short['dirty_bytes_left']) <= set(KERNEL_NAMES_DEV)
    # everything still attached, in writeback, as before the attempt
    out = vm.ssh('for d in %s; do basename $(readlink /sys/block/$d/bcache/cache); done'
                 % ' '.join(KERNEL_NAMES)).stdout.split()
    assert out == [cset] * 4
    assert set(sysfs_backing(vm, 'cache_mode').values()) == {
        'writethrough [writeback] writearound none'}

    done = bc(vm, {'backing_devices': HDDS, 'state': 'detached', 'flush_timeout': 600})
    assert not done.failed, done
    assert done['changed'] is True
    for dev in done['backing_devices']:
        assert dev['attached'] is False
        assert dev['state'] == 'no cache'
        assert dev['dirty_data_bytes'] == 0
        assert dev['bcache_device']
    verify_checksums(vm)

    back = bc(vm, TRAIN)
    assert not back.failed, back
    assert set(d['state'] for d in back['backing_devices']) == {'clean'}
    assert set(d['cache_set_uuid'] for d in back['backing_devices']) == {cset}


def test_ssd_failure_start_without_cache_then_new_cache_set(vm):
    old_cset = info(vm)['cache_sets'][0]['uuid']
    flush_and_unmount(vm)
    vm.replace_nvme(start=True)          # power cut, blank NVMe (OS partition only), boot

    state = info(vm)
    assert state['cache_sets'] == []
    assert state['waiting_for_cache'] == KERNEL_NAMES_DEV
    for dev in state['backing_devices']:
        assert dev['status'] == 'waiting for missing cache'
        assert dev['missing_cache_set_uuid'] == old_cset
        assert dev['bcache_device'] is None

    refused = bc(vm, {'backing_devices': HDDS})
    assert refused.failed and refused['refused'], refused
    assert refused['option'] == 'start_without_cache'
    assert vm.ssh('ls /dev/bcache[0-9]* 2>/dev/null | wc -l').stdout.strip() == '0'

    started = bc(vm, {'backing_devices': HDDS, 'start_without_cache': True})
    assert not started.failed, started
    assert sorted(d['bcache_device'] for d in started['backing_devices']) == [
        '/dev/bcache%d' % i for i in range(4)]
    assert set(d['state'] for d in started['backing_devices']) == {'inconsistent'}
    # the superblocks said clean: nothing was lost with the old cache
    assert [d['dirty_data_lost_bytes'] for d in started['data_lost']] == [0] * 4

    make_cache_partition(vm)
    rebuilt = bc(vm, TRAIN)
    assert not rebuilt.failed, rebuilt
    assert any('make-bcache' in c and ' -C ' in c for c in commands(rebuilt, 'executed'))
    new_cset = rebuilt['cache_set_uuid']
    assert new_cset != old_cset
    for dev in rebuilt['backing_devices']:
        assert dev['cache_set_uuid'] == new_cset
        assert dev['state'] == 'clean'
    mount_storage(vm)
    verify_checksums(vm)


def test_os_reinstall_registers_existing_superblocks_without_make_bcache(vm):
    cset = info(vm)['cache_sets'][0]['uuid']
    vm.ssh('umount /mnt/storage && sync')
    vm.replace_os_disk(start=True)
    # The fresh OS's udev already registered what it found; an installer without the bcache
    # udev rule registers nothing.  Emulate that: stop every device, unregister the set.
    vm.ssh('for d in %s; do echo 1 > /sys/block/$d/bcache/stop; done; '
           'echo 1 > /sys/fs/bcache/%s/unregister; for i in $(seq 120); do '
           '[ -e /sys/fs/bcache/%s ] || [ -e /sys/block/vdb/bcache ] || exit 0; sleep 0.5; done; '
           'exit 1' % (' '.join(KERNEL_NAMES), cset, cset))
    assert info(vm)['backing_devices'] == []

    plan = bc(vm, TRAIN, check=True)
    assert not plan.failed, plan
    assert not any('make-bcache' in c or 'wipefs' in c for c in commands(plan))
    registers = [s['step'] for s in plan['plan'] if '/sys/fs/bcache/register' in s['step']]
    assert len(registers) == 5

    result = bc(vm, TRAIN)
    assert not result.failed, result
    assert result['cache_set_uuid'] == cset
    for dev in result['backing_devices']:
        assert dev['cache_set_uuid'] == cset and dev['state'] == 'clean'
    mount_storage(vm)
    verify_checksums(vm)


def test_absent_needs_force_and_wipes_superblocks(vm):
    vm.ssh('umount /mnt/storage')
    refused = bc(vm, {'cache_device': CACHE, 'backing_devices': HDDS, 'state': 'absent'})
    assert refused.failed and refused['option'] == 'force', refused
    assert set(blkid_types(vm, HDDS + [CACHE]).values()) == {'bcache'}
    gone = bc(vm, {'cache_device': CACHE, 'backing_devices': HDDS, 'state': 'absent',
                   'force': True, 'persist': True})
    assert not gone.failed, gone
    assert set(blkid_types(vm, HDDS + [CACHE]).values()) == {''}
    state = info(vm)
    assert state['cache_sets'] == [] and state['backing_devices'] == []
    assert vm.ssh('test -e /etc/udev/rules.d/70-resilience-bcache.rules',
                  check=False).returncode != 0
