# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``btrfs_array``: discovery, the planners and the execution, wired together.

:class:`ArrayManager` reads the host (:class:`Btrfs`), finds the filesystem the request
names (:func:`identify`), asks the planners for steps (:mod:`lifecycle` to create or wipe,
:mod:`membership` and :mod:`profile` for an existing one), places the steps that need a mount
(:mod:`mount`), and runs the plan with :meth:`runner.Plan.execute` inside the temporary mount,
if one is needed.  It plans nothing itself.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.resilience.dr.plugins.module_utils.btrfs.discovery import (
    Btrfs, diff_view, present_members, public_fs)
from ansible_collections.resilience.dr.plugins.module_utils.btrfs.guard import (
    DeviceGuard, resolve_devices)
from ansible_collections.resilience.dr.plugins.module_utils.btrfs.lifecycle import (
    plan_create, plan_wipe)
from ansible_collections.resilience.dr.plugins.module_utils.btrfs.membership import (
    MembershipPlanner)
from ansible_collections.resilience.dr.plugins.module_utils.btrfs.mount import (
    MNT, MountedStep, TemporaryMount, add_mounted_steps)
from ansible_collections.resilience.dr.plugins.module_utils.btrfs.profile import ProfilePlanner
from ansible_collections.resilience.dr.plugins.module_utils.btrfs.request import identify
from ansible_collections.resilience.dr.plugins.module_utils.runner import Plan, Refusal


class ArrayManager:
    """Plans and executes ``btrfs_array`` for one :class:`ArrayRequest`."""

    def __init__(self, module, runner, request):
        self.module = module
        self.runner = runner
        self.req = request
        self.view = Btrfs(runner)
        self.guard = DeviceGuard(self.view, force=request.force, own_uuid=request.uuid)
        self.warnings = []
        self.found = None
        self.temp_mount = None
        self.predicted = None
        self.profile_mismatch = {}
        self.label_mismatch = None

    # plan -----------------------------------------------------------------------------------
    def plan(self):
        req = self.req
        filesystems = self.view.filesystems()
        listed = resolve_devices(req.devices)
        identified = identify(req, filesystems, listed)
        if identified.warning:
            self.warnings.append(identified.warning)
        self.found = fs = identified.fs
        self.label_mismatch = identified.label_mismatch
        if fs is not None:
            self.guard.own_uuid = fs['uuid']
        plan = Plan()
        if req.state == 'absent':
            self.predicted = plan_wipe(plan, req, identified, listed, self.view, self.guard,
                                       self.runner)
        elif fs is None:
            self.predicted = plan_create(plan, req, listed, filesystems, self.guard,
                                         self.runner, self.warnings)
        else:
            self.plan_existing(plan, fs, listed, filesystems)
        return plan

    def plan_existing(self, plan, fs, listed, filesystems):
        """Reconcile an existing filesystem: members, profiles, label."""
        req = self.req
        btrfs = self.view.btrfs
        membership = MembershipPlanner(req, fs, self.guard, btrfs, self.warnings)
        profiles = ProfilePlanner(req, fs, btrfs, self.warnings)
        changes = membership.plan(listed, filesystems)
        self.profile_mismatch = profiles.mismatch
        steps = changes.steps + profiles.plan(changes) + changes.removal_steps
        warning = membership.layout_warning(changes, profiles.layout_profiles())
        if warning:
            self.warnings.append(warning)
        relabel = self.label_mismatch is not None and req.relabel
        if relabel and not (steps or fs['mountpoints']):
            self.plan_offline_relabel(plan, fs)
            return
        if relabel:
            steps.append(MountedStep(
                'relabel %s from %r to %r' % (fs['uuid'], fs['label'], req.label),
                [btrfs, 'filesystem', 'label', MNT, req.label], False))
        if not steps:
            return
        add_mounted_steps(plan, steps, self.mountpoint_for(plan, fs))
        self.predicted = self.predict(fs, membership.predicted_members(
            changes, diff_view(fs)['members']), profiles.predicted())

    def plan_offline_relabel(self, plan, fs):
        """Relabel an unmounted filesystem on a member (when nothing else needs a mount)."""
        present = present_members(fs)
        if not present:
            raise Refusal('no member of %s is present to relabel it on; attach its devices '
                          'first' % fs['uuid'], option='devices', details={'found': 'no member'})
        plan.add('relabel %s from %r to %r (unmounted: on its member %s)'
                 % (fs['uuid'], fs['label'], self.req.label, present[0]),
                 argv=[self.view.btrfs, 'filesystem', 'label', present[0], self.req.label],
                 hint='the filesystem is not mounted; every member must be present')
        self.predicted = self.predict(fs, diff_view(fs)['members'], fs['profiles'])

    def mountpoint_for(self, plan, fs):
        """Where the steps run: the filesystem's mount, else a planned temporary one."""
        if fs['mountpoints']:
            if self.req.mountpoint:
                want = self.req.mountpoint.rstrip('/') or '/'
                if want in fs['mountpoints']:
                    return want
                self.warnings.append('mountpoint %s is not where %s is mounted; using %s'
                                     % (self.req.mountpoint, fs['uuid'], fs['mountpoint']))
            return fs['mountpoint']
        if not self.req.temporary_mount:
            raise Refusal('%s is not mounted and temporary_mount is false; mount it and '
                          'pass mountpoint' % fs['uuid'], option='temporary_mount')
        self.temp_mount = TemporaryMount(self.runner, self.view.btrfs, fs)
        self.temp_mount.add_steps(plan)
        return self.temp_mount.path

    def predict(self, fs, members, profiles):
        view = diff_view(fs)
        view['members'] = members
        view['profiles'] = dict((k, list(v)) for k, v in profiles.items())
        if self.label_mismatch and self.req.relabel:
            view['label'] = self.req.label
        return view

    # execute --------------------------------------------------------------------------------
    def execute(self, plan):
        """Run ``plan``; a temporary mount is always unmounted again, even on failure."""
        if self.temp_mount is None:
            return plan.execute(self.runner)
        with self.temp_mount:
            return plan.execute(self.runner)

    def assemble(self, fs):
        """Register an unmounted filesystem's members with the kernel, so that a plain
        ``mount UUID=...`` works (after an OS reinstall the kernel knows none of them).
        This writes nothing to the devices and is not a change."""
        present = present_members(fs)
        if not present:
            return False
        rc, out, err = self.runner.run([self.view.btrfs, 'device', 'scan'] + present,
                                       check_rc=False)
        return rc == 0

    def run(self):
        plan = self.plan()
        before = self.found
        changed = bool(plan)
        check_mode = self.module.check_mode
        planned = plan.as_list()
        if self.temp_mount:
            planned.append(self.temp_mount.release_step())
        result = {'changed': changed, 'plan': planned, 'assembled': False}
        if before is not None and not before['mounted'] and self.req.state == 'present' \
                and not check_mode:
            result['assembled'] = self.assemble(before)
        after = before
        if changed and not check_mode:
            self.execute(plan)
            after = self.rediscover(before)
        result.update(self.state_result(after))
        result['profile_mismatch'] = self.profile_mismatch
        result['label_mismatch'] = self.label_mismatch
        result['temporary_mount'] = self.temp_mount.path if self.temp_mount else None
        result['commands'] = self.runner.executed
        for warning in self.warnings:
            self.module.warn(warning)
        if self.module._diff:
            if not changed:
                predicted = diff_view(before)
            elif check_mode:
                predicted = self.predicted or diff_view(before)
            else:
                predicted = diff_view(after)
            result['diff'] = {'before': diff_view(before), 'after': predicted}
        return result

    def rediscover(self, before):
        self.view.mounts(refresh=True)
        filesystems = self.view.filesystems()
        if self.req.state == 'absent':
            return None
        if before is not None:
            for fs in filesystems:
                if fs['uuid'] == before['uuid']:
                    return fs
        return identify(self.req, filesystems, resolve_devices(self.req.devices)).fs

    def state_result(self, fs):
        if fs is None:
            return {'exists': False, 'uuid': None, 'label': self.req.label, 'devices': [],
                    'missing_devids': [], 'profiles': {}, 'mounted': False, 'mountpoint': None}
        out = public_fs(fs)
        out['exists'] = True
        return out
