# -*- coding: utf-8 -*-
"""recover-bcache-ssd.yml refuses a run that does not say which path (planned or unplanned)
before any task that touches the machine: the argument spec rejects an unknown path and the
preflight refuses the empty default with a message naming both.  Runs the real playbook on the
host in check mode (it has no bcache; nothing gets that far)."""

import json
import subprocess
import sys

import pytest

from testlib import REPO, ansible_env, bin_path

pytestmark = pytest.mark.integration

PLAYBOOK = REPO + '/playbooks/recover-bcache-ssd.yml'
HDDS = ['/dev/disk/by-id/ata-EXAMPLE_HDD_1']


def run(**extra):
    extra.setdefault('ansible_python_interpreter', sys.executable)
    extra.setdefault('dr_report_required', False)
    extra.setdefault('dr_hosts', 'localhost')
    extra.setdefault('train_storage_backing_devices', HDDS)
    env = ansible_env({'ANSIBLE_STDOUT_CALLBACK': 'ansible.builtin.default'})
    env.pop('ANSIBLE_CALLBACKS_ENABLED')  # ansible.cfg's list; an empty value breaks ansible-playbook
    return subprocess.run([bin_path('ansible-playbook'), '-i', 'localhost,', '-c', 'local',
                           '--check', '-e', json.dumps(extra), PLAYBOOK],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=False)


def test_no_path_is_refused_naming_both_before_anything_runs():
    proc = run()
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert 'train_cache_ssd_path=planned' in out and 'train_cache_ssd_path=unplanned' in out, out[-3000:]
    assert 'Nothing was changed' in out
    assert 'TASK [resilience.dr.train_cache : Load bcache]' not in out


def test_an_unknown_path_fails_the_argument_spec():
    proc = run(train_cache_ssd_path='dead')
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert 'train_cache_ssd_path' in out and 'planned, unplanned' in out, out[-3000:]
    assert 'Load bcache' not in out
