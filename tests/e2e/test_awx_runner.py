# -*- coding: utf-8 -*-
"""The recover-os-disk job template end to end in the lab, run the way AWX runs it
(tests/awx_invocation.py: ansible-runner, a clean private data directory and HOME, a git clone
of the project, the survey's default answers, the restic credential's injected variables).

The lab train server is built, loses its OS disk with the NVMe, and the job template brings it
back; the report must be in runner's artifacts and in the job's artifact data (set_stats), with
no secret in either.  Marked ``variant``: it needs its own lab VM, so it runs in make variants /
make test-all, not in CI's make test."""

import os
import subprocess

import pytest

from awx_invocation import (REPO, artifact_reports, leaked, run_job, stats_artifacts,
                            template_named)
from labvm.train import RESTIC_PASSWORD, TrainLab

pytestmark = [pytest.mark.e2e, pytest.mark.variant]


@pytest.fixture(scope='module')
def broken_server(lab_owner):
    lab = TrainLab('e2e-awx-runner', layout='shared', owner=lab_owner)
    try:
        lab.boot()
        lab.playbook('setup-train-server.yml', {'train_storage_mode': 'create',
                                                'train_backups_init_repository': True})
        manifest = lab.write_sample_data()
        lab.write_server_config()
        lab.vm.ssh('systemctl start resilience-dr-backup.service')
        lab.flush_cache()
        lab.lose_os_disk(nvme=True)
        lab.manifest_path = lab.install_manifest(manifest)
        yield lab
    finally:
        lab.destroy()


def test_recover_os_disk_job_template_in_the_lab(broken_server, tmp_path):
    lab = broken_server
    project = tmp_path / 'project'
    subprocess.run(['git', 'clone', '--quiet', REPO, str(project)], check=True, timeout=300)
    (tmp_path / 'home').mkdir()
    inputs = {'resilience.dr restic repository': {
        'repository': lab.lab_vars()['train_backups_repository'],
        'password': RESTIC_PASSWORD, 'rclone_config': ''}}
    runner, artifacts = run_job(
        template_named('resilience.dr recover-os-disk'), tmp_path / 'runner', project,
        lab.inventory_dir, tmp_path / 'home', job_type='run', inputs=inputs,
        # The job template's extra vars at this site: the manifest the operator brought.
        extra_vars={'train_verify_manifest': lab.manifest_path})
    out = runner.stdout.read()
    assert runner.status == 'successful', out[-6000:]

    files, report = artifact_reports(artifacts)
    assert sorted(files) == ['.html', '.json', '.md']
    assert report['outcome'] == 'recovered' and report['rto']['met'] is True
    assert report['verification']['failed'] == 0 and report['verification']['total'] > 10

    summary = stats_artifacts(runner)['resilience_dr_report']
    assert summary['outcome'] == 'recovered' and summary['recovered'] is True
    assert summary['rto']['met'] is True and summary['report_dir'] == artifacts
    assert summary['verification'] == report['verification']
    assert not leaked(artifacts, [RESTIC_PASSWORD])
    assert os.path.getsize(files['.html']) > 2000
