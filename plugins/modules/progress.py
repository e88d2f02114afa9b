#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: progress
short_description: Wait for a long async step and show its progress (percent, bytes, rate, ETA)
version_added: 0.1.0
author: resilience.dr contributors (@resilience-dr)
description:
  - Waits for a task started with C(async) and C(poll) set to 0 (a restore, a scrub, a cache flush, a
    device replace) and prints a progress line every O(interval) seconds in the terminal and in
    AWX's job output, read by a probe on the managed host.
  - Returns the job's own result, exactly as the module returns it when run without C(async),
    so a C(register) of this task replaces the C(register) of the step.
  - An action plugin; the probes only read (C(btrfs scrub status), C(btrfs replace status),
    bcache's C(dirty_data), C(du -sb)).
options:
  jid:
    description: The C(ansible_job_id) of the async task.
    type: str
    required: true
  probe:
    description:
      - How to read the progress. V(btrfs_scrub) and V(btrfs_replace) need O(path) (the mount
        point); V(bcache_flush) needs O(devices) (C(bcacheN) names or paths); V(bytes_in) needs
        O(path) (bytes written under it, for example a restore target) and uses O(total_bytes).
    type: str
    required: true
    choices: [bcache_flush, btrfs_replace, btrfs_scrub, bytes_in]
  path:
    description: The mount point or directory the probe reads.
    type: path
  devices:
    description: The bcache devices for V(bcache_flush).
    type: list
    elements: str
    default: []
  total_bytes:
    description: The expected total for V(bytes_in) (for example the snapshot's size), for percent and ETA.
    type: int
  label:
    description: What the progress lines call the step (default the probe and its path).
    type: str
  interval:
    description: Seconds between progress lines.
    type: float
    default: 30.0
  timeout:
    description: Fail after this many seconds (the job keeps running); 0 waits for ever.
    type: int
    default: 0
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  check_mode:
    description: Waits for the job, which ran in check mode if its task did.
    support: full
  diff_mode:
    description: No diff of its own; the step's result is returned as it is.
    support: none
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  platform:
    description: The probes run on the managed host with a POSIX shell.
    support: full
    platforms: posix
notes:
  - The async job's status file is removed when it finished.
'''

EXAMPLES = r'''
- name: Scrub the array (may take hours)
  resilience.dr.btrfs_scrub:
    mountpoint: /mnt/storage
    max_age: "0"
  async: 86400
  poll: 0
  register: scrub_job

- name: Scrub the array - progress
  resilience.dr.progress:
    jid: "{{ scrub_job.ansible_job_id }}"
    probe: btrfs_scrub
    path: /mnt/storage
  register: scrub
'''

RETURN = r'''
# The async job's result: the return values of the module that ran.
'''

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict(
        jid=dict(type='str', required=True),
        probe=dict(type='str', required=True,
                   choices=['bcache_flush', 'btrfs_replace', 'btrfs_scrub', 'bytes_in']),
        path=dict(type='path'),
        devices=dict(type='list', elements='str', default=[]),
        total_bytes=dict(type='int'),
        label=dict(type='str'),
        interval=dict(type='float', default=30.0),
        timeout=dict(type='int', default=0),
    ), supports_check_mode=True)
    module.fail_json(msg='resilience.dr.progress runs as an action plugin on the controller')


if __name__ == '__main__':
    main()
