# -*- coding: utf-8 -*-
"""The train_backups role's backup job, run for real on the host against btrfs on a loop device.

Read-only btrfs snapshot + restic backup + forget/prune with the role's grouping (asserting the
snapshot counts), check, status file, snapshot tiers, and a restore of homes and configuration
with resilience.dr.restic_restore from what the job made.
"""

import hashlib
import json
import os
import subprocess
import sys

import pytest

from btrfs_helpers import have_root_and_loops, loop_pool, sh
from restic_helpers import ANSIBLE_ENV_FIX, PASSWORD, REPO_ROOT, restic, tree_digest, write_tree

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not have_root_and_loops(), reason='needs root and loop devices')]

SCRIPT = os.path.join(REPO_ROOT, 'roles', 'train_backups', 'files', 'resilience-dr-backup')
RESTIC = '/usr/bin/restic'


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    """A btrfs 'array' on a loop device at <tmp>/storage, a live config dir, a repository."""
    base = tmp_path_factory.mktemp('backupjob')
    with loop_pool(size_mb=768, prefix='restic-backupjob-') as pool:
        loop = pool.attach()
        sh('mkfs.btrfs', '-q', '-f', '-L', 'ml-storage', loop.device)
        storage = str(base / 'storage')
        os.makedirs(storage)
        pool.mount(loop.device, 'compress=zstd:3', target=storage)
        for name in ('homes', 'docker-volumes', 'workspaces', 'cache'):
            os.makedirs(os.path.join(storage, name))
        os.makedirs(os.path.join(storage, 'snapshots'), mode=0o700)
        write_tree(os.path.join(storage, 'homes'), seed=7, files=20, max_kib=256)
        os.makedirs(os.path.join(storage, 'docker-volumes', 'alice-state'))
        with open(os.path.join(storage, 'docker-volumes', 'alice-state', 'db'), 'w') as h:
            h.write('v1\n')
        etc = base / 'etc-resilience-dr'
        etc.mkdir()
        (etc / 'config.sh').write_text('USERS="alice bob"\nFIRST_UID=1000\n')
        pw = base / 'restic-password'
        pw.write_text(PASSWORD)
        pw.chmod(0o600)
        repo = str(base / 'repo')
        restic(RESTIC, repo, 'init')
        cfg = {
            'restic': RESTIC, 'repository': repo, 'password_file': str(pw),
            'storage_mount': storage, 'snapshot_dir': os.path.join(storage, 'snapshots'),
            'paths': ['homes', 'docker-volumes', 'shared/tensorboard'],
            'config_paths': [str(etc), str(base / 'not-there')],
            'host': 'train', 'tags': ['train-backups'],
            'retention': {'daily': 7, 'weekly': 52}, 'group_by': 'host,tags',
            'check_subset': '50%', 'status_file': str(base / 'state' / 'backup-status.json'),
            'tiers': {'hourly': 2, 'daily': 2, 'weekly': 1},
            'manifest_dir': str(base / 'state' / 'backup-manifest'),
        }
        yield {'base': base, 'storage': storage, 'cfg': cfg, 'repo': repo, 'etc': str(etc),
               'pw': str(pw)}


def run_job(server, command='backup', now=None, **overrides):
    cfg = dict(server['cfg'], **overrides)
    path = server['base'] / 'backup.json'
    path.write_text(json.dumps(cfg))
    argv = [sys.executable, SCRIPT, '--config', str(path)]
    if now:
        argv += ['--now', now]
    proc = subprocess.run(argv + [command], capture_output=True, text=True, check=False)
    assert PASSWORD not in proc.stdout + proc.stderr
    status = None
    if command == 'backup' and os.path.exists(cfg['status_file']):
        with open(cfg['status_file']) as handle:
            status = json.load(handle)
    return proc, status


def snapshots(server, *args):
    out = restic(RESTIC, server['repo'], 'snapshots', '--json', *args).stdout
    return json.loads(out)


def leftovers(server):
    return [n for n in os.listdir(server['cfg']['snapshot_dir']) if n.startswith('backup_')]


def test_backup_twice_prunes_and_restores(server, run_module, tmp_path):
    proc, status = run_job(server, now='20250101_020000')
    assert proc.returncode == 0, proc.stderr
    assert status['status'] == 'ok' and status['exit_status'] == 0
    assert status['snapshot_id'] and status['check']['ok'] is True
    assert status['missing_paths'] == ['shared/tensorboard']
    assert status['missing_config_paths'] == [str(server['base'] / 'not-there')]
    assert leftovers(server) == []          # the read-only snapshot is gone again
    first = snapshots(server)
    assert len(first) == 1
    assert os.path.join(server['cfg']['snapshot_dir'], 'backup_20250101_020000', 'homes') in first[0]['paths']
    assert server['etc'] in first[0]['paths']
    # the checksum manifest of the read-only snapshot is in the same restic snapshot
    assert server['cfg']['manifest_dir'] in first[0]['paths']
    with open(os.path.join(server['cfg']['manifest_dir'], 'manifest.jsonl')) as handle:
        lines = [json.loads(line) for line in handle]
    header, entries = lines[0], lines[1:]
    assert header['format'] == 'resilience.dr/backup-manifest/v1'
    assert header['root'] == os.path.join(server['cfg']['snapshot_dir'], 'backup_20250101_020000')
    assert header['files'] == len(entries) == status['manifest']['files'] > 20
    db = [e for e in entries if e['path'] == 'docker-volumes/alice-state/db']
    assert db == [{'path': 'docker-volumes/alice-state/db', 'size': 3,
                   'sha256': hashlib.sha256(b'v1\n').hexdigest()}]

    # a change between the runs
    with open(os.path.join(server['storage'], 'homes', 'alice', 'new.txt'), 'w') as h:
        h.write('after the first backup\n')
    with open(os.path.join(server['etc'], 'config.sh'), 'a') as h:
        h.write('BTRFS_RAID_LEVEL=raid10\n')
    proc, status = run_job(server, now='20250101_030000')
    assert proc.returncode == 0, proc.stderr
    # same day: keep-daily 7 keeps one per day. With host,tags grouping the two backups (with
    # different timestamped paths) are one group, so the first one really is forgotten.
    assert status['forget'] == {'groups': 1, 'kept': 1, 'removed': 1, 'pruned': True}
    after = snapshots(server)
    assert len(after) == 1 and after[0]['id'].startswith(status['snapshot_id'][:8])
    assert leftovers(server) == []

    # restic_restore brings back homes and the configuration from the latest snapshot
    common = {'repository': server['repo'], 'password_file': server['pw'], 'executable': RESTIC,
              'host': 'train', 'tags': ['train-backups'], 'verify': True}
    homes = run_module('restic_restore', dict(common, source_path='*/snapshots/backup_*/homes',
                                              target=str(tmp_path / 'homes')), env=ANSIBLE_ENV_FIX)
    assert not homes.failed, homes.get('msg')
    assert tree_digest(str(tmp_path / 'homes')) == tree_digest(os.path.join(server['storage'], 'homes'))
    config = run_module('restic_restore', dict(common, source_path=server['etc'],
                                               target=str(tmp_path / 'config')), env=ANSIBLE_ENV_FIX)
    assert not config.failed, config.get('msg')
    assert tree_digest(str(tmp_path / 'config')) == tree_digest(server['etc'])
    assert 'BTRFS_RAID_LEVEL' in (tmp_path / 'config' / 'config.sh').read_text()

    info = run_module('restic_snapshot_info', {
        'repository': server['repo'], 'password_file': server['pw'], 'executable': RESTIC,
        'status_file': server['cfg']['status_file'], 'check': True, 'read_data_subset': '10%'},
        env=ANSIBLE_ENV_FIX)
    assert not info.failed, info.get('msg')
    assert info['count'] == 1 and len(info['groups']) == 1
    assert info['groups'][0]['group'] == {'host': 'train', 'tags': 'train-backups'}
    assert info['latest']['age_seconds'] >= 0
    assert info['backup_status']['status'] == 'ok'
    assert info['check']['ok'] is True


def test_default_grouping_would_never_prune(server):
    """The bug of the original setup: grouping by paths keeps every timestamped backup."""
    before = len(snapshots(server))
    for ts in ('20250101_040000', '20250101_050000'):
        proc, status = run_job(server, now=ts, group_by='host,paths')
        assert proc.returncode == 0, proc.stderr
        assert status['forget']['removed'] == 0
    assert len(snapshots(server)) == before + 2
    # the role's grouping prunes them all down to one per day again
    proc, status = run_job(server, now='20250101_060000')
    assert proc.returncode == 0, proc.stderr
    assert len(snapshots(server)) == 1


def test_failure_is_reported_and_cleans_up(server, tmp_path):
    bad = tmp_path / 'wrong'
    bad.write_text('not the password')
    proc, status = run_job(server, now='20250101_070000', password_file=str(bad))
    assert proc.returncode == 1
    assert status['status'] == 'failed' and status['exit_status'] == 1
    assert 'wrong password' in status['error']
    assert leftovers(server) == []


def test_snapshot_tiers_are_read_only_and_pruned(server):
    snapdir = server['cfg']['snapshot_dir']
    for ts in ('20250101_010000', '20250101_020000', '20250101_030000', '20250102_010000',
               '20250108_010000'):
        proc, _unused = run_job(server, command='tiers', now=ts)
        assert proc.returncode == 0, proc.stderr
    names = sorted(n for n in os.listdir(snapdir) if not n.startswith('backup_'))
    assert names == ['daily_20250102_010000', 'daily_20250108_010000',
                     'hourly_20250102_010000', 'hourly_20250108_010000',
                     'weekly_20250108_010000']
    for name in names:
        prop = sh('btrfs', 'property', 'get', '-ts', os.path.join(snapdir, name), 'ro').stdout
        assert prop.strip() == 'ro=true'
    # the same hour again creates nothing new
    proc, _unused = run_job(server, command='tiers', now='20250108_013000')
    assert json.loads(proc.stdout)['created'] == []
