# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A filesystem's birth and end: ``mkfs.btrfs`` on checked devices, and ``state: absent``.

:func:`plan_create` refuses a uuid that is not there (a filesystem is never recreated with
a given uuid), too few devices for the profiles, and any device the :class:`DeviceGuard`
refuses; it warns when a redundant profile would keep its copies on one disk.
:func:`plan_wipe` wipes only the named filesystem's members (and listed stale
members of it), never while mounted or in use, and only with ``force``.  Both return the
predicted diff view.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.resilience.dr.plugins.module_utils.blockdev import device_rdev
from ansible_collections.resilience.dr.plugins.module_utils.btrfs.discovery import present_members
from ansible_collections.resilience.dr.plugins.module_utils.btrfs.guard import (
    describe_signature, resolve_devices, shared_disk_warning)
from ansible_collections.resilience.dr.plugins.module_utils.btrfs.profile import (
    check_profile_devices)
from ansible_collections.resilience.dr.plugins.module_utils.runner import Refusal


def plan_create(plan, req, listed, filesystems, guard, runner, warnings):
    """Plan ``mkfs.btrfs`` on ``listed`` (resolved devices); the predicted diff view."""
    if req.uuid:
        raise Refusal('no btrfs with uuid %s is visible on this host; it is never '
                      'recreated with that uuid. Attach its devices (and check '
                      '`btrfs filesystem show`), or drop uuid to create a new filesystem '
                      'with label' % req.uuid, option='uuid',
                      details={'found': 'no filesystem with that uuid'})
    if not listed:
        raise Refusal('no btrfs with label %r exists and devices is empty; list the '
                      'devices to create it on' % req.label, option='devices')
    check_profile_devices(len(listed), req.data_profile, req.metadata_profile,
                          'devices lists')
    destructive = False
    for dev in listed:
        sigs = guard.check_writable(dev, 'mkfs', filesystems)
        if sigs:
            destructive = True
            warnings.append('%s carries %s and will be overwritten (force: true)'
                            % (dev['path'], ', '.join(describe_signature(s) for s in sigs)))
    argv = [runner.which('mkfs.btrfs', hint='install btrfs-progs')]
    if destructive:
        argv.append('-f')
    if req.label:
        argv += ['-L', req.label]
    if req.data_profile:
        argv += ['-d', req.data_profile]
    if req.metadata_profile:
        argv += ['-m', req.metadata_profile]
    argv += [d['path'] for d in listed]
    warning = shared_disk_warning([d['dev'] for d in listed],
                                  (req.data_profile, req.metadata_profile))
    if warning:
        warnings.append(warning)
    plan.add('create btrfs %s on %s' % (req.label or '', ', '.join(d['path'] for d in listed)),
             argv=argv, destructive=destructive,
             hint='read the mkfs.btrfs message; the devices were checked not to be in use '
                  'and %s' % ('to carry only the signatures listed in the warnings (force)'
                              if destructive else 'blank'))
    return {'exists': True, 'uuid': None, 'label': req.label,
            'members': sorted(d['path'] for d in listed),
            'profiles': {'data': [req.data_profile] if req.data_profile else [],
                         'metadata': [req.metadata_profile] if req.metadata_profile else [],
                         'system': [req.metadata_profile] if req.metadata_profile else []}}


def _own_signature(sig, req, fs):
    """A listed device's signature that belongs to the filesystem to wipe."""
    if sig.get('type') != 'btrfs':
        return False
    if fs is not None:
        return sig.get('uuid') == fs['uuid']
    return not (req.uuid or req.label) or sig.get('uuid') == req.uuid \
        or sig.get('label') == req.label


def plan_wipe(plan, req, identified, listed, view, guard, runner):
    """Plan ``state: absent``: forget and wipe the members; the predicted diff view.

    Returns None when there is nothing to wipe.  A forget step may fail harmlessly (a device
    the kernel never registered, or an old kernel without ``--forget``).
    """
    fs = identified.fs
    if identified.label_mismatch is not None:
        raise Refusal('the listed devices carry btrfs %s, labelled %r, not %r; state: absent '
                      'wipes only the filesystem the request names. Set label: %r (or '
                      'uuid: %s) if that filesystem is to be wiped, or correct devices'
                      % (fs['uuid'], fs['label'], req.label, fs['label'], fs['uuid']),
                      option='label', details={'label_mismatch': identified.label_mismatch})
    targets = []
    if fs is not None:
        if fs['mounted']:
            raise Refusal('filesystem %s (label %r) is mounted at %s; unmount it before '
                          'state: absent (force does not override this)'
                          % (fs['uuid'], fs['label'], ', '.join(fs['mountpoints'])),
                          option='force', details={'found': 'mounted'})
        targets = present_members(fs)
    members = set(device_rdev(p) for p in targets)
    for dev in listed:
        if not dev['exists'] or dev['rdev'] in members:
            continue
        sigs = view.signatures(dev['path']) if dev['block'] else []
        if any(_own_signature(s, req, fs) for s in sigs):
            targets.append(dev['path'])
        elif sigs:
            raise Refusal('%s carries %s, which is not this filesystem; it is not wiped. '
                          'Drop it from devices' % (dev['path'], ', '.join(
                              describe_signature(s) for s in sigs)), option='devices',
                          details={'device': dev['path']})
    if not targets:
        return None
    for dev in resolve_devices(targets):
        guard.refuse_in_use(dev, 'state: absent')
    if not req.force:
        raise Refusal('state: absent would wipe the btrfs signatures on %s (filesystem %s); '
                      'set force: true to do it'
                      % (', '.join(targets), fs['uuid'] if fs else 'stale members'),
                      option='force', details={'devices': targets})
    wipefs = runner.which('wipefs')
    for p in targets:
        plan.add('make the kernel forget %s' % p,
                 argv=[view.btrfs, 'device', 'scan', '--forget', p], may_fail=True)
        plan.add('wipe the signatures on %s' % p, argv=[wipefs, '-a', p], destructive=True)
    return {'exists': False}
