"""testinfra checks for resilience.dr.train_backups in a lab VM (Debian 13, restic 0.18).

Acceptance 6 of issue 5: set up (converge), run the timer's service with changes in
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


def test_runs_prune_and_restore(host):
    """Three runs of the timer's service on one day, with changes in between.

    keep-daily 7 keeps the newest snapshot of the day, so the middle run's snapshot is forgotten
    and pruned on every restic version.  restic >= 0.17 also keeps the oldest snapshot while
    fewer days than keep-daily have one ("oldest daily snapshot"); 0.14 forgets it too.
    """
    ids = []
    for run in range(3):
        if run:
            host.run_expect([0], 'echo changed-%d >> /mnt/storage/homes/alice/notes.txt' % run)
            host.run_expect([0], 'echo BTRFS_RAID_LEVEL=raid10 >> /root/train-server/config.sh')
        host.run_expect([0], 'systemctl start resilience-dr-backup.service')
        assert status(host)['status'] == 'ok', status(host)
        ids.append(sorted(snapshots(host), key=lambda s: s['time'])[-1]['id'])
    last = status(host)
    assert last['forget']['removed'] >= 1, last
    kept = set(s['id'] for s in snapshots(host))
    assert ids[2] in kept and ids[1] not in kept, (ids, kept)
    assert len(kept) <= 2
    assert all(any('/snapshots/backup_' in p for p in s['paths']) for s in snapshots(host))
    assert not host.run('ls /mnt/storage/snapshots | grep backup_').stdout.strip()
    assert host.service('resilience-dr-backup.service').systemd_properties['Result'] == 'success'

    # testinfra passes module_args to ``ansible -a`` as one string: JSON, like a playbook's dict.
    homes = host.ansible('resilience.dr.restic_restore', json.dumps({
        'repository': REPO, 'password_file': '/root/.restic-password',
        'source_path': '*/snapshots/backup_*/homes', 'target': '/srv/restore/homes',
        'verify': True}), check=False, become=True)
    assert homes.get('failed') is not True, homes
    assert homes['method'] == 'native'
    config = host.ansible('resilience.dr.restic_restore', json.dumps({
        'repository': REPO, 'password_file': '/root/.restic-password',
        'source_path': '/root/train-server', 'target': '/srv/restore/train-server'}),
        check=False, become=True)
    assert config.get('failed') is not True, config
    host.run_expect([0], 'diff -r -x .restic-restore.json /mnt/storage/homes /srv/restore/homes')
    host.run_expect([0], 'cmp /root/train-server/config.sh /srv/restore/train-server/config.sh')
    assert host.file('/srv/restore/homes/alice/notes.txt').uid == 1000
