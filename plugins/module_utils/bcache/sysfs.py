# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The only code of the bcache package that touches ``/sys``.

``root`` is configurable so that the unit tests read sysfs trees captured in a lab VM
(tests/unit/fixtures/bcache/trixie/*.sysfs.json).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os


class Sysfs:
    """All reads and writes of /sys for bcache.  ``root`` points at a captured tree in tests."""

    def __init__(self, root='/'):
        self.root = root or '/'

    def path(self, path):
        if self.root == '/':
            return path
        return os.path.join(self.root, path.lstrip('/'))

    def exists(self, path):
        return os.path.lexists(self.path(path))

    def isdir(self, path):
        return os.path.isdir(self.path(path))

    def islink(self, path):
        return os.path.islink(self.path(path))

    def listdir(self, path):
        try:
            return sorted(os.listdir(self.path(path)))
        except OSError:
            return []

    def read(self, path):
        """The file's text without the trailing newline, or None if it cannot be read."""
        try:
            with open(self.path(path)) as handle:
                return handle.read().rstrip('\n')
        except (IOError, OSError):
            return None

    def link_name(self, path):
        """Basename of what a symlink points to (``bcache0``, a cache set uuid), or None."""
        full = self.path(path)
        if not os.path.islink(full):
            return None
        return os.path.basename(os.path.normpath(os.readlink(full)))

    def link_owner(self, path):
        """For a link to some device's ``bcache`` dir: the device name (``vdb``, ``nvme0n1p2``)."""
        full = self.path(path)
        if not os.path.islink(full):
            return None
        target = os.path.normpath(os.path.join(os.path.dirname(full), os.readlink(full)))
        if os.path.basename(target) == 'bcache':
            target = os.path.dirname(target)
        return os.path.basename(target)

    def write(self, path, value):
        """Write ``value`` like ``echo value > path``.  OSError propagates with its errno."""
        with open(self.path(path), 'w') as handle:
            handle.write('%s\n' % value)

    # bcache-specific locations -------------------------------------------------------------

    def block(self, name):
        """The directory operators know for a block device: /sys/block/X for disks."""
        if self.isdir('/sys/block/%s' % name):
            return '/sys/block/%s' % name
        return '/sys/class/block/%s' % name

    def bcache_dir(self, name):
        return '%s/bcache' % self.block(name)


def device_name(path):
    """Kernel name of a device path (/dev/disk/by-partlabel/ml-bcache -> nvme0n1p2)."""
    return os.path.basename(os.path.realpath(path))
