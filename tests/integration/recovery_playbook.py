# -*- coding: utf-8 -*-
"""Run one of the collection's recovery playbooks against localhost and read its report.

For the host integration tests of the train-server playbooks (loop devices, local restic):
``run_playbook`` returns the exit code, the output, the recovery report of this run and the
wall time, and prints the time per phase (the numbers in docs/benchmarks.md).
"""

import glob
import json
import os
import re
import subprocess
import time

from testlib import REPO, ansible_env, bin_path


def run_playbook(playbook, scenario, extra, report_dir, label=None):
    """``ansible-playbook playbooks/<playbook>`` on localhost with ``extra`` as extra vars."""
    os.makedirs(report_dir, exist_ok=True)
    pattern = os.path.join(report_dir, '%s-*.json' % scenario)
    before = set(glob.glob(pattern))
    env = ansible_env({'RESILIENCE_DR_REPORT_DIR': report_dir,
                       'ANSIBLE_STDOUT_CALLBACK': 'ansible.builtin.default'})
    env.pop('ANSIBLE_CALLBACKS_ENABLED')
    started = time.time()
    proc = subprocess.run([bin_path('ansible-playbook'), '-i', 'localhost,', '-c', 'local',
                           '-e', json.dumps(dict(extra, dr_hosts='localhost')),
                           os.path.join(REPO, 'playbooks', playbook)],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=900,
                          check=False)
    seconds = time.time() - started
    out = proc.stdout + proc.stderr
    new = sorted(set(glob.glob(pattern)) - before)
    assert len(new) == 1, out[-4000:]
    with open(new[0]) as handle:
        report = json.load(handle)
    print('%s: %.1f s; phases %s' % (label or playbook, seconds, ', '.join(
        '%s %.1f s' % (p['name'], p['duration_seconds']) for p in report['phases'])))
    return proc.returncode, out, report, seconds


def changed_count(output):
    """The changed count of localhost in the play recap."""
    recap = re.search(r'localhost\s*:\s*ok=\d+\s+changed=(\d+)', output)
    assert recap, output[-3000:]
    return int(recap.group(1))
