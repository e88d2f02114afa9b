#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: btrfs_array_info
short_description: Report every BTRFS filesystem - members, missing devices, profiles, errors, last scrub
version_added: 0.1.0
author: resilience.dr contributors (@resilience-dr)
description:
  - Lists every BTRFS filesystem on the host, or the one selected by O(label), O(uuid) or
    O(device), mounted or not.
  - For each one it reports the members (devid, path, size, used, missing), the missing devids,
    the profiles, the usage, where it is mounted, the per-device error counters
    (C(btrfs device stats)) and the result of the last scrub.
  - Usage, error counters and the last scrub need the filesystem mounted; for an unmounted one
    they are null. Profiles of an unmounted filesystem are read from its on-disk chunk tree.
  - Read-only. Succeeds with an empty list on a host without any BTRFS (or without btrfs-progs).
options:
  label:
    description: Only the filesystem with this label.
    type: str
  uuid:
    description: Only the filesystem with this UUID.
    type: str
  device:
    description: Only the filesystem that has this device (path or udev symlink) as a member.
    type: path
  stats:
    description: Include the per-device error counters (mounted filesystems only).
    type: bool
    default: true
  scrub:
    description: Include the last scrub's result (mounted filesystems only).
    type: bool
    default: true
  usage:
    description: Include C(btrfs filesystem usage -b) numbers (mounted filesystems only).
    type: bool
    default: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Read-only; runs the same in check mode.
  diff_mode:
    support: none
    details: Nothing changes, so there is no diff.
  platform:
    support: full
    platforms: posix
    details: Linux; an empty list where btrfs-progs is not installed.
notes:
  - Supports check mode (it changes nothing in any mode).
seealso:
  - module: resilience.dr.btrfs_array
  - module: resilience.dr.btrfs_scrub
'''

EXAMPLES = r'''
- name: What BTRFS is there, and is anything missing or failing?
  resilience.dr.btrfs_array_info:
  register: btrfs

- name: Stop when the storage array has a missing member
  ansible.builtin.assert:
    that: (btrfs.filesystems | selectattr('label', 'equalto', 'ml-storage') | first).missing_devids | length == 0
    fail_msg: a member of ml-storage is missing, run the replace playbook

- name: Only the array that holds /dev/bcache0
  resilience.dr.btrfs_array_info:
    device: /dev/bcache0
    scrub: false
'''

RETURN = r'''
filesystems:
  description: One entry per filesystem; empty when there is none.
  returned: always
  type: list
  elements: dict
  contains:
    uuid:
      description: Filesystem UUID.
      type: str
    label:
      description: Label, null when none.
      type: str
    total_devices:
      description: Members the filesystem records.
      type: int
    devices:
      description: Members with devid, path, size, used, missing and stats (error counters, null
        when not mounted).
      type: list
      elements: dict
    missing_devids:
      description: Devids of missing members.
      type: list
      elements: int
    missing_count:
      description: Number of missing members.
      type: int
    profiles:
      description: Profiles per block group type (data, metadata, system).
      type: dict
    usage:
      description: The C(Overall) numbers of C(btrfs filesystem usage -b), in bytes.
      type: dict
    errors:
      description: Sum of all error counters of all members.
      type: int
    mounted:
      description: Whether it is mounted.
      type: bool
    mountpoint:
      description: Its (first) mountpoint.
      type: str
    mountpoints:
      description: All its mountpoints.
      type: list
      elements: str
    last_scrub:
      description: Status, started, finished, duration_seconds, bytes_scrubbed, corrected_errors,
        uncorrectable_errors and the raw counters of the last scrub; status C(never) when none
        ran.
      type: dict
  sample:
    - uuid: c5973b5b-94ed-43f0-aa9b-4c2fabb4cc74
      label: ml-storage
      missing_devids: []
      profiles: {data: [raid10], metadata: [raid10], system: [raid10]}
note:
  description: Why the list is empty when btrfs-progs is not installed.
  returned: when btrfs-progs is missing
  type: str
commands:
  description: The read-only commands that ran.
  returned: always
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.resilience.dr.plugins.module_utils.runner import Runner, run_module
from ansible_collections.resilience.dr.plugins.module_utils.btrfs.info import gather_info


def main():
    module = AnsibleModule(
        argument_spec=dict(
            label=dict(type='str'),
            uuid=dict(type='str'),
            device=dict(type='path'),
            stats=dict(type='bool', default=True),
            scrub=dict(type='bool', default=True),
            usage=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
    )
    runner = Runner(module)

    def work():
        p = module.params
        filesystems, note = gather_info(runner, label=p['label'], uuid=p['uuid'],
                                        device=p['device'], stats=p['stats'], scrub=p['scrub'],
                                        usage=p['usage'])
        result = {'changed': False, 'filesystems': filesystems, 'commands': runner.executed}
        if note:
            result['note'] = note
        return result

    run_module(module, work)


if __name__ == '__main__':
    main()
