# -*- coding: utf-8 -*-
"""A real ansible-playbook run with the recovery_report callback enabled the way operators get
it: by the repository's ansible.cfg (callbacks_enabled), nothing set by hand."""

import glob
import json
import os
import subprocess
import sys

from conftest import REPO, ansible_env, bin_path

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
