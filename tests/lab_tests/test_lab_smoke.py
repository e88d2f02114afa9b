"""Lab smoke test: a VM with 4 data disks and an NVMe boots, has bcache, sees its disks,
survives the fixture's faults, and is destroyed without leaving a process behind."""

import json
import os
import subprocess
import sys

import pytest

from testlib import LAB_DIR, run_module

pytestmark = pytest.mark.lab


@pytest.fixture(scope='module')
def smoke_vm(lab_factory):
    lab = lab_factory('smoke')
    vm = lab.boot('train', data_disks_mb=[512] * 4, nvme_mb=512, nvme_os_partition_mb=64)
    return vm


def test_disks_and_bcache(smoke_vm):
    out = smoke_vm.ssh('modprobe bcache && test -e /sys/fs/bcache/register && echo bcache-ok; '
                       'lsblk -J -b -d -o NAME,SIZE,TYPE').stdout
    assert 'bcache-ok' in out
    disks = {d['name']: d['size'] for d in json.loads(out[out.index('{'):])['blockdevices']}
    for name in ('vdb', 'vdc', 'vdd', 'vde'):
        assert disks[name] == 512 * 1024 * 1024
    assert disks['nvme0n1'] == 512 * 1024 * 1024
    # The installer's OS partition of the reference layout, laid by the fixture.
    parts = smoke_vm.ssh('lsblk -n -o PARTLABEL /dev/nvme0n1p1').stdout.strip()
    assert parts == 'os'


def test_ansible_reaches_the_vm(smoke_vm):
    result = run_module('ansible.builtin.command', {'argv': ['uname', '-r']},
                        inventory=smoke_vm.inventory, host='train')
    assert not result.failed, result
    assert result['stdout'].strip()


def test_faults_keep_data_disks_and_replace_the_os_disk(smoke_vm):
    smoke_vm.ssh('echo marker > /root/on-os-disk && '
                 'printf data-survives | dd of=/dev/vdb bs=512 seek=2048 conv=fsync status=none')
    smoke_vm.power_cut()
    assert not smoke_vm.running()
    smoke_vm.replace_os_disk(start=True)
    assert smoke_vm.ssh('test -e /root/on-os-disk', check=False).returncode != 0
    got = smoke_vm.ssh('dd if=/dev/vdb bs=512 skip=2048 count=1 status=none | head -c 13').stdout
    assert got == 'data-survives'
    smoke_vm.remove_disk(3, start=True)
    names = smoke_vm.ssh('lsblk -n -d -o NAME').stdout.split()
    assert 'vde' not in names and 'vdd' in names
    smoke_vm.restore_disk(3, start=False)
    smoke_vm.replace_nvme(start=True)
    assert smoke_vm.ssh('lsblk -n -o PARTLABEL /dev/nvme0n1p1').stdout.strip() == 'os'


def test_destroy_leaves_nothing_and_gc_cleans_stale(lab_owner, tmp_path):
    from labvm import Lab, gc_stale
    # A lab owned by a process that is gone (a killed test run) is removed by gc.
    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()
    lab = Lab.create('smoke-stale', owner=dead.pid)
    vm = lab.boot('train', data_disks_mb=[64], wait=False)
    pid = vm.spec['pid']
    assert vm.running()
    removed = gc_stale()
    assert 'smoke-stale' in removed
    assert not os.path.exists(lab.directory)
    assert not os.path.exists('/proc/%d' % pid) or b'qemu' not in open(
        '/proc/%d/cmdline' % pid, 'rb').read()
    # labctl's CLI answers too.
    out = subprocess.run([sys.executable, os.path.join(LAB_DIR, 'labctl.py'), 'status'],
                         capture_output=True, text=True, check=True).stdout
    assert 'smoke-stale' not in out
