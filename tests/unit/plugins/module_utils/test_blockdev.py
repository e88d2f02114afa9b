# -*- coding: utf-8 -*-
"""Unit tests for plugins/module_utils/blockdev.py over captured output and sysfs trees.

The wipefs and mountinfo texts were captured on the Debian 12 host (see
tests/unit/fixtures/blockdev/README.md); the sysfs trees below copy the layout the kernel
shows for a loop device with a partition (``/sys/dev/block/M:m`` links, ``partition``,
``holders/``, ``slaves/``, ``/sys/fs/btrfs/<uuid>/devices``).
"""

import os

import pytest

from ansible_collections.resilience.dr.plugins.module_utils import blockdev
from ansible_collections.resilience.dr.plugins.module_utils.btrfs import guard, request
from ansible_collections.resilience.dr.plugins.module_utils.runner import Refusal

HERE = os.path.dirname(__file__)
FIXTURES = os.path.join(HERE, '..', '..', 'fixtures', 'blockdev')
BTRFS_FIXTURES = os.path.join(HERE, '..', '..', 'fixtures', 'btrfs')


def fixture(name, base=FIXTURES):
    with open(os.path.join(base, name)) as handle:
        return handle.read()


# -- parsers ----------------------------------------------------------------------------------

def test_mountinfo_partition_btrfs_and_escaped_space():
    mounts = blockdev.parse_mountinfo(fixture('mountinfo.txt'))
    ext4, btr = mounts
    assert ext4['devno'] == (259, 0) and ext4['target'] == '/tmp/bdcap/m 1'
    assert ext4['fstype'] == 'ext4' and ext4['source'] == '/dev/loop0p1'
    # a btrfs mount carries an anonymous device number: callers must compare the source too
    assert btr['devno'][0] == 0 and btr['source'] == '/dev/loop1' and btr['fstype'] == 'btrfs'


def test_swaps():
    text = 'Filename\tType\tSize\tUsed\tPriority\n/dev/loop3  partition\t16380\t0\t-2\n'
    assert blockdev.parse_swaps(text) == ['/dev/loop3']
    assert blockdev.parse_swaps('Filename\tType\tSize\tUsed\tPriority\n') == []


def test_wipefs_signatures():
    assert blockdev.parse_wipefs_json(fixture('wipefs_blank.json')) == []
    ext4 = blockdev.parse_wipefs_json(fixture('wipefs_ext4.json'))
    assert ext4 == [{'type': 'ext4', 'offset': '0x438', 'label': 'extlabel', 'usage': 'filesystem',
                     'uuid': '7f6f2a13-7d16-401e-ba7f-cd6bd9641363'}]
    gpt = blockdev.parse_wipefs_json(fixture('wipefs_gpt.json'))
    assert sorted(s['type'] for s in gpt) == ['PMBR', 'gpt', 'gpt']


def test_blkid_view_matches_what_blkid_reports():
    # what `blkid -p -o export` says for the same devices
    assert blockdev.blkid_view([]) == {}
    ext4 = blockdev.blkid_view(blockdev.parse_wipefs_json(fixture('wipefs_ext4.json')))
    assert ext4['TYPE'] == 'ext4' and ext4['USAGE'] == 'filesystem'
    assert ext4['UUID'] == '7f6f2a13-7d16-401e-ba7f-cd6bd9641363'
    assert blockdev.blkid_view(blockdev.parse_wipefs_json(fixture('wipefs_gpt.json'))) == {
        'PTTYPE': 'gpt'}
    bc = blockdev.blkid_view(blockdev.parse_wipefs_json(fixture('wipefs_bcache_backing.json')))
    assert bc['TYPE'] == 'bcache'
    two = blockdev.blkid_view([{'type': 'ext4', 'usage': 'filesystem'},
                               {'type': 'btrfs', 'usage': 'filesystem'}])
    assert two['TYPE'] == 'ambivalent' and 'ext4, btrfs' in two['USAGE']


def test_blkid_export_is_parsed_once_for_both_modules():
    # moved here from test_btrfs.py: btrfs and bcache share blockdev.parse_blkid_export
    b = blockdev.parse_blkid_export(fixture('blkid_export_btrfs_member.txt', BTRFS_FIXTURES))
    assert b[0]['TYPE'] == 'btrfs'
    assert b[0]['UUID'] == 'c5973b5b-94ed-43f0-aa9b-4c2fabb4cc74'
    assert blockdev.parse_blkid_export(fixture('blkid_export_blank.txt', BTRFS_FIXTURES)) == []
    from ansible_collections.resilience.dr.plugins.module_utils.bcache import discovery as bcache
    assert bcache.parse_blkid_export is blockdev.parse_blkid_export


# -- sysfs ------------------------------------------------------------------------------------

def sysfs(tmp_path, swap_rdev=None):
    """loop0 (7:0) with partitions loop0p1 (259:0) and loop0p2 (259:1); loop1 (7:1) is held by
    dm-0 (253:0); bcache0 (252:0) sits on loop0p2; /sys/fs/btrfs/<uuid>/devices/loop5."""
    root = tmp_path / 'sys'
    devices = root / 'devices' / 'virtual' / 'block'
    layout = {'loop0': '7:0', 'loop0/loop0p1': '259:0', 'loop0/loop0p2': '259:1',
              'loop1': '7:1', 'dm-0': '253:0', 'bcache0': '252:0', 'loop5': '7:5'}
    for rel, devno in layout.items():
        d = devices / rel
        d.mkdir(parents=True)
        (d / 'dev').write_text(devno + '\n')
        (d / 'size').write_text('409600\n')
        (d / 'holders').mkdir()
        (d / 'slaves').mkdir()
        if '/' in rel:
            (d / 'partition').write_text(rel[-1] + '\n')
        for link in (root / 'dev' / 'block' / devno, root / 'class' / 'block' / os.path.basename(rel)):
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(d)
    (devices / 'loop1' / 'holders' / 'dm-0').symlink_to(devices / 'dm-0')
    (devices / 'dm-0' / 'slaves' / 'loop1').symlink_to(devices / 'loop1')
    (devices / 'bcache0' / 'slaves' / 'loop0p2').symlink_to(devices / 'loop0' / 'loop0p2')
    # as in the lab VM's capture: a bcache device's slaves are its backing device *and* the
    # cache device; its `bcache` link names the backing device
    (devices / 'loop7').mkdir()
    (devices / 'bcache0' / 'slaves' / 'loop7').symlink_to(devices / 'loop7')
    (devices / 'loop0' / 'loop0p2' / 'bcache').mkdir()
    (devices / 'bcache0' / 'bcache').symlink_to(devices / 'loop0' / 'loop0p2' / 'bcache')
    (devices / 'loop0' / 'loop0p2' / 'holders' / 'bcache0').symlink_to(devices / 'bcache0')
    (root / 'fs' / 'btrfs' / 'c5973b5b-94ed-43f0-aa9b-4c2fabb4cc74' / 'devices').mkdir(parents=True)
    (root / 'fs' / 'btrfs' / 'c5973b5b-94ed-43f0-aa9b-4c2fabb4cc74' / 'devices' / 'loop5').symlink_to(
        devices / 'loop5')
    return str(root)


def dev(root, name, devno):
    major, minor = (int(x) for x in devno.split(':'))
    return blockdev.BlockDevice('/dev/nonexistent-test-%s' % name, root,
                                rdev=os.makedev(major, minor))


def test_identity_partitions_holders_slaves(tmp_path):
    root = sysfs(tmp_path)
    disk = dev(root, 'loop0', '7:0')
    assert disk.name == 'loop0' and disk.devno == '7:0' and disk.size == 409600 * 512
    assert disk.partition is False and disk.partitions() == ['loop0p1', 'loop0p2']
    part = blockdev.resolve_name('loop0p1', root)
    assert part.partition is True and part.parent == 'loop0' and part.devno == '259:0'
    assert dev(root, 'loop1', '7:1').holders() == ['dm-0']
    # the disks under a stacked device: bcache0 -> loop0p2 -> loop0 (not its cache loop7);
    # dm-0 -> loop1
    assert blockdev.physical_disks(dev(root, 'bcache0', '252:0')) == {'loop0'}
    assert blockdev.physical_disks(dev(root, 'dm-0', '253:0')) == {'loop1'}
    assert blockdev.physical_disks(part) == {'loop0'}


def test_usage_names_the_partition_and_its_mountpoint(tmp_path):
    root = sysfs(tmp_path)
    mounts = [{'devno': (259, 0), 'source': '/dev/nonexistent-test-p1', 'target': '/srv/data',
               'fstype': 'ext4', 'root': '/', 'options': 'rw', 'super_options': 'rw'}]
    usage = blockdev.Usage(mounts=mounts, swaps=[], sys_root=root)
    items = usage.of(dev(root, 'loop0', '7:0'))
    text = blockdev.describe_usage(items)
    assert 'partition /dev/loop0p1 is mounted at /srv/data' in text
    # loop0p2 is held by bcache0
    assert 'partition /dev/loop0p2 is held by bcache0' in text
    assert usage.of(dev(root, 'loop1', '7:1'))[0]['kind'] == 'holder'
    member = usage.of(dev(root, 'loop5', '7:5'))
    assert [(i['kind'], i['partition'], i['what']) for i in member] == [
        ('btrfs', False, 'is a member of the mounted btrfs c5973b5b-94ed-43f0-aa9b-4c2fabb4cc74')]
    free = blockdev.Usage(mounts=[], swaps=[], sys_root=root)
    assert free.of(dev(root, 'loop0p1', '259:0')) == []


def test_regular_file_and_missing_path(tmp_path):
    f = tmp_path / 'disk.img'
    f.write_bytes(b'\0' * 4096)
    reg = blockdev.resolve(str(f))
    assert reg.exists and not reg.block and reg.rdev is None
    gone = blockdev.resolve(str(tmp_path / 'nope'))
    assert not gone.exists and not gone.present and gone.key == str(tmp_path / 'nope')


def test_same_device_through_a_symlink(tmp_path):
    target = tmp_path / 'x'
    target.write_text('')
    link = tmp_path / 'link'
    link.symlink_to(target)
    groups = blockdev.same_device_groups([str(target), str(tmp_path / 'y'), str(link)])
    assert groups == [[str(target), str(link)]]


@pytest.mark.parametrize('devices,remove,replace,fragment', [
    (['/dev/a', '/dev/a'], [], [], 'devices lists one device twice'),
    (['/dev/a'], ['/dev/a'], [], 'listed in both devices and remove_devices'),
    ([], ['/dev/a'], ['/dev/a'], 'listed in both replace_missing and remove_devices'),
    ([], ['missing', 'missing'], [], None),
])
def test_request_devices_by_identity(devices, remove, replace, fragment):
    if fragment is None:
        request.check_request_devices(devices, remove, replace)
        return
    with pytest.raises(Refusal) as exc:
        request.check_request_devices(devices, remove, replace)
    assert fragment in str(exc.value)


def test_shared_disk_warning(tmp_path):
    root = sysfs(tmp_path)
    p1 = blockdev.resolve_name('loop0p1', root)
    p2 = blockdev.resolve_name('loop0p2', root)
    other = dev(root, 'loop1', '7:1')
    warning = guard.shared_disk_warning([p1, p2, other], ['raid1', 'raid1'])
    assert 'raid1 keeps its copies on different devices' in warning
    assert '/dev/loop0p1, /dev/loop0p2 are on one disk (loop0)' in warning
    assert guard.shared_disk_warning([p1, p2], ['single', 'dup']) is None
    assert guard.shared_disk_warning([p1, other], ['raid1', None]) is None
