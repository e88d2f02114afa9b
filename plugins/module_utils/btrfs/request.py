# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a ``btrfs_array`` request says, and which filesystem it names.

:class:`ArrayRequest` holds the options and refuses contradictions (:class:`Contradiction`)
before anything is read or written; device lists are compared by *block device*
(major:minor, through udev symlinks), never by string.  :func:`identify` finds the
filesystem the request names among the ones discovery described.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.resilience.dr.plugins.module_utils import blockdev
from ansible_collections.resilience.dr.plugins.module_utils.btrfs.discovery import member_rdevs
from ansible_collections.resilience.dr.plugins.module_utils.runner import Refusal

_UUID = re.compile(r'^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$')


class Contradiction(Refusal):
    """Options that contradict each other or name nothing; no option allows them."""

    def __init__(self, problem):
        super(Contradiction, self).__init__('contradictory or incomplete options: %s' % problem,
                                            details={'contradiction': True})


def _same(groups):
    return '; '.join('%s name one block device (%s)' % (
        ' and '.join(g), blockdev.resolve(g[0]).devno or blockdev.resolve(g[0]).realpath)
        for g in groups)


def check_request_devices(devices, remove_devices, replace_missing):
    """Refuse a device listed twice or both kept and removed (by device number)."""
    for name, paths in (('devices', devices), ('remove_devices', remove_devices),
                        ('replace_missing', replace_missing)):
        groups = blockdev.same_device_groups([p for p in paths if p != 'missing'])
        if groups:
            raise Contradiction('%s lists one device twice: %s; list each device once'
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
            raise Contradiction('%s listed in both %s and remove_devices: %s; %s' % (
                ', '.join(g[0] for g in groups), name, _same(groups), advice))


class ArrayRequest:
    """The ``btrfs_array`` options, checked for contradictions (:class:`Contradiction`).

    Option types and profile choices are AnsibleModule's to check; what is left here is what
    an argument spec cannot say (an empty identity, a malformed uuid, devices named twice).
    """

    def __init__(self, params):
        self.label = params.get('label')
        self.uuid = (params.get('uuid') or '').lower() or None
        self.devices = list(params.get('devices') or [])
        self.data_profile = params.get('data_profile')
        self.metadata_profile = params.get('metadata_profile')
        self.state = params.get('state') or 'present'
        self.force = bool(params.get('force'))
        self.mountpoint = params.get('mountpoint')
        self.replace_missing = list(params.get('replace_missing') or [])
        self.remove_devices = list(params.get('remove_devices') or [])
        self.convert = bool(params.get('convert'))
        self.temporary_mount = params.get('temporary_mount', True)
        self.relabel = bool(params.get('relabel'))
        self.validate()

    def validate(self):
        # required_one_of cannot say this: devices defaults to [] and label may be ''.
        if not (self.label or self.uuid or self.devices):
            raise Contradiction('give label, uuid or devices to identify the filesystem')
        if self.uuid and not _UUID.match(self.uuid):
            raise Contradiction('uuid %r is not a filesystem UUID (8-4-4-4-12 hex digits)'
                                % self.uuid)
        check_request_devices(self.devices, self.remove_devices, self.replace_missing)
        if self.data_profile == 'dup' and len(self.devices) > 1:
            raise Contradiction('data_profile dup keeps both copies on one device; with %d '
                                'devices use raid1 (or list one device)' % len(self.devices))

    @property
    def wanted_profiles(self):
        return {'data': self.data_profile, 'metadata': self.metadata_profile}


class Identified:
    """The filesystem a request names (or None), and how its label compares."""

    def __init__(self, fs=None, label_mismatch=None, warning=None):
        self.fs = fs
        self.label_mismatch = label_mismatch
        self.warning = warning


def identify(req, filesystems, listed):
    """The filesystem the request names: by uuid, by label, else by its members' superblocks.

    When no filesystem carries the label but every listed device carries one filesystem's
    superblock, that is the filesystem: its label differs (``label_mismatch``), and it is
    relabelled only with ``relabel``; it is never recreated.
    """
    if req.uuid:
        match = [fs for fs in filesystems if fs['uuid'] == req.uuid]
        if match and req.label is not None and match[0]['label'] != req.label:
            if not req.relabel:
                raise Refusal('filesystem %s has label %r, not %r: fix label or uuid, or set '
                              'relabel: true to change its label'
                              % (req.uuid, match[0]['label'], req.label), option='label')
            return Identified(match[0], {'current': match[0]['label'], 'wanted': req.label})
        return Identified(match[0] if match else None)
    if req.label:
        match = [fs for fs in filesystems if fs['label'] == req.label]
        if len(match) > 1:
            raise Refusal('%d filesystems carry the label %r (%s); give uuid to choose one'
                          % (len(match), req.label, ', '.join(fs['uuid'] for fs in match)),
                          option='uuid')
        if match:
            return Identified(match[0])
    return _identify_by_superblocks(req, filesystems, listed)


def _identify_by_superblocks(req, filesystems, listed):
    rdevs = set(d['rdev'] for d in listed if d['rdev'] is not None)
    match = [fs for fs in filesystems if rdevs & member_rdevs(fs)]
    if req.label:
        # By superblocks only when every listed device carries that one filesystem; a
        # request that mixes its members with other devices names a new filesystem.
        match = [fs for fs in match if rdevs <= member_rdevs(fs)]
    if len(match) > 1:
        raise Refusal('%sthe listed devices belong to %d different filesystems (%s); give '
                      'uuid to choose one, or list the members of one filesystem only'
                      % ('no btrfs is labelled %r and ' % req.label if req.label else '',
                         len(match), ', '.join('%s label %r' % (fs['uuid'], fs['label'])
                                               for fs in match)), option='uuid')
    if not match:
        return Identified()
    if not req.label:
        return Identified(match[0])
    fs = match[0]
    warning = None
    if not req.relabel:
        warning = ('the listed devices carry btrfs %s, labelled %r, not %r; that is the '
                   'filesystem (found by its members\' superblocks) and it is kept as it is. '
                   'Set relabel: true to change its label (btrfs filesystem label), or '
                   'correct label' % (fs['uuid'], fs['label'], req.label))
    return Identified(fs, {'current': fs['label'], 'wanted': req.label}, warning)
