# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``btrfs_rescue``: rungs 3 to 5 of the corruption ladder (see ``ladder``).

* ``state: mounted``  - the filesystem mounted at the mountpoint, trying in order the normal
  options, ``ro,rescue=usebackuproot`` and ``ro,rescue=all``; every attempt is recorded.  A
  filesystem already mounted there is left as it is (its mode read from the options).
* ``state: checked``  - ``btrfs check --readonly`` on a member (the filesystem unmounted);
  its findings.  Never writes.
* ``state: repaired`` - ``btrfs check --repair``: refused unless ``allow_repair`` and a
  ``safeguard`` (the rescue copy or fresh backup that exists) are given; the readonly check
  runs first in the same call and its findings are returned with the repair's.

The kernel's words for a mount that failed are read from ``/dev/kmsg`` by position
(:class:`KernelLogCursor`), so each attempt carries its own reason.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.resilience.dr.plugins.module_utils.btrfs.discovery import Btrfs
from ansible_collections.resilience.dr.plugins.module_utils.btrfs.parsers import (
    parse_check_output)
from ansible_collections.resilience.dr.plugins.module_utils.kernel_log import KernelLogCursor
from ansible_collections.resilience.dr.plugins.module_utils.runner import (
    Plan, Refusal, render)

# (mode, extra options): the order the ladder tries; the rescue ones are read-only.
MOUNT_LADDER = (
    ('normal', None),
    ('usebackuproot', 'ro,rescue=usebackuproot'),
    ('rescue-all', 'ro,rescue=all'),
)


def mode_from_options(options):
    """The ladder mode of a mount, from its options as findmnt prints them.

    The kernel drops ``usebackuproot`` from the options once mounted, so a read-only mount
    found at the mountpoint (a rescue mount of an earlier run, or the operator's) is
    ``read-only``: the ladder treats it as rung 3, never scrubs or writes it.
    """
    opts = set((options or '').split(','))
    # rescue=all reads back as its parts: rescue=nologreplay:ignorebadroots:ignoredatacsums...
    rescue = set(r for o in opts if o.startswith('rescue=') for r in o[7:].split(':'))
    if 'all' in rescue or 'ignorebadroots' in rescue:
        return 'rescue-all'
    if 'usebackuproot' in rescue or opts & set(['usebackuproot', 'recovery']):
        return 'usebackuproot'
    if 'ro' in opts:
        return 'read-only'
    return 'normal'


def mount_attempts(options, rescue=True):
    """``[(mode, options)]`` to try; ``rescue`` false keeps only the normal mount."""
    out = []
    for mode, extra in MOUNT_LADDER:
        if mode != 'normal' and not rescue:
            break
        out.append((mode, extra if extra else (options or 'defaults')))
    return out


class RescueManager:
    """Plans and runs one ``btrfs_rescue`` state."""

    def __init__(self, module, runner, params):
        self.module = module
        self.runner = runner
        self.p = params
        self.view = Btrfs(runner)

    # -- what is there ----------------------------------------------------------------------
    def devices(self):
        devices = [d for d in self.p.get('devices') or [] if os.path.exists(d)]
        if not devices:
            raise Refusal('none of the devices %s exists; attach the array first'
                          % ', '.join(self.p.get('devices') or []), option='devices')
        return devices

    def current_mount(self):
        mnt = self.p['mountpoint']
        for m in self.view.mounts(refresh=True):
            if m['target'] == mnt:
                return m
        return None

    # -- state: mounted ---------------------------------------------------------------------
    def mounted(self):
        mnt = self.p['mountpoint']
        found = self.current_mount()
        if found is not None:
            if found['fstype'] != 'btrfs':
                raise Refusal('%s is a %s mount, not btrfs; unmount it first'
                              % (mnt, found['fstype']), option='mountpoint')
            mode = mode_from_options(found['options'])
            return {'changed': False, 'mounted': True, 'mode': mode, 'attempts': [],
                    'read_only': 'ro' in found['options'].split(','),
                    'options': found['options'], 'plan': []}
        devices = self.devices()
        attempts = mount_attempts(self.p.get('options'), self.p.get('rescue', True))
        mount = self.runner.which('mount')
        plan = Plan()
        for mode, opts in attempts:
            plan.add('mount %s (%s); stop at the first that works' % (mnt, mode),
                     argv=[mount, '-t', 'btrfs', '-o', opts, devices[0], mnt])
        result = {'mounted': False, 'mode': None, 'attempts': [], 'plan': plan.as_list()}
        if self.module.check_mode:
            result['changed'] = True
            return result
        self.runner.run([self.view.btrfs, 'device', 'scan'] + devices, check_rc=False)
        if not os.path.isdir(mnt):
            os.makedirs(mnt, 0o755)
        for (mode, opts), step in zip(attempts, plan.steps):
            with KernelLogCursor() as cursor:
                rc, out, err = self.runner.run(step.argv, check_rc=False)
                kernel = [m for m in (cursor.read() or []) if 'BTRFS' in m]
            result['attempts'].append({'mode': mode, 'options': opts, 'ok': rc == 0,
                                       'command': render(step.argv),
                                       'error': (err or out).strip()[-500:] if rc else '',
                                       'kernel': kernel[-8:]})
            if rc == 0:
                result.update(mounted=True, mode=mode, read_only=mode != 'normal',
                              options=opts)
                break
        result['changed'] = bool(result['mounted'])
        return result

    # -- state: checked / repaired ----------------------------------------------------------
    def refuse_mounted(self):
        found = self.current_mount()
        if found is not None:
            raise Refusal('%s is mounted; btrfs check needs the filesystem unmounted. Copy out '
                          'what you need, unmount it and re-run' % self.p['mountpoint'],
                          option='mountpoint')

    def check(self, devices, repair=False):
        argv = [self.view.btrfs, 'check', '--repair' if repair else '--readonly', devices[0]]
        # --repair asks for confirmation on a terminal; the answer is the explicit variable.
        rc, out, err = self.runner.run(argv, check_rc=False, data='y\n' if repair else None)
        parsed = parse_check_output(out + '\n' + err, rc)
        parsed['command'] = render(argv)
        return parsed

    def checked(self):
        self.refuse_mounted()
        devices = self.devices()
        argv = [self.view.btrfs, 'check', '--readonly', devices[0]]
        if self.module.check_mode:
            return {'changed': False, 'plan': [{'step': 'btrfs check --readonly',
                                               'command': render(argv), 'destructive': False}],
                    'check': None}
        return {'changed': False, 'plan': [], 'check': self.check(devices)}

    def repaired(self):
        if not self.p.get('allow_repair'):
            raise Refusal('btrfs check --repair can destroy data and is never run implicitly',
                          option='allow_repair')
        if not (self.p.get('safeguard') or '').strip():
            raise Refusal('btrfs check --repair needs a rescue copy or a fresh backup first; '
                          'say which in safeguard', option='safeguard')
        self.refuse_mounted()
        devices = self.devices()
        argv = [self.view.btrfs, 'check', '--repair', devices[0]]
        plan = [{'step': 'btrfs check --readonly', 'destructive': False,
                 'command': render([self.view.btrfs, 'check', '--readonly', devices[0]])},
                {'step': 'btrfs check --repair (safeguard: %s)' % self.p['safeguard'],
                 'command': render(argv), 'destructive': True}]
        if self.module.check_mode:
            return {'changed': True, 'plan': plan, 'check': None, 'repair': None}
        readonly = self.check(devices)
        repair = self.check(devices, repair=True)
        return {'changed': True, 'plan': plan, 'check': readonly, 'repair': repair,
                'safeguard': self.p['safeguard']}

    def run(self):
        state = self.p.get('state') or 'mounted'
        result = {'mounted': self.mounted, 'checked': self.checked,
                  'repaired': self.repaired}[state]()
        result['commands'] = self.runner.executed
        result['mountpoint'] = self.p['mountpoint']
        return result
