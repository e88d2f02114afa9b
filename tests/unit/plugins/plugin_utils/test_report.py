# -*- coding: utf-8 -*-
"""Unit tests for the recovery report's pure logic (plugins/plugin_utils/report.py).

The task results in tests/unit/fixtures/report/ were captured from real ansible-playbook
runs (ansible-core 2.19, ansible.posix.json callback), including no_log and loop results.
"""

import json
import os

import pytest

from ansible_collections.resilience.dr.plugins.plugin_utils import report as rp
from ansible_collections.resilience.dr.plugins.plugin_utils import report_text as rt

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'report')


def fixture(name):
    with open(os.path.join(FIXTURES, name + '.json')) as handle:
        return json.load(handle)


class Clock:
    """A deterministic clock: each call advances by ``step`` seconds."""

    def __init__(self, start=1767225600.0, step=10.0):
        self.now = start - step
        self.step = step

    def __call__(self):
        self.now += self.step
        return self.now


def test_extract_reads_contract_keys_from_set_fact():
    found = rp.extract_all(fixture('set_fact_verified'))
    assert found['verified'] == [{'check': 'mount', 'ok': True, 'detail': '/mnt/storage btrfs'}]
    assert found['warnings'] == ['cache was dirty']
    assert found['rpo'] == []


def test_extract_ignores_no_log_results():
    assert rp.is_no_log(fixture('set_fact_no_log'))
    found = rp.extract_all(fixture('set_fact_no_log'))
    assert found == {'verified': [], 'warnings': [], 'rpo': [], 'scenario': {}}


def test_extract_reads_role_prefixed_keys():
    found = rp.extract_all({'ansible_facts': {
        'train_verify_dr_report_verified': [{'check': 'mount', 'ok': 'yes'}],
        'train_storage_dr_report_warnings': 'mounted degraded',
        'dr_report_warnings': ['cache was dirty'],
        'not_dr_report_verifiedx': [{'check': 'ignored', 'ok': True}]}})
    assert found['verified'] == [{'check': 'mount', 'ok': True, 'detail': ''}]
    assert sorted(found['warnings']) == ['cache was dirty', 'mounted degraded']


def test_extract_reads_loop_items():
    found = rp.extract_all(fixture('set_fact_loop'))
    assert [(v['check'], v['ok']) for v in found['verified']] == [('a', True), ('b', False)]


def test_extract_rpo_fact_and_result_key():
    assert rp.extract_all(fixture('set_fact_rpo'))['rpo'] == [7200.0]
    assert rp.extract_all({'changed': True, 'rpo_seconds': '42.5'})['rpo'] == [42.5]
    assert rp.extract_all({'rpo_seconds': 'soon'})['rpo'] == []
    assert rp.extract_all({'rpo_seconds': -1})['rpo'] == []


def test_extract_never_reads_other_keys():
    result = fixture('command_failed')
    found = rp.extract_all(result)
    dumped = json.dumps(found)
    assert 'invocation' not in dumped and '/bin/false' not in dumped


@pytest.mark.parametrize('name,check', [
    ('verify: array is mounted', 'array is mounted'),
    ('Verify:   bcache mode', 'bcache mode'),
    ('Mount the array', None),
    ('verifying things', None),
])
def test_verify_prefix(name, check):
    assert rp.verify_check_name(name) == check


def test_helpers():
    assert rp.human_duration(412.3) == '6m 52s'
    assert rp.human_duration(14400) == '4h 0m 0s'
    assert rp.human_duration(None) == 'unknown'
    assert rp.human_duration(3.44) == '3.4s' and rp.human_duration(7) == '7s'
    assert rp.safe_name('os disk / layout 2') == 'os-disk-layout-2'
    assert rp.safe_name('../..') == 'playbook'
    assert rp.report_basename('os-disk', 1767225600) == 'os-disk-20260101T000000Z'
    assert rp.to_bool('yes') and not rp.to_bool('no') and rp.to_bool(1)
    assert rp.text('a\nb  c') == 'a b c'
    assert len(rp.text('x' * 5000)) == rp.MAX_TEXT


def run(recorder):
    """A two-play run: preflight (play phase), storage role, verify role, report tasks."""
    recorder.start_playbook('playbooks/recover-os-disk.yml')
    recorder.start_play('Preflight', {'dr_scenario': 'os-disk', 'dr_rto_seconds': '14400',
                                      'dr_rpo_target_seconds': 86400, 'unrelated': 'x'})
    recorder.start_task(None)
    recorder.task_result('train', 'Assert the inventory', 'ok', {'changed': False})
    recorder.start_play('Recover', {})
    recorder.start_task('train_storage')
    recorder.task_result('train', 'Attach bcache', 'changed', {'changed': True})
    recorder.task_result('train', 'Degraded?', 'ok', fixture('set_fact_verified'))
    recorder.start_task('train_storage')
    recorder.task_result('train', 'Skip me', 'skipped', {'skipped': True})
    recorder.start_task('train_backups')
    recorder.task_result('train', 'Restore config', 'ok', {'rpo_seconds': 3600})
    recorder.task_result('train', 'Secret', 'ok', fixture('set_fact_no_log'))
    recorder.start_task('train_verify')
    recorder.task_result('train', 'Loop checks', 'ok', fixture('set_fact_loop'))
    recorder.task_result('train', 'Loop checks again', 'ok', fixture('set_fact_loop'))
    recorder.task_result('train', 'RPO', 'ok', fixture('set_fact_rpo'))
    recorder.task_result('train', 'verify: workloads run', 'ok', {'msg': 'All assertions passed'})
    recorder.finish()
    return recorder.report()


def test_report_phases_targets_and_verification():
    report = run(rp.RunRecorder(clock=Clock()))
    assert report['format'] == rp.FORMAT
    assert report['scenario'] == 'os-disk'
    assert [(p['name'], p['kind'], p['result']) for p in report['phases']] == [
        ('Preflight', 'play', 'ok'),
        ('train_storage', 'role', 'changed'),
        ('train_backups', 'role', 'ok'),
        ('train_verify', 'role', 'ok'),
    ]
    storage = report['phases'][1]
    assert storage['counts'] == {'ok': 1, 'changed': 1, 'failed': 0, 'skipped': 1,
                                 'unreachable': 0, 'ignored': 0}
    assert all(p['duration_seconds'] > 0 for p in report['phases'])
    # Phases are contiguous: each ends where the next one starts.
    for before, after in zip(report['phases'], report['phases'][1:]):
        assert before['end'] <= after['start']
    # The run failed (check "b"): within the RTO and RPO, but a failed run never meets a target.
    assert report['rto'] == {'target_seconds': 14400.0, 'actual_seconds': report['rto']['actual_seconds'],
                             'met': False}
    assert report['rto']['actual_seconds'] > 0
    assert report['rpo']['achieved_seconds'] == 7200.0  # the worst of 3600 and 7200
    assert report['rpo']['met'] is False
    checks = dict((v['check'], v['ok']) for v in report['verified'])
    assert checks == {'mount': True, 'a': True, 'b': False, 'workloads run': True}
    assert report['verification'] == {'total': 4, 'passed': 3, 'failed': 1}
    assert report['outcome'] == 'failed'  # check "b" failed
    assert [w['message'] for w in report['warnings']] == ['cache was dirty']
    assert 'leak' not in json.dumps(report) and 's3cr3t' not in json.dumps(report)


def test_outcomes():
    clock = Clock()
    recorder = rp.RunRecorder(clock=clock)
    recorder.start_playbook('/x/playbooks/setup-backups.yml')
    recorder.start_play('p', {})
    recorder.start_task(None)
    recorder.task_result('h', 't', 'ok', {})
    recorder.finish()
    report = recorder.report()
    assert report['outcome'] == 'recovered'
    assert report['scenario'] == 'setup-backups'
    assert report['rto']['met'] is None and report['rpo']['met'] is None

    recorder.task_result('h', 'w', 'ok', {'dr_report_warnings': 'mounted degraded'})
    assert recorder.report()['outcome'] == 'recovered_with_warnings'
    recorder.task_result('h', 'boom', 'failed', fixture('command_failed'))
    recorder.task_result('h', 'secret boom', 'failed', fixture('command_failed_no_log'))
    report = recorder.report()
    assert report['outcome'] == 'failed'
    assert [f['msg'] for f in report['failures']][1] == '(output hidden by no_log)'
    assert recorder.report()['totals']['failed'] == 2


def test_ignored_failure_of_verify_task_is_a_failed_check():
    recorder = rp.RunRecorder(clock=Clock())
    recorder.start_play('p', {'dr_rto_seconds': 1})
    recorder.start_task(None)
    recorder.task_result('h', 'verify: checksums', 'ignored', {'msg': '2 files differ'})
    recorder.finish()
    report = recorder.report()
    assert report['verified'][0]['ok'] is False
    assert report['verified'][0]['detail'] == '2 files differ'
    assert report['failures'] == []
    assert report['outcome'] == 'failed'
    assert report['rto']['met'] is False


def test_unknown_status_is_rejected():
    with pytest.raises(ValueError):
        rp.RunRecorder().task_result('h', 't', 'weird', {})


def test_markdown_puts_warnings_first_and_escapes_tables():
    recorder = rp.RunRecorder(clock=Clock())
    recorder.start_play('Recover | now', {'dr_scenario': 'os-disk', 'dr_rto_seconds': 14400})
    recorder.start_task('train_storage')
    recorder.task_result('train', 'x', 'ok', {
        'dr_report_warnings': ['cache held 8 MiB dirty data: restore affected files'],
        'dr_report_verified': {'check': 'profile | data', 'ok': True, 'detail': 'raid10'}})
    recorder.finish()
    report = recorder.report()
    markdown = rt.render_markdown(report)
    lines = markdown.splitlines()
    assert lines[0] == '# Recovery report: os-disk - RECOVERED WITH WARNINGS'
    assert 'dirty data' in lines[2] and lines[2].startswith('> **WARNING**')
    assert '| train | profile \\| data | ok | raid10 |' in lines
    summary = rt.summary_lines(report, ['reports/a.json'])
    assert summary[0].startswith('RECOVERY REPORT [os-disk]: RECOVERED WITH WARNINGS')
    assert 'RTO target 4h 0m 0s: met' in summary[0]
    assert summary[-1] == 'report: reports/a.json'
    assert any(line.startswith('WARNING (train): cache held') for line in summary)


def test_check_mode_is_marked():
    recorder = rp.RunRecorder(clock=Clock())
    recorder.check_mode = True
    recorder.start_play('p', {'dr_scenario': 'os-disk'})
    recorder.finish()
    report = recorder.report()
    assert report['check_mode'] is True
    assert rt.render_markdown(report).splitlines()[0].endswith('(CHECK MODE: nothing was changed)')
    assert '(check mode)' in rt.summary_lines(report)[0]


def test_markdown_without_anything_verified():
    recorder = rp.RunRecorder(clock=Clock())
    recorder.finish()
    report = recorder.report()
    assert report['outcome'] == 'nothing_ran'
    assert 'Nothing was verified in this run.' in rt.render_markdown(report)


def one_task_run(status, result=None, check_mode=False, variables=None):
    recorder = rp.RunRecorder(clock=Clock())
    recorder.check_mode = check_mode
    recorder.start_play('p', variables if variables is not None
                        else {'dr_scenario': 'os-disk', 'dr_rto_seconds': 14400,
                              'dr_rpo_target_seconds': 86400})
    recorder.start_task('train_backups')
    recorder.task_result('h', 'restore', status, dict(result or {}, rpo_seconds=3600))
    recorder.finish()
    return recorder.report()


def test_targets_met_only_by_a_run_that_recovered():
    report = one_task_run('changed')
    assert report['outcome'] == 'recovered'
    assert report['rto']['met'] is True and report['rpo']['met'] is True
    assert 'RTO target 4h 0m 0s: met' in rt.summary_lines(report)[0]


@pytest.mark.parametrize('status', ['failed', 'unreachable'])
def test_a_failed_run_never_meets_a_target(status):
    """Issue 10 item 9: within both targets on the clock, but the run did not recover."""
    report = one_task_run(status, {'msg': 'restore failed'})
    assert report['outcome'] == 'failed'
    assert report['rto']['actual_seconds'] < report['rto']['target_seconds']
    assert report['rto']['met'] is False and report['rpo']['met'] is False
    markdown = rt.render_markdown(report)
    summary = '\n'.join(rt.summary_lines(report))
    for rendered in (markdown, summary):
        assert ': met' not in rendered
        assert 'NOT MET, the run did not recover' in rendered


def test_nothing_ran_meets_no_target():
    recorder = rp.RunRecorder(clock=Clock())
    recorder.start_play('p', {'dr_rto_seconds': 60})
    recorder.finish()
    report = recorder.report()
    assert report['outcome'] == 'nothing_ran'
    assert report['rto']['met'] is False
    assert ': met' not in rt.render_markdown(report)


def test_check_mode_targets_are_not_assessed():
    report = one_task_run('ok', check_mode=True)
    assert report['outcome'] == 'recovered' and report['check_mode'] is True
    assert report['rto']['met'] is None and report['rpo']['met'] is None
    summary = rt.summary_lines(report)
    assert 'not assessed in check mode' in summary[0]
    assert not any(': met' in line for line in summary)


def test_no_target_declared_is_still_none():
    report = one_task_run('failed', variables={})
    assert report['rto']['met'] is None and report['rpo']['met'] is None
    assert 'no target declared' in rt.summary_lines(report)[0]


def test_notices_come_first_but_are_no_warning():
    """What a scenario cannot bring back by design (recover-full-restore.yml: workspaces,
    caches) is said in the first lines without making the recovery one "with warnings"."""
    recorder = rp.RunRecorder(clock=Clock())
    recorder.start_play('Recover', {'dr_scenario': 'full-restore'})
    recorder.start_task('train_backups')
    notice = 'Not restorable by design: workspaces, cache, docker under /mnt/storage'
    recorder.task_result('train', 'x', 'ok', {'ansible_facts': {
        'train_backups_dr_report_notices': [notice, '']}})
    recorder.task_result('train', 'y', 'ok', {'train_backups_dr_report_notices': notice,
                                              'rpo_seconds': 3600})
    recorder.finish()
    report = recorder.report()
    assert report['outcome'] == 'recovered'
    assert [n['message'] for n in report['notices']] == [notice]
    lines = rt.render_markdown(report).splitlines()
    assert lines[2] == '> **NOTE** (train): %s' % notice
    assert 'NOTE (train): %s' % notice in rt.summary_lines(report)
    assert report['rpo']['achieved_seconds'] == 3600
