"""testinfra: every train_verify check ran in the lab VM (real bcache under btrfs) and passed."""

import json


def test_every_check_ran_and_passed(host):
    results = json.loads(host.file('/root/train-verify-results.json').content_string)
    expected = {
        'mount /mnt/storage', 'fstab entry for /mnt/storage', 'BTRFS profiles and members',
        'BTRFS device error counters', 'bcache attached, mode and tunables',
        'user alice and home ownership', 'restic repository reachable and recent',
        'data checksums (/root/manifest.sha256)',
    } | {'directory /mnt/storage/%s' % d for d in
         ('homes', 'workspaces', 'shared', 'docker-volumes', 'cache', 'snapshots')}
    assert set(results) == expected
    assert all(results.values()), results


def test_the_checked_state_is_real(host):
    """The role passed on a system that really has what it claims."""
    assert host.mount_point('/mnt/storage').filesystem == 'btrfs'
    for dev in ('bcache0', 'bcache1'):
        mode = host.file('/sys/block/%s/bcache/cache_mode' % dev).content_string
        assert '[writeback]' in mode
    check = host.run('cd /mnt/storage && sha256sum -c --quiet /root/manifest.sha256')
    assert check.rc == 0
