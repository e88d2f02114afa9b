# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""bcache preflight: can this kernel do bcache at all, and is a device free to be written?

* :func:`kernel_support` tells ``loaded``, ``module`` (``modprobe bcache`` will work) or
  ``missing`` from sysfs and ``/lib/modules/<release>/modules.{builtin,dep}``, so that a kernel
  without bcache gets a message about the kernel, not about a missing ``modprobe``, in check
  mode as in a real run.
* :func:`refuse_in_use` and :func:`refuse_bcache_in_use` ask :func:`blockdev.in_use` (the
  collection's one answer to "is this device in use?") before a device is formatted or stopped.
* :class:`BcacheFailure` is the package's :class:`~runner.ModuleFailure`: keyword arguments
  become result fields (``bcache_available``, ``dirty_bytes_left``, ``in_use``...).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.resilience.dr.plugins.module_utils import blockdev
from ansible_collections.resilience.dr.plugins.module_utils.runner import ModuleFailure


class BcacheFailure(ModuleFailure):
    """The module cannot reach the requested state; ``details`` go into the failed result."""

    def __init__(self, message, **details):
        super(BcacheFailure, self).__init__(message, details=details)


def refuse_in_use(path, role):
    """A device about to be formatted must be free: not mounted, swap, held, nor a partition."""
    dev, items, held_open = blockdev.in_use(path)
    if items:
        raise BcacheFailure('%s (the %s device) is in use: %s; nothing was changed. Unmount or '
                            'release it first, or correct the device name; force does not '
                            'override this' % (dev.shown(), role, blockdev.describe_usage(items)),
                            device=path, in_use=items)
    if held_open:
        raise BcacheFailure('%s (the %s device) is held open exclusively by another program; '
                            'find it with `fuser -vm %s` and release it; nothing was changed'
                            % (dev.shown(), role, path), device=path)


def kernel_support(sysfs, release=None):
    """``(status, detail)``: ``loaded``, ``module`` (can be loaded) or ``missing``."""
    if sysfs.isdir('/sys/fs/bcache') or sysfs.isdir('/sys/module/bcache'):
        return 'loaded', None
    release = release or os.uname()[2]
    base = '/lib/modules/%s' % release
    if not sysfs.isdir(base):
        return 'missing', '%s does not exist (no modules for the running kernel %s)' % (
            base, release)
    for name in ('modules.builtin', 'modules.dep'):
        text = sysfs.read('%s/%s' % (base, name)) or ''
        if re.search(r'(^|/)bcache\.ko', text, re.M):
            return 'module', '%s/%s lists bcache' % (base, name)
    return 'missing', 'neither %s/modules.builtin nor modules.dep lists bcache.ko' % base


def require_bcache(sysfs, release=None):
    """None when bcache is loaded; what lists the module when it can be loaded; else fail."""
    status, detail = kernel_support(sysfs, release)
    if status == 'missing':
        raise BcacheFailure(no_bcache_message(release or os.uname()[2], detail),
                            bcache_available=False)
    return detail


def no_bcache_message(release, detail):
    return ('the running kernel (%s) has no bcache support: /sys/fs/bcache does not exist and %s. '
            'Nothing was changed, and nothing can be planned on this kernel. Boot a kernel built '
            'with CONFIG_BCACHE (Debian\'s standard linux-image-amd64 has it as a module), then '
            're-run; or leave bcache out of this host\'s storage layout (btrfs_array can use the '
            'disks directly)' % (release, detail))


def refuse_bcache_in_use(bdev, backing):
    """``state=absent`` stops the bcache device: nothing may hold it."""
    dev, items, held_open = blockdev.in_use(bdev)
    if items:
        raise BcacheFailure('%s (%s) is in use: %s; unmount or release it first'
                            % (bdev, backing, blockdev.describe_usage(items)),
                            device=backing, in_use=items)
    if held_open:
        raise BcacheFailure('%s (%s) is in use (held open); unmount or release it first '
                            '(fuser -vm %s)' % (bdev, backing, bdev), device=backing)
