# -*- coding: utf-8 -*-
"""resilience.dr.train_storage refuses to start without its HDDs: the argument spec requires
train_storage_backing_devices (it has no default, so 'required' fires) and rejects a mode
outside its choices, and the preflight refuses an empty list, before any task that touches a
disk.  Runs the preflight entry point on the host in check mode."""

import json
import subprocess
import sys

import pytest

from testlib import REPO, ansible_env, bin_path

pytestmark = pytest.mark.integration

PLAYBOOK = REPO + '/tests/integration/playbooks/train_storage_preflight_host.yml'


def run(**extra):
    extra.setdefault('ansible_python_interpreter', sys.executable)
    env = ansible_env({'ANSIBLE_STDOUT_CALLBACK': 'ansible.builtin.default'})
    env.pop('ANSIBLE_CALLBACKS_ENABLED')  # ansible.cfg's list; an empty value breaks ansible-playbook
    return subprocess.run([bin_path('ansible-playbook'), '-i', 'localhost,', '-c', 'local',
                           '--check', '-e', json.dumps(extra), PLAYBOOK],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=False)


def test_missing_hdds_fail_the_argument_spec():
    proc = run()
    assert proc.returncode != 0
    assert 'missing required arguments: train_storage_backing_devices' in proc.stdout + proc.stderr
    assert 'Load bcache' not in proc.stdout  # nothing ran after the validation


def test_an_empty_list_and_a_bad_mode_are_refused():
    proc = run(train_storage_backing_devices=[])
    assert proc.returncode != 0
    assert 'train_storage_backing_devices is empty' in proc.stdout and 'Nothing was changed' in proc.stdout
    assert 'Load bcache' not in proc.stdout
    proc = run(train_storage_backing_devices=['/dev/disk/by-id/ata-EXAMPLE_HDD_1'], train_storage_mode='rebuild')
    assert proc.returncode != 0
    assert 'train_storage_mode' in proc.stdout + proc.stderr and 'assemble, create' in proc.stdout + proc.stderr
    assert 'Load bcache' not in proc.stdout
