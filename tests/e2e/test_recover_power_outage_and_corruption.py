"""End to end, in one lab VM (4 HDDs behind bcache in writeback, the reference layout): the
power-outage scenario of the train-server runbook.

The server is provisioned with data and a backup.  Then, at the same time, a backup runs and a
writer creates files one by one, each with ``conv=fsync``, reporting each name to the host only
after its fsync returned; qemu is killed in the middle (a power cut).  After power-on, one
command (recover-power-outage.yml) brings the server back: every fsync-ed file and every
earlier file has its checksum, the interrupted backup's stale lock is gone, a backup re-ran
(the RPO target forced low), bcache's dirty bytes, the scrub and the kernel log are in the
report, and a second run changes nothing.
"""

import json
import re
import subprocess
import time

import pytest

from labvm.train import TrainLab

pytestmark = [pytest.mark.e2e, pytest.mark.variant]

PLAYBOOK = 'recover-power-outage.yml'
WRITER = ('set -e; mkdir -p /mnt/storage/homes/alice/fsynced; cd /mnt/storage/homes/alice/fsynced; '
          'for i in $(seq 1 400); do head -c 262144 /dev/urandom > f$i.tmp; '
          'dd if=f$i.tmp of=f$i bs=64k conv=fsync status=none; rm f$i.tmp; '
          'echo "$(sha256sum f$i | cut -d" " -f1)  homes/alice/fsynced/f$i"; done')


def changed_tasks(output):
    recap = re.search(r'train\s*:\s*ok=\d+\s+changed=(\d+)', output)
    assert recap, output[-3000:]
    return int(recap.group(1))


@pytest.fixture(scope='module')
def power(lab_owner):
    train = TrainLab('e2e-power', layout='shared', owner=lab_owner)
    try:
        train.boot()
        started = time.time()
        train.playbook('setup-train-server.yml', {'train_storage_mode': 'create',
                                                  'train_backups_init_repository': True})
        train.timings['provision'] = round(time.time() - started, 1)
        train.manifest = train.write_sample_data(megabytes=48)
        train.vm.ssh('systemctl start resilience-dr-backup.service')
        yield train
    finally:
        print('power e2e timings (s): %s' % json.dumps(train.timings))
        train.destroy()


@pytest.fixture(scope='module')
def cut(power):
    """The power cut while a backup runs and fsync-ed files are being written."""
    train = power
    # New data so that the backup has work to do while the power goes.
    train.vm.ssh('head -c 64M /dev/urandom > /mnt/storage/homes/bob/data/big.bin; sync')
    train.vm.ssh('systemctl start --no-block resilience-dr-backup.service')
    writer = subprocess.Popen(train.vm.ssh_argv(WRITER), stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True, bufsize=1)
    fsynced = []
    deadline = time.time() + 300
    backup_running = False
    while time.time() < deadline:
        line = writer.stdout.readline()
        if line.strip():
            fsynced.append(line.rstrip('\n'))
        if len(fsynced) >= 8 and not backup_running:
            backup_running = train.vm.ssh('grep -qx restic /proc/[0-9]*/comm',
                                          check=False).returncode == 0
        if len(fsynced) >= 8 and backup_running:
            break
    assert backup_running, 'the backup must be running at the power cut'
    started = time.time()
    train.vm.power_cut(start=True)
    train.timings['power_cut_and_boot'] = round(time.time() - started, 1)
    writer.kill()
    writer.wait()
    # Only the lines read before the cut count: each was printed after its fsync returned.
    train.fsynced = fsynced
    train.all_manifest = train.manifest + '\n'.join(fsynced) + '\n'
    train.extra = {'train_verify_manifest': train.install_manifest(train.all_manifest),
                   'train_power_rpo_target_seconds': 1}
    train.first_run = train.playbook(PLAYBOOK, train.extra, expect_rc=None)
    train.timings['recover_power'] = train.first_run[2]
    return train


def test_recovery_succeeds_every_fsynced_file_survives(cut):
    rc, output, _seconds = cut.first_run
    assert rc == 0, output[-5000:]
    assert len(cut.fsynced) >= 8
    out = cut.vm.ssh('cd /mnt/storage && sha256sum --check --quiet /root/dr-manifest.sha256 '
                     '&& echo ALL-OK', check=False)
    assert 'ALL-OK' in out.stdout, out.stdout[-2000:] + out.stderr[-2000:]


def test_report_has_the_findings_and_the_stale_lock_went(cut):
    report, markdown = cut.latest_report('power-outage')
    checks = dict((v['check'], v) for v in report['verified'])
    for name in ('bcache state after the power cut', 'BTRFS device error counters',
                 'kernel errors since boot', 'BTRFS scrub after the power cut', 'restic locks',
                 'backup within the RPO target', 'workspace containers running'):
        assert name in checks, sorted(checks)
    assert 'report-only' in checks['BTRFS scrub after the power cut']['detail']
    assert checks['BTRFS scrub after the power cut']['ok'], checks
    assert re.match(r'removed [1-9]\d* stale', checks['restic locks']['detail']), checks['restic locks']
    assert 're-run now' in checks['backup within the RPO target']['detail']
    assert checks['workspace containers running']['ok'], checks['workspace containers running']
    assert report['rto']['target_seconds'] == 1800
    assert 'power-outage' in markdown[:400]


def test_second_run_changes_nothing(cut):
    extra = dict(cut.extra, train_power_rpo_target_seconds=86400)
    rc, output, seconds = cut.playbook(PLAYBOOK, extra, expect_rc=None)
    cut.timings['rerun_power'] = seconds
    assert rc == 0, output[-4000:]
    assert changed_tasks(output) == 0, output[-4000:]
