# -*- coding: utf-8 -*-
"""The parts of playbooks/recover-power-outage.yml that need no bcache, on the host:

* a real restic repository with the lock of a ``restic backup`` killed with SIGKILL (the
  interrupted backup of a power cut) next to the lock of a ``restic backup`` still running:
  ``restic_locks`` removes the first and keeps the second;
* the playbook against a raid1 on two loop devices with such a stale lock and a backup older
  than the RPO target: the read-only scrub's findings, the device counters and the kernel log
  in the report, the lock gone, a backup re-run; a second run changes nothing.

bcache and the containers are the lab's (tests/e2e/test_recover_power_outage_and_corruption.py).
"""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from btrfs_helpers import (free_loops, have_root_and_loops, loop_pool, module_runner,  # noqa: E402
                           sh, tree_checksums, write_random_files)
from recovery_playbook import changed_count, run_playbook  # noqa: E402

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not have_root_and_loops(), reason='needs root and loop devices'),
]

OPTIONS = 'space_cache=v2,relatime'


class Repo:
    def __init__(self, work):
        self.path = os.path.join(work, 'restic')
        self.password = os.path.join(work, 'restic-password')
        self.cache = os.path.join(work, 'cache')
        with open(self.password, 'w') as f:
            f.write('integration-only-password\n')
        self.env = dict(os.environ, RESTIC_PASSWORD_FILE=self.password,
                        RESTIC_CACHE_DIR=self.cache, RESTIC_REPOSITORY=self.path)
        sh('restic', 'init', env=self.env)
        self.procs = []

    def locks(self):
        return sh('restic', 'list', 'locks', '--no-lock', env=self.env).stdout.split()

    def backup_in_progress(self):
        """A ``restic backup --stdin`` holding its lock while its input stays open."""
        before = set(self.locks())
        proc = subprocess.Popen(['restic', 'backup', '--stdin', '--stdin-filename', 'stream.bin'],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=self.env)
        self.procs.append(proc)
        proc.stdin.write(os.urandom(1 << 16))
        proc.stdin.flush()
        for dummy in range(100):
            new = set(self.locks()) - before
            if new:
                return proc, new.pop()
            time.sleep(0.1)
        raise AssertionError('restic backup took no lock')

    def close(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()

    def module_args(self):
        return {'repository': self.path, 'password_file': self.password,
                'environment': {'RESTIC_CACHE_DIR': self.cache}}


@pytest.fixture
def repo(tmp_path):
    r = Repo(str(tmp_path))
    try:
        yield r
    finally:
        r.close()


@pytest.fixture
def run(run_module):
    return module_runner(run_module)


def power_cut(proc):
    """The interrupted backup: killed with no chance to remove its lock."""
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_only_the_killed_backups_lock_is_removed(repo, run):
    killed, stale_id = repo.backup_in_progress()
    power_cut(killed)
    live, live_id = repo.backup_in_progress()

    plan = run('restic_locks', repo.module_args(), check=True)
    assert not plan.failed, plan.get('msg')
    kinds = dict((lk['id'], lk['kind']) for lk in plan['locks'])
    assert kinds == {stale_id[:8]: 'stale', live_id[:8]: 'live'}, plan['locks']
    assert plan['changed'] is True and [lk['id'] for lk in plan['removed']] == [stale_id[:8]]
    assert set(repo.locks()) == {stale_id, live_id}         # check mode removed nothing

    res = run('restic_locks', repo.module_args())
    assert not res.failed, res.get('msg')
    assert [lk['id'] for lk in res['removed']] == [stale_id[:8]]
    assert [lk['id'] for lk in res['kept']] == [live_id[:8]]
    assert repo.locks() == [live_id]                      # the live backup keeps its lock

    again = run('restic_locks', repo.module_args())
    assert again['changed'] is False and again['removed'] == []
    live.stdin.close()
    assert live.wait(timeout=120) == 0                    # and finishes its snapshot
    assert repo.locks() == []


@pytest.fixture
def array(tmp_path):
    if free_loops() < 2:
        pytest.skip('needs 2 free loop devices')
    with loop_pool(prefix='power-') as pool:
        loops = pool.new(2)
        devices = [lp.device for lp in loops]
        sh('mkfs.btrfs', '-f', '-L', 'it-power-%d' % os.getpid(), '-d', 'raid1', '-m', 'raid1',
           *devices)
        sh('btrfs', 'device', 'scan', *devices)
        mnt = str(tmp_path / 'storage')
        os.mkdir(mnt)
        pool.mount(devices[0], options=OPTIONS, target=mnt)
        os.makedirs(os.path.join(mnt, 'homes', 'alice'))
        yield {'devices': devices, 'mnt': mnt, 'pool': pool}


def play(array, repo, report_dir, **override):
    extra = {
        'train_power_devices': array['devices'],
        'train_power_mountpoint': array['mnt'],
        'train_power_mount_options': OPTIONS,
        'train_power_bcache': False,            # no bcache in the host kernel: the lab's
        'train_power_containers': False,
        'train_power_verify': False,
        'train_power_repository': repo.path,
        'train_power_password_file': repo.password,
        'train_power_restic_environment': {'RESTIC_CACHE_DIR': repo.cache},
        'train_power_rpo_target_seconds': 3600,
        'train_power_backup_command': ['restic', '-r', repo.path, '--password-file',
                                       repo.password, '--cache-dir', repo.cache, 'backup',
                                       '--host', 'train', os.path.join(array['mnt'], 'homes')],
        'ansible_python_interpreter': sys.executable,
    }
    extra.update(override)
    rc, out, report, _seconds = run_playbook('recover-power-outage.yml', 'power-outage', extra,
                                             report_dir)
    return rc, out, report


def test_playbook_reports_unlocks_backs_up_and_second_run_changes_nothing(array, repo, tmp_path):
    sums = write_random_files(os.path.join(array['mnt'], 'homes', 'alice'), count=3, size_mb=2)
    # The last good backup is two days old: beyond the RPO target.
    sh('restic', 'backup', '--host', 'train', '--time', time.strftime(
        '%Y-%m-%d %H:%M:%S', time.localtime(time.time() - 2 * 86400)),
        os.path.join(array['mnt'], 'homes'), env=repo.env)
    killed, stale_id = repo.backup_in_progress()
    power_cut(killed)
    snapshots = len(json.loads(sh('restic', 'snapshots', '--json', '--no-lock',
                                  env=repo.env).stdout))
    reports = str(tmp_path / 'reports')

    rc, out, report = play(array, repo, reports)
    assert rc == 0, out[-5000:]
    checks = dict((v['check'], v) for v in report['verified'])
    scrub = checks['BTRFS scrub after the power cut']
    assert scrub['ok'] and 'report-only' in scrub['detail'] and '0 uncorrectable' in scrub['detail']
    counters = checks['BTRFS device error counters']
    assert counters['ok'] and counters['detail'] == 'all zero', counters
    assert 'kernel errors since boot' in checks
    assert checks['restic locks']['detail'].startswith('removed 1 stale'), checks['restic locks']
    assert checks['backup within the RPO target']['ok'], checks['backup within the RPO target']
    assert 're-run now' in checks['backup within the RPO target']['detail']
    assert repo.locks() == []
    after = json.loads(sh('restic', 'snapshots', '--json', '--no-lock', env=repo.env).stdout)
    assert len(after) == snapshots + 1
    assert tree_checksums(os.path.join(array['mnt'], 'homes', 'alice')) == sums
    # The scrub was read-only: started with -r.
    assert re.search(r'scrub start -r', json.dumps(report)) or 'report-only' in scrub['detail']

    rc, out, report = play(array, repo, reports)
    assert rc == 0 and changed_count(out) == 0, out[-4000:]
