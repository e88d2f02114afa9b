# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only views of bcache on this machine: the kernel's (sysfs) and the disks' (superblocks).

* :class:`KernelView` is one snapshot of every registered cache set, cache device and backing
  device, read through :class:`~sysfs.Sysfs`.
* :class:`DeviceProbe` is what is on one requested device *now*: the signatures
  :mod:`blockdev` finds (``wipefs --json``, condensed to the ``blkid`` view) and, for a bcache
  signature, the superblock ``bcache-super-show`` prints.  :func:`probe_device` takes it.
* :func:`scan_superblocks` finds every device with a bcache signature (registered or not);
  :func:`gather_info` is the whole ``bcache_info`` result.

Kernel facts this relies on (Documentation/admin-guide/bcache.rst and the sysfs ABI):

* A backing device has ``/sys/class/block/<dev>/bcache/`` with ``state`` (``no cache``,
  ``clean``, ``dirty``, ``inconsistent`` -- the superblock's view), ``running``, ``cache``
  (link to the cache set when attached), ``dev`` (link to ``bcacheN`` when running),
  ``dirty_data`` (human size such as ``8.0M``), ``cache_mode`` (``writethrough [writeback]
  writearound none``), ``sequential_cutoff``, ``writeback_percent`` and ``writeback_running``.
* A backing device whose superblock names a cache set that is not there is registered but not
  started (``running`` is 0): the kernel waits for the cache.
* ``writeback_percent`` is clamped by the kernel to ``bch_cutoff_writeback`` (40 by default).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.resilience.dr.plugins.module_utils import blockdev
from ansible_collections.resilience.dr.plugins.module_utils.blockdev import parse_blkid_export
from ansible_collections.resilience.dr.plugins.module_utils.bcache.parsers import (
    UUID_RE, parse_choice, parse_human, parse_int, parse_super_show)
from ansible_collections.resilience.dr.plugins.module_utils.bcache.preflight import BcacheFailure
from ansible_collections.resilience.dr.plugins.module_utils.bcache.sysfs import device_name
from ansible_collections.resilience.dr.plugins.module_utils.runner import CommandError

DEFAULT_CUTOFF_WRITEBACK = 40


class KernelView:
    """One snapshot of what the kernel has registered (sysfs), read at construction."""

    def __init__(self, sysfs, cutoff_default=DEFAULT_CUTOFF_WRITEBACK):
        self.sysfs = sysfs
        self.loaded = sysfs.isdir('/sys/fs/bcache')
        self.cache_sets = {}
        self.backing = {}
        self.caches = {}
        self.bcache_devices = {}
        cutoff = sysfs.read('/sys/module/bcache/parameters/bch_cutoff_writeback')
        self.cutoff_writeback = int(cutoff) if cutoff and cutoff.isdigit() else cutoff_default
        if self.loaded:
            self._scan()

    def _scan(self):
        sysfs = self.sysfs
        for name in sysfs.listdir('/sys/class/block'):
            if re.match(r'^bcache\d+$', name):
                slaves = sysfs.listdir('/sys/class/block/%s/slaves' % name)
                if slaves:
                    self.bcache_devices[name] = slaves[0]
        for name in sysfs.listdir('/sys/class/block'):
            base = '/sys/class/block/%s/bcache' % name
            if not sysfs.isdir(base) or sysfs.islink(base):
                continue
            if sysfs.exists(base + '/cache_mode'):
                self.backing[name] = self._backing(name, base)
            elif sysfs.exists(base + '/set') or sysfs.exists(base + '/bucket_size'):
                self.caches[name] = {'device': '/dev/%s' % name, 'name': name,
                                     'cache_set_uuid': sysfs.link_name(base + '/set')}
        for cset in sysfs.listdir('/sys/fs/bcache'):
            if UUID_RE.match(cset):
                self.cache_sets[cset] = self._cache_set(cset)

    def _backing(self, name, base):
        sysfs = self.sysfs

        def read(attr):
            return sysfs.read('%s/%s' % (base, attr))
        bdev = sysfs.link_name(base + '/dev')
        if bdev is None:
            for candidate, slave in self.bcache_devices.items():
                if slave == name:
                    bdev = candidate
        dirty = read('dirty_data')
        cutoff = read('sequential_cutoff')
        wbp = read('writeback_percent')
        running = read('running')
        sb_view = read('state')     # the superblock's cache state as the kernel shows it
        cset = sysfs.link_name(base + '/cache')
        info = {
            'name': name,
            'device': '/dev/%s' % name,
            'bcache_device': '/dev/%s' % bdev if bdev else None,
            'state': sb_view,
            'running': running == '1',
            'attached': cset is not None,
            'cache_set_uuid': cset,
            'dirty_data': dirty,
            'dirty_data_bytes': parse_human(dirty) if dirty else None,
            'cache_mode': parse_choice(read('cache_mode')),
            'sequential_cutoff': cutoff,
            'sequential_cutoff_bytes': parse_human(cutoff) if cutoff else None,
            'writeback_percent': parse_int(wbp),
            'writeback_running': read('writeback_running') == '1',
            'label': read('label') or '',
            'backing_dev_uuid': read('backing_dev_uuid'),
        }
        # The kernel does not start a backing device whose superblock names a cache set that
        # is not registered: it is "waiting for its cache".
        info['waiting_for_cache'] = (not info['running'] and not info['attached']
                                     and sb_view in ('clean', 'dirty'))
        if info['waiting_for_cache']:
            info['status'] = 'waiting for missing cache'
        elif not info['running']:
            info['status'] = 'not running'
        else:
            info['status'] = sb_view
        return info

    def _cache_set(self, cset):
        sysfs = self.sysfs
        base = '/sys/fs/bcache/%s' % cset
        caches = []
        backing = []
        for entry in sysfs.listdir(base):
            if re.match(r'^cache\d+$', entry):
                owner = sysfs.link_owner('%s/%s' % (base, entry))
                if owner:
                    caches.append(owner)
            elif re.match(r'^bdev\d+$', entry):
                owner = sysfs.link_owner('%s/%s' % (base, entry))
                if owner:
                    backing.append(owner)

        def number(attr):
            return parse_int(sysfs.read('%s/%s' % (base, attr)))

        return {
            'uuid': cset,
            'cache_devices': ['/dev/%s' % c for c in sorted(caches)],
            'backing_devices': ['/dev/%s' % b for b in sorted(backing)],
            'hit_ratio': number('stats_total/cache_hit_ratio'),
            'cache_hits': number('stats_total/cache_hits'),
            'cache_misses': number('stats_total/cache_misses'),
            'bypassed': sysfs.read(base + '/stats_total/bypassed'),
            'cache_available_percent': number('cache_available_percent'),
            'block_size': sysfs.read(base + '/block_size'),
            'bucket_size': sysfs.read(base + '/bucket_size'),
            'congested': sysfs.read(base + '/congested'),
        }

    def registered(self, name):
        """Whether the kernel has registered device ``name`` (backing or cache)."""
        return name in self.backing or name in self.caches

    def as_info(self):
        """The ``bcache_info`` result body (plus ``superblocks`` added by the caller)."""
        return {
            'loaded': self.loaded,
            'cache_sets': [self.cache_sets[k] for k in sorted(self.cache_sets)],
            'backing_devices': [self.backing[k] for k in sorted(self.backing)],
            'cache_devices': [self.caches[k] for k in sorted(self.caches)],
        }


class DeviceProbe:
    """What is on one block device now: its signatures (``blkid`` view) and bcache superblock."""

    def __init__(self, path, name=None, blkid=None, superblock=None):
        self.path = path
        self.name = name or device_name(path)
        self.blkid = blkid or {}
        self.sb = superblock

    @property
    def kind(self):
        if self.sb:
            return 'bcache-%s' % self.sb['type']
        if self.blkid.get('TYPE') == 'bcache':
            return 'bcache-unknown'
        if self.blkid:
            return 'other'
        return 'blank'

    @property
    def signature(self):
        if self.sb:
            return 'bcache %s superblock (cset %s)' % (self.sb['type'], self.sb['cset_uuid'])
        return blockdev.describe_view(self.blkid)

    def as_dict(self):
        return {'device': self.path, 'name': self.name, 'content': self.kind,
                'signature': self.signature,
                'dev_uuid': self.sb['dev_uuid'] if self.sb else None,
                'superblock_cset_uuid': self.sb['cset_uuid'] if self.sb else None,
                'superblock_state': self.sb.get('cache_state') if self.sb else None}


def probe_device(runner, path):
    """The signatures on one device (:func:`blockdev.signatures`) and its bcache superblock."""
    dev = blockdev.resolve(path)
    if not dev.exists:
        raise BcacheFailure('%s does not exist; check the device name (ls -l /dev/disk/by-*)'
                            % path, device=path)
    if not dev.block:
        raise BcacheFailure('%s is not a block device; list block devices only (for a disk '
                            'image: losetup --find --show IMAGE)' % path, device=path)
    real = dev.node
    blkid = blockdev.blkid_view(blockdev.signatures(runner, real))
    superblock = None
    if blkid.get('TYPE') == 'bcache':
        superblock = read_superblock(runner, real)
    return DeviceProbe(path, dev.name or device_name(real), blkid, superblock)


def read_superblock(runner, device):
    """``bcache-super-show`` of ``device`` parsed; None for a bad magic (no bcache superblock)."""
    tool = runner.which('bcache-super-show', hint='install bcache-tools')
    rc, out, err = runner.run([tool, device], check_rc=False)
    if rc != 0:
        if 'bad magic' in (out + err).lower():
            return None
        raise CommandError([tool, device], rc, out, err,
                           hint='the bcache superblock of %s cannot be read' % device)
    return parse_super_show(out)


def scan_superblocks(runner):
    """Every device with a bcache signature (``blkid -c /dev/null -t TYPE=bcache``)."""
    blkid_bin = runner.which('blkid', required=False)
    if not blkid_bin:
        return []
    rc, out, err = runner.run([blkid_bin, '-c', '/dev/null', '-o', 'export', '-t', 'TYPE=bcache'],
                              check_rc=False)
    if rc != 0:
        return []
    result = []
    for entry in parse_blkid_export(out):
        dev = entry.get('DEVNAME')
        if not dev:
            continue
        sb = read_superblock(runner, dev)
        result.append({'device': dev, 'name': device_name(dev),
                       'type': sb['type'] if sb else 'unknown',
                       'dev_uuid': sb['dev_uuid'] if sb else entry.get('UUID'),
                       'cset_uuid': sb['cset_uuid'] if sb else None,
                       'superblock_state': sb.get('cache_state') if sb else None,
                       'cache_mode': sb.get('cache_mode') if sb else None,
                       'label': sb.get('label') if sb else None})
    return result


def gather_info(runner, sysfs):
    """The whole ``bcache_info`` result."""
    kernel = KernelView(sysfs)
    info = kernel.as_info()
    superblocks = scan_superblocks(runner)
    by_name = dict((sb['name'], sb) for sb in superblocks)
    for dev in info['backing_devices']:
        sb = by_name.get(dev['name'])
        dev['superblock_cset_uuid'] = sb['cset_uuid'] if sb else None
        # What the superblock recorded (clean, dirty...): for a device waiting for a lost cache
        # the only record of whether that cache held dirty data for it.
        dev['superblock_state'] = sb['superblock_state'] if sb else None
        dev['missing_cache_set_uuid'] = (sb['cset_uuid'] if sb and dev['waiting_for_cache']
                                         else None)
    info['unregistered'] = [sb for sb in superblocks if not kernel.registered(sb['name'])]
    info['waiting_for_cache'] = [d['device'] for d in info['backing_devices']
                                 if d['waiting_for_cache']]
    info['dirty'] = [d['device'] for d in info['backing_devices'] if d['state'] == 'dirty']
    return info


def holds_dirty(backing):
    """Whether a registered backing device (a :class:`KernelView` entry) holds dirty data."""
    return backing['state'] == 'dirty' or (backing['dirty_data_bytes'] or 0) > 0
