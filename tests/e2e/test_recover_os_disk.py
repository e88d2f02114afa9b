"""End to end, in a lab VM: build the train server, write data, lose the OS disk together with
the NVMe that held the OS and the bcache cache (the reference layout, cache clean at failure
time), recover with one playbook, and prove it: checksums, ownership, fstab after a reboot,
bcache tunables after that reboot, and a second run with zero changes.

The demo (make demo) runs the same flow through the same library (labvm.train)."""

import json
import re

import pytest

from labvm.train import USERS, TrainLab

pytestmark = pytest.mark.e2e


@pytest.fixture(scope='module')
def recovered(lab_owner):
    train = TrainLab('e2e-os-disk', layout='shared', owner=lab_owner)
    try:
        train.boot()
        train.playbook('setup-train-server.yml', {'train_storage_mode': 'create',
                                                  'train_backups_init_repository': True})
        manifest = train.write_sample_data()
        train.vm.ssh('systemctl start resilience-dr-backup.service')
        train.flush_cache()
        train.vm.power_cut()
        train.vm.replace_os_disk(start=False)
        train.vm.replace_nvme(start=False)
        train.vm.start()
        path = train.install_manifest(manifest)
        train.manifest_lines = len(manifest.splitlines())
        train.extra = {'train_verify_manifest': path}
        rc, output, seconds = train.playbook('recover-os-disk.yml', train.extra, expect_rc=None)
        train.first_run = (rc, output, seconds)
        yield train
    finally:
        train.destroy()


def test_recovery_succeeds_and_reports(recovered):
    rc, output, _seconds = recovered.first_run
    assert rc == 0, output[-5000:]
    report, markdown = recovered.latest_report('os-disk')
    assert report['outcome'] in ('recovered', 'recovered_with_warnings')
    assert report['verification']['failed'] == 0
    checks = {v['check']: v for v in report['verified']}
    checksum = [v for name, v in checks.items() if name.startswith('data checksums')]
    assert checksum and checksum[0]['ok'], checks
    assert str(recovered.manifest_lines) in checksum[0]['detail']
    assert report['rto']['target_seconds'] == 14400 and report['rto']['met'] is True
    assert 'os-disk' in markdown.splitlines()[0] or 'os-disk' in markdown[:400]


def test_data_and_ownership_are_back(recovered):
    out = recovered.vm.ssh('cd /mnt/storage && sha256sum --check --quiet /root/dr-manifest.sha256 '
                           '&& echo ALL-OK').stdout
    assert 'ALL-OK' in out
    for user in USERS:
        stat = recovered.vm.ssh("stat -c '%%u:%%g %%a' /mnt/storage/homes/%s "
                                "/mnt/storage/homes/%s/data/model.bin" % (user['name'], user['name'])
                                ).stdout.split('\n')
        assert stat[0] == '%d:%d 700' % (user['uid'], user['uid'])
        assert stat[1].startswith('%d:%d ' % (user['uid'], user['uid']))


def test_cache_rebuilt_on_the_new_nvme(recovered):
    out = recovered.vm.ssh('for d in /sys/block/bcache*/bcache; do cat $d/state $d/cache_mode; '
                           'done; ls /dev/disk/by-partlabel/').stdout
    assert out.count('[writeback]') == 4
    assert 'no cache' not in out
    assert 'ml-bcache' in out


def _tunables(vm):
    return vm.ssh('cat /sys/block/bcache*/bcache/sequential_cutoff '
                  '/sys/block/bcache*/bcache/writeback_percent '
                  '/sys/block/bcache*/bcache/cache_mode').stdout.split('\n')


def test_reboot_keeps_mount_and_tunables(recovered):
    before = _tunables(recovered.vm)
    assert before[:4] == ['0.0k'] * 4 or all(c in ('0', '0k', '0.0k') for c in before[:4]), before
    recovered.vm.reboot()
    fs = json.loads(recovered.vm.ssh('findmnt -J /mnt/storage').stdout)['filesystems'][0]
    assert fs['fstype'] == 'btrfs' and 'compress=zstd:3' in fs['options']
    fstab = recovered.vm.ssh('cat /etc/fstab').stdout
    assert re.search(r'^UUID=\S+ /mnt/storage btrfs compress=zstd:3,space_cache=v2,relatime', fstab,
                     re.M), fstab
    # The kernel forgets sequential_cutoff and writeback_percent at reboot; the role's
    # persistence brings them back.
    assert _tunables(recovered.vm) == before


def test_second_run_changes_nothing(recovered):
    rc, output, _unused = recovered.playbook('recover-os-disk.yml', recovered.extra)
    recap = re.search(r'train\s*:\s*ok=\d+\s+changed=(\d+)', output)
    assert recap and recap.group(1) == '0', output[-4000:]
