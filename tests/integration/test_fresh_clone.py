# -*- coding: utf-8 -*-
"""A fresh clone runs as an AWX admin would run it: no scripts/bootstrap.sh, no .build link, no
ANSIBLE_COLLECTIONS_PATH or ANSIBLE_CONFIG, a clean HOME; only the pinned packages on PATH.

The collection is found through the committed link collections/ansible_collections/resilience/dr
and ansible.cfg's collections_path; a run without the report callback fails loudly."""

import glob
import json
import os
import subprocess
import sys

import pytest

from testlib import REPO

pytestmark = pytest.mark.integration

VENV_BIN = os.path.dirname(sys.executable)


def clean_env(home, **extra):
    env = {'PATH': VENV_BIN + os.pathsep + '/usr/sbin:/usr/bin:/sbin:/bin', 'HOME': str(home),
           'LANG': 'C.UTF-8', 'ANSIBLE_NOCOLOR': '1'}
    env.update(extra)
    return env


@pytest.fixture(scope='module')
def clone(tmp_path_factory):
    """``git clone`` of this checkout (what is committed), as AWX's project sync would get it."""
    base = tmp_path_factory.mktemp('fresh')
    dest = base / 'resilience-dr'
    subprocess.run(['git', 'clone', '--quiet', REPO, str(dest)], check=True, timeout=300)
    assert not (dest / '.build').exists() and not (dest / '.venv').exists()
    assert os.readlink(str(dest / 'collections/ansible_collections/resilience/dr')) == '../../..'
    home = base / 'home'
    home.mkdir()
    return dest, home


def run(argv, cwd, env, timeout=600):
    return subprocess.run(argv, cwd=str(cwd), env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_syntax_check_every_playbook(clone):
    dest, home = clone
    playbooks = sorted(glob.glob(str(dest / 'playbooks' / '*.yml')))
    assert len(playbooks) >= 3
    proc = run(['ansible-playbook', '--syntax-check', '-i', 'inventories/train-server']
               + [os.path.relpath(p, str(dest)) for p in playbooks], dest, clean_env(home))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for playbook in playbooks:
        assert 'playbook: playbooks/%s' % os.path.basename(playbook) in proc.stdout


def test_ansible_lint_production(clone):
    dest, home = clone
    proc = run(['ansible-lint', '--profile', 'production', '--offline', '--nocolor'], dest,
               clean_env(home), timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "Profile 'production' was required, and it passed" in proc.stdout + proc.stderr


def test_ansible_runner_syntax_check(clone, tmp_path):
    import ansible_runner
    dest, home = clone
    private = tmp_path / 'runner'
    private.mkdir()
    result = ansible_runner.run(
        private_data_dir=str(private), project_dir=str(dest),
        playbook='playbooks/recover-os-disk.yml', cmdline='--syntax-check',
        inventory=str(dest / 'inventories' / 'train-server'),
        envvars={'HOME': str(home), 'PATH': clean_env(home)['PATH']}, quiet=True)
    stdout = result.stdout.read()
    assert result.rc == 0 and result.status == 'successful', stdout


def test_without_the_report_callback_the_run_fails_before_any_change(clone):
    dest, home = clone
    argv = ['ansible-playbook', '-i', 'localhost,', '-c', 'local', '-e', 'dr_hosts=localhost',
            '-e', 'ansible_python_interpreter=%s' % sys.executable, 'playbooks/setup-backups.yml']
    # Another callback list (an AWX or site setting) that leaves the report out.
    proc = run(argv, dest, clean_env(home, ANSIBLE_CALLBACKS_ENABLED='ansible.posix.timer'))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert 'The resilience.dr.recovery_report callback is not recording this run' in out
    assert 'callbacks_enabled = resilience.dr.recovery_report' in out
    assert 'ok=0    changed=0' in out  # the first task failed; nothing ran
    assert not (dest / 'reports').exists()


def test_with_the_repository_config_the_report_is_written(clone):
    dest, home = clone
    argv = ['ansible-playbook', '-i', 'localhost,', '-c', 'local', '-e', 'dr_hosts=localhost',
            '-e', 'ansible_python_interpreter=%s' % sys.executable, '--check',
            'playbooks/recover-os-disk.yml']
    proc = run(argv, dest, clean_env(home))
    out = proc.stdout + proc.stderr
    # No inventory for a train server here: the inventory check refuses, after the report check.
    assert proc.returncode == 2, out
    assert 'The inventory must define train_storage_backing_devices' in out
    reports = sorted(glob.glob(str(dest / 'reports' / 'os-disk-*')))
    assert [os.path.splitext(p)[1] for p in reports] == ['.html', '.json', '.md']
    with open(reports[1]) as handle:
        report = json.load(handle)
    assert report['outcome'] == 'failed' and report['check_mode'] is True
    assert report['rto']['met'] is None
