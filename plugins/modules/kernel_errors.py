#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: kernel_errors
short_description: Kernel errors since boot, and every storage line (BTRFS, bcache, I/O errors)
version_added: 0.1.0
author: resilience.dr contributors (@resilience-dr)
description:
  - Reads C(/dev/kmsg) from the oldest record the ring buffer holds (the boot, unless it
    wrapped - RV(lost) says so) and returns the records at O(max_level) or worse, plus every
    BTRFS error/warning, bcache, I/O error and device reset line at any level.
  - Read-only; what a recovery after a power cut reports before it touches anything.
options:
  max_level:
    description: The mildest level returned for lines that are not storage lines.
    type: str
    choices: [emerg, alert, crit, err, warning]
    default: err
  limit:
    description: Return at most this many records (the newest).
    type: int
    default: 200
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads only; the same in check mode.
  diff_mode:
    support: none
    details: Changes nothing.
  platform:
    support: full
    platforms: posix
    details: Linux (C(/dev/kmsg); root or CAP_SYSLOG where dmesg_restrict is set).
'''

EXAMPLES = r'''
- name: What the kernel complained about since boot
  resilience.dr.kernel_errors:
  register: kernel
'''

RETURN = r'''
records:
  description: The records, oldest first - C(level), C(seq), C(seconds) since boot, C(message).
  returned: always
  type: list
  elements: dict
count:
  description: How many records matched (before O(limit)).
  returned: always
  type: int
storage_count:
  description: How many of them are storage lines (BTRFS, bcache, I/O errors). A bcache
    C(device already registered) refusal (udev and a recovery registering the same device) is
    listed but not counted.
  returned: always
  type: int
lost:
  description: Whether the ring buffer no longer holds the oldest records since boot.
  returned: always
  type: bool
boot_time:
  description: The boot time, ISO 8601 UTC (from C(/proc/stat)).
  returned: always
  type: str
readable:
  description: False when the kernel log could not be read (then RV(records) is empty).
  returned: always
  type: bool
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.resilience.dr.plugins.module_utils.kernel_log import (
    is_storage_error, read_since_boot, storage_errors)
from ansible_collections.resilience.dr.plugins.module_utils.runner import run_module
from ansible_collections.resilience.dr.plugins.module_utils.timeutil import utc_iso


def boot_epoch(path='/proc/stat'):
    with open(path) as f:
        for line in f:
            if line.startswith('btime '):
                return int(line.split()[1])
    return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            max_level=dict(type='str', default='err',
                           choices=['emerg', 'alert', 'crit', 'err', 'warning']),
            limit=dict(type='int', default=200),
        ),
        supports_check_mode=True,
    )

    def work():
        records, lost = read_since_boot()
        found = storage_errors(records or [], module.params['max_level'])
        btime = boot_epoch()
        return {'changed': False, 'records': found[-module.params['limit']:],
                'count': len(found),
                'storage_count': len([r for r in found if is_storage_error(r['message'])]),
                'lost': lost, 'readable': records is not None,
                'boot_time': utc_iso(btime) if btime else None}

    run_module(module, work)


if __name__ == '__main__':
    main()
