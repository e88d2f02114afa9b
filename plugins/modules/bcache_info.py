#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: bcache_info
short_description: Report bcache cache sets, backing devices, dirty data and tunables
version_added: 0.1.0
author: resilience.dr contributors (@resilience-dr)
description:
  - Read-only. Reports every registered bcache backing device (its C(/dev/bcacheN), cache set,
    state, mode, dirty data and tunables), every cache set (its cache devices and hit ratio),
    backing devices that wait for a missing cache, and bcache superblocks that the kernel has
    not registered.
  - Reads sysfs, C(blkid) and C(bcache-super-show). It never loads the bcache module; a machine
    without bcache gets an empty result, not an error.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options: {}
seealso:
  - module: resilience.dr.bcache_cache
attributes:
  check_mode:
    support: full
    details: Read-only; runs the same in check mode.
  diff_mode:
    support: none
    details: Nothing changes, so there is no diff.
  platform:
    support: full
    platforms: linux
'''

EXAMPLES = r'''
- name: Read the bcache state
  resilience.dr.bcache_info:
  register: bcache

- name: Refuse to continue while a cache holds dirty data
  ansible.builtin.assert:
    that: bcache.dirty | length == 0
    fail_msg: "dirty data on {{ bcache.dirty }}"
'''

RETURN = r'''
loaded:
  description: Whether the bcache kernel module is loaded (C(/sys/fs/bcache) exists).
  returned: always
  type: bool
cache_sets:
  description: Registered cache sets.
  returned: always
  type: list
  elements: dict
  contains:
    uuid:
      description: Cache set UUID.
      type: str
    cache_devices:
      description: Its cache devices.
      type: list
      elements: str
    backing_devices:
      description: Backing devices attached to it.
      type: list
      elements: str
    hit_ratio:
      description: C(stats_total/cache_hit_ratio) in percent.
      type: int
    cache_hits:
      description: C(stats_total/cache_hits).
      type: int
    cache_misses:
      description: C(stats_total/cache_misses).
      type: int
    cache_available_percent:
      description: Share of the cache not holding dirty data or metadata.
      type: int
backing_devices:
  description: Registered backing devices.
  returned: always
  type: list
  elements: dict
  contains:
    device:
      description: The backing device.
      type: str
      sample: /dev/vdb
    bcache_device:
      description: Its C(/dev/bcacheN), null while not running.
      type: str
    cache_set_uuid:
      description: Attached cache set, null when detached.
      type: str
    state:
      description: C(no cache), C(clean), C(dirty) or C(inconsistent).
      type: str
    status:
      description: The state, or C(waiting for missing cache) / C(not running).
      type: str
    waiting_for_cache:
      description: Registered but not started because its cache set is missing.
      type: bool
    superblock_state:
      description:
        - The cache state its bcache superblock records (C(clean), C(dirty), C(detached),
          C(inconsistent)). For a device waiting for a lost cache, C(dirty) means that cache
          held writes for it that never reached the HDD.
      type: str
    missing_cache_set_uuid:
      description: The cache set it waits for (from its superblock).
      type: str
    dirty_data_bytes:
      description: Dirty data in bytes.
      type: int
    cache_mode:
      description: Cache mode.
      type: str
    sequential_cutoff_bytes:
      description: sequential_cutoff in bytes.
      type: int
    writeback_percent:
      description: writeback_percent.
      type: int
cache_devices:
  description: Registered cache devices and their cache set.
  returned: always
  type: list
  elements: dict
unregistered:
  description: Devices with a bcache superblock the kernel has not registered.
  returned: always
  type: list
  elements: dict
waiting_for_cache:
  description: Backing devices waiting for a missing cache.
  returned: always
  type: list
  elements: str
dirty:
  description: Backing devices whose state is C(dirty).
  returned: always
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.resilience.dr.plugins.module_utils.bcache.discovery import gather_info
from ansible_collections.resilience.dr.plugins.module_utils.bcache.sysfs import Sysfs
from ansible_collections.resilience.dr.plugins.module_utils.runner import Runner, run_module


def main():
    module = AnsibleModule(argument_spec={}, supports_check_mode=True)

    def work():
        result = gather_info(Runner(module), Sysfs('/'))
        result['changed'] = False
        return result

    run_module(module, work)


if __name__ == '__main__':
    main()
