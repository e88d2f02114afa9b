#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: dr_drill_report
short_description: Write a DR drill's JSON and JUnit XML reports and append to its trend
version_added: 0.1.0
author: resilience.dr contributors (@resilience-dr)
description:
  - The last play of C(playbooks/dr-drill.yml) gathers the C(dr_drill_result) fact of every
    drilled system (the train server's C(resilience.dr.train_drill), ClaudeFS's
    C(resilience.dr.claudefs_drill)) and calls this module on the controller.
  - Writes C(dr-drill-<UTC start>.json) and C(dr-drill-<UTC start>.xml) (JUnit, one testsuite per
    system/target, one testcase per check; C(warn) and C(fail) are failures) into O(dir), both
    atomically, and appends one line per target to O(dir)/C(trend.jsonl).
  - Judges every target against the trend - for a target that did not pass, which backup is
    unusable and since when (the backup time of the first failing drill after the newest one that
    passed) - and returns RV(passed). The module itself does not fail on a failed drill, so that
    the files are always written; the playbook fails the run after it when RV(passed) is false.
  - A result that breaks the contract (no checks, an unknown status) is reported as a failing
    check, never dropped.
  - See C(docs/drill.md) for the formats.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  results:
    description: The C(dr_drill_result) of every drilled system (see C(docs/drill.md)).
    type: list
    elements: raw
    required: true
  dir:
    description: The directory for the reports and the trend (created when missing). Keep it across runs.
    type: path
    required: true
  run_started:
    description: The run's start (ISO 8601 UTC); names the files and the trend lines. Default now.
    type: str
attributes:
  check_mode:
    support: full
    details: Writes nothing and returns the JSON document (RV(report)), the JUnit XML (RV(junit)) and the trend lines it would write.
  diff_mode:
    support: none
    details: Every run writes new files; there is nothing to diff.
  platform:
    support: full
    platforms: posix
seealso:
  - module: resilience.dr.restic_manifest_verify
'''

EXAMPLES = r'''
- name: Write the drill report
  resilience.dr.dr_drill_report:
    results: "{{ groups['all'] | map('extract', hostvars, 'dr_drill_result') | select('defined') | list }}"
    dir: /var/lib/resilience-dr/drill
  register: drill

- name: Verify - every drilled backup restores
  ansible.builtin.assert:
    that: drill.passed
    fail_msg: "{{ drill.unusable | join('; ') }}"
'''

RETURN = r'''
passed:
  description: Every target's every check passed (a C(warn) fails the drill).
  returned: always
  type: bool
run:
  description: The run's start (ISO 8601 UTC).
  returned: always
  type: str
files:
  description: The JSON, JUnit XML and trend files (written, or that would be in check mode).
  returned: always
  type: dict
  sample: {json: /var/lib/resilience-dr/drill/dr-drill-20260101T030000Z.json,
           junit: /var/lib/resilience-dr/drill/dr-drill-20260101T030000Z.xml,
           trend: /var/lib/resilience-dr/drill/trend.jsonl}
report:
  description: The JSON document (C(format) resilience.dr/dr-drill/v1) with every target, its checks, metrics and verdict.
  returned: always
  type: dict
junit:
  description: The JUnit XML that would be written.
  returned: check mode
  type: str
trend_lines:
  description: The lines appended to the trend (one per target).
  returned: always
  type: list
  elements: dict
unusable:
  description: One sentence per target that did not pass, naming the backup and since when it is unusable.
  returned: always
  type: list
  elements: str
  sample: ["train/train1: backup 4de0b51c (taken 2026-01-01T02:00:00Z) is UNUSABLE (manifest:fail); unusable since
            2026-01-01T02:00:00Z (the backup of the first failing drill, 2026-01-02T03:00:00Z); last good drill
            2025-12-01T03:00:00Z on backup 9a1f... (taken 2025-12-01T02:00:00Z)"]
dr_report_verified:
  description: One verification per target for the recovery report (resilience.dr.recovery_report).
  returned: always
  type: list
  elements: dict
dr_report_warnings:
  description: RV(unusable), as warnings of the recovery report.
  returned: always
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.resilience.dr.plugins.module_utils.drill.report import DrillReport
from ansible_collections.resilience.dr.plugins.module_utils.runner import run_module


def main():
    module = AnsibleModule(
        argument_spec=dict(
            results=dict(type='list', elements='raw', required=True),
            dir=dict(type='path', required=True),
            run_started=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    report = DrillReport(p['dir'], p['results'], run_started=p['run_started'],
                         check_mode=module.check_mode)
    run_module(module, report.run_report)


if __name__ == '__main__':
    main()
