# -*- coding: utf-8 -*-
"""resilience.dr.train_users refuses, before any change, to renumber an existing user or
group, and to create homes when the storage root is not mounted.  Runs against the host's
real account database in check mode (a refusal must not depend on check mode: the asserts
come before the first task that changes anything)."""

import json
import os
import pwd
import subprocess
import sys

import pytest

from testlib import REPO, ansible_env, bin_path

# Without the marker no tier of scripts/test.sh selected these tests.
pytestmark = pytest.mark.integration

PLAYBOOK = os.path.join(REPO, 'tests', 'integration', 'playbooks', 'train_users_host.yml')


def run(tmp_path, **extra):
    extra.setdefault('ansible_python_interpreter', sys.executable)
    env = ansible_env({'ANSIBLE_STDOUT_CALLBACK': 'ansible.builtin.default',
                       'RESILIENCE_DR_REPORT_DIR': str(tmp_path.parent / 'reports')})
    env.pop('ANSIBLE_CALLBACKS_ENABLED')  # ansible.cfg's list; an empty value breaks ansible-playbook
    return subprocess.run([bin_path('ansible-playbook'), '-i', 'localhost,', '-c', 'local',
                           '--check', '-e', json.dumps(extra), PLAYBOOK],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=False)


def test_existing_user_with_another_uid_is_refused(tmp_path):
    me = pwd.getpwuid(os.getuid())
    wrong = me.pw_uid + 4242
    before = pwd.getpwnam(me.pw_name)
    proc = run(tmp_path, train_users_require_mounted=False,
               train_users_storage_root=str(tmp_path),
               train_users_accounts=[{'name': me.pw_name, 'uid': wrong}])
    assert proc.returncode != 0
    out = proc.stdout
    assert 'user %s has UID %d, the inventory says %d' % (me.pw_name, me.pw_uid, wrong) in out
    assert 'Nothing was changed' in out
    assert 'changed=0' in out
    assert pwd.getpwnam(me.pw_name) == before
    assert os.listdir(str(tmp_path)) == []


def test_uid_taken_by_another_user_is_refused(tmp_path):
    me = pwd.getpwuid(os.getuid())
    proc = run(tmp_path, train_users_require_mounted=False,
               train_users_storage_root=str(tmp_path),
               train_users_accounts=[{'name': 'zz-dr-newcomer', 'uid': me.pw_uid}])
    assert proc.returncode != 0
    assert 'UID %d (for zz-dr-newcomer) already belongs to user %s' % (me.pw_uid, me.pw_name) \
        in proc.stdout


def test_unmounted_storage_root_is_refused(tmp_path):
    proc = run(tmp_path, train_users_storage_root=str(tmp_path),
               train_users_accounts=[{'name': 'zz-dr-newcomer', 'uid': 64999}])
    assert proc.returncode != 0
    assert 'is not a mount point: refusing to create homes on the OS disk' in proc.stdout
    assert 'train_users_require_mounted=false' in proc.stdout
