# -*- coding: utf-8 -*-
"""A recovery report shaped like a real recover-os-disk.yml run (the phases and their times are
run B of the TCG lab in docs/benchmarks.md), built through the real RunRecorder with a clock
that advances per event.  Used by the HTML tests and for docs/report-screenshot.png."""

from ansible_collections.resilience.dr.plugins.plugin_utils import report as rp

START = 1769051700.0  # 2026-01-22T03:15:00Z

# (play, role or None, seconds, task results [(task name, status, result)])
PHASES = [
    ('Preflight - inputs, the disks\' superblocks and the plan', 'train_storage', 43, [
        ('Refuse unknown disks', 'ok', {}),
        ('The plan', 'ok', {'dr_report_warnings': 'the NVMe was replaced: a new cache set '
                                                  'will be created on /dev/nvme0n1p3'}),
    ]),
    ('Storage - bcache and the BTRFS array, assembled', 'train_storage', 77, [
        ('Attach the new cache set', 'changed', {}),
        ('Mount the array', 'changed', {}),
    ]),
    ('Secrets, configuration, users, backups and workloads', 'train_backups', 125, [
        ('Restore config.sh', 'changed', {'rpo_seconds': 22500}),
    ]),
    ('Secrets, configuration, users, backups and workloads', 'train_users', 42, [
        ('Users', 'changed', {}),
    ]),
    ('Secrets, configuration, users, backups and workloads', 'train_workloads', 96, [
        ('Containers', 'changed', {}),
    ]),
    ('Verify - prove the data and the services are back', 'train_verify', 41, [
        ('Record', 'ok', {'train_verify_dr_report_verified': [
            {'check': 'array mounted as btrfs with its options', 'ok': True,
             'detail': '/mnt/storage compress=zstd:3,space_cache=v2,relatime'},
            {'check': 'raid10 data and metadata, no member missing', 'ok': True,
             'detail': '4 devices'},
            {'check': 'bcache attached in writeback on every HDD', 'ok': True, 'detail': '4/4'},
            {'check': 'checksums of 84 files match the manifest', 'ok': True, 'detail': '84/84'},
            {'check': 'users alice and bob: UID, GID, home', 'ok': True, 'detail': ''},
            {'check': 'workload containers running', 'ok': True, 'detail': '2/2'},
        ]}),
    ]),
]


class _Clock:
    def __init__(self):
        self.now = START

    def __call__(self):
        return self.now


def sample_report(fail_verify=False, check_mode=False, scenario='os-disk', warning=None):
    clock = _Clock()
    recorder = rp.RunRecorder(clock=clock)
    recorder.check_mode = check_mode
    recorder.start_playbook('playbooks/recover-os-disk.yml')
    for play, role, seconds, tasks in PHASES:
        if not recorder.plays or recorder.plays[-1] != play:
            recorder.start_play(play, {'dr_scenario': scenario, 'dr_rto_seconds': 14400,
                                       'dr_rpo_target_seconds': 86400})
        recorder.start_task(role)
        for name, status, result in tasks:
            clock.now += float(seconds) / len(tasks)
            if warning and role == 'train_storage' and status == 'ok':
                result = dict(result, dr_report_warnings=warning)
            recorder.task_result('train-server', name, status, result, role=role)
    if fail_verify:
        recorder.start_task('train_verify')
        recorder.task_result('train-server', 'verify: checksums', 'failed',
                             {'msg': '3 of 84 files differ from the manifest, e.g. homes/bob/x'},
                             role='train_verify')
    recorder.finish()
    return recorder.report()
