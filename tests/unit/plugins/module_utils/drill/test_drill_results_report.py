# -*- coding: utf-8 -*-
"""The DR drill's pure parts: result contract, JUnit writer, trend and "unusable since", the
read-data-subset rotation, extrapolation; the report manager and the scratch directory on tmp."""

import json
import os
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.resilience.dr.plugins.module_utils.drill import junit, report, results, scratch, trend
from ansible_collections.resilience.dr.plugins.module_utils.runner import Refusal

SNAP = 'a3b5c7d9' + '0' * 56


def result(status='pass', backup_time='2026-01-01T02:00:00Z', snap=SNAP, target='train1'):
    return {
        'system': 'train', 'target': target,
        'backup': {'id': snap, 'time': backup_time, 'location': '/srv/restic'},
        'started': '2026-01-02T03:00:00Z', 'ended': '2026-01-02T03:01:00Z',
        'duration_seconds': 60.5,
        'checks': [
            {'name': 'restore', 'status': 'pass', 'detail': '30 files', 'seconds': 12.25},
            {'name': 'manifest', 'status': status, 'detail': '1 mismatched (homes/a)', 'seconds': 3},
        ],
        'metrics': {'restore_bytes_per_second': 1e6, 'read_data_subset': '2/12', 'bad': [1]},
    }


def line(status, run, backup_time, snap=SNAP, subset=None):
    return trend.trend_line(results.normalise(dict(
        result(status, backup_time, snap), metrics={'read_data_subset': subset} if subset else {})), run)


# ------------------------------------------------------------------ contract

def test_normalise_keeps_the_contract_and_drops_what_is_not_a_metric():
    r = results.normalise(result('warn'))
    assert results.status_of(r) == 'warn'
    assert r['metrics'] == {'restore_bytes_per_second': 1e6, 'read_data_subset': '2/12'}
    assert r['checks'][0] == {'name': 'restore', 'status': 'pass', 'detail': '30 files',
                              'seconds': 12.25}


@pytest.mark.parametrize('bad', [None, {}, {'checks': []}, {'checks': ['x']},
                                 {'checks': [{'name': 'a', 'status': 'ok'}]}])
def test_a_broken_result_is_a_failing_check_never_dropped(bad):
    r = results.normalise(bad)
    assert results.status_of(r) == 'fail'
    assert r['checks'][-1]['status'] == 'fail'


def test_extrapolation():
    assert results.extrapolate_seconds(100, 2.0, 1000) == 20.0
    assert results.extrapolate_seconds(0, 2.0, 1000) is None
    assert results.extrapolate_seconds(100, 0, 1000) is None
    m = results.train_metrics(
        {'restored_bytes': 4000, 'restored_files': 4, 'restore_seconds': 2.0, 'bytes': 4000},
        {'files_compared': 4, 'matched': 4, 'manifest_files': 4},
        {'restore_size': {'total_size': 40000}, 'raw_data': {'total_size': 10000}}, '1/12')
    assert m['restore_bytes_per_second'] == 2000.0
    assert m['extrapolated_full_restore_seconds'] == 20.0
    assert m['extrapolated_repository_read_seconds'] == 5.0
    assert m['read_data_subset'] == '1/12' and m['checksums_sampled'] == 4
    # without restic stats the snapshot's listed bytes are the full restore
    assert results.train_metrics({'restored_bytes': 10, 'restore_seconds': 1, 'bytes': 30},
                                 {}, {}, None)['extrapolated_full_restore_seconds'] == 3.0


# ------------------------------------------------------------------ JUnit

def test_junit_one_suite_per_target_warn_and_fail_are_failures():
    rs = [results.normalise(result('warn')), results.normalise(result('pass', target='train2'))]
    verdicts = {('train', 'train1'): {'unusable_since': '2026-01-01T02:00:00Z', 'message': 'UNUSABLE'}}
    root = ET.fromstring(junit.junit_xml(rs, verdicts))
    assert root.tag == 'testsuites' and root.get('tests') == '4' and root.get('failures') == '1'
    s1, s2 = root.findall('testsuite')
    assert s1.get('name') == 'train/train1' and s1.get('failures') == '1' and s1.get('time') == '60.500'
    cases = s1.findall('testcase')
    assert [c.get('name') for c in cases] == ['restore', 'manifest']
    assert cases[0].find('failure') is None
    failure = cases[1].find('failure')
    assert failure.get('type') == 'warn' and failure.get('message') == '1 mismatched (homes/a)'
    props = dict((p.get('name'), p.get('value')) for p in s1.find('properties'))
    assert props['backup.id'] == SNAP and props['unusable_since'] == '2026-01-01T02:00:00Z'
    assert props['metric.read_data_subset'] == '2/12'
    assert s1.find('system-err').text == 'UNUSABLE'
    assert s2.get('failures') == '0' and s2.find('system-err') is None


def test_junit_survives_control_characters_and_markup():
    r = results.normalise(result('fail'))
    r['checks'][1]['detail'] = 'bad \x01name <&> "q"'
    root = ET.fromstring(junit.junit_xml([r]))
    assert root.find('testsuite/testcase/failure') is not None
    assert root.findall('testsuite/testcase')[1].find('failure').get('message') == 'bad name <&> "q"'


# ------------------------------------------------------------------ trend

def test_unusable_since_is_the_backup_of_the_first_failure_after_the_last_pass():
    past = [line('pass', '2026-01-01T03:00:00Z', '2025-12-31T02:00:00Z', snap='good1'),
            line('fail', '2026-02-01T03:00:00Z', '2026-01-31T02:00:00Z', snap='bad1'),
            'not json', line('pass', '2025-12-01T03:00:00Z', '2025-11-30T02:00:00Z', snap='old')]
    past = [p for p in past if isinstance(p, dict)]
    now = line('fail', '2026-03-01T03:00:00Z', '2026-02-28T02:00:00Z', snap='bad2')
    v = trend.verdict(past, now)
    assert v['usable'] is False
    assert v['unusable_since'] == '2026-01-31T02:00:00Z'
    assert v['first_failed_run'] == '2026-02-01T03:00:00Z' and v['failing_drills'] == 2
    assert v['last_good'] == {'run': '2026-01-01T03:00:00Z', 'backup_id': 'good1',
                              'backup_time': '2025-12-31T02:00:00Z'}
    assert 'backup bad2' in v['message'] and 'unusable since 2026-01-31T02:00:00Z' in v['message']


def test_never_passed_and_passing():
    now = line('warn', '2026-03-01T03:00:00Z', '2026-02-28T02:00:00Z')
    v = trend.verdict([], now)
    assert v['unusable_since'] == '2026-02-28T02:00:00Z' and v['last_good'] is None
    assert 'no drill of this target has passed' in v['message']
    assert trend.verdict([], line('pass', 'x', 'y'))['usable'] is True


def test_a_drill_that_found_no_backup_says_so():
    now = line('fail', '2026-03-01T03:00:00Z', None, snap=None)
    v = trend.verdict([], now)
    assert 'did not get as far as a backup' in v['message'] and 'backup None' not in v['message']


def test_other_targets_do_not_count():
    other = trend.trend_line(results.normalise(result('pass', target='train2')), '2026-01-01T00:00:00Z')
    v = trend.verdict([other], line('fail', '2026-02-01T00:00:00Z', 't'))
    assert v['last_good'] is None


def test_parse_trend_skips_garbage():
    text = '{"a": 1}\nnot json\n[1]\n\n{"b": 2}\n'
    assert trend.parse_trend(text) == [{'a': 1}, {'b': 2}]


# ------------------------------------------------------------------ subset rotation

def test_subset_rotates_and_wraps():
    lines = []
    seen = []
    for run in range(5):
        subset = trend.next_subset(lines, 'train', 'train1', 3)
        seen.append(subset)
        lines.append(line('pass', '2026-01-0%dT00:00:00Z' % (run + 1), 't', subset=subset))
    assert seen == ['1/3', '2/3', '3/3', '1/3', '2/3']


def test_subset_restarts_when_the_total_changes_and_skips_runs_without_a_check():
    lines = [line('pass', '2026-01-01T00:00:00Z', 't', subset='5/12'),
             line('fail', '2026-01-02T00:00:00Z', 't')]    # failed before the check
    assert trend.next_subset(lines, 'train', 'train1', 12) == '6/12'
    assert trend.next_subset(lines, 'train', 'train1', 4) == '1/4'
    assert trend.next_subset(lines, 'train', 'other', 12) == '1/12'
    assert trend.parse_subset('13/12') is None and trend.parse_subset('5%') is None
    with pytest.raises(ValueError):
        trend.next_subset([], 'train', 'train1', 0)


# ------------------------------------------------------------------ the report manager

def test_report_writes_json_junit_and_trend(tmp_path):
    d = tmp_path / 'drill'
    first = report.DrillReport(str(d), [result()], run_started='2026-01-02T03:00:00Z').run_report()
    assert first['passed'] is True and first['unusable'] == []
    assert os.path.basename(first['files']['json']) == 'dr-drill-20260102T030000Z.json'
    doc = json.loads(open(first['files']['json']).read())
    assert doc['targets'][0]['verdict']['usable'] is True
    ET.parse(first['files']['junit'])
    second = report.DrillReport(str(d), [result('fail', backup_time='2026-02-01T02:00:00Z')],
                                run_started='2026-02-02T03:00:00Z').run_report()
    assert second['passed'] is False
    assert 'unusable since 2026-02-01T02:00:00Z' in second['unusable'][0]
    assert second['dr_report_verified'][0]['ok'] is False
    lines = trend.parse_trend(open(str(d / 'trend.jsonl')).read())
    assert [x['status'] for x in lines] == ['pass', 'fail']


def test_report_check_mode_writes_nothing(tmp_path):
    out = report.DrillReport(str(tmp_path / 'd'), [result('warn')], check_mode=True).run_report()
    assert not os.path.exists(str(tmp_path / 'd'))
    assert out['passed'] is False and '<testsuites' in out['junit'] and out['trend_lines']


def test_report_without_any_result_does_not_pass(tmp_path):
    out = report.DrillReport(str(tmp_path), [], check_mode=True).run_report()
    assert out['passed'] is False and 'no system was drilled' in out['unusable'][0]


def test_same_second_gets_a_suffix(tmp_path):
    a = report.DrillReport(str(tmp_path), [result()], run_started='2026-01-02T03:00:00Z').run_report()
    b = report.DrillReport(str(tmp_path), [result()], run_started='2026-01-02T03:00:00Z').run_report()
    assert a['files']['json'] != b['files']['json'] and b['files']['json'].endswith('-1.json')


# ------------------------------------------------------------------ scratch directory

def test_scratch_lifecycle(tmp_path):
    path = str(tmp_path / 'parent' / 'scratch')
    s = scratch.ScratchDir(path)
    assert s.ensure()['state_found'] == 'missing'
    assert os.path.isfile(os.path.join(path, scratch.MARKER))
    os.makedirs(os.path.join(path, 'restore', 'etc'))
    os.symlink('/etc/passwd', os.path.join(path, 'restore', 'etc', 'passwd'))
    again = s.ensure()          # a leftover of a crashed drill: emptied, marker kept
    assert again['state_found'] == 'ours' and again['cleared_entries'] == 1
    assert os.listdir(path) == [scratch.MARKER]
    assert os.path.exists('/etc/passwd')
    os.makedirs(os.path.join(path, 'restore'))
    os.symlink('/etc', os.path.join(path, 'restore', 'etc'))
    assert s.remove()['changed'] is True and not os.path.exists(path)
    assert os.path.exists('/etc/passwd')
    assert s.remove()['changed'] is False


def test_scratch_check_mode_changes_nothing(tmp_path):
    path = str(tmp_path / 'scratch')
    assert scratch.ScratchDir(path, check_mode=True).ensure()['changed'] is True
    assert not os.path.exists(path)


@pytest.mark.parametrize('kind', ['unmarked', 'file', 'symlink'])
def test_scratch_refuses_what_is_not_its_own(tmp_path, kind):
    path = str(tmp_path / 'scratch')
    if kind == 'unmarked':
        os.makedirs(path)
        open(os.path.join(path, 'data'), 'w').close()
    elif kind == 'file':
        open(path, 'w').close()
    else:
        os.makedirs(str(tmp_path / 'elsewhere'))
        open(str(tmp_path / 'elsewhere' / scratch.MARKER), 'w').close()
        os.symlink(str(tmp_path / 'elsewhere'), path)
    for act in ('ensure', 'remove'):
        with pytest.raises(Refusal) as err:
            getattr(scratch.ScratchDir(path), act)()
        assert 'not a scratch directory this drill created' in str(err.value)
    assert os.path.lexists(path)


@pytest.mark.parametrize('path', ['/', '/var', '/tmp/../etc', '//usr/'])
def test_scratch_refuses_system_dirs(path):
    with pytest.raises(Refusal):
        scratch.ScratchDir(path)
