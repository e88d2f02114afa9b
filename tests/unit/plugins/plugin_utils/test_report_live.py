# -*- coding: utf-8 -*-
"""The running report as seen from outside the callback: the lookup the playbooks call first,
the summary published as the job's artifacts, and ansible-runner's artifact directory."""

import json

import pytest

from ansible.errors import AnsibleError

from ansible_collections.resilience.dr.plugins.lookup.recovery_report import LookupModule
from ansible_collections.resilience.dr.plugins.plugin_utils import report_live
from report_sample import sample_report


def test_runner_artifact_dir_comes_from_runner_environment():
    assert report_live.runner_artifact_dir({}) is None
    assert report_live.runner_artifact_dir({'AWX_ISOLATED_DATA_DIR': ''}) is None
    assert report_live.runner_artifact_dir(
        {'AWX_ISOLATED_DATA_DIR': '/runner/artifacts/7'}) == '/runner/artifacts/7'


def test_stats_summary_is_plain_data_for_a_workflow():
    report = sample_report(fail_verify=True)
    summary = report_live.stats_summary(report, ['/a/os-disk.json'], '/a')
    assert json.loads(json.dumps(summary)) == summary  # set_stats data: plain JSON
    assert summary['outcome'] == 'failed' and summary['recovered'] is False
    assert summary['rto'] == report['rto'] and 'sources' not in summary['rpo']
    assert summary['warnings'] == ['train-server: the NVMe was replaced: a new cache set will '
                                   'be created on /dev/nvme0n1p3']
    assert summary['failures'][0].startswith('train_verify / train-server / verify: checksums')
    assert summary['report_files'] == ['/a/os-disk.json'] and summary['report_dir'] == '/a'
    check = report_live.stats_summary(sample_report(check_mode=True))
    assert check['recovered'] is False and check['check_mode'] is True


def test_lookup_fails_loudly_without_the_callback():
    report_live.register(None)
    with pytest.raises(AnsibleError) as raised:
        LookupModule().run([])
    message = str(raised.value)
    assert 'callback is not recording this run' in message
    assert 'callbacks_enabled = resilience.dr.recovery_report' in message
    assert 'dr_report_required=false' in message and 'Nothing was changed' in message


def test_lookup_returns_the_running_summary():
    from ansible_collections.resilience.dr.plugins.plugin_utils.report import RunRecorder
    recorder = RunRecorder()
    recorder.start_play('p', {'dr_scenario': 'drill', 'dr_rto_seconds': 60})
    report_live.register(recorder)
    try:
        [summary] = LookupModule().run([])
    finally:
        report_live.register(None)
    assert summary['scenario'] == 'drill' and summary['rto']['target_seconds'] == 60.0
