# -*- coding: utf-8 -*-
"""A real ansible-playbook run with the recovery_report callback enabled the way operators get
it: by the repository's ansible.cfg (callbacks_enabled), nothing set by hand."""

import glob
import json
import os
import subprocess
import sys

from testlib import REPO, ansible_env, bin_path

PLAYBOOK = os.path.join(REPO, 'tests', 'integration', 'playbooks', 'report_smoke.yml')
SECRET = 'HUNTER2-s3cr3t-9f1c'


def run_playbook(report_dir):
    env = ansible_env({'RESILIENCE_DR_REPORT_DIR': str(report_dir),
                       'ANSIBLE_STDOUT_CALLBACK': 'ansible.builtin.default'})
    env.pop('ANSIBLE_CALLBACKS_ENABLED')  # use ansible.cfg's callbacks_enabled
    argv = [bin_path('ansible-playbook'), '-i', 'localhost,', '-c', 'local',
            '-e', 'ansible_python_interpreter=%s' % sys.executable,
            '-e', 'report_smoke_secret=%s' % SECRET, PLAYBOOK]
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=False)


def test_report_from_a_real_playbook_run(tmp_path):
    proc = run_playbook(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    jsons = glob.glob(str(tmp_path / 'report-smoke-*.json'))
    mds = glob.glob(str(tmp_path / 'report-smoke-*.md'))
    assert len(jsons) == 1 and len(mds) == 1, os.listdir(str(tmp_path))
    with open(jsons[0]) as handle:
        raw_json = handle.read()
    with open(mds[0]) as handle:
        markdown = handle.read()
    report = json.loads(raw_json)

    # Scenario and targets come from the play variables.
    assert report['scenario'] == 'report-smoke'
    assert report['rto']['target_seconds'] == 600 and report['rto']['met'] is True
    assert report['rpo']['target_seconds'] == 86400
    assert report['rpo']['achieved_seconds'] == 3600 and report['rpo']['met'] is True

    # Phases: the preflight play, the role, then the second play's own tasks.
    assert [(p['name'], p['kind']) for p in report['phases']] == [
        ('Report smoke test, preflight', 'play'),
        ('report_smoke_role', 'role'),
        ('Report smoke test, recovery', 'play'),
    ]
    assert all(p['result'] == 'ok' for p in report['phases'])
    assert report['totals']['failed'] == 0

    # Verification: two checks from the role's fact, one from a "verify:" task name.
    checks = dict((v['check'], v['ok']) for v in report['verified'])
    assert checks == {'data checksums': True, 'mount options': True,
                      'the secret file is gone': True}
    assert report['outcome'] == 'recovered_with_warnings'
    assert [w['message'] for w in report['warnings']] == ['array mounted degraded: devid 3 missing']

    # The warning is in the first lines of the Markdown report.
    head = markdown.splitlines()[:4]
    assert head[0] == '# Recovery report: report-smoke - RECOVERED WITH WARNINGS'
    assert any('array mounted degraded: devid 3 missing' in line for line in head)
    assert '| localhost | data checksums | ok | 3 files match the manifest |' in markdown

    # Summary at the end of the run.
    assert 'RECOVERY REPORT [report-smoke]: RECOVERED WITH WARNINGS' in proc.stdout
    assert 'report: %s' % jsons[0] in proc.stdout

    # The no_log task's secret (and the failed check it tried to record) never appear.
    for content in (raw_json, markdown):
        assert SECRET not in content
        assert 'SECRET LEAK' not in content and 'leak' not in content


def test_under_ansible_runner_the_report_is_an_artifact(tmp_path):
    """ansible-runner (and so AWX): the reports go into the job's artifact directory and the
    summary is in the playbook_on_stats event's artifact_data, which AWX stores as the job's
    artifacts and hands to the next nodes of a workflow."""
    import ansible_runner
    private = tmp_path / 'runner'
    private.mkdir()
    runner = ansible_runner.run(
        private_data_dir=str(private), project_dir=REPO, playbook=PLAYBOOK,
        inventory='localhost ansible_connection=local ansible_python_interpreter=%s' % sys.executable,
        extravars={'report_smoke_secret': SECRET},
        envvars={'HOME': str(tmp_path), 'PATH': os.path.dirname(sys.executable) + ':/usr/bin:/bin'},
        quiet=True)
    assert runner.status == 'successful', runner.stdout.read()[-3000:]
    artifacts = os.path.join(str(private), 'artifacts', runner.config.ident)
    written = sorted(glob.glob(os.path.join(artifacts, 'report-smoke-*')))
    assert [os.path.splitext(p)[1] for p in written] == ['.html', '.json', '.md']
    stats = [e for e in runner.events if e['event'] == 'playbook_on_stats']
    summary = stats[0]['event_data']['artifact_data']['resilience_dr_report']
    assert summary['scenario'] == 'report-smoke' and summary['outcome'] == 'recovered_with_warnings'
    assert summary['rto']['met'] is True and summary['rpo']['achieved_seconds'] == 3600
    assert summary['warnings'] == ['localhost: array mounted degraded: devid 3 missing']
    assert summary['report_dir'] == artifacts
    assert summary['report_files'] == written[1:] + written[:1]  # json, md, html
    for root, _dirs, files in os.walk(artifacts):
        for name in files:
            with open(os.path.join(root, name), 'rb') as handle:
                assert SECRET.encode() not in handle.read(), name


def test_targets_set_in_the_inventory_reach_the_report(tmp_path):
    """docs/report.md says the inventory may set dr_rto_seconds: the preflight lookup hands
    the resolved values to the report (the callback alone sees play and extra vars only)."""
    env = ansible_env({'RESILIENCE_DR_REPORT_DIR': str(tmp_path),
                       'ANSIBLE_STDOUT_CALLBACK': 'ansible.builtin.default'})
    env.pop('ANSIBLE_CALLBACKS_ENABLED')
    inventory = os.path.join(REPO, 'tests', 'integration', 'playbooks', 'inventory_targets')
    argv = [bin_path('ansible-playbook'), '-i', inventory,
            '-e', 'ansible_python_interpreter=%s' % sys.executable,
            os.path.join(REPO, 'tests', 'integration', 'playbooks', 'report_inventory_targets.yml')]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    jsons = glob.glob(str(tmp_path / 'inventory-targets-*.json'))
    assert len(jsons) == 1, os.listdir(str(tmp_path))
    with open(jsons[0]) as handle:
        report = json.load(handle)
    assert report['rto']['target_seconds'] == 900 and report['rto']['met'] is True
    assert report['rpo']['target_seconds'] == 7200
    assert 'RECOVERY REPORT [inventory-targets]' in proc.stdout
