# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Is this device safe to write?  What ``btrfs_array`` checks before it writes to a device.

:class:`DeviceGuard` resolves devices (by major:minor, through udev symlinks) and refuses:

* a device that does not exist, or is not a block device;
* a device in use (mounted, swap, a holder, a mounted or otherwise held partition, an
  exclusive open), or a member of a mounted btrfs - whatever ``force`` says;
* a device that carries the requested filesystem's own superblock - never with a hint to
  ``force``: the request owns that device;
* a device that carries another signature, unless ``force``.

:func:`shared_disk_warning` warns when a redundant profile would keep its copies on
partitions of one disk.  Device facts come from :mod:`blockdev`, the one helper every
block-device module uses.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.resilience.dr.plugins.module_utils import blockdev
from ansible_collections.resilience.dr.plugins.module_utils.runner import Refusal

# Profiles that keep more than one copy (or parity) on different devices.
REDUNDANT = ('raid1', 'raid1c3', 'raid1c4', 'raid10', 'raid5', 'raid6')


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


def describe_signature(sig):
    """One signature as the operator reads it in a refusal or a warning."""
    text = sig.get('type') or 'unknown signature'
    if sig.get('type') == 'btrfs':
        text = 'a btrfs member (uuid %s, label %r)' % (sig.get('uuid'), sig.get('label'))
    elif sig.get('uuid'):
        text += ' (uuid %s)' % sig['uuid']
    return '%s at offset %s' % (text, sig.get('offset'))


def resolve_devices(paths):
    """Each path as a device dict: ``path``, ``realpath``, ``rdev``, ``size``, ``exists``,
    ``block`` and the :class:`blockdev.BlockDevice` as ``dev``."""
    out = []
    for p in paths:
        dev = blockdev.resolve(p)
        out.append({'path': p, 'realpath': dev.realpath, 'rdev': dev.rdev, 'size': dev.size,
                    'exists': dev.present, 'block': dev.block, 'dev': dev})
    return out


class DeviceGuard:
    """Refuses a write to a device that is not safe to write.

    ``probe`` answers ``signatures(path)`` (the :class:`Btrfs` view); ``own_uuid`` is the
    filesystem the request names (set once it is found); ``usage`` is a
    :class:`blockdev.Usage` (read once, on first need).
    """

    def __init__(self, probe, force=False, own_uuid=None, usage=None):
        self.probe = probe
        self.force = force
        self.own_uuid = own_uuid
        self._usage = usage

    def usage(self):
        if self._usage is None:
            self._usage = blockdev.Usage()
        return self._usage

    def check_writable(self, dev, purpose, filesystems):
        """Refuse a write to ``dev`` unless it is blank (or ``force``) and nothing holds it.

        Returns the signatures found (those ``force`` allows overwriting).
        """
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
        self.refuse_mounted_member(dev, purpose, filesystems)
        sigs = self.probe.signatures(dev['path'])
        self.refuse_own_superblock(dev, purpose, sigs)
        if sigs and not self.force:
            found = ', '.join(describe_signature(s) for s in sigs)
            raise Refusal('%s: %s is not blank, it carries %s; refusing to overwrite it '
                          '(set force: true if its contents may be destroyed, or drop it from '
                          'devices)' % (purpose, dev['path'], found), option='force',
                          details={'device': dev['path'], 'found': found})
        return sigs

    @staticmethod
    def refuse_mounted_member(dev, purpose, filesystems):
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

    def refuse_own_superblock(self, dev, purpose, sigs):
        own = self.own_uuid
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
