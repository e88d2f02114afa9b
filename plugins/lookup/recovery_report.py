# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: recovery_report
short_description: The running recovery report's summary; fails when no report is being recorded
version_added: 0.1.0
author: resilience.dr contributors (@resilience-dr)
description:
  - Returns the summary of the recovery report that the C(resilience.dr.recovery_report)
    callback is recording for this run, as it stands now (scenario, outcome so far, RTO and RPO
    against their targets, verification counts, warnings, failures).
  - Fails with what to do when the callback is not recording, for example because
    C(callbacks_enabled) does not name it or the collection was not found. The collection's
    playbooks call it in their first task, so a run that would end without a report fails
    before it changes anything.
  - Runs on the controller, in the C(ansible-playbook) process that loaded the callback.
options: {}
notes:
  - The callback publishes the same summary as the job's custom stats (C(resilience_dr_report));
    this lookup is for tasks that want to read or re-publish it with C(ansible.builtin.set_stats).
'''

EXAMPLES = r'''
- name: Preflight - the recovery report is recording
  ansible.builtin.debug:
    msg: "recovery report: {{ lookup('resilience.dr.recovery_report').scenario }}"
  run_once: true
'''

RETURN = r'''
_raw:
  description: One summary of the running report.
  type: list
  elements: dict
  contains:
    scenario:
      description: The scenario (C(dr_scenario) or the playbook's name).
      type: str
    outcome:
      description: C(recovered), C(recovered_with_warnings), C(failed) or C(nothing_ran), so far.
      type: str
    rto:
      description: C(target_seconds), C(actual_seconds) and C(met).
      type: dict
    rpo:
      description: C(target_seconds), C(achieved_seconds) and C(met).
      type: dict
    warnings:
      description: The warnings so far.
      type: list
      elements: str
'''

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase

from ansible_collections.resilience.dr.plugins.plugin_utils.report_live import (
    active,
    stats_summary,
)

NOT_RECORDING = (
    'The resilience.dr.recovery_report callback is not recording this run, so it would end '
    'without a recovery report. Enable it: callbacks_enabled = resilience.dr.recovery_report in '
    'the ansible.cfg this run uses (the repository\'s ansible.cfg does; ANSIBLE_CONFIG or '
    'ANSIBLE_CALLBACKS_ENABLED may override it), and make sure the collection is found '
    '(collections_path). Run with -e dr_report_required=false to go on without a report. '
    'Nothing was changed.')


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        recorder = active()
        if recorder is None:
            raise AnsibleError(NOT_RECORDING)
        return [stats_summary(recorder.report())]
