#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: bcache_cache
short_description: Manage a bcache cache set and its backing devices
version_added: 0.1.0
author: resilience.dr contributors (@resilience-dr)
description:
  - Declaratively manages one bcache cache set (the SSD or NVMe partition) and the backing
    devices (HDDs) cached by it.
  - C(state=present) creates missing superblocks on blank devices (C(make-bcache -C) and
    C(make-bcache -B)), registers devices that already carry bcache superblocks (after an OS
    reinstall, for example) without ever reformatting them, attaches every backing device to
    the cache set and sets the cache mode and tunables.
  - Backing devices whose cache set is gone (the cache SSD failed or was replaced) are not
    started by the kernel. The module starts them without their cache only with
    O(start_without_cache=true) and reports, per device, the dirty data that was lost with the
    cache (C(0) when the superblock recorded C(clean), C(unknown) when it recorded C(dirty)).
    A new blank O(cache_device) then becomes a new cache set and all devices are attached to it.
  - C(state=detached) first stops new dirty data (C(writethrough), C(writeback_percent=0)),
    waits up to O(flush_timeout) for C(dirty_data) to reach 0, then detaches. If the flush
    does not finish in time it fails, restores the previous mode and leaves the devices attached.
  - C(state=absent) stops and unregisters the devices and wipes their bcache superblocks.
  - Every sysfs write is a plan step written as the equivalent shell command. Check mode
    returns that plan and changes nothing; diff mode shows attachment, mode and tunables before
    and after.
  - All logic lives in the collection's C(bcache) module_utils package; see C(docs/bcache.md).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  cache_device:
    description:
      - The cache device (an SSD or NVMe partition), for example
        C(/dev/disk/by-partlabel/ml-bcache). Symlinks are resolved.
      - May be omitted with C(state=present) to only register, start and tune backing devices
        (for example to run them without a failed cache).
      - With C(state=present) at least one of O(cache_device) and O(backing_devices) is required.
    type: str
  backing_devices:
    description:
      - The backing devices (HDDs). Their bcache devices C(/dev/bcacheN) are reported in
        RV(backing_devices).
    type: list
    elements: str
  cache_mode:
    description:
      - Cache mode of every backing device. It is stored in the backing superblock.
      - Omit it to leave the current mode alone.
    type: str
    choices: [writethrough, writeback, writearound, none]
  sequential_cutoff:
    description:
      - Sequential IO larger than this bypasses the cache. Bytes, or a size with a binary unit
        (C(0), C(512k), C(4M)). C(0) caches all IO.
      - Not stored on disk; see O(persist).
    type: str
  writeback_percent:
    description:
      - Target percentage of the cache that may hold dirty data (writeback rate control).
      - The kernel clamps it to its C(bch_cutoff_writeback) limit (40 by default); a larger
        value is replaced by that limit with a warning, so that re-runs stay idempotent.
      - Not stored on disk; see O(persist).
    type: int
  state:
    description:
      - V(present) builds, registers, attaches and tunes; V(detached) flushes and detaches the
        backing devices from their cache; V(absent) stops everything and wipes the superblocks.
    type: str
    choices: [present, detached, absent]
    default: present
  flush_timeout:
    description:
      - Seconds to wait for dirty data to be written back before a detach. A dirty device with
        O(flush_timeout=0) is refused unless O(force=true).
    type: int
    default: 300
  force:
    description:
      - Allows destructive or risky steps, each of which is refused otherwise with a message
        that names this option.
      - Wipe another signature (a filesystem, a BTRFS member, a partition table) before
        C(make-bcache); detach backing devices whose cache is missing (their dirty data is lost);
        move a device from another cache set; C(state=absent).
    type: bool
    default: false
  start_without_cache:
    description:
      - Start backing devices that wait for a cache set which is not present, so that
        C(/dev/bcacheN) appears. Any dirty data that only the lost cache held is gone; the result
        reports it in RV(data_lost). The kernel marks such devices C(inconsistent) until they are
        attached to a new cache set.
    type: bool
    default: false
  persist:
    description:
      - Make O(sequential_cutoff) and O(writeback_percent), which the kernel forgets at every
        registration, survive reboots. Writes one udev rule per backing device (matched by its
        bcache UUID) into O(persist_path) that re-applies them when the device registers.
      - With C(state=absent) the rules of the wiped devices are removed.
    type: bool
    default: false
  persist_path:
    description:
      - The udev rules file that O(persist) manages. Lines for other devices are kept.
    type: path
    default: /etc/udev/rules.d/70-resilience-bcache.rules
notes:
  - Needs a kernel with bcache (the module is loaded with C(modprobe bcache) when missing) and
    C(bcache-tools) (C(make-bcache), C(bcache-super-show)). On a kernel without bcache (neither
    loaded nor listed in C(/lib/modules/<release>/modules.dep) or C(modules.builtin)) the module
    fails, in check mode too, with RV(bcache_available=false) and a message naming the kernel;
    only O(state=absent) on unregistered superblocks works without it.
  - A device that is mounted, swap, held (device-mapper, md, bcache), held open exclusively, or a
    whole disk with such a partition is never formatted, whatever O(force) says. Device paths
    are compared as block devices (symlinks resolved).
  - Check mode cannot know the UUID that C(make-bcache -C) would pick, so it chooses one and
    passes it with C(--cset-uuid); the plan shows it.
seealso:
  - module: resilience.dr.bcache_info
  - name: Kernel documentation of bcache
    description: Documentation/admin-guide/bcache.rst in the Linux source.
    link: https://docs.kernel.org/admin-guide/bcache.html
attributes:
  check_mode:
    support: full
    details: Check mode returns the plan and changes nothing.
  diff_mode:
    support: full
    details: Shows attachment, state, cache mode, tunables and the persistence rule before and after.
  platform:
    support: full
    platforms: linux
    details: Needs a Linux kernel with bcache (built in or as a module) and bcache-tools.
'''

EXAMPLES = r'''
- name: Build the train server's cache layer (NVMe partition + 4 HDDs, writeback)
  resilience.dr.bcache_cache:
    cache_device: /dev/disk/by-partlabel/ml-bcache
    backing_devices: [/dev/sdb, /dev/sdc, /dev/sdd, /dev/sde]
    cache_mode: writeback
    sequential_cutoff: "0"
    writeback_percent: 40
    persist: true

- name: After the cache SSD died, run the HDDs without it (dirty data on the SSD is lost)
  resilience.dr.bcache_cache:
    backing_devices: [/dev/sdb, /dev/sdc, /dev/sdd, /dev/sde]
    start_without_cache: true

- name: Replace the failed SSD - new cache set, reattach all HDDs
  resilience.dr.bcache_cache:
    cache_device: /dev/disk/by-partlabel/ml-bcache
    backing_devices: [/dev/sdb, /dev/sdc, /dev/sdd, /dev/sde]
    cache_mode: writeback
    start_without_cache: true

- name: Flush and detach before pulling the SSD (fails if not flushed within 10 minutes)
  resilience.dr.bcache_cache:
    backing_devices: [/dev/sdb, /dev/sdc, /dev/sdd, /dev/sde]
    state: detached
    flush_timeout: 600
'''

RETURN = r'''
cache_set_uuid:
  description: UUID of the cache set on O(cache_device) (the one created, in check mode).
  returned: always
  type: str
  sample: 2f3a2b9e-6d0c-4d38-9e67-3d9b2c6a1f10
cache_device:
  description: The cache device as given.
  returned: always
  type: str
backing_devices:
  description: One entry per backing device, as the kernel sees it after the run.
  returned: always
  type: list
  elements: dict
  contains:
    device:
      description: The backing device as given.
      type: str
    bcache_device:
      description: The C(/dev/bcacheN) device (from sysfs), null while not running.
      type: str
      sample: /dev/bcache0
    state:
      description: C(clean), C(dirty), C(no cache) or C(inconsistent) (sysfs C(state)).
      type: str
    status:
      description: The state, or C(waiting for missing cache) / C(not running).
      type: str
    waiting_for_cache:
      description: Registered but not started because its cache set is missing.
      type: bool
    cache_set_uuid:
      description: The cache set it is attached to, null when detached.
      type: str
    dirty_data_bytes:
      description: Dirty data in bytes (parsed from C(dirty_data), precise to 0.1 unit).
      type: int
    dirty_data:
      description: C(dirty_data) as the kernel prints it.
      type: str
      sample: 8.0M
    cache_mode:
      description: Current cache mode.
      type: str
    sequential_cutoff:
      description: As the kernel prints it.
      type: str
      sample: 4.0M
    sequential_cutoff_bytes:
      description: In bytes.
      type: int
    writeback_percent:
      description: Current writeback_percent.
      type: int
    writeback_running:
      description: Whether background writeback runs.
      type: bool
data_lost:
  description:
    - Devices whose dirty data on a missing cache was given up (started without cache,
      forced detach, or C(absent)). C(dirty_data_lost_bytes) is a number, or C(unknown) when
      the kernel no longer knows it.
  returned: always
  type: list
  elements: dict
devices_found:
  description: What was on each device before the run (blank, bcache superblock, other signature).
  returned: always
  type: list
  elements: dict
plan:
  description: The steps, in order, each with a shell-like description and the command if any.
  returned: always
  type: list
  elements: dict
  sample:
    - step: "echo writeback > /sys/block/vdb/bcache/cache_mode"
      command: null
      destructive: false
executed:
  description: The steps that were executed (empty in check mode).
  returned: always
  type: list
  elements: dict
commands:
  description: Every external command run, with rc and duration.
  returned: always
  type: list
  elements: dict
bcache_available:
  description: C(false) when the module failed because the running kernel has no bcache.
  returned: failure
  type: bool
dirty_bytes_left:
  description: On a flush timeout, dirty bytes left per device.
  returned: failure
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.resilience.dr.plugins.module_utils.bcache.manager import (
    CacheSetManager)
from ansible_collections.resilience.dr.plugins.module_utils.bcache.parsers import CACHE_MODES
from ansible_collections.resilience.dr.plugins.module_utils.bcache.udev_rules import (
    DEFAULT_PERSIST_PATH)
from ansible_collections.resilience.dr.plugins.module_utils.runner import Runner, run_module


def main():
    module = AnsibleModule(
        argument_spec=dict(
            cache_device=dict(type='str'),
            backing_devices=dict(type='list', elements='str'),
            cache_mode=dict(type='str', choices=list(CACHE_MODES)),
            sequential_cutoff=dict(type='str'),
            writeback_percent=dict(type='int'),
            state=dict(type='str', default='present', choices=['present', 'detached', 'absent']),
            flush_timeout=dict(type='int', default=300),
            force=dict(type='bool', default=False),
            start_without_cache=dict(type='bool', default=False),
            persist=dict(type='bool', default=False),
            persist_path=dict(type='path', default=DEFAULT_PERSIST_PATH),
        ),
        required_if=[('state', 'present', ('cache_device', 'backing_devices'), True)],
        supports_check_mode=True,
    )

    def work():
        manager = CacheSetManager(Runner(module), dict(module.params),
                                  check_mode=module.check_mode)
        result = manager.run(diff=module._diff)
        for warning in manager.warnings:
            module.warn(warning)
        return result

    run_module(module, work)


if __name__ == '__main__':
    main()
