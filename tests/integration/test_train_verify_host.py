# -*- coding: utf-8 -*-
"""resilience.dr.train_verify against real tools on the host: a btrfs raid1 on two loop
devices mounted with the reference options, the top-level directories, a sha256 manifest and
a local restic repository.  bcache, Docker and users need the lab VM (molecule) and are
switched off here.  The checks land in the recovery report; a corrupted file and a wrong
directory mode must fail the role with both named."""

import glob
import json
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from btrfs_helpers import free_loops, have_root_and_loops, loop_pool, sh  # noqa: E402
from testlib import REPO, ansible_env, bin_path  # noqa: E402

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not have_root_and_loops(), reason='needs root and loop devices'),
]

PLAYBOOK = os.path.join(REPO, 'tests', 'integration', 'playbooks', 'train_verify_host.yml')
OPTIONS = 'compress=zstd:3,space_cache=v2,relatime'
DIRS = {'homes': 0o755, 'workspaces': 0o755, 'shared': 0o755, 'docker-volumes': 0o755,
        'cache': 0o755, 'snapshots': 0o700}


@pytest.fixture(scope='module')
def array(tmp_path_factory):
    if free_loops() < 2:
        pytest.skip('needs 2 free loop devices')
    work = tmp_path_factory.mktemp('verify')
    with loop_pool(size_mb=320, prefix='verify-') as pool:
        a, b = pool.new(2)
        sh('mkfs.btrfs', '-f', '-L', 'verify-test', '-d', 'raid1', '-m', 'raid1', a.device, b.device)
        sh('btrfs', 'device', 'scan', a.device, b.device)
        os.mkdir(str(work / 'storage'))
        mnt = pool.mount(a.device, options=OPTIONS, target=str(work / 'storage'))
        for name, mode in DIRS.items():
            os.mkdir(os.path.join(mnt, name))
            os.chmod(os.path.join(mnt, name), mode)
        data = os.path.join(mnt, 'homes', 'alice')
        os.mkdir(data)
        for i in range(5):
            with open(os.path.join(data, 'file%d.bin' % i), 'wb') as handle:
                handle.write(os.urandom(100000 + i))
        manifest = str(work / 'manifest.sha256')
        sums = sh('sha256sum', *sorted(os.path.relpath(p, mnt) for p in
                                       glob.glob(os.path.join(data, '*'))), cwd=mnt).stdout
        with open(manifest, 'w') as handle:
            handle.write(sums)
        repo, password = str(work / 'restic'), str(work / 'restic-password')
        with open(password, 'w') as handle:
            handle.write('integration-only-password\n')
        env = dict(os.environ, RESTIC_PASSWORD_FILE=password, RESTIC_CACHE_DIR=str(work / 'cache'))
        sh('restic', '-r', repo, 'init', env=env)
        sh('restic', '-r', repo, 'backup', '--host', 'train', data, env=env)
        yield {'mnt': mnt, 'manifest': manifest, 'repo': repo, 'password': password,
               'work': work}


def run(array, report_dir, **override):
    extra = {
        'train_verify_storage_root': array['mnt'],
        'train_verify_mount_options': OPTIONS,
        'train_verify_fstab': False,            # never touch or depend on the host's fstab
        'train_verify_data_profile': 'raid1',
        'train_verify_metadata_profile': 'raid1',
        'train_verify_bcache': False,           # no bcache in the host kernel: lab VM only
        'train_verify_users': False,
        'train_verify_workloads': False,
        'train_verify_gpu': False,
        'train_verify_manifest': array['manifest'],
        'train_verify_restic_repository': array['repo'],
        'train_verify_restic_password_file': array['password'],
        'train_verify_restic_environment': {'RESTIC_CACHE_DIR': str(array['work'] / 'cache')},
        'ansible_python_interpreter': sys.executable,
    }
    extra.update(override)
    env = ansible_env({'RESILIENCE_DR_REPORT_DIR': str(report_dir),
                       'ANSIBLE_STDOUT_CALLBACK': 'ansible.builtin.default'})
    env.pop('ANSIBLE_CALLBACKS_ENABLED')
    proc = subprocess.run([bin_path('ansible-playbook'), '-i', 'localhost,', '-c', 'local',
                           '-e', json.dumps(extra), PLAYBOOK],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=600, check=False)
    reports = glob.glob(os.path.join(str(report_dir), 'train-verify-host-*.json'))
    assert len(reports) == 1, proc.stdout + proc.stderr
    with open(reports[0]) as handle:
        return proc, json.load(handle)


def test_all_checks_pass_on_a_healthy_array(array, tmp_path):
    proc, report = run(array, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    checks = dict((v['check'], v) for v in report['verified'])
    mnt = array['mnt']
    assert set(checks) == set(
        ['mount %s' % mnt, 'BTRFS profiles and members', 'BTRFS device error counters',
         'restic repository reachable and recent',
         'data checksums (%s)' % array['manifest']]
        + ['directory %s/%s' % (mnt, d) for d in DIRS])
    assert all(v['ok'] for v in checks.values()), checks
    assert 'data raid1, metadata raid1, 2 members, 0 missing' in checks['BTRFS profiles and members']['detail']
    assert checks['data checksums (%s)' % array['manifest']]['detail'] == '5 files match the manifest'
    assert 'compress=zstd:3' in checks['mount %s' % mnt]['detail']
    assert report['outcome'] == 'recovered'


def test_corruption_wrong_mode_and_lost_repo_fail_the_role_after_all_checks(array, tmp_path):
    mnt = array['mnt']
    victim = os.path.join(mnt, 'homes', 'alice', 'file3.bin')
    with open(victim, 'r+b') as handle:
        handle.seek(1000)
        handle.write(b'corrupted')
    os.chmod(os.path.join(mnt, 'snapshots'), 0o755)
    try:
        proc, report = run(array, tmp_path,
                           train_verify_restic_repository=str(array['work'] / 'no-such-repo'))
    finally:
        os.chmod(os.path.join(mnt, 'snapshots'), 0o700)
    assert proc.returncode != 0
    failed = dict((v['check'], v['detail']) for v in report['verified'] if not v['ok'])
    assert set(failed) == {'data checksums (%s)' % array['manifest'],
                           'directory %s/snapshots' % mnt,
                           'restic repository reachable and recent'}
    assert failed['restic repository reachable and recent'].startswith('unreachable: ')
    assert 'homes/alice/file3.bin: FAILED' in failed['data checksums (%s)' % array['manifest']]
    assert '1 of 5 files' in failed['data checksums (%s)' % array['manifest']]
    assert failed['directory %s/snapshots' % mnt] == 'directory mode 755 (want 700)'
    # every check still ran: the role fails only at the end
    assert len(report['verified']) == 11
    assert report['outcome'] == 'failed'
    assert '3 of 11 post-recovery checks failed' in proc.stdout
