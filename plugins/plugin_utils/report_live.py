# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The running recovery report as seen from outside the callback.

* :func:`register` is called by the ``resilience.dr.recovery_report`` callback when a playbook
  starts; :func:`active` tells a lookup in the same ``ansible-playbook`` (task workers are forked
  from it) whether the callback is recording, so a playbook can refuse to run without its report.
* :func:`stats_summary` is the short summary published as job artifacts (``set_stats`` data
  under ``resilience_dr_report``): what an AWX workflow branches on.
* :func:`runner_artifact_dir` is where ansible-runner (and so AWX) keeps a job's artifacts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

STATS_KEY = 'resilience_dr_report'
# ansible-runner exports the job's artifact directory to ansible-playbook under this name
# (ansible_runner/config/_base.py: /runner/artifacts/<ident> in a container, else
# <private_data_dir>/artifacts/<ident>).
RUNNER_ARTIFACT_ENV = 'AWX_ISOLATED_DATA_DIR'

_STATE = {'recorder': None}


def register(recorder):
    """The callback is recording this run in ``recorder``."""
    _STATE['recorder'] = recorder


def active():
    """The recorder of the running callback, or None when the callback is not loaded."""
    return _STATE['recorder']


def runner_artifact_dir(environ=None):
    """The ansible-runner artifact directory of this job, or None outside ansible-runner."""
    environ = os.environ if environ is None else environ
    path = environ.get(RUNNER_ARTIFACT_ENV)
    return path if path else None


def stats_summary(report, paths=(), report_dir=None):
    """The report's summary as plain data for ``set_stats``: scenario, outcome, RTO and RPO
    against their targets, verification counts, warnings and failures, and the report files."""
    return {
        'format': report['format'],
        'scenario': report['scenario'],
        'outcome': report['outcome'],
        'recovered': report['outcome'] in ('recovered', 'recovered_with_warnings')
        and not report.get('check_mode'),
        'check_mode': bool(report.get('check_mode')),
        'started': report['started'],
        'ended': report['ended'],
        'rto': dict(report['rto']),
        'rpo': dict((k, v) for k, v in report['rpo'].items() if k != 'sources'),
        'verification': dict(report['verification']),
        'warnings': ['%s: %s' % (w['host'], w['message']) for w in report['warnings']],
        'failures': ['%s / %s / %s: %s' % (f['phase'], f['host'], f['task'], f['msg'])
                     for f in report['failures']],
        'report_dir': report_dir,
        'report_files': list(paths),
    }
