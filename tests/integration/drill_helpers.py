# -*- coding: utf-8 -*-
"""The train server of the DR drill tests: a btrfs 'array' on a loop device with files of known
sha256 (and a planted symlink), a restic repository, one real backup by the train_backups job
(manifest included), and an inventory that drills it over a local connection."""

import contextlib
import hashlib
import json
import os
import subprocess
import sys

from btrfs_helpers import loop_pool, sh
from restic_helpers import PASSWORD, REPO_ROOT, restic, write_tree

SCRIPT = os.path.join(REPO_ROOT, 'roles', 'train_backups', 'files', 'resilience-dr-backup')
RESTIC = '/usr/bin/restic'


def sha256_tree(root):
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            with open(path, 'rb') as handle:
                out[os.path.relpath(path, root)] = hashlib.sha256(handle.read()).hexdigest()
    return out


@contextlib.contextmanager
def train_site(base):
    """The train server under ``base`` (a pathlib.Path); the loop device goes away after."""
    with loop_pool(size_mb=512, prefix='dr-drill-') as pool:
        loop = pool.attach()
        sh('mkfs.btrfs', '-q', '-f', '-L', 'ml-storage', loop.device)
        storage = str(base / 'storage')
        os.makedirs(storage)
        pool.mount(loop.device, 'compress=zstd:3', target=storage)
        for name in ('homes', 'docker-volumes'):
            os.makedirs(os.path.join(storage, name))
        os.makedirs(os.path.join(storage, 'snapshots'), mode=0o700)
        write_tree(os.path.join(storage, 'homes'), seed=16, files=30, max_kib=512)
        os.makedirs(os.path.join(storage, 'docker-volumes', 'alice-state'))
        with open(os.path.join(storage, 'docker-volumes', 'alice-state', 'db'), 'w') as h:
            h.write('v1\n')
        # hostile content: a symlink out of the tree, which the drill must never follow
        os.symlink('/etc/shadow', os.path.join(storage, 'homes', 'shadow-link'))
        pw = base / 'restic-password'
        pw.write_text(PASSWORD)
        pw.chmod(0o600)
        repo = str(base / 'repo')
        restic(RESTIC, repo, 'init')
        cfg = {
            'restic': RESTIC, 'repository': repo, 'password_file': str(pw),
            'storage_mount': storage, 'snapshot_dir': os.path.join(storage, 'snapshots'),
            'paths': ['homes', 'docker-volumes'], 'config_paths': [],
            'host': 'train', 'tags': ['train-backups'], 'check_subset': '',
            'status_file': str(base / 'state' / 'backup-status.json'),
            'manifest_dir': str(base / 'state' / 'backup-manifest'),
        }
        (base / 'backup.json').write_text(json.dumps(cfg))
        proc = subprocess.run([sys.executable, SCRIPT, '--config', str(base / 'backup.json'),
                               '--now', '20260101_020000', 'backup'],
                              capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr
        inventory = base / 'inventory.ini'
        inventory.write_text(
            '[train_servers]\n'
            'train1 ansible_connection=local ansible_python_interpreter=%s ansible_become=false\n'
            '[train_servers:vars]\n'
            'train_backups_repository=%s\ntrain_backups_password_file=%s\n'
            'train_drill_host=train\ntrain_drill_scratch_dir=%s\ntrain_drill_manifest=%s\n'
            'train_drill_read_data_subset_total=3\n'
            % (sys.executable, repo, pw, base / 'scratch' / 'drill',
               os.path.join(cfg['manifest_dir'], 'manifest.jsonl')))
        yield {'base': base, 'storage': storage, 'repo': repo, 'cfg': cfg,
               'inventory': str(inventory), 'drill_dir': base / 'drill',
               'scratch': str(base / 'scratch' / 'drill'), 'report_dir': base / 'reports'}
