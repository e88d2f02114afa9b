#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: restic_locks
short_description: List a restic repository's locks and remove only the stale ones
version_added: 0.1.0
author: resilience.dr contributors (@resilience-dr)
description:
  - Reads every lock (C(restic list locks), C(restic cat lock)) and classifies it - C(stale)
    (this host, its process is gone or is no restic), C(live) (this host, a running restic),
    C(old) (another host, older than 30 minutes - a live restic refreshes its lock every 5
    minutes), C(foreign) (another host, recent).
  - With O(state=absent) (the default) and at least one C(stale) or C(old) lock it runs
    C(restic unlock), which removes only what restic calls stale, never a live lock, and lists
    the locks again to report what went. Without a stale lock nothing runs.
  - Run it on the host that ran the backup, so that the process check sees that host's
    processes.
  - Locks belong to the repository, not to snapshots - the snapshot filters (O(host), O(tags),
    O(paths)) shared by the restic modules do not apply here and are ignored.
extends_documentation_fragment:
  - resilience.dr.restic
  - resilience.dr.restic.snapshot_filters
  - ansible.builtin.action_common_attributes
options:
  state:
    description:
      - V(absent) - no stale lock is left. V(listed) - only report.
    type: str
    choices: [absent, listed]
    default: absent
attributes:
  check_mode:
    support: full
    details: Lists and classifies the locks, and reports the unlock it would run.
  diff_mode:
    support: none
    details: RV(removed) and RV(kept) say what changed.
  platform:
    support: full
    platforms: posix
seealso:
  - module: resilience.dr.restic_snapshot_info
'''

EXAMPLES = r'''
- name: Remove the lock a power cut left behind (never a live one)
  resilience.dr.restic_locks:
    repository: rclone:gdrive:backups/ml-train-server
    password_file: /root/.restic-password
  register: locks
'''

RETURN = r'''
locks:
  description: The locks found before, each with C(id), C(kind), C(hostname), C(pid),
    C(exclusive), C(time), C(age_seconds) and C(username).
  returned: always
  type: list
  elements: dict
removed:
  description: The stale locks removed (in check mode, those that would be).
  returned: always
  type: list
  elements: dict
kept:
  description: The locks left (live, or recent locks of other hosts).
  returned: always
  type: list
  elements: dict
plan:
  description: The unlock step, when one is needed.
  returned: always
  type: list
  elements: dict
commands:
  description: Commands run (credentials never shown).
  returned: always
  type: list
  elements: dict
'''

from ansible_collections.resilience.dr.plugins.module_utils.runner import Runner
from ansible_collections.resilience.dr.plugins.module_utils.restic.locks import LockManager
from ansible_collections.resilience.dr.plugins.module_utils.restic.module import (
    restic_from_module, restic_module, run_restic_module)


def main():
    module = restic_module(dict(
        state=dict(type='str', choices=['absent', 'listed'], default='absent'),
    ))
    runner = Runner(module)

    def work():
        manager = LockManager(module, restic_from_module(module, runner))
        if module.params['state'] == 'listed':
            locks = manager.locks()
            return {'changed': False, 'plan': [], 'locks': locks, 'removed': [], 'kept': locks}
        return manager.run()

    run_restic_module(module, runner, work)


if __name__ == '__main__':
    main()
