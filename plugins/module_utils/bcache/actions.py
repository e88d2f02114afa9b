# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan steps that act on the kernel's bcache: sysfs writes, registration, modprobe, wipefs.

Every planner adds its steps through one :class:`SysfsActions`, so that each sysfs write reads
like the shell command an operator would have typed (``echo writeback >
/sys/block/vdb/bcache/cache_mode``), fails with the kernel's own words (the last ``bcache``
lines of ``dmesg``) and a hint, and waits for the kernel's view rather than trusting an errno.

Kernel facts this relies on:

* ``/sys/fs/bcache/register`` registers a device; a device that is already registered fails
  (EBUSY on older kernels, EIO on 6.12; dmesg says "device already registered"), which is
  success for us once sysfs shows the device.
* Writing a cache set uuid to ``<dev>/bcache/attach`` attaches, 1 to ``detach`` detaches
  (after the kernel flushed), 1 to ``running`` starts a device without its cache.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import time

from ansible_collections.resilience.dr.plugins.module_utils.bcache.discovery import KernelView
from ansible_collections.resilience.dr.plugins.module_utils.bcache.preflight import (
    BcacheFailure, require_bcache)
from ansible_collections.resilience.dr.plugins.module_utils.runner import CommandError

REGISTER = '/sys/fs/bcache/register'


class SysfsActions:
    """Adds steps to ``plan`` whose actions write sysfs through ``sysfs`` and run ``runner``."""

    POLL = 0.5
    REGISTER_TIMEOUT = 60

    def __init__(self, runner, sysfs, plan, check_mode=False, kernel_release=None):
        self.runner = runner
        self.sysfs = sysfs
        self.plan = plan
        self.check_mode = check_mode
        self.kernel_release = kernel_release
        self._modprobe_planned = False

    # ---- reading and waiting (at execution time) ------------------------------------------

    def fresh(self):
        """The kernel's view now (a step's action must not trust the view taken at planning)."""
        return KernelView(self.sysfs)

    def wait(self, predicate, timeout, what):
        deadline = time.time() + timeout
        while True:
            if predicate():
                return
            if time.time() >= deadline:
                raise BcacheFailure('timed out after %ss waiting for %s' % (timeout, what))
            time.sleep(self.POLL)

    def settle(self):
        udevadm = self.runner.which('udevadm', required=False)
        if udevadm:
            self.runner.run([udevadm, 'settle', '--timeout=30'], check_rc=False)

    def tool(self, name, hint=None):
        """A tool's path for a planned command; check mode plans without it installed."""
        return self.runner.which(name, required=not self.check_mode, hint=hint) or name

    # ---- writing ----------------------------------------------------------------------------

    def write(self, path, value, tolerate=()):
        """``echo value > path``; False when the errno is in ``tolerate``; else CommandError."""
        try:
            self.sysfs.write(path, value)
        except (IOError, OSError) as exc:
            if exc.errno in tolerate:
                return False
            kernel = self._kernel_messages()
            raise CommandError(['sh', '-c', 'echo %s > %s' % (value, path)], exc.errno or 1,
                               stderr='%s%s' % (os.strerror(exc.errno or 1),
                                                '; kernel: %s' % kernel if kernel else ''),
                               hint=write_hint(path))
        return True

    def _kernel_messages(self):
        dmesg = self.runner.which('dmesg', required=False)
        if not dmesg:
            return ''
        rc, out, err = self.runner.run([dmesg], check_rc=False)
        lines = [ln for ln in out.splitlines() if 'bcache' in ln][-3:]
        return ' | '.join(ln.strip() for ln in lines)

    # ---- steps ------------------------------------------------------------------------------

    def echo(self, value, path, description=None, destructive=False):
        """A step that writes ``value`` to ``path`` (shown as ``echo value > path``)."""
        def action():
            self.write(path, value)
        return self.plan.add(description or 'echo %s > %s' % (value, path), action=action,
                             destructive=destructive)

    def register(self, path, name):
        """A step that registers the bcache superblock on ``path`` (kernel name ``name``)."""
        real = os.path.realpath(path)

        def registered():
            return self.fresh().registered(name)

        def action():
            self.settle()
            if registered():
                return
            # An already registered device is refused (EBUSY on older kernels, EIO on 6.12,
            # "device already registered" in dmesg): the kernel's view decides, not errno.
            if not self.write(REGISTER, real, tolerate=(errno.EBUSY, errno.EIO, errno.EEXIST)):
                self.settle()
                if not registered():
                    self.write(REGISTER, real)
            self.wait(registered, self.REGISTER_TIMEOUT, 'the kernel to register %s' % real)
            self.settle()
        self.plan.add('register the existing bcache superblock: echo %s > %s' % (real, REGISTER),
                      action=action)

    def modprobe(self, kernel):
        """``modprobe bcache`` unless loaded; fail at once (check mode too) without bcache."""
        detail = None if kernel.loaded else require_bcache(self.sysfs, self.kernel_release)
        if detail is None or self._modprobe_planned:
            return
        self._modprobe_planned = True
        modprobe = self.tool('modprobe', hint='install kmod (it provides modprobe); the kernel '
                                              'has a bcache module (%s)' % detail)
        self.plan.add('load the bcache kernel module (%s)' % detail, argv=[modprobe, 'bcache'],
                      hint='read dmesg: the module exists but did not load')

    def wipe(self, probe, what=None):
        """``wipefs -a`` of a probed device (every signature, or ``what`` in the description)."""
        self.plan.add(what or 'wipe every signature (%s) on %s' % (probe.signature, probe.path),
                      argv=[self.tool('wipefs'), '-a', os.path.realpath(probe.path)],
                      destructive=True)

    def make_bcache(self, description, flag, path, *extra):
        """``make-bcache -C|-B [extra] <dev>``."""
        make = self.tool('make-bcache', hint='install bcache-tools')
        self.plan.add(description, argv=[make, flag] + list(extra) + [os.path.realpath(path)],
                      hint='check the device with blkid -p and dmesg')

    def detach(self, path, name, timeout):
        """A step that detaches backing device ``name`` and waits up to ``timeout`` for it."""
        sysfs_path = '%s/detach' % self.sysfs.bcache_dir(name)

        def action():
            cur = self.fresh().backing.get(name)
            if cur is None or not cur['attached']:
                return
            self.write(sysfs_path, 1)
            self.wait(lambda: not self.fresh().backing[name]['attached'],
                      max(self.REGISTER_TIMEOUT, timeout or 0), '%s to detach' % path)
        self.plan.add('detach %s from its cache: echo 1 > %s' % (path, sysfs_path), action=action)


def write_hint(path):
    """What to check when the kernel refused a write to ``path``."""
    leaf = os.path.basename(path)
    if leaf == 'attach':
        return ('check that the cache set is registered (ls /sys/fs/bcache) and that the '
                'backing device is not dirty for another cache set')
    if leaf == 'register':
        return 'check dmesg for the reason; the superblock may be damaged'
    return 'check dmesg for the kernel message and the device state with bcache_info'
