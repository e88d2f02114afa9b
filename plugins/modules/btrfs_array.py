#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: btrfs_array
short_description: A multi-device BTRFS filesystem as a declarative, recoverable resource
version_added: 0.1.0
author: resilience.dr contributors (@resilience-dr)
description:
  - Creates a multi-device BTRFS filesystem with the given data and metadata profiles, or finds
    and assembles an existing one (for example after an OS reinstall) and never reformats it.
  - Adds listed devices that are not members yet, removes members, replaces a missing member
    with a new device and converts profiles by balance.
  - Reports the members, missing devids, profiles and mounts it found, and the commands it planned
    or ran.
  - Every write is checked first. C(mkfs.btrfs) runs only on blank devices unless O(force=true);
    nothing is ever written to a device in use (mounted, swap, held by device-mapper, md or
    bcache, or a whole disk with such a partition), whatever O(force) says; a missing member is
    never "fixed" by recreating the filesystem.
  - Devices are compared as block devices (major:minor, through udev symlinks), never as strings;
    a device listed twice, or both in O(devices) and O(remove_devices), is refused.
  - A redundant profile (raid1, raid1c3, raid1c4, raid10, raid5, raid6) with two members on
    partitions of one disk is warned about.
  - Operations that need a mounted filesystem (add, remove, replace, convert) use the
    filesystem's existing mount. When it is not mounted, the module mounts it temporarily under
    C(/run/resilience-dr/btrfs-<uuid>) (with C(degraded) when members are missing) and always
    unmounts it again, also when a step fails. Set O(temporary_mount=false) to forbid that.
  - Discovery is read-only (C(btrfs filesystem show --raw), C(findmnt --json), sysfs, and for
    unmounted filesystems the on-disk chunk tree); a run that finds everything as asked runs no
    mutating command.
options:
  label:
    description:
      - Label of the filesystem. Identifies it and is used for C(mkfs.btrfs -L).
      - When several filesystems carry the label the module asks for O(uuid).
      - When no filesystem carries the label but the listed O(devices) carry one filesystem's
        superblocks, that is the filesystem, whatever its label (it is never recreated). The
        mismatch is reported (RV(label_mismatch) and a warning); the label changes only with
        O(relabel=true).
    type: str
  relabel:
    description:
      - Change the label of the filesystem found by O(uuid) or by its members' superblocks to
        O(label) (C(btrfs filesystem label)), mounted or not. Nothing else is rewritten.
      - Without it a label mismatch is only reported.
    type: bool
    default: false
  uuid:
    description:
      - UUID of the filesystem. Identifies it.
      - A filesystem with this UUID is never created; when it is not found the module refuses.
    type: str
  devices:
    description:
      - Member devices (paths or udev symlinks such as C(/dev/disk/by-id/...)).
      - When the filesystem does not exist it is created on exactly these devices.
      - When it exists, listed devices that are not members are added.
      - A listed device that does not exist is accepted only while the filesystem has at least
        as many missing members (it is taken to be one of them).
    type: list
    elements: str
    default: []
  data_profile:
    description:
      - Data profile. When the filesystem exists with another profile the mismatch is reported
        (RV(profile_mismatch)) and changed only with O(convert=true).
      - When omitted, C(mkfs.btrfs) picks its default and existing profiles are not compared.
    type: str
    choices: [single, dup, raid0, raid1, raid1c3, raid1c4, raid10, raid5, raid6]
  metadata_profile:
    description:
      - Metadata profile (system chunks follow it). Same rules as O(data_profile).
    type: str
    choices: [single, dup, raid0, raid1, raid1c3, raid1c4, raid10, raid5, raid6]
  state:
    description:
      - V(present) creates or assembles the filesystem and reconciles members and profiles.
      - V(absent) wipes the signatures of the members (C(wipefs -a)). It needs O(force=true) and
        refuses while the filesystem or any member is mounted.
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - Allows destructive steps - C(mkfs.btrfs), C(btrfs device add) or C(btrfs replace) onto a
        device that carries a signature (another filesystem, a partition table, a bcache
        superblock, a member of another BTRFS), and O(state=absent).
      - It never allows a write to a device in use (mounted, swap, held by device-mapper, md or
        bcache, a member of a mounted filesystem, or a whole disk with such a partition), and it
        is never needed for a device that holds the filesystem the request names.
    type: bool
    default: false
  mountpoint:
    description:
      - Where the filesystem is mounted, used for operations that need a mount when it is
        mounted in several places.
      - The module does not mount the filesystem there; use M(ansible.posix.mount) for permanent
        mounts and fstab. An unmounted filesystem is mounted temporarily, see O(temporary_mount).
    type: path
  temporary_mount:
    description:
      - Allow a temporary mount under C(/run/resilience-dr/) for add, remove, replace and
        convert when the filesystem is not mounted. It is always unmounted afterwards.
    type: bool
    default: true
  replace_missing:
    description:
      - New devices that replace missing members, one per missing devid (lowest devid first),
        with C(btrfs replace start -B). The filesystem is mounted degraded for it.
      - Afterwards chunks that were written as C(single) while degraded are converted back to
        the intended profile (a C(soft) balance, which skips chunks already correct).
      - When nothing is missing and the device is already a member, nothing happens (a re-run
        after a successful replace is a no-op).
    type: list
    elements: str
    default: []
  remove_devices:
    description:
      - Members to remove with C(btrfs device remove). Devices that are no longer members are
        ignored, so a re-run is a no-op.
      - The word C(missing) removes missing members (without replacing them).
      - Refused when the remaining devices are too few for the profiles.
    type: list
    elements: str
    default: []
  convert:
    description:
      - Change the data and metadata profiles to O(data_profile) and O(metadata_profile) by
        C(btrfs balance start -dconvert=...,soft -mconvert=...,soft).
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Returns the plan (RV(plan)) and changes nothing; not even the temporary mount is
      made.
  diff_mode:
    support: full
    details: The label, members and profiles before and after (predicted in check mode).
  platform:
    support: full
    platforms: posix
    details: Linux with the btrfs kernel module.
notes:
  - Check mode returns the plan (RV(plan)) and changes nothing; not even the temporary mount is
    made.
  - Diff mode shows the members and profiles before and after.
  - Needs root, btrfs-progs and util-linux on the managed host.
seealso:
  - module: resilience.dr.btrfs_array_info
  - module: resilience.dr.btrfs_scrub
  - module: ansible.posix.mount
'''

EXAMPLES = r'''
- name: Create (or find after an OS reinstall) the training server's raid10 array
  resilience.dr.btrfs_array:
    label: ml-storage
    devices: [/dev/bcache0, /dev/bcache1, /dev/bcache2, /dev/bcache3]
    data_profile: raid10
    metadata_profile: raid10
  register: storage

- name: Replace the failed member with a new disk (the filesystem is mounted degraded for it)
  resilience.dr.btrfs_array:
    label: ml-storage
    devices: [/dev/bcache0, /dev/bcache1, /dev/bcache2, /dev/bcache3]
    replace_missing: [/dev/bcache4]

- name: Grow from raid1 on two disks to raid10 on four
  resilience.dr.btrfs_array:
    label: ml-storage
    devices: [/dev/vdb, /dev/vdc, /dev/vdd, /dev/vde]
    data_profile: raid10
    metadata_profile: raid10
    convert: true

- name: Retire a disk
  resilience.dr.btrfs_array:
    label: ml-storage
    remove_devices: [/dev/vdb]
    mountpoint: /mnt/storage

- name: Rename the array found on these disks (its old label was ml-old)
  resilience.dr.btrfs_array:
    label: ml-storage
    devices: [/dev/disk/by-id/ata-disk1, /dev/disk/by-id/ata-disk2]
    relabel: true

- name: Wipe a scratch array after a DR drill
  resilience.dr.btrfs_array:
    label: drill-scratch
    state: absent
    force: true
'''

RETURN = r'''
exists:
  description: Whether the filesystem exists (after the run; before it in check mode).
  returned: always
  type: bool
uuid:
  description: Filesystem UUID.
  returned: always
  type: str
  sample: c5973b5b-94ed-43f0-aa9b-4c2fabb4cc74
label:
  description: Filesystem label.
  returned: always
  type: str
  sample: ml-storage
devices:
  description: Members by devid. Missing members have C(path=null) and C(missing=true).
  returned: always
  type: list
  elements: dict
  sample: [{devid: 1, path: /dev/bcache0, size: 4000787030016, used: 1073741824, missing: false}]
total_devices:
  description: The number of members the filesystem records.
  returned: when the filesystem exists
  type: int
missing_devids:
  description: Devids of members that are missing.
  returned: always
  type: list
  elements: int
  sample: [3]
missing_count:
  description: Number of missing members (also when their devids are unknown).
  returned: when the filesystem exists
  type: int
profiles:
  description: Profiles in use per block group type; more than one during a conversion or after
    degraded writes.
  returned: always
  type: dict
  sample: {data: [raid10], metadata: [raid10], system: [raid10]}
label_mismatch:
  description: When the filesystem was found by uuid or by its members' superblocks and its
    label is not O(label), the current and the wanted label; else null.
  returned: always
  type: dict
  sample: {current: ml-storage, wanted: ml-storage-2}
profile_mismatch:
  description: Block group types whose profiles differ from what was asked.
  returned: always
  type: dict
  sample: {data: {current: [raid1], wanted: raid10}}
mounted:
  description: Whether the filesystem is mounted (a temporary mount of this run does not count).
  returned: always
  type: bool
mountpoint:
  description: Where it is mounted (an operator's mount before a leftover temporary one).
  returned: always
  type: str
mountpoints:
  description: Every mountpoint of the filesystem.
  returned: when the filesystem exists
  type: list
  elements: str
temporary_mount:
  description: The temporary mountpoint this run used (or would use in check mode), else null.
  returned: always
  type: str
plan:
  description: The steps planned (check mode) or executed, with the exact command and whether
    the step is destructive.
  returned: always
  type: list
  elements: dict
  sample: [{step: add /dev/loop4, command: btrfs device add /dev/loop4 /mnt/storage, destructive: false}]
commands:
  description: Every command the module ran, read-only discovery included, with rc and seconds.
  returned: always
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.resilience.dr.plugins.module_utils.runner import Runner, run_module
from ansible_collections.resilience.dr.plugins.module_utils.btrfs.array import ArrayManager
from ansible_collections.resilience.dr.plugins.module_utils.btrfs.parsers import PROFILES
from ansible_collections.resilience.dr.plugins.module_utils.btrfs.request import ArrayRequest


def main():
    module = AnsibleModule(
        argument_spec=dict(
            label=dict(type='str'),
            uuid=dict(type='str'),
            devices=dict(type='list', elements='str', default=[]),
            data_profile=dict(type='str', choices=list(PROFILES)),
            metadata_profile=dict(type='str', choices=list(PROFILES)),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            force=dict(type='bool', default=False),
            mountpoint=dict(type='path'),
            temporary_mount=dict(type='bool', default=True),
            replace_missing=dict(type='list', elements='str', default=[]),
            remove_devices=dict(type='list', elements='str', default=[]),
            convert=dict(type='bool', default=False),
            relabel=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    runner = Runner(module)

    def work():
        # Contradictions (which an argument spec cannot express) fail here, before any read.
        request = ArrayRequest(module.params)
        return ArrayManager(module, runner, request).run()

    run_module(module, work)


if __name__ == '__main__':
    main()
