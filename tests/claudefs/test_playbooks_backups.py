"""cfs-setup-backups.yml end to end against the emulator (issue 15).

systemd is not PID 1 here, so the units are written under a test root and checked with
``systemd-analyze verify``, and the service's command (its ExecStart) runs for real against the
emulator: consistency check, snapshot read back and verified, config export checked before
upload, retention, the RPO alert (exit status 2, textfile metric), and the truthful report that
rclone serve s3 does not apply server-side encryption.
"""

import json
import os
import shlex
import subprocess
import sys
import time

import pytest

from cfs_playbooks import run_playbook
from cfs_snapshots import keys_under

pytestmark = pytest.mark.claudefs


def metrics(path):
    out = {}
    with open(path) as f:
        for line in f:
            if line and not line.startswith('#'):
                name, value = line.split()
                out[name] = float(value)
    return out


def test_backup_schedule_installed_verified_and_run_for_real(fresh, tmp_path):
    em = fresh
    client = em.client('a1')
    for i in range(5):
        assert client.call('PUT', '/v1/files/dr/backups/f%d' % i, raw=b'x' * (100 + i)).ok
    root = str(tmp_path / 'root')
    s3 = em.doc['s3']['primary']
    extra = {'claudefs_backups_root': root, 'claudefs_backups_python': sys.executable,
             'claudefs_backups_manage_systemd': False,
             'claudefs_backups_s3': {'endpoint': s3['endpoint'],
                                     'bucket': s3.get('bucket', 'claudefs')},
             'claudefs_backups_s3_access_key': s3['access_key'],
             'claudefs_backups_s3_secret_key': s3['secret_key']}

    run = run_playbook('cfs-setup-backups.yml', em, extra)
    assert run.rc == 0, run.output[-6000:]
    assert 'Check the units (systemd-analyze verify)' in run.output
    unit = os.path.join(root, 'etc/systemd/system/claudefs-backup')
    with open(unit + '.timer') as f:
        timer = f.read()
    assert 'OnCalendar=daily' in timer and 'Persistent=true' in timer
    assert oct(os.stat(os.path.join(root, 'etc/claudefs-backup/config.json')).st_mode)[-3:] == '600'
    snaps = keys_under(em, 'metadata')
    configs = keys_under(em, 'config')
    assert len(snaps) == 1 and len(configs) == 1, (snaps, configs)
    assert 'did not apply server-side encryption' in run.output
    prom = os.path.join(root, 'var/lib/prometheus/node-exporter/claudefs_backup.prom')
    m = metrics(prom)
    assert m['claudefs_backup_last_run_success'] == 1 and m['claudefs_backup_rpo_met'] == 1
    assert m['claudefs_backup_sse_applied'] == 0
    report = run.report()
    checks = {v['check']: v for v in report['verified']}
    assert checks['ClaudeFS metadata backups']['ok'] is True

    again = run_playbook('cfs-setup-backups.yml', em, extra)
    assert again.rc == 0 and again.changed == 0, again.output[-4000:]

    # the service's own command line, as systemd would run it
    with open(unit + '.service') as f:
        exec_start = [l.split('=', 1)[1] for l in f if l.startswith('ExecStart=')][0]
    argv = shlex.split(exec_start)
    time.sleep(1.5)
    alert = subprocess.run(argv + ['--rpo-seconds', '1', '--check-only'], capture_output=True,
                           text=True, env=dict(os.environ, LC_ALL='C'), check=False)
    assert alert.returncode == 2, alert.stderr
    assert 'RPO NOT MET' in alert.stderr
    assert metrics(prom)['claudefs_backup_rpo_met'] == 0

    # retention: everything older than ~1 s but the newest verified snapshot goes - listed
    # only without the gate (the role's default), deleted with it (prune: true in the config
    # the role writes for claudefs_backups_prune=true); the service's command, no playbook
    config = os.path.join(root, 'etc/claudefs-backup/config.json')
    with open(config) as f:
        conf = json.load(f)
    assert conf['prune'] is False and conf['retention_days'] == 30
    client.json_ok('POST', '/v1/metadata/snapshots', {})
    time.sleep(2)
    for prune in (False, True):
        with open(config, 'w') as f:
            json.dump(dict(conf, retention_days=0.00001, prune=prune), f)
        done = subprocess.run(argv, capture_output=True, text=True, check=False,
                              env=dict(os.environ, LC_ALL='C'))
        assert done.returncode == 0, done.stderr
        outcome = json.loads(done.stdout)
        assert bool(outcome['deleted']) is prune and bool(outcome['would_delete']) is not prune
    assert keys_under(em, 'metadata') == snaps, 'only the newest verified snapshot is kept'
    assert keys_under(em, 'config') == []
    state = json.load(open(os.path.join(root, 'var/lib/claudefs-backup/state.json')))
    assert state['last_verified']['key'] == snaps[0]
    print('backups: units verified, snapshot %s + config export verified in %.1f s; second '
          'run 0 changes; RPO alert exit 2; retention pruned to the newest verified snapshot'
          % (snaps[0], run.seconds))
