# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""bcache: read the kernel's sysfs view and the on-disk superblocks, plan and apply changes.

Everything the ``bcache_cache`` and ``bcache_info`` modules know about bcache lives here:

* :class:`Sysfs` is the only code that touches ``/sys``.  Its ``root`` is configurable so that
  the unit tests read sysfs trees captured in a lab VM.
* :func:`parse_super_show`, :func:`parse_blkid_export`, :func:`parse_human` and friends turn
  tool and sysfs text into data.
* :class:`BcacheState` is one snapshot of every registered cache set and backing device.
* :class:`BcacheCache` plans (and then executes) ``present``, ``detached`` and ``absent`` as a
  :class:`~runner.Plan`.  Each sysfs write is a plan step that reads like the shell command an
  operator would have typed (``echo writeback > /sys/block/vdb/bcache/cache_mode``).

Kernel facts this relies on (Documentation/admin-guide/bcache.rst and the sysfs ABI):

* ``/sys/fs/bcache/register`` registers a device; a device that is already registered fails
  (EBUSY on older kernels, EIO on 6.12; dmesg says "device already registered"), which is
  success for us once sysfs shows the device.
* A backing device has ``/sys/class/block/<dev>/bcache/`` with ``state`` (``no cache``,
  ``clean``, ``dirty``, ``inconsistent`` -- the superblock's view), ``running``, ``cache``
  (link to the cache set when attached), ``dev`` (link to ``bcacheN`` when running),
  ``dirty_data`` (human size such as ``8.0M``), ``cache_mode`` (``writethrough [writeback]
  writearound none``), ``sequential_cutoff``, ``writeback_percent`` and ``writeback_running``.
* A backing device whose superblock names a cache set that is not there is registered but not
  started (``running`` is 0): the kernel waits for the cache.  Writing 1 to ``running`` starts
  it without the cache and marks the superblock ``inconsistent``.
* ``cache_mode`` is stored in the backing superblock; ``sequential_cutoff`` and
  ``writeback_percent`` are not (they return to 4.0M and 10 on every registration).
* ``writeback_percent`` is clamped by the kernel to ``bch_cutoff_writeback`` (40 by default).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json
import os
import re
import time
import uuid as uuidlib

from ansible_collections.resilience.dr.plugins.module_utils import blockdev
from ansible_collections.resilience.dr.plugins.module_utils.blockdev import (  # noqa: F401
    parse_blkid_export)
from ansible_collections.resilience.dr.plugins.module_utils.bcache_preflight import (
    BcacheFailure, refuse_bcache_in_use, refuse_in_use, require_bcache)
from ansible_collections.resilience.dr.plugins.module_utils.runner import (
    CommandError, Plan, Refusal)

CACHE_MODES = ('writethrough', 'writeback', 'writearound', 'none')
BACKING_STATES = ('no cache', 'clean', 'dirty', 'inconsistent')
# bcache-super-show prints dev.data.cache_state as "<n> [<name>]"; these are the kernel's names.
SB_STATES = {0: 'detached', 1: 'clean', 2: 'dirty', 3: 'inconsistent'}
UNITS = 'kMGTPEZY'
UUID_RE = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')
DEFAULT_CUTOFF_WRITEBACK = 40
DEFAULT_PERSIST_PATH = '/etc/udev/rules.d/70-resilience-bcache.rules'
RULE_HEADER = ('# Managed by resilience.dr.bcache_cache (persist: true). Re-applies the bcache\n'
               '# tunables the kernel does not store on disk each time a backing device is\n'
               '# registered. Do not edit lines by hand; re-run the module instead.\n')


# --------------------------------------------------------------------------------------------
# parsing
# --------------------------------------------------------------------------------------------

def parse_human(text):
    """Bytes from a bcache human size (``8.0M``, ``0.0k``, ``512``, ``-1.5k``); None if empty.

    The kernel prints ``<int>.<one digit><unit>`` with 1024-based units, so the value is
    only as exact as that one digit (``8.0M`` is 8 MiB +- 0.05 MiB).
    """
    if text is None:
        return None
    text = text.strip()
    if not text:
        return None
    m = re.match(r'^(-?)(\d+)(?:\.(\d+))?\s*([kKMGTPEZY]?)i?[bB]?$', text)
    if not m:
        raise ValueError('not a bcache size: %r' % text)
    sign, whole, frac, unit = m.groups()
    value = float('%s.%s' % (whole, frac or '0'))
    if unit:
        value *= 1024 ** (UNITS.index(unit.replace('K', 'k')) + 1)
    value = int(round(value))
    return -value if sign else value


def hprint(value):
    """How the kernel prints ``value`` bytes in sysfs (``bch_hprint``): ``4.0M``, ``0.0k``."""
    value = int(value)
    q = abs(value)
    unit = 0
    while True:
        unit += 1
        rem = q & 1023
        q >>= 10
        if q < 1000:
            break
    return '%s%d.%d%s' % ('-' if value < 0 else '', q, rem * 10 // 1024, UNITS[unit - 1])


def parse_size_option(value):
    """``sequential_cutoff`` as given by the user (``0``, ``4M``, ``512k``, 1048576) -> bytes."""
    if value is None:
        return None
    text = str(value).strip()
    if re.match(r'^\d+$', text):
        return int(text)
    try:
        result = parse_human(text)
    except ValueError:
        result = None
    if result is None or result < 0:
        raise ValueError('sequential_cutoff must be a byte count such as 0, 524288, 512k or 4M, '
                         'not %r' % (value,))
    return result


def parse_choice(text):
    """The selected entry of a sysfs choice list: ``writethrough [writeback] none`` -> writeback."""
    if text is None:
        return None
    m = re.search(r'\[([^\]]+)\]', text)
    if m:
        return m.group(1)
    text = text.strip()
    return text or None


def parse_super_show(text):
    """``bcache-super-show`` output -> dict.

    Keys are the tool's own (``sb.version``, ``dev.uuid``, ``cset.uuid``, ...) with their raw
    values, plus the derived ``type`` (``cache`` or ``backing``), ``dev_uuid``, ``cset_uuid``,
    ``label``, and for backing devices ``cache_mode`` and ``cache_state`` as names.
    """
    raw = {}
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        parts = line.split(None, 1)
        raw[parts[0]] = parts[1].strip() if len(parts) > 1 else ''
    if 'sb.magic' not in raw:
        raise ValueError('not bcache-super-show output')
    if raw['sb.magic'] != 'ok':
        return None
    result = {'raw': raw}
    version = raw.get('sb.version', '')
    m = re.match(r'^(\d+)', version)
    result['version'] = int(m.group(1)) if m else None
    if 'cache device' in version or 'dev.cache.first_sector' in raw:
        result['type'] = 'cache'
    elif 'backing device' in version or 'dev.data.first_sector' in raw:
        result['type'] = 'backing'
    else:
        result['type'] = 'unknown'
    result['dev_uuid'] = raw.get('dev.uuid')
    result['cset_uuid'] = raw.get('cset.uuid')
    label = raw.get('dev.label', '')
    result['label'] = '' if label == '(empty)' else label
    if result['type'] == 'backing':
        result['cache_mode'] = parse_choice(raw.get('dev.data.cache_mode'))
        state = raw.get('dev.data.cache_state', '')
        name = parse_choice(state) if '[' in state else None
        if name is None:
            m = re.match(r'^(\d+)', state)
            name = SB_STATES.get(int(m.group(1))) if m else None
        result['cache_state'] = name
        sectors = raw.get('dev.data.first_sector')
        result['data_offset_sectors'] = int(sectors) if sectors and sectors.isdigit() else None
    return result


def describe_signature(blkid):
    """A short human description of what blkid found (``ext4 filesystem``)."""
    if not blkid:
        return 'nothing'
    if blkid.get('PTTYPE') and not blkid.get('TYPE'):
        return '%s partition table' % blkid['PTTYPE']
    kind = blkid.get('TYPE', 'unknown')
    usage = blkid.get('USAGE')
    if kind == 'btrfs':
        return 'btrfs filesystem (BTRFS member, UUID %s)' % blkid.get('UUID', '?')
    if usage == 'filesystem':
        return '%s filesystem' % kind
    if usage:
        return '%s signature (%s)' % (kind, usage)
    return '%s signature' % kind


# --------------------------------------------------------------------------------------------
# sysfs
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# the kernel's view
# --------------------------------------------------------------------------------------------

class BcacheState:
    """One snapshot of what the kernel has registered."""

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
        state = read('state')
        cset = sysfs.link_name(base + '/cache')
        info = {
            'name': name,
            'device': '/dev/%s' % name,
            'bcache_device': '/dev/%s' % bdev if bdev else None,
            'state': state,
            'running': running == '1',
            'attached': cset is not None,
            'cache_set_uuid': cset,
            'dirty_data': dirty,
            'dirty_data_bytes': parse_human(dirty) if dirty else None,
            'cache_mode': parse_choice(read('cache_mode')),
            'sequential_cutoff': cutoff,
            'sequential_cutoff_bytes': parse_human(cutoff) if cutoff else None,
            'writeback_percent': int(wbp) if wbp and wbp.lstrip('-').isdigit() else None,
            'writeback_running': read('writeback_running') == '1',
            'label': read('label') or '',
            'backing_dev_uuid': read('backing_dev_uuid'),
        }
        # The kernel does not start a backing device whose superblock names a cache set that
        # is not registered: it is "waiting for its cache".
        info['waiting_for_cache'] = (not info['running'] and not info['attached']
                                     and state in ('clean', 'dirty'))
        if info['waiting_for_cache']:
            info['status'] = 'waiting for missing cache'
        elif not info['running']:
            info['status'] = 'not running'
        else:
            info['status'] = state
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
            text = sysfs.read('%s/%s' % (base, attr))
            return int(text) if text is not None and text.lstrip('-').isdigit() else None

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

    def as_info(self):
        """The ``bcache_info`` result body (plus ``superblocks`` added by the caller)."""
        return {
            'loaded': self.loaded,
            'cache_sets': [self.cache_sets[k] for k in sorted(self.cache_sets)],
            'backing_devices': [self.backing[k] for k in sorted(self.backing)],
            'cache_devices': [self.caches[k] for k in sorted(self.caches)],
        }

    def backing_for_cset(self, cset):
        return sorted(n for n, b in self.backing.items() if b['cache_set_uuid'] == cset)


# --------------------------------------------------------------------------------------------
# devices on disk
# --------------------------------------------------------------------------------------------

class DeviceFacts:
    """What is on one block device: blkid's signatures and the bcache superblock."""

    def __init__(self, path, name=None, blkid=None, superblock=None, exists=True):
        self.path = path
        self.name = name or device_name(path)
        self.blkid = blkid or {}
        self.sb = superblock
        self.exists = exists

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
        return describe_signature(self.blkid)

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
    return DeviceFacts(path, dev.name or device_name(real), blkid, superblock)


def read_superblock(runner, device):
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
    state = BcacheState(sysfs)
    info = state.as_info()
    registered = set(state.backing) | set(state.caches)
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
    info['unregistered'] = [sb for sb in superblocks if sb['name'] not in registered]
    info['waiting_for_cache'] = [d['device'] for d in info['backing_devices']
                                 if d['waiting_for_cache']]
    info['dirty'] = [d['device'] for d in info['backing_devices'] if d['state'] == 'dirty']
    return info


# --------------------------------------------------------------------------------------------
# the declarative module
# --------------------------------------------------------------------------------------------

def udev_rule(dev_uuid, cutoff_bytes, writeback_percent):
    """One udev rule line that re-applies the tunables when the backing device registers."""
    writes = []
    if cutoff_bytes is not None:
        writes.append('echo %d > $$d/sequential_cutoff' % cutoff_bytes)
    if writeback_percent is not None:
        writes.append('echo %d > $$d/writeback_percent' % writeback_percent)
    script = ('d=/sys$devpath/bcache; for i in 1 2 3 4 5 6 7 8 9 10; do '
              '[ -e $$d/writeback_percent ] && break; sleep 1; done; %s' % '; '.join(writes))
    return ('ACTION=="add|change", SUBSYSTEM=="block", ENV{ID_FS_TYPE}=="bcache", '
            'ENV{ID_FS_UUID}=="%s", RUN+="/bin/sh -c \'%s\'"' % (dev_uuid, script))


def render_rules(existing_text, rules_by_uuid, drop_uuids=()):
    """Merge ``rules_by_uuid`` into an existing rules file; keep other devices' lines."""
    keep = []
    for line in (existing_text or '').splitlines():
        if not line.strip() or line.startswith('#'):
            continue
        m = re.search(r'ENV\{ID_FS_UUID\}=="([^"]+)"', line)
        if m and (m.group(1) in rules_by_uuid or m.group(1) in drop_uuids):
            continue
        keep.append(line)
    lines = keep + [rules_by_uuid[k] for k in sorted(rules_by_uuid)]
    if not lines:
        return ''
    return RULE_HEADER + '\n'.join(lines) + '\n'


class BcacheCache:
    """Plans and executes ``state: present | detached | absent`` for one cache set."""

    POLL = 0.5
    REGISTER_TIMEOUT = 60

    def __init__(self, runner, params, check_mode=False, sysfs=None, facts=None,
                 persist_text=None, new_cset_uuid=None, kernel_release=None):
        self.runner = runner
        self.params = params
        self.check_mode = check_mode
        self.sysfs = sysfs or Sysfs('/')
        self.plan = Plan()
        self.warnings = []
        self.data_lost = []
        self.state = BcacheState(self.sysfs)
        self.new_cset_uuid = new_cset_uuid
        self.kernel_release = kernel_release
        self.persist_path = params.get('persist_path') or DEFAULT_PERSIST_PATH
        self._persist_text = persist_text
        # facts: {path: DeviceFacts}; probed for real unless given (unit tests).
        self.facts = facts if facts is not None else {}
        self.cache = None
        self.backing = []
        self.cutoff_bytes = None
        self.target_cset = None

    # ---- inputs -------------------------------------------------------------------------------

    def validate(self):
        p = self.params
        backing = p.get('backing_devices') or []
        twice = blockdev.same_device_groups(backing)
        if twice:
            raise BcacheFailure('backing_devices lists the same device twice (%s); list each '
                                'device once' % '; '.join(' and '.join(g) for g in twice))
        if p.get('cache_device') and blockdev.same_device_groups([p['cache_device']] + backing):
            raise BcacheFailure('cache_device %s is also listed in backing_devices (the same '
                                'block device); one device cannot be both' % p['cache_device'])
        if p['state'] == 'present' and not p.get('cache_device') and not backing:
            raise BcacheFailure('state=present needs cache_device and/or backing_devices')
        try:
            self.cutoff_bytes = parse_size_option(p.get('sequential_cutoff'))
        except ValueError as exc:
            raise BcacheFailure(str(exc))
        wbp = p.get('writeback_percent')
        if wbp is not None:
            if wbp < 0 or wbp > 100:
                raise BcacheFailure('writeback_percent must be between 0 and 100, not %s' % wbp)
            if wbp > self.state.cutoff_writeback:
                self.warnings.append(
                    'writeback_percent %d is above the kernel limit bch_cutoff_writeback=%d; '
                    'the kernel clamps it, so %d is used'
                    % (wbp, self.state.cutoff_writeback, self.state.cutoff_writeback))
                self.params['writeback_percent'] = self.state.cutoff_writeback
        if p.get('flush_timeout') is not None and p['flush_timeout'] < 0:
            raise BcacheFailure('flush_timeout must be 0 or more seconds')

    def probe(self):
        p = self.params
        if p.get('cache_device'):
            self.cache = self._facts(p['cache_device'], 'cache')
        self.backing = [self._facts(b, 'backing') for b in p.get('backing_devices') or []]

    def _facts(self, path, role):
        if path not in self.facts:
            self.facts[path] = probe_device(self.runner, path)
            if self.params['state'] == 'present' and not self.facts[path].kind.startswith('bcache-'):
                refuse_in_use(path, role)   # make-bcache (and wipefs) would write to it
        return self.facts[path]

    # ---- sysfs steps ----------------------------------------------------------------------------

    def _echo(self, value, path, description=None, destructive=False):
        """A plan step that writes ``value`` to ``path`` (shown as ``echo value > path``)."""
        text = 'echo %s > %s' % (value, path)

        def action():
            self.write(path, value)
        return self.plan.add(description or text, action=action, destructive=destructive)

    def write(self, path, value, tolerate=()):
        try:
            self.sysfs.write(path, value)
        except (IOError, OSError) as exc:
            if exc.errno in tolerate:
                return False
            kernel = self._kernel_messages()
            raise CommandError(['sh', '-c', 'echo %s > %s' % (value, path)], exc.errno or 1,
                               stderr='%s%s' % (os.strerror(exc.errno or 1),
                                                '; kernel: %s' % kernel if kernel else ''),
                               hint=self._write_hint(path))
        return True

    def _kernel_messages(self):
        dmesg = self.runner.which('dmesg', required=False)
        if not dmesg:
            return ''
        rc, out, err = self.runner.run([dmesg], check_rc=False)
        lines = [ln for ln in out.splitlines() if 'bcache' in ln][-3:]
        return ' | '.join(ln.strip() for ln in lines)

    @staticmethod
    def _write_hint(path):
        leaf = os.path.basename(path)
        if leaf == 'attach':
            return ('check that the cache set is registered (ls /sys/fs/bcache) and that the '
                    'backing device is not dirty for another cache set')
        if leaf == 'register':
            return 'check dmesg for the reason; the superblock may be damaged'
        return 'check dmesg for the kernel message and the device state with bcache_info'

    def _wait(self, predicate, timeout, what):
        deadline = time.time() + timeout
        while True:
            if predicate():
                return
            if time.time() >= deadline:
                raise BcacheFailure('timed out after %ss waiting for %s' % (timeout, what))
            time.sleep(self.POLL)

    def _fresh(self):
        return BcacheState(self.sysfs)

    def _settle(self):
        udevadm = self.runner.which('udevadm', required=False)
        if udevadm:
            self.runner.run([udevadm, 'settle', '--timeout=30'], check_rc=False)

    # ---- registration -------------------------------------------------------------------------

    def _register_step(self, facts):
        real = os.path.realpath(facts.path)
        name = facts.name

        def registered():
            st = self._fresh()
            return name in st.backing or name in st.caches

        def action():
            self._settle()
            if registered():
                return
            # An already registered device is refused (EBUSY on older kernels, EIO on 6.12,
            # "device already registered" in dmesg): the kernel's view decides, not errno.
            if not self.write('/sys/fs/bcache/register', real,
                              tolerate=(errno.EBUSY, errno.EIO, errno.EEXIST)):
                self._settle()
                if not registered():
                    self.write('/sys/fs/bcache/register', real)
            self._wait(registered, self.REGISTER_TIMEOUT, 'the kernel to register %s' % real)
            self._settle()
        self.plan.add('register the existing bcache superblock: echo %s > /sys/fs/bcache/register'
                      % real, action=action)

    def _modprobe(self):
        """Plan ``modprobe bcache``; fail at once (check mode too) when the kernel has none."""
        detail = None if self.state.loaded else require_bcache(self.sysfs, self.kernel_release)
        if detail is None:
            return
        modprobe = self.runner.which('modprobe', required=not self.check_mode,
                                     hint='install kmod (it provides modprobe); the kernel has '
                                          'a bcache module (%s)' % detail) or 'modprobe'
        self.plan.add('load the bcache kernel module (%s)' % detail, argv=[modprobe, 'bcache'],
                      hint='read dmesg: the module exists but did not load')

    def _wipe_step(self, facts):
        wipefs = self.runner.which('wipefs', required=not self.check_mode) or 'wipefs'
        self.plan.add('wipe every signature (%s) on %s' % (facts.signature, facts.path),
                      argv=[wipefs, '-a', os.path.realpath(facts.path)], destructive=True)

    # ---- present --------------------------------------------------------------------------------

    def plan_present(self):
        p = self.params
        force = p.get('force')
        st = self.state
        # 0. a kernel without bcache fails here, before a refusal could suggest force.
        self._modprobe()
        # 1. refusals first: nothing is touched unless the whole plan is allowed.
        self._refuse_foreign(self.cache, 'cache')
        for facts in self.backing:
            self._refuse_foreign(facts, 'backing')

        # 2. the cache set
        cache = self.cache
        if cache is not None:
            if cache.kind == 'bcache-cache':
                self.target_cset = cache.sb['cset_uuid']
                if cache.name not in st.caches:
                    self._register_step(cache)
            else:
                if cache.kind != 'blank':
                    self._wipe_step(cache)   # refused above unless force
                self.target_cset = self.new_cset_uuid or str(uuidlib.uuid4())
                make = self.runner.which('make-bcache', required=not self.check_mode,
                                         hint='install bcache-tools') or 'make-bcache'
                self.plan.add('create cache set %s on %s' % (self.target_cset, cache.path),
                              argv=[make, '-C', '--cset-uuid', self.target_cset,
                                    os.path.realpath(cache.path)],
                              hint='check the device with blkid -p and dmesg')
                self._register_step(DeviceFacts(cache.path, cache.name))

        # 3. backing devices: create / register / start / attach
        need_start = []
        to_attach = []
        for facts in self.backing:
            reg = st.backing.get(facts.name)
            if facts.kind != 'bcache-backing':
                if facts.kind != 'blank':
                    self._wipe_step(facts)
                make = self.runner.which('make-bcache', required=not self.check_mode,
                                         hint='install bcache-tools') or 'make-bcache'
                self.plan.add('create bcache backing device on %s' % facts.path,
                              argv=[make, '-B', os.path.realpath(facts.path)],
                              hint='check the device with blkid -p and dmesg')
                self._register_step(DeviceFacts(facts.path, facts.name))
                to_attach.append((facts, None))
                continue
            sb_cset = facts.sb['cset_uuid']
            sb_state = facts.sb.get('cache_state')
            if reg is None:
                self._register_step(facts)
                waits = (sb_state in ('clean', 'dirty') and sb_cset != self.target_cset
                         and sb_cset not in st.cache_sets)
                if waits:
                    need_start.append((facts, sb_state, None))
                to_attach.append((facts, None))
                continue
            if reg['attached']:
                if self.target_cset and reg['cache_set_uuid'] != self.target_cset:
                    if not force:
                        raise Refusal(
                            '%s is attached to cache set %s, not to %s; moving it detaches it '
                            'from its cache (after a flush)'
                            % (facts.path, reg['cache_set_uuid'], self.target_cset),
                            option='force')
                    self._flush_detach_steps([facts.name])
                    to_attach.append((facts, reg))
                continue
            if reg['waiting_for_cache'] and sb_cset != self.target_cset:
                need_start.append((facts, sb_state, reg))
            to_attach.append((facts, reg))

        # a device that waits for a lost cache must run before it can join the new set
        if need_start:
            self._start_without_cache(need_start)
        for facts, reg in to_attach:
            self._attach_step(facts, reg)

        # 4. tunables
        for facts in self.backing:
            self._tunable_steps(facts, st.backing.get(facts.name))
        # 5. persistence
        if p.get('persist'):
            self._persist_steps()

    def _refuse_foreign(self, facts, role):
        if facts is None:
            return
        want = 'bcache-%s' % role
        if facts.kind in ('blank', want):
            return
        if self.params.get('force'):
            if facts.kind.startswith('bcache-') and facts.name in (
                    set(self.state.backing) | set(self.state.caches)):
                raise BcacheFailure(
                    '%s is a registered bcache %s device; it cannot be reformatted as a %s '
                    'device while registered. Stop it first (state=absent for its set)'
                    % (facts.path, facts.kind.split('-')[1], role))
            self.warnings.append('force: %s carries %s and will be wiped'
                                 % (facts.path, facts.signature))
            return
        raise Refusal('%s carries %s; making it a bcache %s device would destroy it'
                      % (facts.path, facts.signature, role), option='force',
                      details={'device': facts.path, 'signature': facts.blkid})

    def _attach_step(self, facts, reg):
        cset = self.target_cset
        if not cset:
            return
        if reg is not None and reg['attached'] and reg['cache_set_uuid'] == cset:
            return
        name = facts.name
        path = '%s/attach' % self.sysfs.bcache_dir(name)

        def action():
            st = self._fresh()
            cur = st.backing.get(name)
            if cur is None:
                raise BcacheFailure('%s is not registered, cannot attach it' % facts.path)
            if cur['cache_set_uuid'] == cset:
                return   # the kernel attached it on registration
            self._wait(lambda: cset in self._fresh().cache_sets, self.REGISTER_TIMEOUT,
                       'cache set %s to register' % cset)
            self.write(path, cset)
            self._wait(lambda: self._fresh().backing[name]['cache_set_uuid'] == cset,
                       self.REGISTER_TIMEOUT, '%s to attach to %s' % (facts.path, cset))
        self.plan.add('attach %s to cache set: echo %s > %s' % (facts.path, cset, path),
                      action=action)

    def _start_without_cache(self, items):
        lost = []
        for facts, sb_state, reg in items:
            known = None
            if reg is not None and reg.get('dirty_data_bytes'):
                known = reg['dirty_data_bytes']
            if sb_state == 'clean':
                amount = 0
            elif known:
                amount = known
            else:
                amount = 'unknown'
            lost.append({'device': facts.path, 'missing_cache_set_uuid': facts.sb['cset_uuid'],
                         'superblock_state': sb_state, 'dirty_data_lost_bytes': amount})
        if not self.params.get('start_without_cache'):
            dirty = [d['device'] for d in lost if d['superblock_state'] != 'clean']
            raise Refusal(
                '%s wait for their cache set (%s), which is not present; starting them without '
                'it discards any dirty data that only the lost cache held (%s)'
                % (', '.join(d['device'] for d in lost),
                   ', '.join(sorted(set(d['missing_cache_set_uuid'] for d in lost))),
                   'superblocks say dirty: %s' % ', '.join(dirty) if dirty
                   else 'all superblocks say clean'),
                option='start_without_cache', details={'waiting_for_cache': lost})
        self.data_lost = lost
        for facts, sb_state, reg in items:
            name = facts.name
            path = '%s/running' % self.sysfs.bcache_dir(name)

            def action(name=name, path=path, facts=facts):
                self._wait(lambda: name in self._fresh().backing, self.REGISTER_TIMEOUT,
                           '%s to register' % facts.path)
                cur = self._fresh().backing[name]
                if cur['running'] or cur['attached']:
                    return
                self.write(path, 1)
                self._wait(lambda: self._fresh().backing[name]['bcache_device'] is not None,
                           self.REGISTER_TIMEOUT, '%s to start' % facts.path)
            self.plan.add('start %s without its missing cache (dirty data on the lost cache is '
                          'gone): echo 1 > %s' % (facts.path, path), action=action,
                          destructive=True)

    def _tunable_steps(self, facts, reg):
        p = self.params
        base = self.sysfs.bcache_dir(facts.name)
        mode = p.get('cache_mode')
        if mode and (reg is None or reg['cache_mode'] != mode):
            self._echo(mode, '%s/cache_mode' % base)
        if self.cutoff_bytes is not None and (
                reg is None or reg['sequential_cutoff'] != hprint(self.cutoff_bytes)):
            self._echo(self.cutoff_bytes, '%s/sequential_cutoff' % base)
        wbp = p.get('writeback_percent')
        if wbp is not None and (reg is None or reg['writeback_percent'] != wbp):
            self._echo(wbp, '%s/writeback_percent' % base)

    # ---- persistence ---------------------------------------------------------------------------

    def _read_persist(self):
        if self._persist_text is None:
            try:
                with open(self.persist_path) as handle:
                    self._persist_text = handle.read()
            except (IOError, OSError):
                self._persist_text = ''
        return self._persist_text

    def desired_rules(self, uuids):
        wbp = self.params.get('writeback_percent')
        if self.cutoff_bytes is None and wbp is None:
            return {}
        return dict((u, udev_rule(u, self.cutoff_bytes, wbp)) for u in uuids)

    def _persist_steps(self, drop=False):
        if self.cutoff_bytes is None and self.params.get('writeback_percent') is None and not drop:
            self.warnings.append('persist: true without sequential_cutoff or writeback_percent '
                                 'has nothing to persist')
            return
        current = self._read_persist()
        known = [f.sb['dev_uuid'] for f in self.backing if f.kind == 'bcache-backing']
        new = [f for f in self.backing if f.kind != 'bcache-backing']
        if drop:
            wanted = render_rules(current, {}, drop_uuids=known)
        else:
            wanted = render_rules(current, self.desired_rules(known))
        self.persist_before = current
        self.persist_after = wanted
        if wanted == current and not new:
            return
        udevadm = self.runner.which('udevadm', required=False) or 'udevadm'

        def action():
            uuids = list(known)
            for f in new:
                sb = read_superblock(self.runner, os.path.realpath(f.path))
                if sb:
                    uuids.append(sb['dev_uuid'])
            if drop:
                text = render_rules(current, {}, drop_uuids=uuids)
            else:
                text = render_rules(current, self.desired_rules(uuids))
            self.persist_after = text
            if text == current:
                return
            directory = os.path.dirname(self.persist_path)
            if not os.path.isdir(directory):
                os.makedirs(directory)
            if text:
                tmp = self.persist_path + '.tmp'
                with open(tmp, 'w') as handle:
                    handle.write(text)
                os.rename(tmp, self.persist_path)
            elif os.path.exists(self.persist_path):
                os.unlink(self.persist_path)
            self.runner.run([udevadm, 'control', '--reload'], check_rc=False)
        what = 'remove the boot-time tunables of these devices from' if drop else \
            'write the udev rule that re-applies sequential_cutoff/writeback_percent at boot to'
        self.plan.add('%s %s (then udevadm control --reload)' % (what, self.persist_path),
                      action=action)

    # ---- detached -------------------------------------------------------------------------------

    def plan_detached(self):
        st = self.state
        force = self.params.get('force')
        timeout = self.params.get('flush_timeout')
        flush = []
        plain = []
        missing = []
        for facts in self.backing:
            if facts.kind != 'bcache-backing':
                if facts.kind == 'blank':
                    continue
                raise BcacheFailure('%s is not a bcache backing device (it carries %s)'
                                    % (facts.path, facts.signature))
            reg = st.backing.get(facts.name)
            if reg is None:
                if facts.sb.get('cache_state') in ('detached', 'inconsistent'):
                    continue
                # registering it lets the kernel attach it (or make it wait); decide then.
                self._modprobe()
                self._register_step(facts)
                if facts.sb['cset_uuid'] in st.cache_sets:
                    flush.append(facts)
                else:
                    missing.append((facts, facts.sb.get('cache_state'), None))
                continue
            if reg['attached']:
                if reg['state'] == 'dirty' or (reg['dirty_data_bytes'] or 0) > 0:
                    flush.append(facts)
                else:
                    plain.append(facts)
            elif reg['waiting_for_cache']:
                missing.append((facts, reg['state'], reg))
        if missing:
            lost = []
            for facts, sb_state, reg in missing:
                amount = 0 if sb_state == 'clean' else (
                    reg['dirty_data_bytes'] if reg and reg.get('dirty_data_bytes') else 'unknown')
                lost.append({'device': facts.path, 'superblock_state': sb_state,
                             'missing_cache_set_uuid': facts.sb['cset_uuid'],
                             'dirty_data_lost_bytes': amount})
            if not force:
                raise Refusal('the cache of %s is missing; detaching them gives up any dirty data '
                              'that only the lost cache held'
                              % ', '.join(d['device'] for d in lost), option='force',
                              details={'waiting_for_cache': lost})
            self.params['start_without_cache'] = True
            self._start_without_cache(missing)
        for facts in plain:
            self._detach_step(facts)
        if flush:
            if not timeout and not force:
                raise Refusal('%s hold dirty data; detaching without a flush is refused'
                              % ', '.join(f.path for f in flush), option='flush_timeout',
                              details={'dirty': [f.path for f in flush]})
            self._flush_detach_steps([f.name for f in flush])

    def _detach_step(self, facts):
        name = facts.name
        path = '%s/detach' % self.sysfs.bcache_dir(name)

        def action():
            cur = self._fresh().backing.get(name)
            if cur is None or not cur['attached']:
                return
            self.write(path, 1)
            self._wait(lambda: not self._fresh().backing[name]['attached'],
                       max(self.REGISTER_TIMEOUT, self.params.get('flush_timeout') or 0),
                       '%s to detach' % facts.path)
        self.plan.add('detach %s from its cache: echo 1 > %s' % (facts.path, path),
                      action=action)

    def _flush_detach_steps(self, names):
        """Stop new dirty data, wait for the flush (flush_timeout), then detach."""
        timeout = self.params.get('flush_timeout') or 0
        bases = dict((n, self.sysfs.bcache_dir(n)) for n in names)
        saved = {}
        saved_delay = {}

        def stop_dirtying():
            st = self._fresh()
            for n in names:
                cur = st.backing[n]
                saved[n] = cur
                self.write(bases[n] + '/cache_mode', 'writethrough')
                self.write(bases[n] + '/writeback_percent', 0)
                self.write(bases[n] + '/writeback_running', 1)
                # the writeback thread sleeps writeback_delay (30 s) between index scans and
                # only marks the device clean after a scan that finds nothing: do not wait
                saved_delay[n] = self.sysfs.read(bases[n] + '/writeback_delay')
                if saved_delay[n] is not None:
                    self.write(bases[n] + '/writeback_delay', 0)

        def restore_delay():
            for n in names:
                if saved_delay.get(n) is not None:
                    self.write(bases[n] + '/writeback_delay', saved_delay[n])

        def wait_clean():
            deadline = time.time() + timeout
            while True:
                st = self._fresh()
                left = dict((n, st.backing[n]) for n in names
                            if st.backing[n]['state'] == 'dirty'
                            or (st.backing[n]['dirty_data_bytes'] or 0) > 0)
                if not left:
                    return
                if time.time() >= deadline:
                    restored = []
                    for n in names:
                        old = saved.get(n)
                        if not old:
                            continue
                        self.write(bases[n] + '/cache_mode', old['cache_mode'])
                        self.write(bases[n] + '/writeback_percent', old['writeback_percent'])
                        self.write(bases[n] + '/writeback_running',
                                   1 if old['writeback_running'] else 0)
                        restored.append('/dev/%s: cache_mode=%s writeback_percent=%s'
                                        % (n, old['cache_mode'], old['writeback_percent']))
                    restore_delay()
                    dirty = dict(('/dev/%s' % n, b['dirty_data_bytes'])
                                 for n, b in left.items())
                    raise BcacheFailure(
                        'the flush did not finish within flush_timeout=%ss: %d bytes of dirty '
                        'data are left (%s). The devices stay attached, with their previous '
                        'cache mode restored. Re-run with a larger flush_timeout.'
                        % (timeout, sum(v or 0 for v in dirty.values()),
                           ', '.join('%s %s dirty, state %s'
                                     % (k, left[os.path.basename(k)]['dirty_data'],
                                        left[os.path.basename(k)]['state'])
                                     for k in sorted(dirty))),
                        dirty_bytes_left=dirty, restored=restored, flush_timeout=timeout)
                time.sleep(self.POLL)

        desc = ', '.join('/dev/%s' % n for n in names)
        self.plan.add('stop new dirty data on %s: echo writethrough > <dev>/bcache/cache_mode; '
                      'echo 0 > <dev>/bcache/writeback_percent; echo 1 > '
                      '<dev>/bcache/writeback_running' % desc, action=stop_dirtying)
        self.plan.add('wait up to %ss (flush_timeout) until dirty_data is 0 and state is clean '
                      'on %s' % (timeout, desc), action=wait_clean)
        for n in names:
            self._detach_step(DeviceFacts('/dev/%s' % n, n))
        self.plan.add('restore writeback_delay on %s' % desc, action=restore_delay)

    # ---- absent ---------------------------------------------------------------------------------

    def plan_absent(self):
        st = self.state
        devices = ([self.cache] if self.cache is not None else []) + self.backing
        ours = [f for f in devices if f.kind.startswith('bcache-')]
        foreign = [f for f in devices if f.kind == 'other']
        for f in foreign:
            self.warnings.append('%s carries %s, not bcache; left alone' % (f.path, f.signature))
        if not ours:
            return
        if not self.params.get('force'):
            raise Refusal('state=absent stops %s and wipes their bcache superblocks (the data on '
                          'the backing devices becomes unreachable)'
                          % ', '.join(f.path for f in ours), option='force')
        for f in self.backing:
            reg = st.backing.get(f.name)
            if reg is None:
                continue
            if reg['bcache_device']:
                refuse_bcache_in_use(reg['bcache_device'], f.path)
            if reg['state'] == 'dirty' or (reg['dirty_data_bytes'] or 0) > 0:
                self.data_lost.append({'device': f.path,
                                       'dirty_data_lost_bytes': reg['dirty_data_bytes']})
            path = '%s/stop' % self.sysfs.bcache_dir(f.name)

            def stop(name=f.name, path=path):
                if name not in self._fresh().backing:
                    return
                self.write(path, 1)
                self._wait(lambda: name not in self._fresh().backing, self.REGISTER_TIMEOUT,
                           '/dev/%s to stop' % name)
            self.plan.add('stop %s: echo 1 > %s' % (f.path, path), action=stop,
                          destructive=True)
        csets = set()
        if self.cache is not None and self.cache.name in st.caches:
            csets.add(st.caches[self.cache.name]['cache_set_uuid'])
        for cset in sorted(c for c in csets if c):
            path = '/sys/fs/bcache/%s/unregister' % cset

            def unregister(cset=cset, path=path):
                if cset not in self._fresh().cache_sets:
                    return
                self.write(path, 1)
                self._wait(lambda: cset not in self._fresh().cache_sets, self.REGISTER_TIMEOUT,
                           'cache set %s to unregister' % cset)
            self.plan.add('unregister cache set %s: echo 1 > %s' % (cset, path),
                          action=unregister, destructive=True)
        wipefs = self.runner.which('wipefs', required=not self.check_mode) or 'wipefs'
        for f in ours:
            self.plan.add('wipe the bcache superblock of %s' % f.path,
                          argv=[wipefs, '-a', os.path.realpath(f.path)], destructive=True)
        if os.path.exists(self.persist_path) or self._persist_text:
            self._persist_steps(drop=True)

    # ---- run ------------------------------------------------------------------------------------

    def build(self):
        self.validate()
        self.probe()
        state = self.params['state']
        if state == 'present':
            self.plan_present()
        elif state == 'detached':
            self.plan_detached()
        else:
            self.plan_absent()
        return self.plan

    def snapshot(self, st=None):
        """Attachment, mode and tunables of the managed devices (for diff and results)."""
        st = st or self._fresh()
        out = {'cache_set_uuid': None, 'backing_devices': {}}
        if self.cache is not None and self.cache.name in st.caches:
            out['cache_set_uuid'] = st.caches[self.cache.name]['cache_set_uuid']
        for facts in self.backing:
            reg = st.backing.get(facts.name)
            if reg is None:
                out['backing_devices'][facts.path] = {'registered': False,
                                                      'content': facts.kind}
                continue
            out['backing_devices'][facts.path] = {
                'registered': True,
                'bcache_device': reg['bcache_device'],
                'attached_to': reg['cache_set_uuid'],
                'state': reg['state'],
                'running': reg['running'],
                'cache_mode': reg['cache_mode'],
                'sequential_cutoff': reg['sequential_cutoff'],
                'writeback_percent': reg['writeback_percent'],
            }
        if getattr(self, 'persist_before', None) is not None:
            out['persist_rules'] = self.persist_before
        return out

    def predicted(self, before):
        """The snapshot check mode expects after the plan (for diff in check mode)."""
        p = self.params
        after = json.loads(json.dumps(before))
        if p['state'] == 'present':
            if self.target_cset:
                after['cache_set_uuid'] = self.target_cset
            for facts in self.backing:
                dev = after['backing_devices'][facts.path]
                dev['registered'] = True
                dev.pop('content', None)
                if self.target_cset:
                    dev['attached_to'] = self.target_cset
                if p.get('cache_mode'):
                    dev['cache_mode'] = p['cache_mode']
                if self.cutoff_bytes is not None:
                    dev['sequential_cutoff'] = hprint(self.cutoff_bytes)
                if p.get('writeback_percent') is not None:
                    dev['writeback_percent'] = p['writeback_percent']
        elif p['state'] == 'detached':
            for dev in after['backing_devices'].values():
                if dev.get('registered'):
                    dev['attached_to'] = None
                    if dev.get('state') in ('clean', 'dirty'):
                        dev['state'] = 'no cache'
        else:
            after = {'cache_set_uuid': None,
                     'backing_devices': dict((f.path, {'registered': False, 'content': 'blank'})
                                             for f in self.backing if f.kind != 'other')}
        if getattr(self, 'persist_after', None) is not None:
            after['persist_rules'] = self.persist_after
        return after

    def result(self, executed):
        st = self._fresh() if executed else self.state
        cset = self.target_cset
        if executed and self.cache is not None and self.cache.name in st.caches:
            cset = st.caches[self.cache.name]['cache_set_uuid']
        devices = []
        for facts in self.backing:
            reg = st.backing.get(facts.name)
            if reg is None:
                devices.append({'device': facts.path, 'name': facts.name, 'registered': False,
                                'content': facts.kind, 'bcache_device': None, 'state': None,
                                'dirty_data_bytes': None})
                continue
            entry = dict(reg)
            entry['device'] = facts.path
            entry['registered'] = True
            devices.append(entry)
        return {
            'cache_set_uuid': cset,
            'cache_device': self.cache.path if self.cache is not None else None,
            'backing_devices': devices,
            'devices_found': [f.as_dict() for f in ([self.cache] if self.cache else [])
                              + self.backing],
            'data_lost': self.data_lost,
            'plan': self.plan.as_list(),
            'executed': self.plan.done,
            'commands': self.runner.executed,
        }
