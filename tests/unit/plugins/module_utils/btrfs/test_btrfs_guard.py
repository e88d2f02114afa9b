# -*- coding: utf-8 -*-
"""btrfs.guard.DeviceGuard.check_writable over captured ``wipefs --json`` output.

The device is a BlockDevice over an empty sysfs tree and empty mount/swap tables (nothing
holds it); the signatures are the real capture of a btrfs member (tests/unit/fixtures/btrfs).
"""

import os

import pytest

from ansible_collections.resilience.dr.plugins.module_utils import blockdev
from ansible_collections.resilience.dr.plugins.module_utils.btrfs.guard import DeviceGuard
from ansible_collections.resilience.dr.plugins.module_utils.runner import Refusal

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'fixtures', 'btrfs')
MEMBER_UUID = 'c5973b5b-94ed-43f0-aa9b-4c2fabb4cc74'   # the capture's filesystem (label captest)


class CapturedProbe:
    """``Btrfs.signatures`` answered from a captured wipefs --json file."""

    def __init__(self, name):
        with open(os.path.join(FIXTURES, name)) as handle:
            self.sigs = blockdev.parse_wipefs_json(handle.read())

    def signatures(self, path):
        return self.sigs


class Manager(DeviceGuard):
    """A DeviceGuard over the capture, nothing in use (empty mount/swap tables and sysfs)."""

    def __init__(self, tmp_path, capture, found_uuid=None, force=False):
        (tmp_path / 'sys').mkdir(exist_ok=True)
        self.sys_root = str(tmp_path / 'sys')
        super(Manager, self).__init__(
            CapturedProbe(capture), force=force, own_uuid=found_uuid,
            usage=blockdev.Usage(mounts=[], swaps=[], sys_root=self.sys_root))

    def device(self, path='/dev/nonexistent-test-vdz'):
        dev = blockdev.BlockDevice(path, self.sys_root, rdev=os.makedev(7, 250))
        return {'path': path, 'realpath': path, 'rdev': dev.rdev, 'size': 1 << 30,
                'exists': True, 'block': True, 'dev': dev}


def test_a_stale_superblock_of_the_requested_filesystem_is_never_answered_with_force(tmp_path):
    for force in (False, True):
        manager = Manager(tmp_path, 'wipefs_json_btrfs_member.json', found_uuid=MEMBER_UUID,
                          force=force)
        with pytest.raises(Refusal) as err:
            manager.check_writable(manager.device(), 'add to %s' % MEMBER_UUID, [])
        text = str(err.value)
        assert err.value.option == 'devices'
        assert 'the very filesystem this request names' in text and MEMBER_UUID in text
        assert 'wipefs -a /dev/nonexistent-test-vdz' in text
        assert 'force' not in text


def test_a_member_of_another_filesystem_needs_force(tmp_path):
    manager = Manager(tmp_path, 'wipefs_json_btrfs_member.json',
                      found_uuid='11111111-2222-3333-4444-555555555555')
    with pytest.raises(Refusal) as err:
        manager.check_writable(manager.device(), 'mkfs', [])
    assert err.value.option == 'force'
    assert "a btrfs member (uuid %s, label 'captest')" % MEMBER_UUID in str(err.value)
    forced = Manager(tmp_path, 'wipefs_json_btrfs_member.json', force=True)
    assert forced.check_writable(forced.device(), 'mkfs', [])[0]['uuid'] == MEMBER_UUID


def test_blank_device_passes(tmp_path):
    manager = Manager(tmp_path, 'wipefs_json_blank.json')
    assert manager.check_writable(manager.device(), 'mkfs', []) == []
