# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What ``btrfs_array`` checks before it writes to a device, and how it names the cause.

* :func:`check_request_devices` compares the request's device lists by *block device*
  (major:minor, through udev symlinks), never by string: a device listed twice, or both kept
  and removed, is a contradiction the operator must resolve.
* :class:`DeviceSafety` (mixed into ``ArrayManager``) resolves devices, refuses a device in use
  (mounted, swap, a holder, a mounted or otherwise held partition), a device that carries
  another signature (unless ``force``), and a device that carries the requested filesystem's
  own superblock (never with a hint to ``force``: the request owns that device).
* :func:`shared_disk_warning` warns when a redundant profile would keep its copies on
  partitions of one disk.

Device facts come from :mod:`blockdev`, the one helper every block-device module uses.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.resilience.dr.plugins.module_utils import blockdev
from ansible_collections.resilience.dr.plugins.module_utils.runner import Refusal

# Profiles that keep more than one copy (or parity) on different devices.
REDUNDANT = ('raid1', 'raid1c3', 'raid1c4', 'raid10', 'raid5', 'raid6')


def _same(groups):
    return '; '.join('%s name one block device (%s)' % (
        ' and '.join(g), blockdev.resolve(g[0]).devno or blockdev.resolve(g[0]).realpath)
        for g in groups)


def check_request_devices(devices, remove_devices, replace_missing):
    """Raise ValueError for a device listed twice or both kept and removed (by device number)."""
    for name, paths in (('devices', devices), ('remove_devices', remove_devices),
                        ('replace_missing', replace_missing)):
        groups = blockdev.same_device_groups([p for p in paths if p != 'missing'])
        if groups:
            raise ValueError('%s lists one device twice: %s; list each device once'
                             % (name, _same(groups)))
    removed = [p for p in remove_devices if p != 'missing']
    for name, paths, advice in (
            ('devices', devices, 'keep it in devices to keep it in the filesystem, or in '
                                 'remove_devices to retire it, not in both (a run would add '
                                 'it and remove it again)'),
            ('replace_missing', replace_missing, 'a replacement cannot be removed in the same '
                                                 'run; drop it from one of them')):
        groups = blockdev.same_device_groups(list(paths) + removed)
        if groups:
            raise ValueError('%s listed in both %s and remove_devices: %s; %s' % (
                ', '.join(g[0] for g in groups), name, _same(groups), advice))


def shared_disk_warning(devs, profiles):
    """A warning when a redundant profile puts two members on partitions of one disk."""
    redundant = [p for p in profiles if p in REDUNDANT]
    if not redundant:
        return None
    by_disk = {}
    for dev in devs:
        if dev is None or not dev.block:
            continue
        for disk in blockdev.physical_disks(dev):
            by_disk.setdefault(disk, []).append(dev.path)
    shared = dict((k, v) for k, v in by_disk.items() if len(v) > 1)
    if not shared:
        return None
    return ('%s keeps its copies on different devices, but %s: losing that disk loses every '
            'copy on it; use devices on different disks' % (
                ' and '.join(sorted(set(redundant))),
                '; '.join('%s are on one disk (%s)' % (', '.join(v), k)
                          for k, v in sorted(shared.items()))))


class DeviceSafety:
    """Mixin for ``ArrayManager``: needs ``self.req``, ``self.bt``, ``self.runner``, ``self.found``."""

    _usage = None

    def resolve_devices(self, paths):
        out = []
        for p in paths:
            dev = blockdev.resolve(p)
            out.append({'path': p, 'realpath': dev.realpath, 'rdev': dev.rdev, 'size': dev.size,
                        'exists': dev.present, 'block': dev.block, 'dev': dev})
        return out

    def usage(self):
        if self._usage is None:
            self._usage = blockdev.Usage()
        return self._usage

    def own_uuid(self):
        """The filesystem the request names (found, or given by uuid)."""
        if self.found is not None:
            return self.found['uuid']
        return self.req.uuid

    def check_writable(self, dev, purpose, filesystems):
        """Refuse a write to ``dev`` unless it is blank (or ``force``) and nothing holds it."""
        if not dev['exists']:
            raise Refusal('%s: device %s does not exist (or has no medium); correct '
                          'devices/replace_missing or attach the disk first'
                          % (purpose, dev['path']), option='devices',
                          details={'device': dev['path'], 'found': 'nonexistent'})
        if not dev['block']:
            raise Refusal('%s: %s is not a block device (a regular file or directory); list '
                          'block devices only (for a disk image, attach it first with '
                          '`losetup --find --show IMAGE` and list the loop device)'
                          % (purpose, dev['path']), option='devices',
                          details={'device': dev['path'], 'found': 'not a block device'})
        self.refuse_in_use(dev, purpose)
        for fs in filesystems:
            if fs.get('mounted') and dev['rdev'] in set(
                    d['rdev'] for d in fs['devices'] if d.get('rdev') is not None):
                raise Refusal('%s: %s is a member of the mounted btrfs %s (label %r); nothing '
                              'is written to a mounted filesystem, force does not override '
                              'this: drop it from devices'
                              % (purpose, dev['path'], fs['uuid'], fs['label']),
                              option='force', details={'device': dev['path'],
                                                       'found': 'member of mounted btrfs %s'
                                                                % fs['uuid']})
        sigs = self.bt.signatures(dev['path'])
        own = self.own_uuid()
        mine = [s for s in sigs if s.get('type') == 'btrfs' and own and s.get('uuid') == own]
        if mine:
            raise Refusal('%s: %s carries a superblock of btrfs %s (label %r), the very '
                          'filesystem this request names, but the filesystem does not count it '
                          'as a member (a stale copy of a replaced or removed member?). It is '
                          'not overwritten: check `btrfs filesystem show %s`, then drop it from '
                          'devices/replace_missing, or, if it is a leftover, wipe it with '
                          '`wipefs -a %s` and re-run'
                          % (purpose, dev['path'], own, mine[0].get('label'), own, dev['path']),
                          option='devices', details={'device': dev['path'],
                                                     'found': 'stale member of %s' % own})
        if sigs and not self.req.force:
            found = ', '.join(self.describe_signature(s) for s in sigs)
            raise Refusal('%s: %s is not blank, it carries %s; refusing to overwrite it '
                          '(set force: true if its contents may be destroyed, or drop it from '
                          'devices)' % (purpose, dev['path'], found), option='force',
                          details={'device': dev['path'], 'found': found})
        return sigs

    def refuse_in_use(self, dev, purpose):
        """Mounted, swap, held, or a partition that is: refused whatever ``force`` says."""
        items = self.usage().of(dev['dev'])
        if items:
            text = blockdev.describe_usage(items)
            parts = sorted(set(i['device'] for i in items if i['partition']))
            raise Refusal('%s: %s is in use: %s. Nothing is written to a device in use, and '
                          'force does not override this; %s first, or drop it from devices'
                          % (purpose, dev['dev'].shown(), text,
                             'unmount or release %s' % ', '.join(parts) if parts
                             else 'unmount or release it (then set force if its contents may '
                                  'be overwritten)'),
                          option='force', details={'device': dev['path'], 'found': text,
                                                   'in_use': items})
        if blockdev.exclusively_busy(dev['path']):
            raise Refusal('%s: %s is held open exclusively by another program (the kernel '
                          'refuses an exclusive open: EBUSY); find it with `fuser -vm %s` and '
                          'release it first, or drop it from devices; force does not override '
                          'this' % (purpose, dev['dev'].shown(), dev['path']), option='force',
                          details={'device': dev['path'], 'found': 'held open exclusively'})

    @staticmethod
    def describe_signature(sig):
        text = sig.get('type') or 'unknown signature'
        if sig.get('type') == 'btrfs':
            text = 'a btrfs member (uuid %s, label %r)' % (sig.get('uuid'), sig.get('label'))
        elif sig.get('uuid'):
            text += ' (uuid %s)' % sig['uuid']
        return '%s at offset %s' % (text, sig.get('offset'))

    def warn_shared_disks(self, devs, profiles):
        warning = shared_disk_warning(devs, profiles)
        if warning:
            self.warnings.append(warning)
