"""testinfra checks for resilience.dr.train_backups in a lab VM (Debian 13, restic 0.18).

Acceptance 6 of issue 5: set up (converge), run the timer's service twice with a change in
between, forget prunes per retention, and restic_restore brings back homes and the server
configuration from the latest snapshot.
"""

import json

REPO = '/srv/restic-repo'
ENV = 'RESTIC_REPOSITORY=%s RESTIC_PASSWORD_FILE=/root/.restic-password' % REPO


def snapshots(host):
    out = host.check_output('%s restic snapshots --json' % ENV)
    return json.loads(out)


def status(host):
    return json.loads(host.file('/var/lib/resilience-dr/backup-status.json').content_string)


def test_secrets_and_units(host):
    pw = host.file('/root/.restic-password')
    assert pw.mode == 0o600 and pw.user == 'root'
    assert host.file('/etc/resilience-dr/backup.env').mode == 0o600
    assert host.file('%s/config' % REPO).exists  # initialised because absent and allowed
    for timer in ('resilience-dr-backup.timer', 'resilience-dr-snapshots.timer'):
        assert host.service(timer).is_enabled
        assert host.service(timer).is_running
    config = json.loads(host.file('/etc/resilience-dr/backup.json').content_string)
    assert config['group_by'] == 'host,tags'
    assert 'lab-restic-password' not in host.file('/etc/resilience-dr/backup.json').content_string


def test_two_runs_prune_and_restore(host):
    host.run_expect([0], 'systemctl start resilience-dr-backup.service')
    first = status(host)
    assert first['status'] == 'ok', first
    host.run_expect([0], 'echo changed >> /mnt/storage/homes/alice/notes.txt')
    host.run_expect([0], 'echo BTRFS_RAID_LEVEL=raid10 >> /root/train-server/config.sh')
    host.run_expect([0], 'systemctl start resilience-dr-backup.service')
    second = status(host)
    assert second['status'] == 'ok', second
    assert second['forget']['removed'] >= 1
    snaps = snapshots(host)
    assert len(snaps) == 1  # keep-daily 7: one per day, and both runs were today
    assert any('/snapshots/backup_' in p for p in snaps[0]['paths'])
    assert not host.run('ls /mnt/storage/snapshots | grep backup_').stdout.strip()
    assert host.service('resilience-dr-backup.service').systemd_properties['Result'] == 'success'

    homes = host.ansible('resilience.dr.restic_restore', {
        'repository': REPO, 'password_file': '/root/.restic-password',
        'source_path': '*/snapshots/backup_*/homes', 'target': '/srv/restore/homes',
        'verify': True}, check=False, become=True)
    assert homes.get('failed') is not True, homes
    assert homes['method'] == 'native'
    config = host.ansible('resilience.dr.restic_restore', {
        'repository': REPO, 'password_file': '/root/.restic-password',
        'source_path': '/root/train-server', 'target': '/srv/restore/train-server'},
        check=False, become=True)
    assert config.get('failed') is not True, config
    host.run_expect([0], 'diff -r -x .restic-restore.json /mnt/storage/homes /srv/restore/homes')
    host.run_expect([0], 'cmp /root/train-server/config.sh /srv/restore/train-server/config.sh')
    assert host.file('/srv/restore/homes/alice/notes.txt').uid == 1000
