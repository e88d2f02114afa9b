"""End to end, in one lab VM (4 HDDs behind bcache in writeback, the reference layout): the
power-outage and the BTRFS-corruption scenarios of the train-server runbook, one after the
other on the same server (the corruption runs where a power-outage recovery just left a clean
read-only scrub, which the corruption ladder must not reuse).

Power outage: the server is provisioned with data and a backup.  Then, at the same time, a
backup runs and a writer creates files one by one, each with ``conv=fsync``, reporting each name
to the host only after its fsync returned; qemu is killed in the middle (a power cut).  After
power-on, one command (recover-power-outage.yml) brings the server back: every fsync-ed file and
every earlier file has its checksum, the interrupted backup's stale lock is gone, a backup
re-ran (the RPO target forced low), bcache's dirty bytes, the scrub and the kernel log are in
the report, and a second run changes nothing.

Corruption (recover-btrfs-corruption.yml), written on /dev/bcacheN at the places
``btrfs-map-logical`` gives for each copy:

* one copy of some blocks of bob's model and both copies of a block of alice's: rung 1 repairs
  bob's from the other copy, rung 2 moves alice's aside and restores exactly that file from the
  backup, owned by alice; every checksum; a second run changes nothing;
* the newest root tree node zeroed on every mirror, so that a plain mount fails: rung 3 mounts
  read-only with ``rescue=usebackuproot`` and copies bob's home out with its checksums; a second
  run changes nothing.
"""

import json
import re
import subprocess
import time

import pytest

from labvm.train import USERS, TrainLab
from test_recover_os_disk import changed_tasks, checksums_ok

pytestmark = [pytest.mark.e2e, pytest.mark.variant]

PLAYBOOK = 'recover-power-outage.yml'
WRITER = ('set -e; mkdir -p /mnt/storage/homes/alice/fsynced; cd /mnt/storage/homes/alice/fsynced; '
          'for i in $(seq 1 400); do head -c 262144 /dev/urandom > f$i.tmp; '
          'dd if=f$i.tmp of=f$i bs=64k conv=fsync status=none; rm f$i.tmp; '
          'echo "$(sha256sum f$i | cut -d" " -f1)  homes/alice/fsynced/f$i"; done')


def assert_second_run_changes_nothing(run):
    rc, output, _seconds = run
    count, names = changed_tasks(output)
    assert rc == 0 and count == 0, (names, output[-4000:])


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


# The Docker API over its socket (the lab, like Debian 13's docker.io, has no docker client).
STOP_CONTAINER = """python3 - <<'PY'
import http.client, socket
class Docker(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect('/var/run/docker.sock')
conn = Docker('localhost')
conn.request('POST', '/containers/%s/stop')
status = conn.getresponse().status
assert status in (204, 304), status
PY"""


@pytest.fixture(scope='module')
def cut(power):
    """The power cut while a backup runs and fsync-ed files are being written.  Bob's workspace
    container was stopped before (its restart policy will not start it at boot): the recovery
    must bring it back."""
    train = power
    train.vm.ssh(STOP_CONTAINER % 'workspace-bob')
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
    # Mounted once: a second mount stacked on the boot's would hide what is under it.
    mounts = cut.vm.ssh('findmnt -n -o SOURCE,OPTIONS /mnt/storage').stdout.splitlines()
    assert len(mounts) == 1, mounts


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
    assert checks['workspace containers running']['detail'] == '2 running', checks
    started = [block for block in cut.first_run[1].split('TASK [')
               if block.startswith('resilience.dr.train_power : Start those that are not running')]
    assert started and 'changed: [train] => (item=workspace-bob)' in started[0], started
    assert report['rto']['target_seconds'] == 1800
    assert 'power-outage' in markdown[:400]


def test_second_run_changes_nothing(cut):
    extra = dict(cut.extra, train_power_rpo_target_seconds=86400)
    run = cut.playbook(PLAYBOOK, extra, expect_rc=None)
    cut.timings['rerun_power'] = run[2]
    assert_second_run_changes_nothing(run)


# -- BTRFS corruption ------------------------------------------------------------------------

CORRUPTION = 'recover-btrfs-corruption.yml'
# The workloads are proven by the power-outage part and cost minutes under TCG.
CORRUPTION_VARS = {'train_verify_workloads': False}
ALICE = 'homes/alice/data/model.bin'
BOB = 'homes/bob/data/model.bin'
# Units that hold the mount point (bind mounts, the backup) while the test writes the disks.
HOLDERS = ('resilience-dr-backup.timer resilience-dr-backup.service docker.socket docker.service '
           'containerd.service')
MAPPED = re.compile(r'mirror (\d+) logical (\d+) physical (\d+) device (\S+)')


def storage_device(vm):
    """One member of the mounted array (a /dev/bcacheN)."""
    return vm.ssh('findmnt -n -o SOURCE /mnt/storage').stdout.split()[0].split('[')[0]


def copies(vm, logical, length, device=None):
    """[(device, physical offset)] of every copy of ``length`` bytes at BTRFS ``logical``
    address, from btrfs-map-logical (each copy is on a /dev/bcacheN)."""
    out = vm.ssh('btrfs-map-logical -l %d -b %d %s'
                 % (logical, length, device or storage_device(vm))).stdout
    found = [(m.group(4), int(m.group(3))) for m in MAPPED.finditer(out)]
    assert len(found) >= 2, out
    return found


def first_block(vm, path):
    """The BTRFS logical address of the first 4 KiB of ``path`` (filefrag's physical column)."""
    out = vm.ssh('filefrag -v -b4096 /mnt/storage/%s' % path).stdout
    match = re.search(r'^\s*0:\s+0\.\.\s*\d+:\s+(\d+)\.\.', out, re.M)
    assert match, out
    return int(match.group(1)) * 4096


def clobber(vm, places, length=4096, source='/dev/urandom'):
    """Overwrite ``length`` bytes at each (device, offset), past the page cache."""
    vm.ssh('; '.join('head -c %d %s | dd of=%s bs=%d seek=%d oflag=seek_bytes,direct '
                     'conv=notrunc status=none' % (length, source, device, length, offset)
                     for device, offset in places) + '; sync')


def unmount_storage(vm):
    """Everything that holds the array stopped, then unmounted - or a failure that says what
    holds it (a failed umount must not let the test write under a mounted filesystem).  The
    workspace containers are stopped first: their overlay mounts under the array's Docker
    data-root outlive a stop of docker.service."""
    for user in USERS:
        vm.ssh(STOP_CONTAINER % ('workspace-' + user['name']))
    vm.ssh('systemctl stop %s; sync; umount /mnt/storage || { findmnt -R /mnt/storage; '
           'fuser -vm /mnt/storage; exit 1; }; ! findmnt /mnt/storage && '
           'echo 3 > /proc/sys/vm/drop_caches' % HOLDERS)


def owner_of(vm, path):
    return int(vm.ssh('stat -c %%u /mnt/storage/%s' % path).stdout)


@pytest.fixture(scope='module')
def corrupted(cut):
    """One copy of bob's model damaged (4 blocks), both copies of one block of alice's; the
    server running again; then recover-btrfs-corruption.yml."""
    train = cut
    vm = train.vm
    bob = first_block(vm, BOB)
    alice = first_block(vm, ALICE)
    bob_places = [copies(vm, bob + i * 4096, 4096)[0] for i in range(4)]
    alice_places = copies(vm, alice, 4096)
    unmount_storage(vm)
    clobber(vm, bob_places + alice_places)
    vm.ssh('mount /mnt/storage && systemctl start docker.service resilience-dr-backup.timer')
    train.corruption_run = train.playbook(CORRUPTION, dict(train.extra, **CORRUPTION_VARS),
                                          expect_rc=None)
    train.timings['recover_corruption_rungs_1_2'] = train.corruption_run[2]
    return train


def test_corruption_one_copy_repaired_both_copies_restored_from_backup(corrupted):
    rc, output, _seconds = corrupted.corruption_run
    assert rc == 0, output[-5000:]
    vm = corrupted.vm
    report, _markdown = corrupted.latest_report('btrfs-corruption')
    rungs = dict((v['check'], v) for v in report['verified'] if 'ladder rung' in v['check'])
    scrub = rungs['btrfs ladder rung 1: scrub-repair']['detail']
    # Bob's copy was repaired from the mirror, alice's could not be: the clean scrub of the
    # power-outage recovery a few minutes earlier was not taken for this one.
    assert re.match(r'not-enough: [1-9]\d* error\(s\) repaired, [1-9]\d* uncorrectable', scrub), rungs
    restored = rungs['btrfs ladder rung 2: surgical-restore']
    assert restored['ok'] and ALICE in restored['detail'] and BOB not in restored['detail'], rungs
    ok, detail = checksums_ok(vm)
    assert ok, detail
    uids = dict((u['name'], u['uid']) for u in USERS)
    assert owner_of(vm, ALICE) == uids['alice']
    aside = '/mnt/storage/.resilience-dr/damaged/' + ALICE
    assert vm.ssh('test -f %s && test ! -L %s' % (aside, aside), check=False).returncode == 0


def test_corruption_second_run_changes_nothing(corrupted):
    run = corrupted.playbook(CORRUPTION, dict(corrupted.extra, **CORRUPTION_VARS), expect_rc=None)
    corrupted.timings['rerun_corruption'] = run[2]
    assert_second_run_changes_nothing(run)


@pytest.fixture(scope='module')
def root_damaged(corrupted):
    """One more commit (so the backup root holds every file), then the newest root tree node
    zeroed on every mirror: a plain mount fails."""
    train = corrupted
    vm = train.vm
    vm.ssh('date > /mnt/storage/last-commit; btrfs filesystem sync /mnt/storage')
    device = storage_device(vm)
    unmount_storage(vm)
    super_block = vm.ssh('btrfs inspect-internal dump-super %s' % device).stdout
    root = int(re.search(r'^root\s+(\d+)', super_block, re.M).group(1))
    clobber(vm, copies(vm, root, 16384, device), length=16384, source='/dev/zero')
    vm.ssh('echo 3 > /proc/sys/vm/drop_caches')
    train.plain_mount = vm.ssh('mount /mnt/storage', check=False)
    train.rescue_vars = dict(train.extra, train_btrfs_repair_copy_to='/root/rescue-copy',
                             train_btrfs_repair_copy_paths=['homes/bob'], **CORRUPTION_VARS)
    train.rescue_run = train.playbook(CORRUPTION, train.rescue_vars, expect_rc=None)
    train.timings['recover_corruption_rung_3'] = train.rescue_run[2]
    return train


def test_root_damage_only_usebackuproot_mounts_and_the_copy_out_has_every_checksum(root_damaged):
    assert root_damaged.plain_mount.returncode != 0, 'the damaged root must not mount normally'
    rc, output, _seconds = root_damaged.rescue_run
    assert rc == 0, output[-5000:]
    vm = root_damaged.vm
    report, _markdown = root_damaged.latest_report('btrfs-corruption')
    rungs = dict((v['check'], v) for v in report['verified'] if 'ladder rung' in v['check'])
    rescue = rungs['btrfs ladder rung 3: rescue-mount']
    assert rescue['ok'] and 'usebackuproot' in rescue['detail'], rungs
    assert 'ro' in vm.ssh('findmnt -n -o OPTIONS /mnt/storage').stdout.strip().split(',')
    bob = ''.join(line + '\n' for line in root_damaged.all_manifest.splitlines()
                  if '  homes/bob/' in line)
    assert bob.count('\n') > 40
    vm.ssh('cat > /root/bob.sha256', input=bob)
    check = vm.ssh('cd /root/rescue-copy && sha256sum --check --quiet /root/bob.sha256 '
                   '&& echo ALL-OK', check=False)
    assert 'ALL-OK' in check.stdout, check.stdout[-2000:] + check.stderr[-2000:]
    assert report['outcome'] == 'recovered_with_warnings'


def test_root_damage_second_run_changes_nothing(root_damaged):
    run = root_damaged.playbook(CORRUPTION, root_damaged.rescue_vars, expect_rc=None)
    root_damaged.timings['rerun_corruption_rung_3'] = run[2]
    assert_second_run_changes_nothing(run)
