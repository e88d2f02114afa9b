#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: btrfs_rescue
short_description: Mount a damaged BTRFS in rescue mode, check it, and repair it only when told to
version_added: 0.1.0
author: resilience.dr contributors (@resilience-dr)
description:
  - Rungs 3 to 5 of the BTRFS corruption ladder (C(playbooks/recover-btrfs-corruption.yml)).
  - O(state=mounted) mounts the filesystem at O(mountpoint), trying in order the normal
    O(options), C(ro,rescue=usebackuproot) and C(ro,rescue=all), and stops at the first that
    works. Every attempt is returned with the kernel's BTRFS lines logged while it ran. A
    filesystem already mounted there is left alone and its mode is read from its options.
    When nothing mounts the task succeeds with RV(mounted=false); the caller decides.
  - O(state=checked) runs C(btrfs check --readonly) on the first member (the filesystem must
    be unmounted) and returns its findings. It never writes.
  - O(state=repaired) runs C(btrfs check --readonly) and then C(btrfs check --repair). It is
    refused unless O(allow_repair=true) and O(safeguard) names the rescue copy or the fresh
    backup that exists. C(--repair) can destroy data.
options:
  mountpoint:
    description: Where the filesystem is (to be) mounted.
    type: path
    required: true
  devices:
    description: The filesystem's member devices (C(/dev/bcacheN) on the train server). The
      first one that exists is given to mount and check.
    type: list
    elements: path
    default: []
  options:
    description: The normal mount options, tried first.
    type: str
    default: defaults
  rescue:
    description: Try the read-only rescue mounts when the normal mount fails.
    type: bool
    default: true
  state:
    description: See the description.
    type: str
    choices: [mounted, checked, repaired]
    default: mounted
  allow_repair:
    description: Allow C(btrfs check --repair) (O(state=repaired)).
    type: bool
    default: false
  safeguard:
    description: What protects the data before C(--repair) (the rescue copy's path, or the
      fresh backup's snapshot id and age). Required for O(state=repaired).
    type: str
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Returns the mounts and checks it would try (RV(plan)); runs nothing.
  diff_mode:
    support: none
    details: A mount or a check changes no configuration file; RV(attempts) records what ran.
  platform:
    support: full
    platforms: posix
    details: Linux with the btrfs kernel module and btrfs-progs.
notes:
  - The rescue mounts are read-only. Copy the data out (C(train_btrfs_repair_copy_to) in the
    playbook) before anything else.
seealso:
  - module: resilience.dr.btrfs_scrub
  - module: resilience.dr.btrfs_quarantine
'''

EXAMPLES = r'''
- name: Mount, falling back to the read-only rescue mounts
  resilience.dr.btrfs_rescue:
    mountpoint: /mnt/storage
    devices: [/dev/bcache0, /dev/bcache1, /dev/bcache2, /dev/bcache3]
    options: compress=zstd:3,space_cache=v2,relatime
  register: rescue_mount

- name: What btrfs check --readonly finds
  resilience.dr.btrfs_rescue:
    mountpoint: /mnt/storage
    devices: [/dev/bcache0]
    state: checked

- name: The last resort, only with the explicit variable
  resilience.dr.btrfs_rescue:
    mountpoint: /mnt/storage
    devices: [/dev/bcache0]
    state: repaired
    allow_repair: "{{ allow_check_repair }}"
    safeguard: rescue copy at /mnt/external/rescue
'''

RETURN = r'''
mounted:
  description: Whether the filesystem is mounted at O(mountpoint) now (O(state=mounted)).
  returned: state is mounted
  type: bool
mode:
  description:
    - How it is mounted - C(normal), C(usebackuproot), C(rescue-all), or C(read-only) for a
      read-only mount found there (the kernel does not show usebackuproot once mounted).
    - Null when not mounted.
  returned: state is mounted
  type: str
read_only:
  description: Whether the mount is read-only.
  returned: when mounted
  type: bool
attempts:
  description: The mounts tried this run, each with C(mode), C(options), C(ok), C(command),
    C(error) and C(kernel) (the BTRFS kernel lines it logged).
  returned: state is mounted
  type: list
  elements: dict
check:
  description: C(btrfs check --readonly) - C(clean), C(rc), C(findings) (error lines), C(opened)
    (false when the tree root could not be read) and C(command). Null in check mode.
  returned: state is checked or repaired
  type: dict
repair:
  description: C(btrfs check --repair), the same fields as RV(check).
  returned: state is repaired
  type: dict
plan:
  description: The steps planned (check mode) or executed.
  returned: always
  type: list
  elements: dict
commands:
  description: Commands run.
  returned: always
  type: list
  elements: dict
mountpoint:
  description: O(mountpoint).
  returned: always
  type: str
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.resilience.dr.plugins.module_utils.runner import Runner, run_module
from ansible_collections.resilience.dr.plugins.module_utils.btrfs.rescue import RescueManager


def main():
    module = AnsibleModule(
        argument_spec=dict(
            mountpoint=dict(type='path', required=True),
            devices=dict(type='list', elements='path', default=[]),
            options=dict(type='str', default='defaults'),
            rescue=dict(type='bool', default=True),
            state=dict(type='str', choices=['mounted', 'checked', 'repaired'], default='mounted'),
            allow_repair=dict(type='bool', default=False),
            safeguard=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    runner = Runner(module)
    run_module(module, lambda: RescueManager(module, runner, module.params).run())


if __name__ == '__main__':
    main()
