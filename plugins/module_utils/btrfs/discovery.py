# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The read-only view of the btrfs filesystems on this host.

Sources of truth, cheapest first:

* which filesystems exist and which devices they have: ``btrfs filesystem show --raw`` (it
  probes every block device, so it also finds unmounted filesystems after an OS reinstall);
* where they are mounted: ``findmnt --json``;
* profiles and missing members of a *mounted* filesystem: sysfs (no command at all);
* profiles and all devids of an *unmounted* filesystem: the chunk tree on disk
  (``btrfs inspect-internal dump-tree -t chunk``, read-only);
* signatures on a device: :mod:`blockdev`, the collection's one block-device helper.

Nothing here runs a command in :data:`MUTATING` (the benchmark and the integration tests
check that).  :func:`public_fs` and :func:`diff_view` are the result and diff forms of what
:meth:`Btrfs.filesystems` describes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.resilience.dr.plugins.module_utils import blockdev
from ansible_collections.resilience.dr.plugins.module_utils.blockdev import device_rdev
from ansible_collections.resilience.dr.plugins.module_utils.btrfs.parsers import (
    BLOCK_GROUP_TYPES, PROFILES, parse_chunk_tree, parse_device_stats, parse_filesystem_show,
    parse_filesystem_usage, parse_findmnt_json, parse_scrub_status)
from ansible_collections.resilience.dr.plugins.module_utils.runner import CommandError

SYSFS_ROOT = '/sys/fs/btrfs'

# Where this collection mounts an unmounted filesystem for an operation (see mount.py).
TEMP_MOUNT_ROOT = '/run/resilience-dr'

# Commands that change something on disk.  Read-only discovery never runs one of these.
MUTATING = ('mkfs.btrfs', 'wipefs -a', 'btrfs device add', 'btrfs device remove',
            'btrfs device delete', 'btrfs replace start', 'btrfs balance start',
            'btrfs scrub start', 'btrfs filesystem resize', 'btrfs filesystem label', 'mount ',
            'umount ')


def is_mutating(cmd):
    """True when the rendered command ``cmd`` changes state on disk (or mounts)."""
    cmd = re.sub(r'^\S*/', '', cmd)
    return any(cmd.startswith(m) for m in MUTATING)


def read_sysfs_fs(uuid, root=SYSFS_ROOT):
    """What the kernel says about a *mounted* filesystem, or None when it is not mounted."""
    base = os.path.join(root, uuid)
    if not os.path.isdir(base):
        return None

    def read(path, default=None):
        try:
            with open(path) as f:
                return f.read().strip()
        except (IOError, OSError):
            return default

    info = {'label': read(os.path.join(base, 'label'), ''), 'devinfo': {},
            'profiles': dict((t, []) for t in BLOCK_GROUP_TYPES), 'members': []}
    devinfo = os.path.join(base, 'devinfo')
    if os.path.isdir(devinfo):
        for name in os.listdir(devinfo):
            if name.isdigit():
                d = os.path.join(devinfo, name)
                info['devinfo'][int(name)] = {
                    'missing': read(os.path.join(d, 'missing'), '0') == '1',
                    'replace_target': read(os.path.join(d, 'replace_target'), '0') == '1',
                    'writeable': read(os.path.join(d, 'writeable'), '1') == '1',
                }
    for kind in BLOCK_GROUP_TYPES:
        d = os.path.join(base, 'allocation', kind)
        if os.path.isdir(d):
            info['profiles'][kind] = sorted(n for n in os.listdir(d) if n in PROFILES)
    devs = os.path.join(base, 'devices')
    if os.path.isdir(devs):
        info['members'] = sorted(os.listdir(devs))
    return info


def member_kernel_names(uuid, root=SYSFS_ROOT):
    """Kernel names (``loop0``, ``bcache2``) of a mounted filesystem's members, from sysfs."""
    try:
        return sorted(os.listdir(os.path.join(root, uuid, 'devices')))
    except OSError:
        return []


def present_members(fs):
    """Paths of the members that are there (not missing)."""
    return [d['path'] for d in fs['devices'] if d['path'] and not d['missing']]


def member_rdevs(fs):
    """Device numbers of a described filesystem's present members."""
    return set(d['rdev'] for d in fs['devices'] if d.get('rdev') is not None)


def _absent_member(devid, size=0, used=0):
    return {'devid': devid, 'size': size, 'used': used, 'path': None, 'missing': True,
            'rdev': None}


class Btrfs:
    """Read-only view of the btrfs filesystems on this host, through the Runner."""

    def __init__(self, runner, sysfs_root=SYSFS_ROOT):
        self.runner = runner
        self.sysfs_root = sysfs_root
        self._btrfs = None
        self._mounts = None

    @property
    def btrfs(self):
        """Absolute path of the ``btrfs`` tool (fails with an install hint when missing)."""
        if self._btrfs is None:
            self._btrfs = self.runner.which('btrfs', hint='install btrfs-progs')
        return self._btrfs

    # raw reads ------------------------------------------------------------------------------
    def show(self):
        argv = [self.btrfs, 'filesystem', 'show', '--raw']
        rc, out, err = self.runner.run(argv, check_rc=False)
        if rc != 0 and out.strip() == '':
            # rc 1 with no output means: no btrfs at all (older progs).
            if 'ERROR' in err and 'not a valid btrfs' not in err:
                raise CommandError(argv, rc, out, err,
                                   hint='check that the btrfs module is loaded (modprobe btrfs)')
            return []
        return parse_filesystem_show(out)

    def mounts(self, refresh=False):
        if self._mounts is None or refresh:
            findmnt = self.runner.which('findmnt', hint='install util-linux')
            rc, out, err = self.runner.run([findmnt, '--json', '--list', '-o',
                                            'TARGET,SOURCE,FSTYPE,OPTIONS'], check_rc=False)
            self._mounts = parse_findmnt_json(out) if rc == 0 else []
        return self._mounts

    def signatures(self, path):
        return blockdev.signatures(self.runner, path)

    def chunk_tree(self, path):
        rc, out, err = self.runner.run(
            [self.btrfs, 'inspect-internal', 'dump-tree', '-t', 'chunk', path], check_rc=False)
        if rc != 0:
            return None
        return parse_chunk_tree(out)

    def usage(self, mnt):
        rc, out, err = self.runner.run([self.btrfs, 'filesystem', 'usage', '-b', mnt],
                                       check_rc=False)
        return parse_filesystem_usage(out) if out.strip() else None

    def device_stats(self, mnt):
        rc, out, err = self.runner.run([self.btrfs, 'device', 'stats', mnt], check_rc=False)
        return parse_device_stats(out)

    def scrub_status(self, mnt):
        rc, out, err = self.runner.run([self.btrfs, 'scrub', 'status', '-R', mnt], check_rc=False)
        if rc != 0 and not out.strip():
            return None
        return parse_scrub_status(out)

    # assembled view -------------------------------------------------------------------------
    def mount_targets(self, fs):
        """Mountpoints of ``fs`` (by member device), top-level mounts first."""
        rdevs = member_rdevs(fs)
        targets = []
        for m in self.mounts():
            if m['fstype'] != 'btrfs':
                continue
            if device_rdev(m['source']) in rdevs and m['target'] not in targets:
                targets.append(m['target'])
        return targets

    def describe(self, fs, deep=True):
        """Complete one entry of :meth:`show` with rdevs, mounts, profiles and missing devids.

        A mounted filesystem is completed from sysfs; an unmounted one (with ``deep``) from the
        chunk tree on one of its present members.
        """
        for d in fs['devices']:
            d['rdev'] = device_rdev(d['path']) if d['path'] else None
        fs['mountpoints'] = self.mount_targets(fs)
        sysfs = read_sysfs_fs(fs['uuid'], self.sysfs_root)
        fs['mounted'] = bool(fs['mountpoints']) or sysfs is not None
        missing = set(d['devid'] for d in fs['devices'] if d['missing'])
        if sysfs is not None:
            profiles = self._complete_from_sysfs(fs, sysfs, missing)
        elif deep:
            profiles = self._complete_from_chunk_tree(fs, missing)
        else:
            profiles = dict((t, []) for t in BLOCK_GROUP_TYPES)
        for d in fs['devices']:
            if d['devid'] in missing:
                d['missing'] = True
        fs['devices'].sort(key=lambda d: d['devid'])
        fs['missing_devids'] = sorted(missing)
        if fs['some_missing'] and not missing:
            fs['missing_count'] = max((fs['total_devices'] or 0) - len(fs['devices']), 0)
        else:
            fs['missing_count'] = len(missing)
        fs['profiles'] = profiles
        fs['mountpoint'] = self.preferred_mountpoint(fs['mountpoints'])
        return fs

    @staticmethod
    def _complete_from_sysfs(fs, sysfs, missing):
        """Missing devids the kernel knows of (adds them to ``missing``); the profiles."""
        missing |= set(k for k, v in sysfs['devinfo'].items() if v['missing'])
        known = set(d['devid'] for d in fs['devices'])
        for devid in sorted(sysfs['devinfo']):
            if devid not in known:
                fs['devices'].append(_absent_member(devid))
        return sysfs['profiles']

    def _complete_from_chunk_tree(self, fs, missing):
        """Devids recorded on disk but absent (adds them to ``missing``); the profiles."""
        present = present_members(fs)
        chunk = self.chunk_tree(present[0]) if present else None
        if not chunk:
            return dict((t, []) for t in BLOCK_GROUP_TYPES)
        known = set(d['devid'] for d in fs['devices'])
        for item in chunk['devices']:
            if item['devid'] not in known:
                missing.add(item['devid'])
                fs['devices'].append(_absent_member(item['devid'], item['size'], item['used']))
        return chunk['profiles']

    @staticmethod
    def preferred_mountpoint(targets):
        """An operator's mount wins over a leftover temporary one."""
        own = [t for t in targets if not t.startswith(TEMP_MOUNT_ROOT + '/')]
        return (own or targets or [None])[0]

    def filesystems(self, deep=True):
        return [self.describe(fs, deep=deep) for fs in self.show()]


def public_fs(fs):
    """The result form of a described filesystem (no internal keys)."""
    if fs is None:
        return None
    return {
        'uuid': fs['uuid'],
        'label': fs['label'],
        'total_devices': fs.get('total_devices'),
        'devices': [{'devid': d['devid'], 'path': d['path'], 'size': d['size'],
                     'used': d['used'], 'missing': d['missing']} for d in fs['devices']],
        'missing_devids': fs.get('missing_devids', []),
        'missing_count': fs.get('missing_count', 0),
        'profiles': fs.get('profiles', {}),
        'mounted': fs.get('mounted', False),
        'mountpoint': fs.get('mountpoint'),
        'mountpoints': fs.get('mountpoints', []),
    }


def diff_view(fs):
    """The diff form of a described filesystem: members and profiles."""
    if fs is None:
        return {'exists': False}
    return {'exists': True, 'uuid': fs['uuid'], 'label': fs['label'],
            'members': sorted(d['path'] or 'devid %d (missing)' % d['devid']
                              for d in fs['devices']),
            'profiles': dict((k, list(v)) for k, v in fs['profiles'].items())}
