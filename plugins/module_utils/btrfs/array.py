# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Multi-device BTRFS: parse the tools' machine-readable output, discover, plan, execute.

Everything the ``btrfs_array``, ``btrfs_array_info`` and ``btrfs_scrub`` modules know lives here.
The parsers are pure functions over the text the tools print (``btrfs filesystem show --raw``,
``btrfs filesystem usage -b``, ``btrfs device stats``, ``btrfs scrub status -R``,
``btrfs inspect-internal dump-tree -t chunk``, ``findmnt --json``) and over
sysfs (``/sys/fs/btrfs/<uuid>/``), so that they can be unit tested with captured output.

Sources of truth, cheapest first:

* which filesystems exist and which devices they have: ``btrfs filesystem show --raw`` (it
  probes every block device, so it also finds unmounted filesystems after an OS reinstall);
* where they are mounted: ``findmnt --json``;
* profiles and missing members of a *mounted* filesystem: sysfs (no command at all);
* profiles and all devids of an *unmounted* filesystem: the chunk tree on disk
  (``btrfs inspect-internal dump-tree -t chunk``, read-only);
* signatures on a device that is not a member, and whether a device is in use:
  :mod:`blockdev`, the collection's one block-device helper (``wipefs --json`` lists every signature
  libblkid knows: file systems, partition tables, bcache, RAID members).

Operations that need a mounted filesystem (add, remove, replace, convert) use the mount the
filesystem already has; when it has none, they mount it temporarily under
``/run/resilience-dr/btrfs-<uuid>`` (with ``degraded`` when members are missing) and always
unmount it again in a ``finally``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import time

from ansible_collections.resilience.dr.plugins.module_utils import blockdev
from ansible_collections.resilience.dr.plugins.module_utils.blockdev import device_rdev
from ansible_collections.resilience.dr.plugins.module_utils.btrfs_safety import (
    DeviceSafety, check_request_devices)
from ansible_collections.resilience.dr.plugins.module_utils.kernel_log import (
    CLOCK_SLACK_SECONDS, KernelLogCursor)
from ansible_collections.resilience.dr.plugins.module_utils.runner import (
    CommandError, Plan, Refusal, render)
from ansible_collections.resilience.dr.plugins.module_utils.timeutil import (  # noqa: F401
    local_iso, parse_age, parse_since)

PROFILES = ('single', 'dup', 'raid0', 'raid1', 'raid1c3', 'raid1c4', 'raid10', 'raid5', 'raid6')

# Devices a profile needs.  These are the classic minimums that every supported kernel accepts
# (newer kernels allow raid0/raid10 on fewer devices, but a raid10 on two devices is not what an
# operator who writes "raid10" means).
MIN_DEVICES = {'single': 1, 'dup': 1, 'raid0': 2, 'raid1': 2, 'raid1c3': 3, 'raid1c4': 4,
               'raid10': 4, 'raid5': 2, 'raid6': 3}

# Highest redundancy first: used to pick the intended profile when a filesystem has several
# (chunks written as "single" while it was mounted degraded, an interrupted conversion).
REDUNDANCY_ORDER = ('raid1c4', 'raid1c3', 'raid6', 'raid10', 'raid1', 'raid5', 'dup', 'raid0',
                    'single')

BLOCK_GROUP_TYPES = ('data', 'metadata', 'system')

TEMP_MOUNT_ROOT = '/run/resilience-dr'

# Where a planned step's argv takes the mountpoint when it is not the last argument.
MNT = object()

# Commands that change something on disk.  Read-only discovery never runs one of these; the
# benchmark and the integration tests assert it.
MUTATING = ('mkfs.btrfs', 'wipefs -a', 'btrfs device add', 'btrfs device remove',
            'btrfs device delete', 'btrfs replace start', 'btrfs balance start',
            'btrfs scrub start', 'btrfs filesystem resize', 'btrfs filesystem label', 'mount ',
            'umount ')


def is_mutating(cmd):
    """True when the rendered command ``cmd`` changes state on disk (or mounts)."""
    cmd = re.sub(r'^\S*/', '', cmd)
    return any(cmd.startswith(m) for m in MUTATING)


# --------------------------------------------------------------------------------------------
# Parsers (pure functions over captured tool output)
# --------------------------------------------------------------------------------------------

_SHOW_LABEL = re.compile(r"^Label:\s+(?:'(?P<label>.*)'|none)\s+uuid:\s+(?P<uuid>[0-9a-fA-F-]{36})\s*$")
_SHOW_TOTAL = re.compile(r'^\s*Total devices\s+(\d+)\s+FS bytes used\s+(\d+)')
_SHOW_DEVID = re.compile(r'^\s*devid\s+(\d+)\s+size\s+(\d+)\s+used\s+(\d+)\s+path\s*(.*?)\s*$')


def parse_filesystem_show(text):
    """``btrfs filesystem show --raw`` -> list of filesystems.

    A member the kernel knows to be missing (mounted degraded) is printed as
    ``devid 4 size 0 used 0 path <missing disk> MISSING`` (or an empty path); an unmounted
    filesystem with absent members only says ``*** Some devices missing`` and lists the others.
    """
    result = []
    current = None
    for line in text.splitlines():
        m = _SHOW_LABEL.match(line.strip())
        if m:
            current = {'label': m.group('label'), 'uuid': m.group('uuid').lower(),
                       'total_devices': None, 'bytes_used': None, 'devices': [],
                       'some_missing': False}
            result.append(current)
            continue
        if current is None:
            continue
        m = _SHOW_TOTAL.match(line)
        if m:
            current['total_devices'] = int(m.group(1))
            current['bytes_used'] = int(m.group(2))
            continue
        m = _SHOW_DEVID.match(line)
        if m:
            path = m.group(4)
            missing = path.endswith('MISSING') or path.startswith('<missing') or path == ''
            if missing:
                path = None
            current['devices'].append({'devid': int(m.group(1)), 'size': int(m.group(2)),
                                       'used': int(m.group(3)), 'path': path,
                                       'missing': missing})
            continue
        if 'Some devices missing' in line:
            current['some_missing'] = True
    for fs in result:
        listed = len(fs['devices'])
        if fs['total_devices'] is not None and listed < fs['total_devices']:
            fs['some_missing'] = True
        if any(d['missing'] for d in fs['devices']):
            fs['some_missing'] = True
    return result


_USAGE_OVERALL = re.compile(r'^\s{4}(?P<key>[A-Z][A-Za-z ()/,]+?):\s+(?P<value>[0-9.]+)')
_USAGE_GROUP = re.compile(r'^(?P<type>Data|Metadata|System|Data\+Metadata),(?P<profile>[A-Za-z0-9]+):'
                          r'\s+Size:(?P<size>\d+),\s+Used:(?P<used>\d+)')


def _key(text):
    return re.sub(r'[^a-z0-9]+', '_', text.strip().lower()).strip('_')


def parse_filesystem_usage(text):
    """``btrfs filesystem usage -b <mnt>`` -> overall numbers, block groups and profiles."""
    overall = {}
    groups = []
    profiles = dict((t, []) for t in BLOCK_GROUP_TYPES)
    section = None
    for line in text.splitlines():
        if line.startswith('Overall:'):
            section = 'overall'
            continue
        m = _USAGE_GROUP.match(line)
        if m:
            section = 'group'
            kind = m.group('type').lower()
            profile = m.group('profile').lower()
            groups.append({'type': kind, 'profile': profile, 'size': int(m.group('size')),
                           'used': int(m.group('used'))})
            for t in kind.split('+'):
                if t in profiles and profile not in profiles[t]:
                    profiles[t].append(profile)
            continue
        if line.startswith('Unallocated:'):
            section = 'unallocated'
            continue
        if section == 'overall':
            m = _USAGE_OVERALL.match(line)
            if m:
                value = m.group('value')
                overall[_key(m.group('key'))] = float(value) if '.' in value else int(value)
    return {'overall': overall, 'block_groups': groups, 'profiles': profiles}


_STATS_LINE = re.compile(r'^\[(?P<dev>[^\]]+)\]\.(?P<counter>\w+)\s+(?P<value>-?\d+)\s*$')


def parse_device_stats(text):
    """``btrfs device stats <mnt>`` -> ``{device: {counter: n}}``.

    A missing member is printed as ``[devid:4]``; its key is then ``devid:4``.
    """
    stats = {}
    for line in text.splitlines():
        m = _STATS_LINE.match(line.strip())
        if m:
            stats.setdefault(m.group('dev'), {})[m.group('counter')] = int(m.group('value'))
    return stats


_DURATION = re.compile(r'^(\d+):(\d{1,2}):(\d{1,2})$')


def parse_duration(text):
    """``H:MM:SS`` (hours unbounded) -> seconds, or None."""
    m = _DURATION.match((text or '').strip())
    if not m:
        return None
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + int(m.group(3))


def parse_ctime(text):
    """``Sun Nov 22 04:39:56 2026`` (local time, C locale) -> epoch seconds, or None."""
    try:
        return int(time.mktime(time.strptime(text.strip(), '%a %b %d %H:%M:%S %Y')))
    except (ValueError, OverflowError):
        return None


def parse_scrub_status(text):
    """``btrfs scrub status -R <mnt>`` -> dict (``status`` is None when no scrub ever ran)."""
    info = {'uuid': None, 'status': None, 'started': None, 'started_epoch': None,
            'duration_seconds': None, 'finished_epoch': None, 'counters': {}}
    for raw in text.splitlines():
        line = raw.strip()
        if ':' not in line:
            continue
        key, dummy, value = line.partition(':')
        key = key.strip()
        value = value.strip()
        if key == 'UUID':
            info['uuid'] = value.lower()
        elif key in ('Scrub started', 'Scrub resumed'):
            if key == 'Scrub started' or info['started'] is None:
                info['started'] = value
                info['started_epoch'] = parse_ctime(value)
        elif key == 'Status':
            info['status'] = value
        elif key == 'Duration':
            info['duration_seconds'] = parse_duration(value)
        elif re.match(r'^[a-z_]+$', key) and re.match(r'^\d+$', value):
            info['counters'][key] = int(value)
    if info['status'] is None and 'no stats available' in text:
        info['status'] = 'never'
    c = info['counters']
    info['bytes_scrubbed'] = c.get('data_bytes_scrubbed', 0) + c.get('tree_bytes_scrubbed', 0)
    info['corrected_errors'] = c.get('corrected_errors', 0)
    info['uncorrectable_errors'] = c.get('uncorrectable_errors', 0)
    info['unverified_errors'] = c.get('unverified_errors', 0)
    info['csum_errors'] = c.get('csum_errors', 0)
    info['read_errors'] = c.get('read_errors', 0)
    if info['status'] == 'finished' and info['started_epoch'] is not None \
            and info['duration_seconds'] is not None:
        info['finished_epoch'] = info['started_epoch'] + info['duration_seconds']
    return info


_CHUNK_TYPE = re.compile(r'\btype\s+((?:DATA|METADATA|SYSTEM)(?:\|[A-Z0-9]+)*)')
_DEV_ITEM = re.compile(r'^\s*devid\s+(\d+)\s+total_bytes\s+(\d+)\s+bytes_used\s+(\d+)')


def parse_chunk_tree(text):
    """``btrfs inspect-internal dump-tree -t chunk <dev>`` -> devids and profiles on disk."""
    devices = {}
    profiles = dict((t, []) for t in BLOCK_GROUP_TYPES)
    for line in text.splitlines():
        m = _DEV_ITEM.match(line)
        if m:
            devices[int(m.group(1))] = {'devid': int(m.group(1)), 'size': int(m.group(2)),
                                        'used': int(m.group(3))}
            continue
        m = _CHUNK_TYPE.search(line)
        if m and 'length' in line:
            flags = m.group(1).split('|')
            kinds = [f.lower() for f in flags if f in ('DATA', 'METADATA', 'SYSTEM')]
            rest = [f.lower() for f in flags if f not in ('DATA', 'METADATA', 'SYSTEM')]
            profile = rest[0] if rest else 'single'
            for kind in kinds:
                if profile not in profiles[kind]:
                    profiles[kind].append(profile)
    return {'devices': [devices[k] for k in sorted(devices)], 'profiles': profiles}


def parse_findmnt_json(text):
    """``findmnt --json`` -> flat list of ``{target, source, fstype, options}``.

    ``source`` loses a ``[/subvol]`` suffix; ``subvol`` keeps it.
    """
    if not text.strip():
        return []
    doc = json.loads(text)
    out = []

    def walk(nodes):
        for node in nodes:
            source = node.get('source') or ''
            m = re.match(r'^(.*?)\[(.*)\]$', source)
            out.append({'target': node.get('target'),
                        'source': m.group(1) if m else source,
                        'subvol': m.group(2) if m else None,
                        'fstype': node.get('fstype'),
                        'options': node.get('options')})
            walk(node.get('children', []))
    walk(doc.get('filesystems', []))
    return out


def parse_version(text):
    """``btrfs --version`` -> tuple of ints, e.g. ``(6, 2)``."""
    m = re.search(r'v(\d+(?:\.\d+)*)', text or '')
    return tuple(int(x) for x in m.group(1).split('.')) if m else None


def dominant_profile(profiles):
    """The intended profile among several on one block group type (highest redundancy)."""
    for p in REDUNDANCY_ORDER:
        if p in profiles:
            return p
    return profiles[0] if profiles else None


def read_sysfs_fs(uuid, root='/sys/fs/btrfs'):
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


# --------------------------------------------------------------------------------------------
# Discovery
# --------------------------------------------------------------------------------------------

class Btrfs:
    """Read-only view of the btrfs filesystems on this host, through the Runner."""

    def __init__(self, runner):
        self.runner = runner
        self._btrfs = None
        self._mounts = None
        self._version = None

    # tools ----------------------------------------------------------------------------------
    @property
    def btrfs(self):
        if self._btrfs is None:
            self._btrfs = self.runner.which('btrfs', hint='install btrfs-progs')
        return self._btrfs

    def version(self):
        if self._version is None:
            rc, out, err = self.runner.run([self.btrfs, '--version'], check_rc=False)
            self._version = parse_version(out + err) or ()
        return self._version

    # raw reads ------------------------------------------------------------------------------
    def show(self):
        rc, out, err = self.runner.run(
            [self.btrfs, 'filesystem', 'show', '--raw'], check_rc=False)
        if rc != 0 and out.strip() == '':
            # rc 1 with no output means: no btrfs at all (older progs).
            if 'ERROR' in err and 'not a valid btrfs' not in err:
                raise CommandError([self.btrfs, 'filesystem', 'show', '--raw'], rc, out, err,
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
        rdevs = set(d['rdev'] for d in fs['devices'] if d.get('rdev') is not None)
        targets = []
        for m in self.mounts():
            if m['fstype'] != 'btrfs':
                continue
            if device_rdev(m['source']) in rdevs and m['target'] not in targets:
                targets.append(m['target'])
        return targets

    def describe(self, fs, deep=True):
        """Complete one entry of :meth:`show` with rdevs, mounts, profiles and missing devids."""
        for d in fs['devices']:
            d['rdev'] = device_rdev(d['path']) if d['path'] else None
        fs['mountpoints'] = self.mount_targets(fs)
        sysfs = read_sysfs_fs(fs['uuid'])
        fs['mounted'] = bool(fs['mountpoints']) or sysfs is not None
        profiles = dict((t, []) for t in BLOCK_GROUP_TYPES)
        missing = set(d['devid'] for d in fs['devices'] if d['missing'])
        if sysfs is not None:
            profiles = sysfs['profiles']
            missing |= set(k for k, v in sysfs['devinfo'].items() if v['missing'])
            known = set(d['devid'] for d in fs['devices'])
            for devid in sorted(sysfs['devinfo']):
                if devid not in known:
                    fs['devices'].append({'devid': devid, 'size': 0, 'used': 0, 'path': None,
                                          'missing': True, 'rdev': None})
        elif deep:
            present = [d['path'] for d in fs['devices'] if d['path'] and not d['missing']]
            chunk = self.chunk_tree(present[0]) if present else None
            if chunk:
                profiles = chunk['profiles']
                known = set(d['devid'] for d in fs['devices'])
                for item in chunk['devices']:
                    if item['devid'] not in known:
                        missing.add(item['devid'])
                        fs['devices'].append({'devid': item['devid'], 'size': item['size'],
                                              'used': item['used'], 'path': None,
                                              'missing': True, 'rdev': None})
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
    if fs is None:
        return {'exists': False}
    return {'exists': True, 'uuid': fs['uuid'], 'label': fs['label'],
            'members': sorted(d['path'] or 'devid %d (missing)' % d['devid']
                              for d in fs['devices']),
            'profiles': dict((k, list(v)) for k, v in fs['profiles'].items())}


# --------------------------------------------------------------------------------------------
# btrfs_array
# --------------------------------------------------------------------------------------------

class ArrayRequest:
    """The ``btrfs_array`` options, validated (contradictions raise ValueError)."""

    def __init__(self, params):
        self.label = params.get('label')
        self.uuid = (params.get('uuid') or '').lower() or None
        self.devices = list(params.get('devices') or [])
        self.data_profile = params.get('data_profile')
        self.metadata_profile = params.get('metadata_profile')
        self.state = params.get('state') or 'present'
        self.force = bool(params.get('force'))
        self.mountpoint = params.get('mountpoint')
        self.replace_missing = list(params.get('replace_missing') or [])
        self.remove_devices = list(params.get('remove_devices') or [])
        self.convert = bool(params.get('convert'))
        self.temporary_mount = params.get('temporary_mount', True)
        self.relabel = bool(params.get('relabel'))
        self.validate()

    def validate(self):
        if not (self.label or self.uuid or self.devices):
            raise ValueError('give label, uuid or devices to identify the filesystem')
        if self.uuid and not re.match(r'^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$', self.uuid):
            raise ValueError('uuid %r is not a filesystem UUID (8-4-4-4-12 hex digits)'
                             % self.uuid)
        for name, value in (('data_profile', self.data_profile),
                            ('metadata_profile', self.metadata_profile)):
            if value is not None and value not in PROFILES:
                raise ValueError('%s must be one of %s' % (name, ', '.join(PROFILES)))
        check_request_devices(self.devices, self.remove_devices, self.replace_missing)
        if self.data_profile == 'dup' and len(self.devices) > 1:
            raise ValueError('data_profile dup keeps both copies on one device; with %d devices '
                             'use raid1 (or list one device)' % len(self.devices))


def check_profile_devices(count, data_profile, metadata_profile, context):
    """Refuse contradictory options: a profile that needs more devices than there will be."""
    for name, profile in (('data_profile', data_profile), ('metadata_profile', metadata_profile)):
        if profile and count < MIN_DEVICES[profile]:
            raise Refusal('%s %s needs at least %d devices, but %s %d; list more devices or '
                          'choose another profile'
                          % (name, profile, MIN_DEVICES[profile], context, count),
                          option='devices', details={'contradiction': True})


class ArrayManager(DeviceSafety):
    """Plans and executes ``btrfs_array``."""

    def __init__(self, module, runner, request):
        self.module = module
        self.runner = runner
        self.req = request
        self.bt = Btrfs(runner)
        self.warnings = []
        self.found = None
        self.mount_needed = False
        self.mnt = None
        self.temp_mount = None
        self.facts = {}
        self.label_mismatch = None

    def find(self, filesystems, listed):
        """The filesystem the request names: by uuid, by label, else by its members' superblocks.

        When no filesystem carries the label but every listed device carries one filesystem's
        superblock, that is the filesystem: its label differs (``label_mismatch``), and it is
        relabelled only with ``relabel``; it is never recreated.
        """
        req = self.req
        if req.uuid:
            match = [fs for fs in filesystems if fs['uuid'] == req.uuid]
            if match and req.label is not None and match[0]['label'] != req.label:
                if not req.relabel:
                    raise Refusal('filesystem %s has label %r, not %r: fix label or uuid, or set '
                                  'relabel: true to change its label'
                                  % (req.uuid, match[0]['label'], req.label), option='label')
                self.label_mismatch = {'current': match[0]['label'], 'wanted': req.label}
            return match[0] if match else None
        if req.label:
            match = [fs for fs in filesystems if fs['label'] == req.label]
            if len(match) > 1:
                raise Refusal('%d filesystems carry the label %r (%s); give uuid to choose one'
                              % (len(match), req.label, ', '.join(fs['uuid'] for fs in match)),
                              option='uuid')
            if match:
                return match[0]
        rdevs = set(d['rdev'] for d in listed if d['rdev'] is not None)
        match = [fs for fs in filesystems
                 if rdevs & set(device_rdev(d['path']) for d in fs['devices'] if d['path'])]
        if req.label:
            # By superblocks only when every listed device carries that one filesystem; a
            # request that mixes its members with other devices names a new filesystem.
            match = [fs for fs in match
                     if rdevs <= set(device_rdev(d['path']) for d in fs['devices'] if d['path'])]
        if len(match) > 1:
            raise Refusal('%sthe listed devices belong to %d different filesystems (%s); give '
                          'uuid to choose one, or list the members of one filesystem only'
                          % ('no btrfs is labelled %r and ' % req.label if req.label else '',
                             len(match), ', '.join('%s label %r' % (fs['uuid'], fs['label'])
                                                   for fs in match)), option='uuid')
        if match and req.label:
            self.label_mismatch = {'current': match[0]['label'], 'wanted': req.label}
            if not req.relabel:
                self.warnings.append(
                    'the listed devices carry btrfs %s, labelled %r, not %r; that is the '
                    'filesystem (found by its members\' superblocks) and it is kept as it is. '
                    'Set relabel: true to change its label (btrfs filesystem label), or '
                    'correct label' % (match[0]['uuid'], match[0]['label'], req.label))
        return match[0] if match else None

    def member_rdevs(self, fs):
        return set(d['rdev'] for d in fs['devices'] if d.get('rdev') is not None)

    # plan -----------------------------------------------------------------------------------
    def plan(self):
        req = self.req
        filesystems = self.bt.filesystems()
        listed = self.resolve_devices(req.devices)
        fs = self.find(filesystems, listed)
        self.found = fs
        plan = Plan()
        if req.state == 'absent':
            self.plan_absent(plan, fs, listed, filesystems)
        elif fs is None:
            self.plan_create(plan, listed, filesystems)
        else:
            self.plan_existing(plan, fs, listed, filesystems)
        return plan

    def plan_create(self, plan, listed, filesystems):
        req = self.req
        if req.uuid:
            raise Refusal('no btrfs with uuid %s is visible on this host; it is never '
                          'recreated with that uuid. Attach its devices (and check '
                          '`btrfs filesystem show`), or drop uuid to create a new filesystem '
                          'with label' % req.uuid, option='uuid',
                          details={'found': 'no filesystem with that uuid'})
        if not listed:
            raise Refusal('no btrfs with label %r exists and devices is empty; list the '
                          'devices to create it on' % req.label, option='devices')
        check_profile_devices(len(listed), req.data_profile, req.metadata_profile,
                              'devices lists')
        destructive = False
        for dev in listed:
            sigs = self.check_writable(dev, 'mkfs', filesystems)
            if sigs:
                destructive = True
                found = ', '.join(self.describe_signature(s) for s in sigs)
                self.warnings.append('%s carries %s and will be overwritten (force: true)'
                                     % (dev['path'], found))
        argv = [self.runner.which('mkfs.btrfs', hint='install btrfs-progs')]
        if destructive:
            argv.append('-f')
        if req.label:
            argv += ['-L', req.label]
        if req.data_profile:
            argv += ['-d', req.data_profile]
        if req.metadata_profile:
            argv += ['-m', req.metadata_profile]
        argv += [d['path'] for d in listed]
        self.warn_shared_disks([d['dev'] for d in listed], (req.data_profile, req.metadata_profile))
        plan.add('create btrfs %s on %s' % (req.label or '', ', '.join(d['path'] for d in listed)),
                 argv=argv, destructive=destructive,
                 hint='read the mkfs.btrfs message; the devices were checked not to be in use '
                      'and %s' % ('to carry only the signatures listed in the warnings (force)'
                                  if destructive else 'blank'))
        self.facts['planned'] = {
            'exists': True, 'uuid': None, 'label': req.label,
            'members': sorted(d['path'] for d in listed),
            'profiles': {'data': [req.data_profile] if req.data_profile else [],
                         'metadata': [req.metadata_profile] if req.metadata_profile else [],
                         'system': [req.metadata_profile] if req.metadata_profile else []}}

    def plan_existing(self, plan, fs, listed, filesystems):
        req = self.req
        members = self.member_rdevs(fs)
        missing = fs['missing_devids']
        btrfs = self.bt.btrfs
        steps = []   # (description, argv_without_mnt_builder, destructive)

        replace_rdevs = set()
        replacements = self.resolve_devices(req.replace_missing)
        pending = [r for r in replacements if r['rdev'] is None or r['rdev'] not in members]
        if pending and not missing:
            if fs['missing_count']:
                raise Refusal('filesystem %s reports %d missing device(s) but their devids are '
                              'unknown; mount it degraded and re-run'
                              % (fs['uuid'], fs['missing_count']), option='replace_missing')
            self.warnings.append('replace_missing: nothing is missing in %s; %s left untouched'
                                 % (fs['uuid'], ', '.join(r['path'] for r in pending)))
            pending = []
        if len(pending) > len(missing):
            raise Refusal('replace_missing names %d devices but only devid(s) %s are missing; '
                          'list one new device per missing devid'
                          % (len(pending), ', '.join(str(d) for d in missing)),
                          option='replace_missing', details={'contradiction': True})
        for devid, new in zip(missing, pending):
            sigs = self.check_writable(new, 'replace devid %d' % devid, filesystems)
            replace_rdevs.add(new['rdev'])
            argv = [btrfs, 'replace', 'start', '-B']
            if any(s.get('type') == 'btrfs' for s in sigs):
                argv.append('-f')
            argv += [str(devid), new['path']]
            steps.append(('replace missing devid %d with %s' % (devid, new['path']), argv,
                          bool(sigs)))
        replaced = len(pending)

        # Devices in `devices` that are not members, and not used as replacements, are added.
        nonexistent = [d for d in listed if not d['exists'] and d['rdev'] not in members]
        if nonexistent and len(nonexistent) > len(missing):
            raise Refusal('device(s) %s do not exist, and the filesystem has no missing member '
                          'they could stand for; correct devices'
                          % ', '.join(d['path'] for d in nonexistent), option='devices',
                          details={'found': 'nonexistent'})
        if nonexistent:
            self.warnings.append('%s not present: taken as the missing member(s) devid %s'
                                 % (', '.join(d['path'] for d in nonexistent),
                                    ', '.join(str(d) for d in missing)))
        to_add = [d for d in listed if d['exists'] and d['rdev'] not in members
                  and d['rdev'] not in replace_rdevs]
        add_sigs = False
        for dev in to_add:
            if self.check_writable(dev, 'add to %s' % fs['uuid'], filesystems):
                add_sigs = True
        if to_add:
            argv = [btrfs, 'device', 'add']
            if add_sigs:
                argv.append('-f')
            argv += [d['path'] for d in to_add]
            steps.append(('add %s' % ', '.join(d['path'] for d in to_add), argv, add_sigs))

        # Removals: members named in remove_devices (or the word "missing").
        to_remove = []
        for p in req.remove_devices:
            if p == 'missing':
                if missing and not replaced:
                    to_remove.append('missing')
                continue
            rdev = device_rdev(p)
            if rdev is not None and rdev in members:
                to_remove.append(p)
        count_after = (len(fs['devices']) - len([x for x in to_remove if x != 'missing'])
                       - (len(missing) - replaced if 'missing' in to_remove else 0)
                       + len(to_add))

        # Profiles.
        current = fs['profiles']
        want = {'data': req.data_profile, 'metadata': req.metadata_profile}
        mismatch = {}
        for kind, target in want.items():
            if target and current.get(kind) and current[kind] != [target]:
                mismatch[kind] = {'current': current[kind], 'wanted': target}
        if not current.get('data') and not current.get('metadata') and (req.data_profile or req.metadata_profile):
            self.warnings.append('could not read the profiles of %s; not comparing them' % fs['uuid'])
        self.facts['profile_mismatch'] = mismatch
        convert_args = []
        if mismatch and req.convert:
            targets = dict((k, v['wanted']) for k, v in mismatch.items())
            check_profile_devices(count_after, targets.get('data'), targets.get('metadata'),
                                  'the filesystem will have')
            if 'data' in targets:
                convert_args.append('-dconvert=%s,soft' % targets['data'])
            if 'metadata' in targets:
                convert_args.append('-mconvert=%s,soft' % targets['metadata'])
        elif mismatch:
            self.warnings.append('profiles differ from what is asked (%s); set convert: true to '
                                 'change them by balance'
                                 % '; '.join('%s is %s, wanted %s' % (k, '+'.join(v['current']), v['wanted'])
                                             for k, v in sorted(mismatch.items())))
        if to_remove:
            kept = dict((k, (want[k] if (want[k] and (req.convert or not mismatch.get(k)))
                             else dominant_profile(current.get(k) or []))) for k in want)
            check_profile_devices(count_after, kept['data'], kept['metadata'],
                                  'after removing %s the filesystem would have'
                                  % ', '.join(to_remove))

        if convert_args:
            steps.append(('convert profiles (%s)' % ', '.join(
                '%s to %s' % (k, v['wanted']) for k, v in sorted(mismatch.items())),
                [btrfs, 'balance', 'start'] + convert_args, False))
        if replaced:
            # Chunks written while the filesystem was mounted degraded may be "single";
            # a soft convert rewrites only those, restoring the redundancy.
            restore = []
            for kind, flag in (('data', '-dconvert'), ('metadata', '-mconvert')):
                target = want[kind] if (want[kind] and (req.convert or kind not in mismatch)) \
                    else dominant_profile(current.get(kind) or [])
                if target and target not in ('single',) and not (convert_args and kind in mismatch):
                    restore.append('%s=%s,soft' % (flag, target))
            if restore:
                steps.append(('restore redundancy of chunks written while degraded',
                              [btrfs, 'balance', 'start'] + restore, False))
        for p in to_remove:
            steps.append(('remove %s' % p, [btrfs, 'device', 'remove', p], False))
        if to_add or pending:
            kept = [d['rdev'] for d in fs['devices'] if d.get('rdev') is not None]
            self.warn_shared_disks(
                [blockdev.BlockDevice(d['path']) for d in fs['devices'] if d.get('rdev')]
                + [d['dev'] for d in to_add + pending if d['rdev'] not in kept],
                [want[k] or dominant_profile(current.get(k) or []) for k in want])
        relabel = self.label_mismatch is not None and req.relabel
        if relabel and (steps or fs['mountpoints']):
            steps.append(('relabel %s from %r to %r' % (fs['uuid'], fs['label'], req.label),
                          [btrfs, 'filesystem', 'label', MNT, req.label], False))
        elif relabel:
            present = [d['path'] for d in fs['devices'] if d['path'] and not d['missing']]
            if not present:
                raise Refusal('no member of %s is present to relabel it on; attach its devices '
                              'first' % fs['uuid'], option='devices', details={'found': 'no member'})
            plan.add('relabel %s from %r to %r (unmounted: on its member %s)'
                     % (fs['uuid'], fs['label'], req.label, present[0]),
                     argv=[btrfs, 'filesystem', 'label', present[0], req.label],
                     hint='the filesystem is not mounted; every member must be present')
            self.facts['planned'] = self.predict(fs, [], [], [], [], {})
            return

        if not steps:
            return
        mnt = self.choose_mountpoint(fs)
        if mnt is None:
            if not req.temporary_mount:
                raise Refusal('%s is not mounted and temporary_mount is false; mount it and '
                              'pass mountpoint' % fs['uuid'], option='temporary_mount')
            mnt = os.path.join(TEMP_MOUNT_ROOT, 'btrfs-%s' % fs['uuid'])
            self.temp_mount = mnt
            present = [d['path'] for d in fs['devices'] if d['path'] and not d['missing']]
            if not present:
                raise Refusal('no member of %s is present; attach its devices first'
                              % fs['uuid'], option='devices', details={'found': 'no member'})
            opts = ['device=%s' % p for p in present]
            if missing or fs['missing_count']:
                opts.insert(0, 'degraded')
            plan.add('register the members with the kernel',
                     argv=[btrfs, 'device', 'scan'] + present)
            plan.add('create the private temporary mount directory %s' % mnt,
                     action=lambda: self._mkdir(mnt))
            plan.add('mount %s temporarily at %s' % (fs['uuid'], mnt),
                     argv=[self.runner.which('mount'), '-t', 'btrfs', '-o', ','.join(opts),
                           present[0], mnt],
                     hint='read dmesg; with missing members the mount needs "degraded", which '
                          'was %s' % ('used' if 'degraded' in opts else 'not needed'))
        self.mnt = mnt
        for desc, argv, destructive in steps:
            argv = [mnt if a is MNT else a for a in argv] if MNT in argv else argv + [mnt]
            plan.add(desc, argv=argv, destructive=destructive,
                     hint='the filesystem is mounted at %s; check `btrfs filesystem usage %s` '
                          'and dmesg' % (mnt, mnt))
        self.facts['planned'] = self.predict(fs, to_add, to_remove, pending, missing, mismatch)

    def predict(self, fs, to_add, to_remove, pending, missing, mismatch):
        view = diff_view(fs)
        members = list(view['members'])
        for devid, new in zip(missing, pending):
            members = [m for m in members if m != 'devid %d (missing)' % devid] + [new['path']]
        members += [d['path'] for d in to_add]
        for p in to_remove:
            if p == 'missing':
                members = [m for m in members if not m.endswith('(missing)')]
            else:
                rdev = device_rdev(p)
                members = [m for m in members if m.endswith('(missing)') or device_rdev(m) != rdev]
        view['members'] = sorted(members)
        if self.label_mismatch and self.req.relabel:
            view['label'] = self.req.label
        if self.req.convert:
            for kind, v in mismatch.items():
                view['profiles'][kind] = [v['wanted']]
                if kind == 'metadata':
                    view['profiles']['system'] = [v['wanted']]
        return view

    def choose_mountpoint(self, fs):
        if not fs['mountpoints']:
            return None
        if self.req.mountpoint:
            want = self.req.mountpoint.rstrip('/') or '/'
            if want in fs['mountpoints']:
                return want
            self.warnings.append('mountpoint %s is not where %s is mounted; using %s'
                                 % (self.req.mountpoint, fs['uuid'], fs['mountpoint']))
        return fs['mountpoint']

    def plan_absent(self, plan, fs, listed, filesystems):
        req = self.req
        targets = []
        if self.label_mismatch is not None:
            raise Refusal('the listed devices carry btrfs %s, labelled %r, not %r; state: absent '
                          'wipes only the filesystem the request names. Set label: %r (or '
                          'uuid: %s) if that filesystem is to be wiped, or correct devices'
                          % (fs['uuid'], fs['label'], req.label, fs['label'], fs['uuid']),
                          option='label', details={'label_mismatch': self.label_mismatch})
        if fs is not None:
            if fs['mounted']:
                raise Refusal('filesystem %s (label %r) is mounted at %s; unmount it before '
                              'state: absent (force does not override this)'
                              % (fs['uuid'], fs['label'], ', '.join(fs['mountpoints'])),
                              option='force', details={'found': 'mounted'})
            targets = [d['path'] for d in fs['devices'] if d['path'] and not d['missing']]
        members = set(device_rdev(p) for p in targets)
        for dev in listed:
            if not dev['exists'] or dev['rdev'] in members:
                continue
            sigs = self.bt.signatures(dev['path']) if dev['block'] else []
            own = [s for s in sigs if s.get('type') == 'btrfs'
                   and (fs is None or s.get('uuid') == fs['uuid'])
                   and (fs is not None or not (req.uuid or req.label)
                        or s.get('uuid') == req.uuid or s.get('label') == req.label)]
            if own:
                targets.append(dev['path'])
            elif sigs:
                raise Refusal('%s carries %s, which is not this filesystem; it is not wiped. '
                              'Drop it from devices' % (dev['path'], ', '.join(
                                  self.describe_signature(s) for s in sigs)), option='devices',
                              details={'device': dev['path']})
        if not targets:
            return
        for p in targets:
            self.refuse_in_use(self.resolve_devices([p])[0], 'state: absent')
        if not req.force:
            raise Refusal('state: absent would wipe the btrfs signatures on %s (filesystem %s); '
                          'set force: true to do it'
                          % (', '.join(targets), fs['uuid'] if fs else 'stale members'),
                          option='force', details={'devices': targets})
        wipefs = self.runner.which('wipefs')
        for p in targets:
            plan.add('make the kernel forget %s' % p,
                     argv=[self.bt.btrfs, 'device', 'scan', '--forget', p])
            plan.add('wipe the signatures on %s' % p, argv=[wipefs, '-a', p], destructive=True)
        self.facts['planned'] = {'exists': False}

    @staticmethod
    def _mkdir(path):
        parent = os.path.dirname(path)
        if not os.path.isdir(parent):
            os.makedirs(parent, 0o700)
        if not os.path.isdir(path):
            os.mkdir(path, 0o700)

    # execute --------------------------------------------------------------------------------
    def execute(self, plan):
        """Run ``plan``; a temporary mount is always unmounted again, even on failure."""
        try:
            for step in plan.steps:
                if step.argv is not None:
                    rc, out, err = self.runner.run(step.argv, check_rc=False)
                    if rc != 0 and not self._tolerated(step, rc):
                        raise CommandError(step.argv, rc, out, err, step.hint)
                else:
                    step.action()
                plan.done.append(step.as_dict())
        finally:
            if self.temp_mount and os.path.ismount(self.temp_mount):
                self.runner.run([self.runner.which('umount'), self.temp_mount], check_rc=False)
                plan.done.append({'step': 'unmount the temporary mount %s' % self.temp_mount,
                                  'command': render(['umount', self.temp_mount]),
                                  'destructive': False})
            if self.temp_mount and os.path.isdir(self.temp_mount) \
                    and not os.path.ismount(self.temp_mount):
                try:
                    os.rmdir(self.temp_mount)
                except OSError:
                    pass
        return plan.done

    def _tolerated(self, step, rc):
        # Forgetting a device the kernel never registered is fine (and old kernels lack it).
        return '--forget' in step.argv

    def run(self):
        plan = self.plan()
        before = self.found
        changed = bool(plan)
        planned = plan.as_list()
        if self.temp_mount:
            planned.append({'step': 'unmount the temporary mount %s (always, in finally)'
                                    % self.temp_mount,
                            'command': render(['umount', self.temp_mount]),
                            'destructive': False})
        result = {'changed': changed, 'plan': planned, 'assembled': False}
        if before is not None and not before['mounted'] and self.req.state == 'present' \
                and not self.module.check_mode:
            # Assemble: register the members with the kernel so that a plain
            # `mount UUID=...` works (after an OS reinstall the kernel knows none of them).
            # This writes nothing to the devices and does not count as a change.
            present = [d['path'] for d in before['devices'] if d['path'] and not d['missing']]
            if present:
                rc, out, err = self.runner.run([self.bt.btrfs, 'device', 'scan'] + present,
                                               check_rc=False)
                result['assembled'] = rc == 0
        if changed and not self.module.check_mode:
            self.execute(plan)
            after = self.rediscover(before)
        else:
            after = before
        state = after if not (changed and self.module.check_mode) else before
        result.update(self.state_result(state))
        result['profile_mismatch'] = self.facts.get('profile_mismatch', {})
        result['label_mismatch'] = self.label_mismatch
        result['temporary_mount'] = self.temp_mount
        result['commands'] = self.runner.executed
        for warning in self.warnings:
            self.module.warn(warning)
        if self.module._diff:
            predicted = self.facts.get('planned') if changed else diff_view(before)
            result['diff'] = {'before': diff_view(before),
                              'after': (diff_view(after) if (changed and not self.module.check_mode)
                                        else (predicted or diff_view(before)))}
        return result

    def rediscover(self, before):
        self.bt.mounts(refresh=True)
        filesystems = self.bt.filesystems()
        if self.req.state == 'absent':
            return None
        if before is not None:
            for fs in filesystems:
                if fs['uuid'] == before['uuid']:
                    return fs
        listed = self.resolve_devices(self.req.devices)
        return self.find(filesystems, listed)

    def state_result(self, fs):
        if fs is None:
            return {'exists': False, 'uuid': None, 'label': self.req.label, 'devices': [],
                    'missing_devids': [], 'profiles': {}, 'mounted': False, 'mountpoint': None}
        out = public_fs(fs)
        out['exists'] = True
        return out


# --------------------------------------------------------------------------------------------
# btrfs_array_info
# --------------------------------------------------------------------------------------------

def gather_info(runner, label=None, uuid=None, device=None, stats=True, scrub=True, usage=True):
    """Every btrfs on the host (or the one selected), with stats, usage and last scrub."""
    if runner.which('btrfs', required=False) is None:
        return [], 'btrfs-progs is not installed'
    bt = Btrfs(runner)
    out = []
    rdev = device_rdev(device) if device else None
    if device and rdev is None:
        raise Refusal('device %s does not exist or is not a block device' % device,
                      option='device')
    for fs in bt.filesystems():
        if uuid and fs['uuid'] != uuid.lower():
            continue
        if label is not None and fs['label'] != label:
            continue
        if rdev is not None and rdev not in set(d['rdev'] for d in fs['devices']):
            continue
        item = public_fs(fs)
        mnt = fs['mountpoint']
        item['usage'] = None
        item['last_scrub'] = None
        for d in item['devices']:
            d['stats'] = None
        if mnt:
            if usage:
                u = bt.usage(mnt)
                item['usage'] = u['overall'] if u else None
            if stats:
                counters = bt.device_stats(mnt)
                for d in item['devices']:
                    key = d['path'] if d['path'] in counters else 'devid:%d' % d['devid']
                    d['stats'] = counters.get(key)
                item['errors'] = sum(sum(c.values()) for c in counters.values())
            if scrub:
                s = bt.scrub_status(mnt)
                item['last_scrub'] = scrub_result(s) if s else None
        out.append(item)
    return out, None


# --------------------------------------------------------------------------------------------
# btrfs_scrub
# --------------------------------------------------------------------------------------------

def scrub_result(status):
    """The result form of a parsed ``scrub status``."""
    return {
        'status': status['status'],
        'started': local_iso(status['started_epoch']),
        'finished': local_iso(status['finished_epoch']),
        'duration_seconds': status['duration_seconds'],
        'bytes_scrubbed': status['bytes_scrubbed'],
        'corrected_errors': status['corrected_errors'],
        'uncorrectable_errors': status['uncorrectable_errors'],
        'unverified_errors': status['unverified_errors'],
        'csum_errors': status['csum_errors'],
        'read_errors': status['read_errors'],
        'counters': status['counters'],
    }


# ``dmesg --time-format iso``: "2026-11-22T15:23:07,906062+00:00 BTRFS warning (device loop0):
# scrub: checksum error at logical ... (path: doomed.bin)".  The kernel names the file only for
# data it could not read or repair; the path is relative to the filesystem's top level.
_KLOG_LINE = re.compile(r'^(?:(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:[,.]\d+)?'
                        r'(?P<tz>[+-]\d\d:?\d\d|Z)?\s+)?'
                        r'BTRFS \w+ \(device (?P<dev>[^)]+)\): (?P<msg>.*)$')
_KLOG_PATH = re.compile(r'\(path: (?P<path>.*)\)\s*$')


def parse_kernel_log_paths(text, devices=None, since=None):
    """Files that BTRFS error lines in the kernel log name, as ``[{path, errors, kinds}]``.

    ``devices`` keeps lines of those kernel device names only (the filesystem's members);
    ``since`` (epoch) keeps lines logged at or after it (this scrub, not an old one); lines
    without a time stamp (``/dev/kmsg`` messages, already limited by position) are all kept.
    """
    found = {}
    for line in text.splitlines():
        m = _KLOG_LINE.match(line.strip())
        if not m:
            continue
        if devices and m.group('dev') not in devices:
            continue
        if since is not None and m.group('ts') and parse_since(m.group('ts') + (m.group('tz') or '')) < int(since):
            continue
        path = _KLOG_PATH.search(m.group('msg'))
        if not path:
            continue
        kind = m.group('msg').split(' at logical')[0]
        if kind.startswith('scrub: '):
            kind = kind[len('scrub: '):]
        entry = found.setdefault(path.group('path'), {'path': path.group('path'), 'errors': 0,
                                                      'kinds': []})
        entry['errors'] += 1
        if kind not in entry['kinds']:
            entry['kinds'].append(kind)
    return [found[k] for k in sorted(found)]


def describe_affected(files, limit=10):
    """``affected_files`` as one line for a message."""
    if files is None:
        return 'unknown (the kernel log could not be read; see dmesg)'
    if not files:
        return 'none named by the kernel'
    names = [f['path'] for f in files[:limit]]
    more = len(files) - len(names)
    return ', '.join(names) + (' and %d more' % more if more > 0 else '')


def member_kernel_names(uuid, root='/sys/fs/btrfs'):
    """Kernel names (``loop0``, ``bcache2``) of a mounted filesystem's members, from sysfs."""
    try:
        return sorted(os.listdir(os.path.join(root, uuid, 'devices')))
    except OSError:
        return []


def scrub_fresh(status, threshold):
    """True when the last scrub finished (not aborted) at or after ``threshold`` (epoch)."""
    return bool(status and status['status'] == 'finished'
                and status['finished_epoch'] is not None
                and status['finished_epoch'] >= threshold)


def locate_mounted(bt, mountpoint=None, label=None, uuid=None, device=None):
    """The mounted filesystem the scrub runs on, and its mountpoint."""
    if mountpoint:
        if not os.path.ismount(mountpoint):
            raise Refusal('%s is not a mountpoint; mount the filesystem (ansible.posix.mount) '
                          'and re-run' % mountpoint, option='mountpoint')
        return None, mountpoint
    rdev = device_rdev(device) if device else None
    for fs in bt.filesystems(deep=False):
        if (uuid and fs['uuid'] == uuid.lower()) or (label is not None and fs['label'] == label) \
                or (rdev is not None and rdev in set(d['rdev'] for d in fs['devices'])):
            if not fs['mountpoint']:
                raise Refusal('btrfs %s (label %r) is not mounted; scrub needs it mounted. Mount '
                              'it first (ansible.posix.mount)' % (fs['uuid'], fs['label']),
                              option='mountpoint')
            return fs, fs['mountpoint']
    raise Refusal('no btrfs matches %s' % ', '.join(
        '%s=%s' % (k, v) for k, v in (('label', label), ('uuid', uuid), ('device', device)) if v),
        option='label')


class ScrubManager:
    def __init__(self, module, runner, params):
        self.module = module
        self.runner = runner
        self.p = params
        self.bt = Btrfs(runner)

    def status(self, mnt):
        s = self.bt.scrub_status(mnt)
        if s is None:
            raise CommandError([self.bt.btrfs, 'scrub', 'status', '-R', mnt], 1,
                               hint='%s must be a mounted btrfs' % mnt)
        return s

    def wait_running(self, mnt, timeout):
        deadline = time.time() + timeout
        while True:
            s = self.status(mnt)
            if s['status'] != 'running':
                return s
            if time.time() > deadline:
                raise CommandError(['btrfs', 'scrub', 'status', mnt], 1,
                                   stderr='scrub still running after %ss' % timeout,
                                   hint='raise timeout, or use state: started to return at once')
            time.sleep(2)

    def run(self):
        p = self.p
        fs, mnt = locate_mounted(self.bt, p.get('mountpoint'), p.get('label'), p.get('uuid'),
                                 p.get('device'))
        state = p.get('state') or 'completed'
        now = time.time()
        if p.get('since'):
            threshold = parse_since(p['since'])
        else:
            threshold = now - parse_age(p.get('max_age') or '7d')
        before = self.status(mnt)
        plan = Plan()
        btrfs = self.bt.btrfs
        start = [btrfs, 'scrub', 'start']
        if p.get('readonly'):
            start.append('-r')
        waited = False
        if state == 'cancelled':
            if before['status'] == 'running':
                plan.add('cancel the running scrub', argv=[btrfs, 'scrub', 'cancel', mnt])
        elif before['status'] == 'running':
            waited = state == 'completed'
        elif not scrub_fresh(before, threshold):
            if state == 'completed':
                plan.add('scrub %s and wait for it' % mnt, argv=start + ['-B', mnt])
            else:
                plan.add('start a scrub of %s in the background' % mnt, argv=start + [mnt])
        result = {'changed': bool(plan), 'plan': plan.as_list(), 'mountpoint': mnt,
                  'uuid': fs['uuid'] if fs else before['uuid'],
                  'threshold': local_iso(int(threshold)), 'previous': scrub_result(before)}
        after = before
        cursor = None
        if plan and not self.module.check_mode:
            # Placed before the scrub starts: what it reads afterwards is this scrub's log.
            cursor = KernelLogCursor()
            for step in plan.steps:
                # "scrub start -B" exits non-zero when it found errors; the status says which.
                rc, out, err = self.runner.run(step.argv, check_rc=False)
                after = self.status(mnt)
                if rc != 0 and after['started_epoch'] == before['started_epoch'] \
                        and state != 'cancelled':
                    raise CommandError(step.argv, rc, out, err,
                                       hint='is another balance/replace running? see dmesg')
        elif waited and not self.module.check_mode:
            after = self.wait_running(mnt, p.get('timeout') or 86400)
        result['scrub'] = scrub_result(after)
        result.update(dict((k, result['scrub'][k]) for k in (
            'status', 'bytes_scrubbed', 'corrected_errors', 'uncorrectable_errors',
            'duration_seconds', 'started', 'finished')))
        result['affected_files'] = []
        if (after['uncorrectable_errors'] or after['corrected_errors']) and not self.module.check_mode:
            result['affected_files'] = self.affected_files(result['uuid'], after['started_epoch'],
                                                           cursor)
        if cursor is not None:
            cursor.close()
        result['affected_summary'] = describe_affected(result['affected_files'])
        result['commands'] = self.runner.executed
        result['failed_uncorrectable'] = bool(after['uncorrectable_errors'])
        return result

    def affected_files(self, uuid, since, cursor=None):
        """Files the kernel named while scrubbing; None when the kernel log cannot be read.

        A scrub this run started is read through its cursor (exactly the records logged since).
        A scrub found already run, or started by someone else, is read from ``dmesg`` by time,
        with CLOCK_SLACK_SECONDS of tolerance because dmesg's wall-clock stamps run early.
        """
        members = member_kernel_names(uuid) if uuid else None
        messages = cursor.read() if cursor is not None else None
        if messages is not None:
            return parse_kernel_log_paths('\n'.join(messages), members)
        rc, out, _err = self.runner.run(['dmesg', '--time-format', 'iso'], check_rc=False)
        if rc != 0:
            return None
        if since is not None:
            since -= CLOCK_SLACK_SECONDS
        return parse_kernel_log_paths(out, members, since)
