# -*- coding: utf-8 -*-
"""The systemd alternative to the AWX schedule (tools/systemd/resilience-dr-drill.*): both units
pass ``systemd-analyze verify`` (with the checkout's own paths) and the timer's calendar is the
first Sunday of each month."""

import os
import shutil
import subprocess

import pytest

from testlib import REPO

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not shutil.which('systemd-analyze'), reason='needs systemd-analyze')]

UNITS = os.path.join(REPO, 'tools', 'systemd')


def test_units_verify(tmp_path):
    for name in ('resilience-dr-drill.service', 'resilience-dr-drill.timer'):
        with open(os.path.join(UNITS, name)) as handle:
            text = handle.read().replace('/opt/resilience-dr', REPO)
        (tmp_path / name).write_text(text)
    assert os.access(os.path.join(REPO, '.venv', 'bin', 'ansible-playbook'), os.X_OK)
    proc = subprocess.run(['systemd-analyze', 'verify', '--man=no',
                           str(tmp_path / 'resilience-dr-drill.timer'),
                           str(tmp_path / 'resilience-dr-drill.service')],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert 'resilience-dr-drill' not in proc.stderr, proc.stderr
    service = (tmp_path / 'resilience-dr-drill.service').read_text()
    assert 'playbooks/dr-drill.yml' in service and os.path.isfile(
        os.path.join(REPO, 'playbooks', 'dr-drill.yml'))


def test_timer_is_monthly():
    with open(os.path.join(UNITS, 'resilience-dr-drill.timer')) as handle:
        calendar = [l.split('=', 1)[1] for l in handle.read().splitlines() if l.startswith('OnCalendar=')]
    proc = subprocess.run(['systemd-analyze', 'calendar', '--iterations=3', calendar[0]],
                          capture_output=True, text=True, check=True)
    nexts = [l for l in proc.stdout.splitlines() if 'Next elapse' in l or l.strip().startswith('Iter.')]
    assert len(nexts) == 3, proc.stdout
    months = set()
    for line in nexts:
        date = line.split(':', 1)[1].split()[1]        # "Sun 2026-12-06 04:00:00 UTC"
        assert 1 <= int(date.split('-')[2]) <= 7
        months.add(date[:7])
    assert len(months) == 3                              # once a month
