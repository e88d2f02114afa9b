# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Block devices, answered one way for every module: identity, use and signatures.

``btrfs_array``, ``btrfs_scrub`` and ``bcache_cache`` ask the same three questions before they
write to a device, and they must get the same answer:

* **Which device is this?**  :func:`resolve` follows udev symlinks (``/dev/disk/by-id/...``)
  to the block device number (major:minor) and its canonical node ``/dev/<kernel name>``.
  Two paths are the same device exactly when their numbers are equal; strings are never
  compared (:func:`same_device_groups`).
* **Is it in use?**  :func:`usage` reads ``/proc/self/mountinfo``, ``/proc/swaps`` and sysfs
  (``holders/``, partitions, ``/sys/fs/btrfs/<uuid>/devices``) for the device *and each of its
  partitions*, and names what holds it (``/dev/loop0p1 is mounted at /srv``).  As a last resort
  an ``O_EXCL`` open catches holders the tables do not show (:func:`exclusively_busy`).
* **What is on it?**  :func:`signatures` runs one probe, ``wipefs --no-act --json``, which lists
  every signature libblkid knows (file systems, partition tables, RAID and bcache superblocks),
  each with its offset.  :func:`blkid_view` condenses that list into the ``blkid -o export``
  form (``TYPE``, ``USAGE``, ``PTTYPE``) for code that describes one signature.

Everything that reads the system takes a ``sys_root``/``proc`` argument so that the unit tests
run over captured trees; the parsers are pure functions.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json
import os
import re
import stat

SYS = '/sys'
MOUNTINFO = '/proc/self/mountinfo'
SWAPS = '/proc/swaps'
WIPEFS_COLUMNS = 'DEVICE,OFFSET,TYPE,UUID,LABEL,USAGE'


# --------------------------------------------------------------------------------------------
# parsers (pure)
# --------------------------------------------------------------------------------------------

def unescape(text):
    """Undo the octal escapes of /proc files (``\\040`` is a space)."""
    return re.sub(r'\\([0-7]{3})', lambda m: chr(int(m.group(1), 8)), text)


def parse_mountinfo(text):
    """``/proc/self/mountinfo`` -> ``[{devno, root, target, fstype, source, options}]``.

    ``devno`` is the ``(major, minor)`` the kernel reports for the mount.  For a btrfs it is an
    anonymous number (0:NN), so callers also compare ``source`` by device number.
    """
    out = []
    for line in text.splitlines():
        fields = line.split(' ')
        if '-' not in fields or len(fields) < 10:
            continue
        sep = fields.index('-')
        try:
            major, minor = (int(x) for x in fields[2].split(':'))
        except ValueError:
            continue
        out.append({'devno': (major, minor), 'root': unescape(fields[3]),
                    'target': unescape(fields[4]), 'options': fields[5],
                    'fstype': fields[sep + 1], 'source': unescape(fields[sep + 2]),
                    'super_options': fields[sep + 3] if len(fields) > sep + 3 else ''})
    return out


def parse_swaps(text):
    """``/proc/swaps`` -> the swap areas' paths."""
    return [unescape(line.split()[0]) for line in text.splitlines()[1:] if line.strip()]


def parse_wipefs_json(text):
    """``wipefs --json <dev>`` -> list of ``{type, offset, uuid, label, usage}`` (empty: blank)."""
    if not text.strip():
        return []
    doc = json.loads(text)
    return [dict((k, s.get(k)) for k in ('type', 'offset', 'uuid', 'label', 'usage'))
            for s in doc.get('signatures', [])]


def parse_blkid_export(text):
    """``blkid -o export`` (one or more blank-line separated blocks) -> list of dicts."""
    devices = []
    current = {}
    for line in text.splitlines():
        line = line.strip()
        if not line:
            if current:
                devices.append(current)
                current = {}
            continue
        if '=' in line:
            key, value = line.split('=', 1)
            current[key] = value
    if current:
        devices.append(current)
    return devices


def blkid_view(signatures):
    """The ``blkid -p -o export`` form of a signature list: what is *the* content.

    A file system (or RAID/bcache superblock) wins over a partition table, as with blkid;
    ``PTTYPE`` is kept beside it.  Several contents make ``TYPE=ambivalent`` like blkid's rc 8.
    """
    tables = [s for s in signatures if (s.get('usage') or '').startswith('partition')]
    contents = []
    for s in signatures:
        if s in tables or any(c.get('type') == s.get('type') for c in contents):
            continue
        contents.append(s)
    view = {}
    if tables:
        gpt = [t for t in tables if t.get('type') == 'gpt']
        view['PTTYPE'] = (gpt or tables)[0].get('type')
    if len(contents) > 1:
        view.update({'TYPE': 'ambivalent', 'USAGE': 'several signatures (%s)' % ', '.join(
            s.get('type') or '?' for s in contents)})
    elif contents:
        s = contents[0]
        view['TYPE'] = s.get('type')
        if s.get('usage'):
            view['USAGE'] = {'partition-table': 'partition table'}.get(s['usage'], s['usage'])
        if s.get('uuid'):
            view['UUID'] = s['uuid']
        if s.get('label'):
            view['LABEL'] = s['label']
    return view


# --------------------------------------------------------------------------------------------
# identity
# --------------------------------------------------------------------------------------------

def _read(path, default=None):
    try:
        with open(path) as handle:
            return handle.read().strip()
    except (IOError, OSError):
        return default


def _listdir(path):
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def device_rdev(path):
    """``st_rdev`` of a block device (following udev symlinks), or None."""
    try:
        st = os.stat(path)
    except (OSError, TypeError, ValueError):
        return None
    return st.st_rdev if stat.S_ISBLK(st.st_mode) else None


class BlockDevice:
    """One path as the kernel sees it.  Compare ``rdev``, never ``path``."""

    def __init__(self, path, sys_root=SYS, rdev=None):
        self.path = path
        self.sys_root = sys_root
        self.realpath = os.path.realpath(path)
        self.exists = os.path.exists(path)
        self.rdev = device_rdev(path) if rdev is None else rdev
        self.block = self.rdev is not None
        self.name = None
        self.sysdir = None
        self.size = None
        self.partition = False
        self.parent = None
        if self.block:
            self.sysdir = os.path.join(sys_root, 'dev', 'block', self.devno)
            real = os.path.realpath(self.sysdir)
            self.name = os.path.basename(real) if os.path.isdir(real) else \
                os.path.basename(self.realpath)
            size = _read(os.path.join(self.sysdir, 'size'))
            self.size = int(size) * 512 if size and size.isdigit() else None
            self.partition = os.path.exists(os.path.join(self.sysdir, 'partition'))
            if self.partition:
                self.parent = os.path.basename(os.path.dirname(real))

    @property
    def devno(self):
        if self.rdev is None:
            return None
        return '%d:%d' % (os.major(self.rdev), os.minor(self.rdev))

    @property
    def node(self):
        """``/dev/<kernel name>`` when that node is this device, else the resolved path."""
        if self.name and device_rdev('/dev/' + self.name) == self.rdev:
            return '/dev/' + self.name
        return self.realpath

    @property
    def present(self):
        """Exists, and has a medium (a detached loop or an empty card reader has size 0)."""
        return self.exists and self.size != 0

    @property
    def key(self):
        """What identifies the device: its number, or the resolved path when there is none."""
        return self.rdev if self.rdev is not None else self.realpath

    def shown(self):
        """``/dev/disk/by-id/x (/dev/sdb)`` when the path is a symlink, else the path."""
        node = self.node if self.block else self.realpath
        return self.path if node == self.path else '%s (%s)' % (self.path, node)

    def holders(self):
        return _listdir(os.path.join(self.sysdir, 'holders')) if self.sysdir else []

    def slaves(self):
        return _listdir(os.path.join(self.sysdir, 'slaves')) if self.sysdir else []

    def data_slaves(self):
        """The slaves that hold the data: for ``bcacheN`` only its backing device (its
        ``bcache`` link), not the cache device every bcache device of a set shares."""
        link = os.path.join(self.sysdir, 'bcache') if self.sysdir else None
        if link and os.path.islink(link):
            return [os.path.basename(os.path.dirname(os.path.realpath(link)))]
        return self.slaves()

    def partitions(self):
        """Kernel names of this disk's partitions (empty for a partition)."""
        if not self.sysdir or self.partition:
            return []
        return [n for n in _listdir(self.sysdir)
                if os.path.exists(os.path.join(self.sysdir, n, 'partition'))]

    def as_dict(self):
        return {'path': self.path, 'node': self.node if self.block else None,
                'devno': self.devno, 'exists': self.exists, 'block': self.block,
                'size': self.size, 'partition': self.partition, 'parent': self.parent}


def resolve(path, sys_root=SYS):
    return BlockDevice(path, sys_root)


def resolve_name(name, sys_root=SYS):
    """A kernel name (``loop0p1``) -> BlockDevice, by ``/sys/class/block/<name>/dev``."""
    devno = _read(os.path.join(sys_root, 'class', 'block', name, 'dev'), '')
    m = re.match(r'^(\d+):(\d+)$', devno)
    rdev = os.makedev(int(m.group(1)), int(m.group(2))) if m else None
    return BlockDevice('/dev/%s' % name, sys_root, rdev=rdev)


def same_device_groups(paths, sys_root=SYS):
    """Paths that name one device more than once: ``[[path, path2], ...]`` (in list order)."""
    groups = {}
    order = []
    for path in paths:
        key = BlockDevice(path, sys_root).key
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(path)
    return [groups[k] for k in order if len(groups[k]) > 1]


def physical_disks(dev, _depth=0):
    """Names of the whole disks under ``dev``: partitions to their disk, dm/md to their
    slaves, bcache to its backing device."""
    if not dev.block or _depth > 8:
        return set()
    if dev.partition and dev.parent:
        return {dev.parent}
    slaves = dev.data_slaves()
    if not slaves:
        return {dev.name}
    out = set()
    for name in slaves:
        out |= physical_disks(resolve_name(name, dev.sys_root), _depth + 1)
    return out


# --------------------------------------------------------------------------------------------
# use
# --------------------------------------------------------------------------------------------

def read_mounts(path=MOUNTINFO):
    return parse_mountinfo(_read(path, '') + '\n')


def read_swaps(path=SWAPS):
    return parse_swaps(_read(path, '') or '')


def mounted_btrfs_members(sys_root=SYS):
    """``{kernel name: uuid}`` of the members of every *mounted* btrfs (sysfs knows no other)."""
    base = os.path.join(sys_root, 'fs', 'btrfs')
    out = {}
    for uuid in _listdir(base):
        for name in _listdir(os.path.join(base, uuid, 'devices')):
            out[name] = uuid
    return out


def mountpoints(dev, mounts):
    """Where ``dev`` is mounted: by the mount's number, or by its source's device number."""
    found = []
    major, minor = os.major(dev.rdev), os.minor(dev.rdev)
    for m in mounts:
        hit = m['devno'] == (major, minor)
        if not hit and m['source'].startswith('/dev/'):
            hit = device_rdev(m['source']) == dev.rdev
        if hit and m['target'] not in found:
            found.append(m['target'])
    return found


class Usage:
    """What holds one device and its partitions, from the kernel's tables."""

    def __init__(self, mounts=None, swaps=None, sys_root=SYS):
        self.sys_root = sys_root
        self.mounts = read_mounts() if mounts is None else mounts
        swaps = read_swaps() if swaps is None else swaps
        self.swap_rdevs = set(r for r in (device_rdev(s) for s in swaps) if r is not None)
        self.btrfs = mounted_btrfs_members(sys_root)

    def of(self, dev):
        """``[{device, partition, kind, what}]``: every reason ``dev`` is in use (empty: free)."""
        if not dev.block:
            return []
        found = self._one(dev, dev.node, False)
        for name in dev.partitions():
            part = resolve_name(name, self.sys_root)
            if part.block:
                found += self._one(part, '/dev/%s' % name, True)
            else:
                found.append({'device': '/dev/%s' % name, 'partition': True, 'kind': 'partition',
                              'what': 'exists (no device node to check it)'})
        return found

    def _one(self, dev, shown, partition):
        out = []

        def add(kind, what):
            out.append({'device': shown, 'partition': partition, 'kind': kind, 'what': what})
        where = mountpoints(dev, self.mounts)
        if where:
            add('mounted', 'is mounted at %s' % ', '.join(where))
        if dev.rdev in self.swap_rdevs:
            add('swap', 'is in use as swap (swapoff it)')
        if dev.name in self.btrfs and not where:
            add('btrfs', 'is a member of the mounted btrfs %s' % self.btrfs[dev.name])
        holders = dev.holders()
        if holders:
            add('holder', 'is held by %s (device-mapper/LVM, md or bcache; release it)'
                % ', '.join(holders))
        return out


def describe_usage(items):
    """One sentence naming every holder: ``partition /dev/loop0p1 is mounted at /srv``."""
    return '; '.join('%s%s %s' % ('partition ' if i['partition'] else '', i['device'], i['what'])
                     for i in items)


def usage(dev, **kwargs):
    return Usage(**kwargs).of(dev)


def exclusively_busy(path):
    """True when the kernel refuses an exclusive open (something claims the device)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_EXCL)
    except OSError as exc:
        return exc.errno == errno.EBUSY
    os.close(fd)
    return False


# --------------------------------------------------------------------------------------------
# signatures
# --------------------------------------------------------------------------------------------

def signatures(runner, path):
    """Every signature on ``path`` (``wipefs --no-act --json``): ``[{type, offset, uuid, ...}]``.

    ``runner`` is a :class:`~runner.Runner`; the probe reads only and runs under LC_ALL=C.
    """
    wipefs = runner.which('wipefs', hint='install util-linux')
    rc, out, err = runner.run([wipefs, '--no-act', '--json', '-O', WIPEFS_COLUMNS, path],
                              check_rc=True, hint='check that %s is a readable block device' % path)
    return parse_wipefs_json(out)


# --------------------------------------------------------------------------------------------
# verdicts and descriptions for callers that refuse or report (bcache)
# --------------------------------------------------------------------------------------------

def in_use(path, **kwargs):
    """``(dev, items, held_open)`` for ``path``: the resolved :class:`BlockDevice`, what the
    kernel's tables say holds it or its partitions (:func:`usage`), and whether the kernel
    refuses an exclusive open although the tables show nothing.  Not a block device: nothing
    holds it, ``(dev, [], False)``."""
    dev = resolve(path)
    if not dev.block:
        return dev, [], False
    items = usage(dev, **kwargs)
    return dev, items, (not items and exclusively_busy(path))


def describe_view(view):
    """A short human description of a :func:`blkid_view` (``ext4 filesystem``, ``gpt partition
    table``, ``btrfs filesystem (BTRFS member, UUID ...)``); ``nothing`` for a blank device."""
    if not view:
        return 'nothing'
    if view.get('PTTYPE') and not view.get('TYPE'):
        return '%s partition table' % view['PTTYPE']
    kind = view.get('TYPE', 'unknown')
    use = view.get('USAGE')
    if kind == 'btrfs':
        return 'btrfs filesystem (BTRFS member, UUID %s)' % view.get('UUID', '?')
    if use == 'filesystem':
        return '%s filesystem' % kind
    if use:
        return '%s signature (%s)' % (kind, use)
    return '%s signature' % kind
