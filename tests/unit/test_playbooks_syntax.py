"""Every playbook passes ``ansible-playbook --syntax-check`` with the example inventory."""

import glob
import os
import subprocess

import pytest

from testlib import REPO, ansible_env, bin_path

PLAYBOOKS = sorted(glob.glob(os.path.join(REPO, 'playbooks', '*.yml')))


@pytest.mark.parametrize('playbook', PLAYBOOKS, ids=os.path.basename)
def test_syntax_check(playbook):
    proc = subprocess.run(
        [bin_path('ansible-playbook'), '--syntax-check', '-i',
         os.path.join(REPO, 'inventories', 'train-server'), playbook],
        capture_output=True, text=True, env=ansible_env(), cwd=REPO, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_there_are_playbooks():
    names = {os.path.basename(p) for p in PLAYBOOKS}
    assert {'recover-os-disk.yml', 'setup-backups.yml', 'setup-train-server.yml'} <= names
