"""End to end, in one lab VM with the cache NVMe separate from the OS disk (TrainLab
layout='separate'), the bcache SSD scenario of the train-server runbook (issue 13).  Each step
starts from the server the previous one left, so one provisioning serves all:

1. planned swap: the SSD is failing but alive, holding dirty data.  Step 1 writes through,
   flushes and detaches; step 2 run before the swap is refused (nothing changed); the operator
   powers off and swaps the NVMe; step 2 builds the new cache set.  Then every checksum, the state clean, the mode and tunables after a reboot, and
   a second run with zero changes;
2. the SSD dies while clean: the HDDs start without it, a new cache set on the new NVMe,
   every checksum back; the planned path is refused on that server first (nothing changed);
3. the SSD dies while dirty: refused without train_storage_accept_dirty_cache_loss (nothing
   changed); accepted, the loss is recorded on the host before anything starts; the run is
   interrupted after the HDDs started, and the re-run still reports the loss, scrubs, names
   what the scrub found and clears the record; a third run has no loss to report;
4. nofail: a reboot with an HDD missing still reaches SSH (no emergency mode), and neither
   Docker nor the backup service starts on the bare mount point.

Marked ``variant``: make test-all (the variants tier) runs it, make test does not.
"""

import json
import os
import signal
import subprocess
import time

import pytest

from labvm.train import COLLECTIONS, NVME, REPO, TrainLab, _tool
from test_recover_os_disk import changed_tasks, checksums_ok, cset_uuids, write_more

pytestmark = [pytest.mark.e2e, pytest.mark.variant]

PLAYBOOK = 'recover-bcache-ssd.yml'
RECORD = '/var/lib/resilience-dr/dirty-cache-loss.json'
MANIFEST = '/root/dr-manifest.sha256'
# The new SSD goes where the old one was (the lab's blank NVMe keeps its serial, so its by-id
# path); the workloads are proven by the OS-disk flow and cost minutes under TCG.
BASE = {'train_storage_cache_disk': NVME, 'train_verify_workloads': False,
        'train_verify_manifest': MANIFEST}
PLANNED = dict(BASE, train_cache_ssd_path='planned')
SWAPPED = dict(PLANNED, train_cache_ssd_swapped=True)
UNPLANNED = dict(BASE, train_cache_ssd_path='unplanned')


def bcache_attr(vm, attr):
    return vm.ssh('cat /sys/block/vd[b-e]/bcache/%s' % attr).stdout.splitlines()


def tunables(vm):
    return {'cache_mode': bcache_attr(vm, 'cache_mode'),
            'sequential_cutoff': bcache_attr(vm, 'sequential_cutoff'),
            'writeback_percent': bcache_attr(vm, 'writeback_percent')}


def warnings_of(report):
    return [w['message'] for w in report['warnings']]


def loss_lines(report):
    return [w for w in warnings_of(report) if 'dirty-cache loss' in w]


def no_partition(vm):
    return 'ml-bcache' not in vm.ssh('lsblk -n -o PARTLABEL /dev/nvme0n1').stdout


class SsdLab(TrainLab):
    """TrainLab whose playbook runs get a blocking stdin again: an ssh that the lab killed on
    a timeout (wait_ssh under load) leaves the shared /dev/null description O_NONBLOCK, and
    ansible-playbook refuses to start on it."""

    def playbook(self, *args, **kwargs):
        if not os.get_blocking(0):
            os.set_blocking(0, True)
        return super(SsdLab, self).playbook(*args, **kwargs)


@pytest.fixture(scope='module')
def train(lab_owner):
    lab = SsdLab('e2e-bcache-ssd', layout='separate', owner=lab_owner)
    try:
        lab.boot()
        yield lab
    finally:
        print('bcache-ssd e2e timings (s): %s' % json.dumps(lab.timings))
        lab.destroy()


@pytest.fixture(scope='module')
def provisioned(train):
    """Setup on the separate layout (the ml-bcache partition fills the cache NVMe), data with
    checksums, a backup.  The cache keeps the new data dirty (writeback_percent 40)."""
    rc, _output, seconds = train.playbook(
        'setup-train-server.yml', {'train_storage_mode': 'create', 'train_backups_init_repository': True,
                                   'train_storage_cache_disk': NVME})
    train.timings['provision'] = seconds
    train.manifest = train.write_sample_data()
    train.install_manifest(train.manifest)
    train.vm.ssh('systemctl start resilience-dr-backup.service')
    return train


# -- 1. planned swap ------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def planned(provisioned):
    train = provisioned
    vm = train.vm
    train.states_before_detach = bcache_attr(vm, 'state')
    train.tunables_before = tunables(vm)
    train.cset_old = cset_uuids(vm)
    train.step1 = train.playbook(PLAYBOOK, PLANNED, expect_rc=None)
    train.timings['planned_detach'] = train.step1[2]
    train.states_after_detach = bcache_attr(vm, 'state')
    train.modes_after_detach = bcache_attr(vm, 'cache_mode')
    train.report_step1 = train.latest_report('bcache-ssd')
    # The operator runs step 2 before swapping: refused, the HDDs stay detached.
    train.early_step2 = train.playbook(PLAYBOOK, SWAPPED, expect_rc=None)
    train.timings['planned_early_step2_refused'] = train.early_step2[2]
    train.states_after_early_step2 = bcache_attr(vm, 'state')
    train.csets_after_early_step2 = cset_uuids(vm)
    # The operator powers off and swaps the SSD: a blank NVMe with the same serial.
    started = time.time()
    vm.stop(hard=False)
    vm.replace_nvme(start=True)
    train.timings['swap_reboot'] = round(time.time() - started, 1)
    train.step2 = train.playbook(PLAYBOOK, SWAPPED, expect_rc=None)
    train.timings['planned_new_cache'] = train.step2[2]
    return train


def test_planned_step_one_flushes_and_detaches(planned):
    rc, output, _seconds = planned.step1
    assert rc == 0, output[-5000:]
    # The cache held dirty data: the flush is what made the detach lose nothing.
    print('states before the detach: %s' % planned.states_before_detach)
    assert planned.states_after_detach == ['no cache'] * 4, planned.states_after_detach
    assert all('[writethrough]' in m for m in planned.modes_after_detach), planned.modes_after_detach
    report, markdown = planned.report_step1
    checks = {v['check']: v for v in report['verified']}
    assert checks['HDDs flushed and detached from the failing SSD']['ok'], checks
    assert 'train_cache_ssd_swapped=true' in markdown[:3000]


def test_planned_step_two_before_the_swap_is_refused_and_nothing_changes(planned):
    """Step 2 with the failing SSD still in would make "the new cache" of the old cache set and
    attach the HDDs to it again: refused, naming the set, and the HDDs stay detached."""
    rc, output, _seconds = planned.early_step2
    assert rc != 0, output[-4000:]
    assert 'has not been swapped' in output, output[-4000:]
    for uuid in planned.cset_old:
        assert uuid in output
    assert changed_tasks(output)[0] == 0, changed_tasks(output)
    assert planned.states_after_early_step2 == ['no cache'] * 4
    assert planned.csets_after_early_step2 == planned.cset_old


def states_settle_clean(vm, timeout=300):
    """The bcache states, polled until all read clean: mounting commits a BTRFS transaction,
    and writeback makes the cache briefly dirty after a boot."""
    deadline = time.time() + timeout
    while True:
        states = bcache_attr(vm, 'state')
        if states == ['clean'] * 4 or time.time() > deadline:
            return states
        time.sleep(5)


def test_planned_step_two_builds_the_new_cache_and_every_byte_is_there(planned):
    rc, output, _seconds = planned.step2
    assert rc == 0, output[-5000:]
    vm = planned.vm
    new = cset_uuids(vm)
    assert len(new) == 1 and new != planned.cset_old
    assert states_settle_clean(vm) == ['clean'] * 4
    assert tunables(vm) == planned.tunables_before
    ok, detail = checksums_ok(vm, MANIFEST)
    assert ok, detail
    report, _markdown = planned.latest_report('bcache-ssd')
    assert report['outcome'] == 'recovered', warnings_of(report)
    checks = {v['check']: v for v in report['verified']}
    assert checks['bcache attached and clean']['ok'], checks
    assert [c for name, c in checks.items() if name.startswith('data checksums')][0]['ok']
    assert report['rto']['target_seconds'] == 3600


def test_planned_reboot_keeps_clean_mode_and_tunables(planned):
    vm = planned.vm
    vm.reboot()
    assert vm.ssh('findmnt -n -o FSTYPE /mnt/storage').stdout.strip() == 'btrfs'
    assert states_settle_clean(vm) == ['clean'] * 4
    assert tunables(vm) == planned.tunables_before
    ok, detail = checksums_ok(vm, MANIFEST)
    assert ok, detail


def test_planned_second_run_changes_nothing(planned):
    rc, output, seconds = planned.playbook(PLAYBOOK, SWAPPED, expect_rc=None)
    planned.timings['planned_rerun'] = seconds
    count, names = changed_tasks(output)
    assert rc == 0 and count == 0, (names, output[-4000:])


# -- 2. the SSD dies while clean -----------------------------------------------------------------

@pytest.fixture(scope='module')
def dead_clean(planned):
    train = planned
    train.flush_cache()
    train.cset_before = cset_uuids(train.vm)
    train.vm.power_cut()
    train.vm.replace_nvme(start=True)
    train.refused_planned = train.playbook(PLAYBOOK, SWAPPED, expect_rc=None)
    train.unplanned_clean = train.playbook(PLAYBOOK, UNPLANNED, expect_rc=None)
    train.timings['unplanned_clean'] = train.unplanned_clean[2]
    return train


def test_planned_path_is_refused_when_the_ssd_is_gone(dead_clean):
    rc, output, _seconds = dead_clean.refused_planned
    assert rc != 0
    assert 'the SSD is gone' in output and 'train_cache_ssd_path=unplanned' in output, output[-3000:]


def test_dead_clean_ssd_starts_without_it_and_gets_a_new_cache(dead_clean):
    rc, output, _seconds = dead_clean.unplanned_clean
    assert rc == 0, output[-5000:]
    vm = dead_clean.vm
    new = cset_uuids(vm)
    assert len(new) == 1 and new != dead_clean.cset_before
    assert states_settle_clean(vm) == ['clean'] * 4
    assert all('[writeback]' in m for m in bcache_attr(vm, 'cache_mode'))
    ok, detail = checksums_ok(vm, MANIFEST)
    assert ok, detail
    report, _markdown = dead_clean.latest_report('bcache-ssd')
    assert report['outcome'] == 'recovered', warnings_of(report)
    assert not loss_lines(report)


# -- 3. the SSD dies while dirty -------------------------------------------------------------------

def start_playbook(train, name, extra):
    """TrainLab.playbook, but in the background (to interrupt it); (process, log path)."""
    argv = [_tool('ansible-playbook'), os.path.join(REPO, 'playbooks', name),
            '-i', train.inventory_dir]
    for key, value in extra.items():
        argv += ['-e', json.dumps({key: value})]
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'),
               ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR='1',
               RESILIENCE_DR_REPORT_DIR=os.path.join(train.lab.directory, 'reports'))
    log = os.path.join(train.lab.directory, '%s-interrupted-%d.log' % (name, int(time.time())))
    with open(log, 'w') as handle:
        proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=handle, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    return proc, log


@pytest.fixture(scope='module')
def dead_dirty(dead_clean):
    train = dead_clean
    vm = train.vm
    # Hold writeback so the new data really sits dirty on the cache when the SSD dies.
    vm.ssh('for d in /sys/block/bcache*/bcache; do echo 0 > $d/writeback_running; done')
    write_more(train, 'dirty.bin', megabytes=32)
    train.dirty_states = bcache_attr(vm, 'state')
    vm.power_cut()
    vm.replace_nvme(start=True)
    train.refused_dirty = train.playbook(PLAYBOOK, UNPLANNED, expect_rc=None)
    train.after_refusal = vm.ssh('ls /dev/bcache* 2>/dev/null; test -e %s && echo RECORD; '
                                 'lsblk -n -o PARTLABEL /dev/nvme0n1' % RECORD, check=False).stdout
    accepted = dict(UNPLANNED, train_storage_accept_dirty_cache_loss=True)
    # Interrupted: killed once the HDDs run without their cache (after the record was written).
    proc, log = start_playbook(train, PLAYBOOK, accepted)
    started = time.time()
    train.killed = False
    try:
        while proc.poll() is None and time.time() - started < 1500:
            if vm.ssh('test -e /dev/bcache0', check=False, timeout=60).returncode == 0:
                os.killpg(proc.pid, signal.SIGKILL)
                train.killed = True
                break
            time.sleep(2)
    finally:
        if proc.poll() is None and not train.killed:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    train.timings['interrupted_after'] = round(time.time() - started, 1)
    with open(log) as handle:
        train.interrupted_output = handle.read()
    train.record_after_kill = vm.ssh('cat %s' % RECORD, check=False).stdout
    train.rerun = train.playbook(PLAYBOOK, accepted, expect_rc=None)
    train.timings['unplanned_dirty_rerun'] = train.rerun[2]
    train.rerun_report = train.latest_report('bcache-ssd')
    train.record_after_rerun = vm.ssh('test -e %s && echo PRESENT || echo ABSENT' % RECORD).stdout
    train.third = train.playbook(PLAYBOOK, accepted, expect_rc=None)
    train.third_report = train.latest_report('bcache-ssd')
    return train


def test_dirty_loss_is_refused_without_acceptance_and_nothing_changes(dead_dirty):
    assert 'dirty' in dead_dirty.dirty_states, dead_dirty.dirty_states
    rc, output, _seconds = dead_dirty.refused_dirty
    assert rc != 0
    assert 'train_storage_accept_dirty_cache_loss=true' in output, output[-3000:]
    assert 'Nothing was changed' in output
    # No HDD started, no record, no partition on the new NVMe.
    assert '/dev/bcache' not in dead_dirty.after_refusal
    assert 'RECORD' not in dead_dirty.after_refusal
    assert 'ml-bcache' not in dead_dirty.after_refusal


def test_accepted_loss_is_recorded_before_the_hdds_start(dead_dirty):
    assert dead_dirty.killed, dead_dirty.interrupted_output[-3000:]
    record = json.loads(dead_dirty.record_after_kill)
    assert record['format'] == 'resilience.dr/dirty-cache-loss/v1'
    assert record['scenario'] == 'bcache-ssd'
    assert record['devices'] and all(d['superblock_state'] == 'dirty' for d in record['devices'])


def test_interrupted_rerun_still_reports_the_loss_then_scrubs_and_clears_it(dead_dirty):
    rc, output, _seconds = dead_dirty.rerun
    report, markdown = dead_dirty.rerun_report
    lines = loss_lines(report)
    # The re-run found the HDDs already started (nothing in the superblocks says "dirty" any
    # more): only the record knew, and the report says it, then what the scrub found.
    assert any('was accepted at' in w and 'Not yet scrubbed' in w for w in lines), lines
    assert any('was scrubbed' in w and 'record is cleared' in w for w in lines), lines
    assert report['outcome'] != 'recovered'
    head = '\n'.join(markdown.splitlines()[:20])
    assert 'dirty-cache loss' in head, markdown[:3000]
    checks = {v['check']: v for v in report['verified']}
    assert 'BTRFS scrub after the recorded dirty-cache loss' in checks, checks
    assert 'ABSENT' in dead_dirty.record_after_rerun
    print('dirty re-run: rc=%d, outcome %s, loss lines %s' % (rc, report['outcome'], lines))


def test_after_the_scrub_no_loss_is_reported_again(dead_dirty):
    rc, output, _seconds = dead_dirty.third
    report, _markdown = dead_dirty.third_report
    assert not loss_lines(report), warnings_of(report)
    if rc == 0:
        count, names = changed_tasks(output)
        assert count == 0, (names, output[-4000:])


# -- 4. nofail: a dead HDD never stops the boot ----------------------------------------------------

def test_a_missing_hdd_still_boots_to_ssh_and_nothing_runs_on_the_bare_mountpoint(dead_dirty):
    train = dead_dirty
    vm = train.vm
    assert vm.ssh('systemctl is-enabled docker.service', check=False).stdout.strip() == 'enabled'
    assert 'RequiresMountsFor=/mnt/storage' in vm.ssh(
        'systemctl cat docker.service resilience-dr-backup.service').stdout
    started = time.time()
    vm.stop(hard=False)
    vm.remove_disk(3, start=True)        # start() waits for SSH: the boot did not stop
    train.timings['boot_missing_hdd'] = round(time.time() - started, 1)
    state = vm.ssh('systemctl is-system-running', check=False).stdout.strip()
    assert state not in ('maintenance', 'emergency'), state
    # Wait until the mount job gave up (x-systemd.device-timeout) and Docker's start with it.
    vm.ssh('for i in $(seq 1 90); do systemctl list-jobs --no-legend | grep -qE '
           '"mnt-storage.mount|docker.service" || exit 0; sleep 2; done; exit 1', timeout=400)
    assert vm.ssh('mountpoint -q /mnt/storage', check=False).returncode != 0
    assert vm.ssh('systemctl is-active docker.service', check=False).stdout.strip() != 'active'
    backup = vm.ssh('systemctl start resilience-dr-backup.service', check=False, timeout=300)
    assert backup.returncode != 0, backup.stdout + backup.stderr
    assert 'dependency' in (backup.stdout + backup.stderr).lower(), backup.stdout + backup.stderr
    # Nothing was written on the bare mount point of the root filesystem.
    assert vm.ssh('ls -A /mnt/storage').stdout.strip() == ''
    print('nofail: boot with HDD 3 missing reached SSH in %.0fs, system %s'
          % (train.timings['boot_missing_hdd'], state))
