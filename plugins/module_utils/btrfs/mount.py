# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Operations that need the filesystem mounted, and the temporary mount they get otherwise.

Add, remove, replace, convert (and relabel with other steps) run on a mounted filesystem.
Planners describe them as :class:`MountedStep` (argv without the mountpoint);
:func:`add_mounted_steps` puts them into the plan once the mountpoint is known.  A filesystem
that is not mounted gets a :class:`TemporaryMount` under ``/run/resilience-dr/btrfs-<uuid>``
(``degraded`` when members are missing): planned as steps, and, used as a context manager
around the execution, always unmounted again, also when a step fails.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import os

from ansible_collections.resilience.dr.plugins.module_utils.btrfs.discovery import (
    TEMP_MOUNT_ROOT, present_members)
from ansible_collections.resilience.dr.plugins.module_utils.runner import (
    ModuleFailure, Refusal, render)

# Where a MountedStep's argv takes the mountpoint when it is not the last argument.
MNT = object()

MountedStep = collections.namedtuple('MountedStep', 'description argv destructive')
MountedStep.__doc__ = ('A step that runs on the mounted filesystem: the mountpoint goes where '
                       'argv has MNT, else at its end.')


def add_mounted_steps(plan, steps, mnt):
    """Add ``steps`` (MountedStep) to ``plan``, run on the filesystem mounted at ``mnt``."""
    for step in steps:
        argv = step.argv
        argv = [mnt if a is MNT else a for a in argv] if MNT in argv else list(argv) + [mnt]
        plan.add(step.description, argv=argv, destructive=step.destructive,
                 hint='the filesystem is mounted at %s; check `btrfs filesystem usage %s` '
                      'and dmesg' % (mnt, mnt))


def _private_dir(path):
    parent = os.path.dirname(path)
    if not os.path.isdir(parent):
        os.makedirs(parent, 0o700)
    if not os.path.isdir(path):
        os.mkdir(path, 0o700)


class TemporaryMount:
    """A private mount of an unmounted filesystem for the length of one execution.

    :meth:`add_steps` plans it (register the members, make the directory, mount);
    ``with temporary_mount:`` around the plan's execution unmounts it and removes the
    directory afterwards, whatever happened, and adds that to a failure's ``steps_done``.
    """

    def __init__(self, runner, btrfs, fs):
        self.runner = runner
        self.btrfs = btrfs
        self.uuid = fs['uuid']
        self.path = os.path.join(TEMP_MOUNT_ROOT, 'btrfs-%s' % fs['uuid'])
        self.members = present_members(fs)
        self.degraded = bool(fs['missing_devids'] or fs['missing_count'])
        if not self.members:
            raise Refusal('no member of %s is present; attach its devices first'
                          % fs['uuid'], option='devices', details={'found': 'no member'})

    def add_steps(self, plan):
        opts = ['device=%s' % p for p in self.members]
        if self.degraded:
            opts.insert(0, 'degraded')
        plan.add('register the members with the kernel',
                 argv=[self.btrfs, 'device', 'scan'] + self.members)
        plan.add('create the private temporary mount directory %s' % self.path,
                 action=lambda: _private_dir(self.path))
        plan.add('mount %s temporarily at %s' % (self.uuid, self.path),
                 argv=[self.runner.which('mount'), '-t', 'btrfs', '-o', ','.join(opts),
                       self.members[0], self.path],
                 hint='read dmesg; with missing members the mount needs "degraded", which '
                      'was %s' % ('used' if self.degraded else 'not needed'))

    def release_step(self):
        """The unmount as the plan shows it (it is not a plan step: it always runs)."""
        return {'step': 'unmount the temporary mount %s (always, in finally)' % self.path,
                'command': render(['umount', self.path]), 'destructive': False}

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        released = self.release()
        if released and isinstance(exc, ModuleFailure) and 'steps_done' in exc.details:
            exc.details['steps_done'].append(released)
        return False

    def release(self):
        """Unmount (when mounted) and remove the directory; the unmount done, or None."""
        done = None
        if os.path.ismount(self.path):
            rc, out, err = self.runner.run([self.runner.which('umount'), self.path],
                                           check_rc=False)
            done = {'step': 'unmount the temporary mount %s' % self.path,
                    'command': render(['umount', self.path]), 'destructive': False,
                    'rc': rc}
        if os.path.isdir(self.path) and not os.path.ismount(self.path):
            try:
                os.rmdir(self.path)
            except OSError:
                pass
        return done
