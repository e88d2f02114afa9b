# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Profiles: how many devices each needs, which one a filesystem intends, and converting.

:class:`ProfilePlanner` compares an existing filesystem's profiles with the request, plans
the ``balance -dconvert/-mconvert`` (only with ``convert``), the balance that restores
redundancy after a replace (chunks written while degraded may be ``single``), and refuses a
profile that needs more devices than the filesystem will have.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.resilience.dr.plugins.module_utils.btrfs.mount import MountedStep
from ansible_collections.resilience.dr.plugins.module_utils.runner import Refusal

# Devices a profile needs.  These are the classic minimums that every supported kernel accepts
# (newer kernels allow raid0/raid10 on fewer devices, but a raid10 on two devices is not what an
# operator who writes "raid10" means).
MIN_DEVICES = {'single': 1, 'dup': 1, 'raid0': 2, 'raid1': 2, 'raid1c3': 3, 'raid1c4': 4,
               'raid10': 4, 'raid5': 2, 'raid6': 3}

# Highest redundancy first: used to pick the intended profile when a filesystem has several
# (chunks written as "single" while it was mounted degraded, an interrupted conversion).
REDUNDANCY_ORDER = ('raid1c4', 'raid1c3', 'raid6', 'raid10', 'raid1', 'raid5', 'dup', 'raid0',
                    'single')

_CONVERT_FLAGS = (('data', '-dconvert'), ('metadata', '-mconvert'))


def dominant_profile(profiles):
    """The intended profile among several on one block group type (highest redundancy)."""
    for p in REDUNDANCY_ORDER:
        if p in profiles:
            return p
    return profiles[0] if profiles else None


def check_profile_devices(count, data_profile, metadata_profile, context):
    """Refuse contradictory options: a profile that needs more devices than there will be."""
    for name, profile in (('data_profile', data_profile), ('metadata_profile', metadata_profile)):
        if profile and count < MIN_DEVICES[profile]:
            raise Refusal('%s %s needs at least %d devices, but %s %d; list more devices or '
                          'choose another profile'
                          % (name, profile, MIN_DEVICES[profile], context, count),
                          option='devices', details={'contradiction': True})


def profile_mismatch(current, wanted):
    """``{kind: {current, wanted}}`` for block group types whose profiles differ from ``wanted``."""
    mismatch = {}
    for kind, target in wanted.items():
        if target and current.get(kind) and current[kind] != [target]:
            mismatch[kind] = {'current': current[kind], 'wanted': target}
    return mismatch


class ProfilePlanner:
    """Plans the profile steps for an existing filesystem ``fs`` and request ``req``."""

    def __init__(self, req, fs, btrfs, warnings):
        self.req = req
        self.fs = fs
        self.btrfs = btrfs
        self.warnings = warnings
        self.current = fs['profiles']
        self.wanted = req.wanted_profiles
        self.mismatch = profile_mismatch(self.current, self.wanted)

    def intended(self, kind):
        """The profile ``kind`` is to have after this run: the request's when it is to be
        (asked and either matching or converted), else the filesystem's dominant one."""
        want = self.wanted[kind]
        if want and (self.req.convert or kind not in self.mismatch):
            return want
        return dominant_profile(self.current.get(kind) or [])

    def layout_profiles(self):
        """The profiles a layout warning checks: what is asked, else what is there."""
        return [self.wanted[k] or dominant_profile(self.current.get(k) or [])
                for k in self.wanted]

    @property
    def converting(self):
        return bool(self.mismatch and self.req.convert)

    def plan(self, membership):
        """The profile steps (MountedStep) around ``membership`` (a MembershipChanges)."""
        if not self.current.get('data') and not self.current.get('metadata') \
                and (self.req.data_profile or self.req.metadata_profile):
            self.warnings.append('could not read the profiles of %s; not comparing them'
                                 % self.fs['uuid'])
        steps = []
        if self.converting:
            steps.append(self._convert_step(membership.count_after))
        elif self.mismatch:
            self.warnings.append(
                'profiles differ from what is asked (%s); set convert: true to change them by '
                'balance' % '; '.join('%s is %s, wanted %s' % (k, '+'.join(v['current']),
                                                               v['wanted'])
                                      for k, v in sorted(self.mismatch.items())))
        if membership.to_remove:
            check_profile_devices(membership.count_after, self.intended('data'),
                                  self.intended('metadata'),
                                  'after removing %s the filesystem would have'
                                  % ', '.join(membership.to_remove))
        if membership.replaced:
            restore = self._restore_step()
            if restore:
                steps.append(restore)
        return steps

    def _convert_step(self, count_after):
        targets = dict((k, v['wanted']) for k, v in self.mismatch.items())
        check_profile_devices(count_after, targets.get('data'), targets.get('metadata'),
                              'the filesystem will have')
        args = ['%s=%s,soft' % (flag, targets[kind]) for kind, flag in _CONVERT_FLAGS
                if kind in targets]
        return MountedStep('convert profiles (%s)' % ', '.join(
            '%s to %s' % (k, v['wanted']) for k, v in sorted(self.mismatch.items())),
            [self.btrfs, 'balance', 'start'] + args, False)

    def _restore_step(self):
        """Chunks written while the filesystem was mounted degraded may be "single"; a soft
        convert rewrites only those, restoring the redundancy."""
        restore = []
        for kind, flag in _CONVERT_FLAGS:
            target = self.intended(kind)
            if target and target != 'single' \
                    and not (self.converting and kind in self.mismatch):
                restore.append('%s=%s,soft' % (flag, target))
        if not restore:
            return None
        return MountedStep('restore redundancy of chunks written while degraded',
                           [self.btrfs, 'balance', 'start'] + restore, False)

    def predicted(self):
        """The profiles after the run, for the diff."""
        profiles = dict((k, list(v)) for k, v in self.current.items())
        if self.req.convert:
            for kind, v in self.mismatch.items():
                profiles[kind] = [v['wanted']]
                if kind == 'metadata':
                    profiles['system'] = [v['wanted']]
        return profiles
