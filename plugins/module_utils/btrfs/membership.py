# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Members of an existing filesystem: replace the missing ones, add, remove.

:class:`MembershipPlanner` compares the request's device lists with the members, by block
device, and plans ``btrfs replace start -B`` (one new device per missing devid, lowest devid
first), one ``btrfs device add`` and ``btrfs device remove`` per member to retire.  Every
device written to passes the :class:`DeviceGuard` first.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.resilience.dr.plugins.module_utils import blockdev
from ansible_collections.resilience.dr.plugins.module_utils.blockdev import device_rdev
from ansible_collections.resilience.dr.plugins.module_utils.btrfs.discovery import member_rdevs
from ansible_collections.resilience.dr.plugins.module_utils.btrfs.guard import (
    resolve_devices, shared_disk_warning)
from ansible_collections.resilience.dr.plugins.module_utils.btrfs.mount import MountedStep
from ansible_collections.resilience.dr.plugins.module_utils.runner import Refusal


class MembershipChanges:
    """What :meth:`MembershipPlanner.plan` decided.

    ``replacements`` pairs ``(devid, device)``; ``to_add`` devices; ``to_remove`` paths (or the
    word ``missing``); ``count_after`` the members the filesystem will have.  ``steps`` run
    before the profile steps, ``removal_steps`` after them.
    """

    def __init__(self):
        self.replacements = []
        self.to_add = []
        self.to_remove = []
        self.count_after = 0
        self.steps = []
        self.removal_steps = []

    @property
    def replaced(self):
        return len(self.replacements)


class MembershipPlanner:
    """Plans replace, add and remove for the existing filesystem ``fs``."""

    def __init__(self, req, fs, guard, btrfs, warnings):
        self.req = req
        self.fs = fs
        self.guard = guard
        self.btrfs = btrfs
        self.warnings = warnings
        self.members = member_rdevs(fs)
        self.missing = fs['missing_devids']

    def plan(self, listed, filesystems):
        changes = MembershipChanges()
        self._replacements(changes, filesystems)
        self._additions(changes, listed, filesystems)
        self._removals(changes)
        fs = self.fs
        changes.count_after = (
            len(fs['devices']) - len([x for x in changes.to_remove if x != 'missing'])
            - (len(self.missing) - changes.replaced if 'missing' in changes.to_remove else 0)
            + len(changes.to_add))
        return changes

    def _replacements(self, changes, filesystems):
        fs = self.fs
        replacements = resolve_devices(self.req.replace_missing)
        pending = [r for r in replacements if r['rdev'] is None or r['rdev'] not in self.members]
        if pending and not self.missing:
            if fs['missing_count']:
                raise Refusal('filesystem %s reports %d missing device(s) but their devids are '
                              'unknown; mount it degraded and re-run'
                              % (fs['uuid'], fs['missing_count']), option='replace_missing')
            self.warnings.append('replace_missing: nothing is missing in %s; %s left untouched'
                                 % (fs['uuid'], ', '.join(r['path'] for r in pending)))
            pending = []
        if len(pending) > len(self.missing):
            raise Refusal('replace_missing names %d devices but only devid(s) %s are missing; '
                          'list one new device per missing devid'
                          % (len(pending), ', '.join(str(d) for d in self.missing)),
                          option='replace_missing', details={'contradiction': True})
        for devid, new in zip(self.missing, pending):
            sigs = self.guard.check_writable(new, 'replace devid %d' % devid, filesystems)
            argv = [self.btrfs, 'replace', 'start', '-B']
            if any(s.get('type') == 'btrfs' for s in sigs):
                argv.append('-f')
            argv += [str(devid), new['path']]
            changes.replacements.append((devid, new))
            changes.steps.append(MountedStep('replace missing devid %d with %s'
                                             % (devid, new['path']), argv, bool(sigs)))

    def _additions(self, changes, listed, filesystems):
        """Listed devices that are not members, and not replacements, are added."""
        missing = self.missing
        nonexistent = [d for d in listed if not d['exists'] and d['rdev'] not in self.members]
        if nonexistent and len(nonexistent) > len(missing):
            raise Refusal('device(s) %s do not exist, and the filesystem has no missing member '
                          'they could stand for; correct devices'
                          % ', '.join(d['path'] for d in nonexistent), option='devices',
                          details={'found': 'nonexistent'})
        if nonexistent:
            self.warnings.append('%s not present: taken as the missing member(s) devid %s'
                                 % (', '.join(d['path'] for d in nonexistent),
                                    ', '.join(str(d) for d in missing)))
        replacing = set(new['rdev'] for devid, new in changes.replacements)
        to_add = [d for d in listed if d['exists'] and d['rdev'] not in self.members
                  and d['rdev'] not in replacing]
        add_sigs = False
        for dev in to_add:
            if self.guard.check_writable(dev, 'add to %s' % self.fs['uuid'], filesystems):
                add_sigs = True
        changes.to_add = to_add
        if to_add:
            argv = [self.btrfs, 'device', 'add']
            if add_sigs:
                argv.append('-f')
            argv += [d['path'] for d in to_add]
            changes.steps.append(MountedStep('add %s' % ', '.join(d['path'] for d in to_add),
                                             argv, add_sigs))

    def _removals(self, changes):
        """Members named in remove_devices (or the word "missing"); others are ignored."""
        for p in self.req.remove_devices:
            if p == 'missing':
                if self.missing and not changes.replaced:
                    changes.to_remove.append('missing')
                continue
            rdev = device_rdev(p)
            if rdev is not None and rdev in self.members:
                changes.to_remove.append(p)
        changes.removal_steps = [MountedStep('remove %s' % p, [self.btrfs, 'device', 'remove', p],
                                             False) for p in changes.to_remove]

    def layout_warning(self, changes, profiles):
        """A shared-disk warning for the members after adding/replacing, or None."""
        if not (changes.to_add or changes.replacements):
            return None
        fs = self.fs
        kept = [d['rdev'] for d in fs['devices'] if d.get('rdev') is not None]
        new = changes.to_add + [dev for devid, dev in changes.replacements]
        return shared_disk_warning(
            [blockdev.BlockDevice(d['path']) for d in fs['devices'] if d.get('rdev')]
            + [d['dev'] for d in new if d['rdev'] not in kept], profiles)

    def predicted_members(self, changes, members):
        """``members`` (the diff view's list) after ``changes``."""
        for devid, new in changes.replacements:
            members = [m for m in members if m != 'devid %d (missing)' % devid] + [new['path']]
        members += [d['path'] for d in changes.to_add]
        for p in changes.to_remove:
            if p == 'missing':
                members = [m for m in members if not m.endswith('(missing)')]
            else:
                rdev = device_rdev(p)
                members = [m for m in members if m.endswith('(missing)') or device_rdev(m) != rdev]
        return sorted(members)
