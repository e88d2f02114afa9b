#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: btrfs_scrub
short_description: Scrub a mounted BTRFS filesystem, idempotently, and fail on uncorrectable errors
version_added: 0.1.0
author: resilience.dr contributors (@resilience-dr)
description:
  - Starts a scrub and either waits for it (O(state=completed)) or returns at once
    (O(state=started)); O(state=cancelled) cancels a running one.
  - Idempotent by freshness - a scrub is only started when the last one did not finish
    successfully after a threshold. The threshold is O(since) when given, else now minus
    O(max_age) (default 7 days). The finish time is the last scrub's start time plus its duration
    from C(btrfs scrub status -R). An aborted or cancelled scrub never counts as fresh.
  - A running scrub is not started again; with O(state=completed) the module waits for it.
  - When the scrub (or the fresh one found) reports uncorrectable errors the task fails, unless
    O(fail_on_uncorrectable=false), which only reports them.
options:
  mountpoint:
    description: Mountpoint of the filesystem. One of O(mountpoint), O(label), O(uuid) or
      O(device) is required.
    type: path
  label:
    description: Label of the (mounted) filesystem.
    type: str
  uuid:
    description: UUID of the (mounted) filesystem.
    type: str
  device:
    description: A member device of the (mounted) filesystem.
    type: path
  state:
    description:
      - V(completed) - a scrub has finished after the threshold; start one and wait when not.
      - V(started) - a scrub has finished after the threshold or is running; start one in the
        background when not.
      - V(cancelled) - no scrub is running.
    type: str
    choices: [completed, started, cancelled]
    default: completed
  max_age:
    description:
      - How old the last finished scrub may be, as a number with unit C(s), C(m), C(h), C(d) or
        C(w) (C(7d)). V(0) always scrubs.
    type: str
    default: 7d
  since:
    description:
      - ISO 8601 time (C(2026-11-22T04:00:00Z)) that the last scrub must have finished after, for
        example the end of a recovery. Takes precedence over O(max_age).
    type: str
  readonly:
    description: Scrub read-only (C(btrfs scrub start -r)); errors are found but not repaired.
    type: bool
    default: false
  fail_on_uncorrectable:
    description: Fail the task when the scrub reports uncorrectable errors. V(false) only reports.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for a scrub that was already running (O(state=completed)).
    type: int
    default: 86400
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reports whether a scrub would start (RV(plan)) and changes nothing.
  diff_mode:
    support: none
    details: A scrub changes no configuration; RV(previous) and RV(scrub) are the before and after.
  platform:
    support: full
    platforms: posix
    details: Linux with the btrfs kernel module.
notes:
  - Check mode reports whether a scrub would start and changes nothing.
  - The filesystem must be mounted (M(ansible.posix.mount)); a scrub of an unmounted filesystem is
    refused with that hint.
seealso:
  - module: resilience.dr.btrfs_array_info
'''

EXAMPLES = r'''
- name: Scrub the storage array unless it was scrubbed this week
  resilience.dr.btrfs_scrub:
    mountpoint: /mnt/storage
    max_age: 7d

- name: After a recovery, prove the data is readable (scrub once, since the recovery started)
  resilience.dr.btrfs_scrub:
    label: ml-storage
    since: "{{ recovery_started }}"

- name: Kick off a scrub and go on
  resilience.dr.btrfs_scrub:
    mountpoint: /mnt/storage
    state: started

- name: Only report (a drill that wants the numbers, not a failure)
  resilience.dr.btrfs_scrub:
    mountpoint: /mnt/storage
    max_age: "0"
    fail_on_uncorrectable: false
  register: scrub
'''

RETURN = r'''
status:
  description: Status of the scrub reported (C(finished), C(running), C(aborted), C(never)...).
  returned: always
  type: str
bytes_scrubbed:
  description: Data and tree bytes scrubbed.
  returned: always
  type: int
corrected_errors:
  description: Errors found and repaired from a good copy.
  returned: always
  type: int
uncorrectable_errors:
  description: Errors that could not be repaired.
  returned: always
  type: int
duration_seconds:
  description: Duration of the scrub.
  returned: always
  type: int
started:
  description: Start time (ISO 8601, local time with offset).
  returned: always
  type: str
finished:
  description: Finish time (ISO 8601), null unless finished.
  returned: always
  type: str
threshold:
  description: The time a scrub had to finish after to count as fresh.
  returned: always
  type: str
scrub:
  description: The full result, including the raw counters of C(btrfs scrub status -R).
  returned: always
  type: dict
affected_files:
  description:
    - Files the kernel named in its log while scrubbing, on lines of the filesystem's member
      devices, with the number of error lines and their kinds (C(checksum error), C(i/o error)).
      Paths are relative to the filesystem's top level.
    - For a scrub this run started, exactly the records logged while it ran (read from
      C(/dev/kmsg) by position). For a scrub found already finished or running, the lines of
      C(dmesg --time-format iso) stamped at most 5 seconds before it started (dmesg's wall-clock
      stamps run early).
    - The kernel names files only for data it could not repair or read, so corrected errors
      usually leave this empty. Null when the kernel log could not be read.
  returned: always
  type: list
  elements: dict
  sample: [{path: homes/alice/model.bin, errors: 2, kinds: [checksum error]}]
affected_summary:
  description: RV(affected_files) as one line for a message or a report (the paths, C(none named
    by the kernel), or C(unknown) when the kernel log could not be read).
  returned: always
  type: str
  sample: homes/alice/model.bin, homes/bob/notes.txt
previous:
  description: The scrub status found before this run.
  returned: always
  type: dict
mountpoint:
  description: Mountpoint scrubbed.
  returned: always
  type: str
uuid:
  description: Filesystem UUID.
  returned: always
  type: str
plan:
  description: Planned or executed steps.
  returned: always
  type: list
  elements: dict
commands:
  description: Commands run.
  returned: always
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.resilience.dr.plugins.module_utils.runner import Runner, run_module
from ansible_collections.resilience.dr.plugins.module_utils.btrfs.scrub import ScrubManager


def main():
    module = AnsibleModule(
        argument_spec=dict(
            mountpoint=dict(type='path'),
            label=dict(type='str'),
            uuid=dict(type='str'),
            device=dict(type='path'),
            state=dict(type='str', choices=['completed', 'started', 'cancelled'],
                       default='completed'),
            max_age=dict(type='str', default='7d'),
            since=dict(type='str'),
            readonly=dict(type='bool', default=False),
            fail_on_uncorrectable=dict(type='bool', default=True),
            timeout=dict(type='int', default=86400),
        ),
        required_one_of=[('mountpoint', 'label', 'uuid', 'device')],
        supports_check_mode=True,
    )
    runner = Runner(module)

    def work():
        # An unreadable max_age or since is refused here, before anything runs; uncorrectable
        # errors fail with the whole result (unless fail_on_uncorrectable is false).
        return ScrubManager(module, runner, module.params).run()

    run_module(module, work)


if __name__ == '__main__':
    main()
