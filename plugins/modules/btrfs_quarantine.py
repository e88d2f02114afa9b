#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: btrfs_quarantine
short_description: Move files a scrub could not repair aside, so that they can be restored from the backup
version_added: 0.1.0
author: resilience.dr contributors (@resilience-dr)
description:
  - Rung 2 of the BTRFS corruption ladder (C(playbooks/recover-btrfs-corruption.yml)).
  - Each path in O(paths) (relative to O(mountpoint), as C(btrfs_scrub) returns them in
    C(affected_files)) is read. A regular file that fails to read is renamed into
    O(quarantine_dir) under its own relative path (same filesystem, no data copied, never
    deleted) and listed in C(MANIFEST.json) there. A file that reads completely is left alone,
    so a second run changes nothing.
  - Users' data is not trusted - names are opened below O(mountpoint) through directory
    descriptors with C(O_NOFOLLOW); a symlink on the way is never followed and the path is
    reported in RV(unsafe), untouched.
options:
  mountpoint:
    description: The mounted filesystem.
    type: path
    required: true
  paths:
    description: Damaged paths relative to O(mountpoint).
    type: list
    elements: str
    required: true
  quarantine_dir:
    description: Where the damaged copies go, relative to O(mountpoint).
    type: str
    default: .resilience-dr/damaged
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads the files and reports which would move; moves nothing.
  diff_mode:
    support: none
    details: RV(entries) says what moved where.
  platform:
    support: full
    platforms: posix
seealso:
  - module: resilience.dr.btrfs_scrub
  - module: resilience.dr.restic_restore
'''

EXAMPLES = r'''
- name: Move the damaged copies aside
  resilience.dr.btrfs_quarantine:
    mountpoint: /mnt/storage
    paths: "{{ scrub.affected_files | map(attribute='path') | list }}"
  register: quarantine
'''

RETURN = r'''
entries:
  description: One per path - C(path), C(state) (C(moved), C(damaged) in check mode, C(readable),
    C(missing), C(unsafe), C(not-a-file), C(in-quarantine)), C(present), C(detail) and
    C(quarantined_as).
  returned: always
  type: list
  elements: dict
to_restore:
  description: Paths that need restoring from the backup (moved aside, or missing).
  returned: always
  type: list
  elements: str
readable:
  description: Paths that read completely (nothing to do).
  returned: always
  type: list
  elements: str
unsafe:
  description: Paths left untouched because a component is a symlink or not a regular file.
  returned: always
  type: list
  elements: str
quarantine_dir:
  description: The absolute quarantine directory.
  returned: always
  type: str
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.resilience.dr.plugins.module_utils.runner import run_module
from ansible_collections.resilience.dr.plugins.module_utils.btrfs.quarantine import (
    quarantine_files)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            mountpoint=dict(type='path', required=True),
            paths=dict(type='list', elements='str', required=True),
            quarantine_dir=dict(type='str', default='.resilience-dr/damaged'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    run_module(module, lambda: quarantine_files(p['mountpoint'], p['paths'], p['quarantine_dir'],
                                                module.check_mode))


if __name__ == '__main__':
    main()
