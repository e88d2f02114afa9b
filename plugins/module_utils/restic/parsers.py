# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions over restic's output (``version``, ``--json`` documents, ``ls``, ``check``).

Nothing here runs a command; the unit tests feed them outputs captured from restic 0.14 and
0.18 (tests/unit/fixtures/restic/capture.sh).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import json
import re
import time


def parse_version(text):
    """``restic 0.14.0 compiled with go1.19.8 on linux/amd64`` -> (0, 14, 0)."""
    match = re.search(r'restic\s+v?(\d+)\.(\d+)\.(\d+)', text or '')
    if not match:
        raise ValueError('cannot read a restic version from %r' % (text,))
    return tuple(int(x) for x in match.groups())


def parse_time_ns(text):
    """restic's RFC 3339 time with nanoseconds (and a zone) -> integer ns since the epoch."""
    match = re.match(r'^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?'
                     r'(Z|[+-]\d\d:?\d\d)?$', text.strip())
    if not match:
        raise ValueError('cannot read a time from %r' % (text,))
    year, mon, day, hour, minute, sec = (int(x) for x in match.groups()[:6])
    frac = (match.group(7) or '0')[:9].ljust(9, '0')
    zone = match.group(8) or 'Z'
    seconds = calendar.timegm((year, mon, day, hour, minute, sec, 0, 0, 0))
    if zone != 'Z':
        sign = 1 if zone[0] == '+' else -1
        zone = zone[1:].replace(':', '')
        seconds -= sign * (int(zone[:2]) * 3600 + int(zone[2:]) * 60)
    return seconds * 1000000000 + int(frac)


def parse_json_lines(text):
    """restic's ``--json`` output: a JSON document, or one JSON object per line."""
    text = (text or '').strip()
    if not text:
        return []
    try:
        doc = json.loads(text)
        return doc if isinstance(doc, list) else [doc]
    except ValueError:
        pass
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith('{') or line.startswith('['):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def last_summary(text):
    """The last ``message_type: summary`` document of a ``--json`` run, or {}."""
    for doc in reversed(parse_json_lines(text)):
        if isinstance(doc, dict) and doc.get('message_type') == 'summary':
            return doc
    return {}


def tool_message(stderr, stdout=''):
    """The tool's own words: the ``exit_error`` message of restic >= 0.17, else stderr."""
    for doc in parse_json_lines(stderr) + parse_json_lines(stdout):
        if isinstance(doc, dict) and doc.get('message_type') == 'exit_error':
            return doc.get('message', '')
    return (stderr or '').strip() or (stdout or '').strip()


# ---------------------------------------------------------------- snapshots

def snapshot_summary(snap, now=None):
    """The fields of a snapshot that results carry, with its age."""
    now = time.time() if now is None else now
    ns = parse_time_ns(snap['time'])
    return {
        'id': snap.get('id'),
        'short_id': snap.get('short_id') or (snap.get('id') or '')[:8],
        'time': snap.get('time'),
        'host': snap.get('hostname'),
        'paths': list(snap.get('paths') or []),
        'tags': list(snap.get('tags') or []),
        'username': snap.get('username'),
        'age_seconds': int(now - ns / 1e9),
    }


def group_snapshots(snapshots, group_by=('host', 'tags'), now=None):
    """Group like ``restic forget --group-by``; each group with its latest snapshot and age."""
    keyfun = {
        'host': lambda s: s.get('hostname'),
        'tags': lambda s: ','.join(sorted(s.get('tags') or [])),
        'paths': lambda s: ','.join(sorted(s.get('paths') or [])),
    }
    groups = {}
    for snap in snapshots:
        key = tuple((g, keyfun[g](snap)) for g in group_by)
        groups.setdefault(key, []).append(snap)
    out = []
    for key, snaps in sorted(groups.items(), key=lambda kv: str(kv[0])):
        latest = max(snaps, key=lambda s: parse_time_ns(s['time']))
        summary = snapshot_summary(latest, now=now)
        out.append({'group': dict(key), 'count': len(snaps), 'latest': summary,
                    'age_seconds': summary['age_seconds']})
    return out


# ---------------------------------------------------------------- ls

def relpath_under(path, root):
    """``path`` relative to ``root`` ('' for root itself), or None when outside it."""
    if root == '/':
        return path.lstrip('/')
    if path == root:
        return ''
    if path.startswith(root.rstrip('/') + '/'):
        return path[len(root.rstrip('/')) + 1:]
    return None


def parse_listing(text, source):
    """``restic ls --json --recursive`` -> (source node or None, {relpath: node}) under source."""
    root = None
    entries = {}
    for doc in parse_json_lines(text):
        if not isinstance(doc, dict) or doc.get('struct_type') != 'node':
            continue
        rel = relpath_under(doc.get('path', ''), source)
        if rel is None:
            continue
        # Go's FileMode keeps type, setuid/setgid/sticky in high bits; keep the permissions.
        node = {
            'type': doc.get('type'),
            'size': int(doc.get('size') or 0),
            'mode': int(doc.get('mode') or 0) & 0o777,
            'uid': doc.get('uid'),
            'gid': doc.get('gid'),
            'mtime_ns': parse_time_ns(doc['mtime']) if doc.get('mtime') else None,
        }
        if rel == '':
            root = node
        else:
            entries[rel] = node
    return root, entries


def totals(entries):
    """Files, their bytes and all entries of a listing (or of a scanned tree)."""
    files = [n for n in entries.values() if n['type'] == 'file']
    return {'files': len(files), 'bytes': sum(n['size'] for n in files),
            'entries': len(entries)}


# ---------------------------------------------------------------- check

def parse_check(out, err, rc):
    """``restic check`` -> ok, rc, num_errors (where restic reports it) and its last lines."""
    text = (out or '') + '\n' + (err or '')
    docs = [d for d in parse_json_lines(out) if isinstance(d, dict)
            and d.get('message_type') == 'summary']
    result = {'ok': rc == 0, 'rc': rc}
    if docs:
        result['num_errors'] = docs[-1].get('num_errors')
        result['summary'] = docs[-1]
    result['no_errors_found'] = 'no errors were found' in text or (
        bool(docs) and docs[-1].get('num_errors') == 0)
    result['output'] = [line for line in text.splitlines()
                        if line.strip() and not line.startswith('[')][-20:]
    return result


# ---------------------------------------------------------------- stats

def parse_stats(out):
    """``restic stats --json`` -> its document (total_size, total_file_count, ...); restic
    prints one JSON object, possibly after progress lines.  None when there is none."""
    docs = [d for d in parse_json_lines(out) if isinstance(d, dict) and 'total_size' in d]
    return docs[-1] if docs else None
