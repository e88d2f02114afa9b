# -*- coding: utf-8 -*-
"""Every job template of awx/vars.yml, invoked as AWX invokes it (tests/awx_invocation.py):
ansible-runner, a clean private data directory and HOME, a git clone of the project, the
survey's default answers and the restic credential's injected extra vars, against localhost in
the train_servers group.

* --syntax-check of every template;
* job type check of every template: the report check passes, the survey's string answers are
  accepted, the run ends in a named refusal or failure of this host (no train server disks
  here), and the report is in runner's artifacts and in the job's artifact data;
* job type run of the two templates whose defaults refuse before any change (setup-train-server
  without train_storage_mode=create, setup-backups without a mounted btrfs array).
In every case the credential's secrets appear nowhere in the artifacts.  The end-to-end run of
recover-os-disk against the lab server is tests/e2e/test_awx_runner.py (make test-all)."""

import os
import shutil
import subprocess
import sys

import pytest

from awx_invocation import (REPO, artifact_reports, awx_vars, leaked, run_job, secrets,
                            stats_artifacts)

pytestmark = pytest.mark.integration

TEMPLATES = awx_vars()['awx_dr_job_templates']
IDS = [t['playbook'].split('/')[-1] for t in TEMPLATES]
# What each playbook's default answers lead to on a host that is not a train server.
REFUSALS = {
    'playbooks/setup-train-server.yml': 'This playbook builds bcache and BTRFS on blank disks',
    'playbooks/setup-backups.yml': 'is not a mounted btrfs',
}

# The role whose read-only preflight stops the train-server recoveries on this host.
PREFLIGHT_ROLE = {'playbooks/recover-bcache-ssd.yml': 'train_cache',
                  # These stop in their own role's first read-only step on this host (no array
                  # member, no train-drill inputs), right after the report's preflight task.
                  'playbooks/recover-btrfs-corruption.yml': 'train_btrfs_repair',
                  'playbooks/recover-power-outage.yml': 'train_power',
                  'playbooks/dr-drill.yml': 'train_drill'}


@pytest.fixture(scope='module')
def project(tmp_path_factory):
    dest = tmp_path_factory.mktemp('project') / 'resilience-dr'
    subprocess.run(['git', 'clone', '--quiet', REPO, str(dest)], check=True, timeout=300)
    return dest


@pytest.fixture
def job(tmp_path):
    """A clean private data dir, HOME and an inventory: localhost as the train server, with the
    example site's group_vars (its vault variables come from the credential instead)."""
    private = tmp_path / 'runner'
    home = tmp_path / 'home'
    inventory = tmp_path / 'inventory'
    for path in (private, home, inventory / 'group_vars' / 'train_servers'):
        path.mkdir(parents=True)
    shutil.copy(os.path.join(REPO, 'inventories', 'train-server', 'group_vars', 'train_servers',
                             'main.yml'), str(inventory / 'group_vars' / 'train_servers'))
    (inventory / 'hosts').write_text('[train_servers]\nlocalhost ansible_connection=local '
                                     'ansible_python_interpreter=%s\n' % sys.executable)
    return private, home, inventory


def stdout_of(runner):
    return runner.stdout.read()


@pytest.mark.parametrize('template', TEMPLATES, ids=IDS)
def test_syntax_check(template, project, job):
    private, home, inventory = job
    runner = run_job(template, private, project, inventory, home, syntax_only=True)[0]
    out = stdout_of(runner)
    assert runner.rc == 0 and runner.status == 'successful', out


def assert_reported(runner, artifacts, check_mode):
    files, report = artifact_reports(artifacts)
    assert sorted(files) == ['.html', '.json', '.md'], os.listdir(artifacts)
    summary = stats_artifacts(runner)['resilience_dr_report']
    assert summary['scenario'] == report['scenario'] and summary['outcome'] == report['outcome']
    assert summary['check_mode'] is check_mode and summary['report_dir'] == artifacts
    assert summary['report_files'] == [files[ext] for ext in ('.json', '.md', '.html')]
    assert summary['recovered'] is False and report['rto']['met'] is not True
    assert not leaked(artifacts, secrets())
    return report, summary


@pytest.mark.parametrize('template', TEMPLATES, ids=IDS)
def test_check_mode_job(template, project, job):
    private, home, inventory = job
    runner, artifacts = run_job(template, private, project, inventory, home, job_type='check')
    out = stdout_of(runner)
    assert 'TASK [Preflight - the recovery report is recording]' in out
    assert 'Recovery report: ' in out
    report, summary = assert_reported(runner, artifacts, check_mode=True)
    assert report['outcome'] == 'failed' and runner.status == 'failed', out[-3000:]
    assert summary['rto']['met'] is None  # check mode is never assessed
    assert summary['failures'], summary
    expected = REFUSALS.get(template['playbook'])
    if expected:
        assert expected in out, out[-3000:]
    elif template['playbook'].startswith('playbooks/cfs-'):
        # ClaudeFS: past the report check, stopped by the read-only preflight of the claudefs
        # role, because localhost names no admin API endpoint.
        assert report['failures'][0]['phase'] == 'claudefs', report['failures']
        assert ('at least one endpoint is required' in out
                or 'the node endpoints (claudefs_node_endpoint' in out), out[-3000:]
    else:
        # recover-os-disk (recover-bcache-ssd): past the report and inventory checks, stopped by
        # this host (no bcache, no train-server disks) inside train_storage's (train_cache's)
        # read-only preflight.
        assert report['phases'][0]['counts']['ok'] >= 1, (report['phases'], report['failures'])
        assert report['phases'][0]['counts']['changed'] == 0
        assert report['failures'][0]['phase'] == PREFLIGHT_ROLE.get(
            template['playbook'], 'train_storage'), report['failures']


@pytest.mark.parametrize('template', [t for t in TEMPLATES if t['playbook'] in REFUSALS],
                         ids=[t['playbook'].split('/')[-1] for t in TEMPLATES if t['playbook'] in REFUSALS])
def test_run_job_with_default_answers_refuses_before_any_change(template, project, job):
    private, home, inventory = job
    runner, artifacts = run_job(template, private, project, inventory, home, job_type='run')
    out = stdout_of(runner)
    assert runner.status == 'failed' and REFUSALS[template['playbook']] in out, out[-3000:]
    report = assert_reported(runner, artifacts, check_mode=False)[0]
    assert report['totals']['changed'] == 0
    # A run that did not recover: never met (False against a target, None without one).
    assert report['rto']['met'] is (None if report['rto']['target_seconds'] is None else False)
