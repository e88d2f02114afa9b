"""testinfra: the train server's storage as train_storage builds it in create mode (lab VM)."""

import json
import re


def test_cache_partition_on_the_nvme_after_the_os_partition(host):
    parts = json.loads(host.check_output('lsblk -J -o NAME,PARTLABEL /dev/nvme0n1'))
    labels = [p['partlabel'] for p in parts['blockdevices'][0]['children']]
    assert labels == ['os', 'ml-bcache']


def test_four_backing_devices_in_writeback_with_the_tunables(host):
    cset = host.check_output('ls /sys/fs/bcache | grep -v -e register -e pendings_cleanup')
    assert re.match(r'^[0-9a-f-]{36}$', cset)
    for index in range(4):
        sysfs = '/sys/block/bcache%d/bcache' % index
        assert '[writeback]' in host.file(sysfs + '/cache_mode').content_string
        assert host.file(sysfs + '/state').content_string.strip() in ('clean', 'dirty')
        # The kernel clamps writeback_percent to bch_cutoff_writeback (40): asked 100, reads 40.
        assert host.file(sysfs + '/writeback_percent').content_string.strip() == '40'
        assert host.file(sysfs + '/sequential_cutoff').content_string.strip() in ('0', '0.0k')
        assert host.file(sysfs + '/cache').is_symlink
    # sequential_cutoff and writeback_percent are not stored on disk: a udev rule re-applies them.
    assert host.file('/etc/udev/rules.d/70-resilience-bcache.rules').exists


def test_btrfs_raid10_on_the_bcache_devices_mounted_from_fstab(host):
    show = host.check_output('btrfs filesystem show --raw ml-storage')
    members = sorted(re.findall(r'path (/dev/bcache\d)', show))
    assert members == ['/dev/bcache0', '/dev/bcache1', '/dev/bcache2', '/dev/bcache3']
    df = host.check_output('btrfs filesystem df /mnt/storage')
    assert 'Data, RAID10' in df and 'Metadata, RAID10' in df
    mount = host.mount_point('/mnt/storage')
    assert mount.filesystem == 'btrfs'
    assert 'compress=zstd:3' in mount.options and 'space_cache=v2' in mount.options
    uuid = host.check_output('findmnt -n -o UUID /mnt/storage')
    fstab = host.file('/etc/fstab').content_string
    # nofail and a short device timeout: a dead disk never stops the boot (issue 13).
    assert re.search(r'^UUID=%s\s+/mnt/storage\s+btrfs\s+compress=zstd:3,space_cache=v2,relatime,'
                     r'nofail,x-systemd\.device-timeout=60s\s'
                     % re.escape(uuid), fstab, re.M), fstab


def test_top_level_directories_and_modes(host):
    modes = {'homes': 0o755, 'workspaces': 0o755, 'shared': 0o755, 'docker-volumes': 0o755,
             'cache': 0o755, 'cache/gdrive': 0o755, 'cache/restic': 0o755, 'snapshots': 0o700}
    for path, mode in modes.items():
        entry = host.file('/mnt/storage/' + path)
        assert entry.is_directory and entry.mode == mode and entry.user == 'root', path
    # Docker's data-root exists; its mode is Docker's to set.
    assert host.file('/mnt/storage/docker').is_directory
