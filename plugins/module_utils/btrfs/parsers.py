# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parsers over the text the btrfs tools print, unit-tested with captured output.

``btrfs filesystem show --raw``, ``btrfs filesystem usage -b``, ``btrfs device stats``,
``btrfs scrub status -R``, ``btrfs inspect-internal dump-tree -t chunk``, ``findmnt --json``
and the kernel log's BTRFS lines (``dmesg --time-format iso`` or ``/dev/kmsg`` messages).
Nothing here runs a command or reads a file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import time

from ansible_collections.resilience.dr.plugins.module_utils.timeutil import parse_since

PROFILES = ('single', 'dup', 'raid0', 'raid1', 'raid1c3', 'raid1c4', 'raid10', 'raid5', 'raid6')

BLOCK_GROUP_TYPES = ('data', 'metadata', 'system')


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


_CHECK_FINDING = re.compile(r'(ERROR|error|errors? found|checksum verify failed|bad tree block|'
                            r'Couldn.t|cannot|corrupt|mismatch|wanted .* found|parent transid)',
                            re.I)
_CHECK_PROGRESS = re.compile(r'^\[\d+/\d+\] |^(Opening filesystem|Checking filesystem on|UUID:|'
                             r'found \d+ bytes used|total |btree space|file data blocks|'
                             r' ?referenced|Starting repair|enabling repair)')


def parse_check_output(text, rc):
    """``btrfs check`` output (stdout and stderr) and exit code -> ``{clean, rc, findings,
    opened}``.  ``findings`` are the distinct error lines in order (at most 50); ``opened`` is
    false when check could not even open the filesystem (no tree root)."""
    findings = []
    for line in text.splitlines():
        line = line.strip()
        if not line or _CHECK_PROGRESS.match(line) or not _CHECK_FINDING.search(line):
            continue
        if line not in findings:
            findings.append(line)
    opened = 'cannot open file system' not in text and "Couldn't read tree root" not in text
    clean = rc == 0 and 'no error found' in text
    return {'clean': clean, 'rc': rc, 'findings': findings[:50], 'opened': opened}
