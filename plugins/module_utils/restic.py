# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""restic: version detection, snapshot selection, subtree resolution and restore planning.

Everything here is plain Python over restic's ``--json`` output.  The modules
``restic_restore`` and ``restic_snapshot_info`` are thin front-ends over :class:`Restic`,
:class:`RestoreJob` and :func:`snapshot_report`.

Two restore methods, chosen from the detected version (never assumed):

``native`` (restic >= 0.17)
    ``restic restore <id>:<subtree> --target T --overwrite if-changed [--delete]``.
``staging`` (restic < 0.17, e.g. 0.14 on Debian 12)
    ``restic restore <id> --include <subtree> --target T/.restic-restore-staging``, then every
    entry of the staged subtree is renamed into ``T`` (same filesystem, so each rename is
    atomic), then the staging directory is removed.

Either way the content of the subtree lands directly under ``T``, and a small state file
(``T/.restic-restore.json`` by default) records what was restored so that the next run can
tell cheaply that nothing is left to do.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import fnmatch
import json
import os
import re
import stat
import threading
import time

from ansible_collections.resilience.dr.plugins.module_utils.runner import (
    CommandError, Refusal, render)
from ansible_collections.resilience.dr.plugins.module_utils.restic_preflight import (
    check_delete_target, check_writable)
from ansible_collections.resilience.dr.plugins.module_utils.redact import redact_url
from ansible_collections.resilience.dr.plugins.module_utils.restore_outcome import (
    Progress, VerifyMismatch, failure)
from ansible_collections.resilience.dr.plugins.module_utils.restic_target import (
    STAGING_NAME, apply_dir_metadata, free_bytes, make_staging, merge_staged, prune_staged,
    read_state, remove_extra, remove_staging, remove_state, staging_space_note, state_location,
    write_state)

DEFAULT_STATE_FILE = '.restic-restore.json'
STATE_FORMAT = 1

# Features by the first restic version that has them.
FEATURES = {
    'subfolder': (0, 17, 0),       # restore <snapshot>:<subfolder>
    'dry_run': (0, 17, 0),         # restore --dry-run
    'overwrite': (0, 17, 0),       # restore --overwrite
    'delete': (0, 17, 0),          # restore --delete
    'exit_codes': (0, 17, 0),      # 10 missing repo, 11 locked, 12 wrong password
    'restore_json': (0, 16, 0),    # restore --json progress and summary
}

# Error kinds, their restic exit codes (>= 0.17) and the message text older versions print.
ERROR_KINDS = {
    'repository_missing': {
        'code': 10,
        'patterns': ['repository does not exist', 'Is there a repository at the following location'],
        'hint': 'check the repository string (an rclone remote needs the "rclone:" prefix, '
                'e.g. rclone:gdrive:backups/ml-train-server) and that the remote is reachable; '
                'list it with "restic -r <repo> snapshots"',
    },
    'locked': {
        'code': 11,
        'patterns': ['repository is already locked', 'unable to create lock'],
        'hint': 'another restic process holds a lock on the repository. If that process is '
                'dead, set unlock_stale=true to remove stale locks (restic unlock); a live '
                'lock is never removed: wait for that process to finish',
    },
    'wrong_password': {
        'code': 12,
        'patterns': ['wrong password or no key found'],
        'hint': 'the repository password is wrong: check password/password_file '
                '(on the train server /root/.restic-password, from the vault)',
    },
    # No exit code of their own (restic exits 1): recognised by the message only.
    'corrupt': {
        'code': None,
        'patterns': ['ciphertext verification failed', 'checksum mismatch', 'hash mismatch',
                     'invalid data returned', 'blob not found', 'pack file cannot be listed',
                     'loadblob', 'is damaged', 'tree not found'],
        'hint': 'the repository holds damaged data: run "restic check --read-data" '
                '(resilience.dr.restic_snapshot_info with check: true and read_data_subset: '
                '100%) and repair it ("restic repair packs"/"restic repair snapshots"), or '
                'restore an older snapshot (option snapshot)',
    },
    'no_space': {
        'code': None,
        'patterns': ['no space left on device', 'disk quota exceeded'],
        'hint': 'the filesystem of the target (or of cache_dir) is full: free space there, '
                'or restore into a target on a bigger filesystem',
    },
}

TRANSIENT_PATTERNS = [
    'connection refused', 'connection reset', 'i/o timeout', 'timeout awaiting',
    'tls handshake timeout', 'no route to host', 'network is unreachable',
    'temporary failure in name resolution', 'server misbehaving', 'unexpected eof',
    '502 bad gateway', '503 service unavailable', '504 gateway timeout',
    '500 internal server error', 'too many requests', 'context deadline exceeded',
    'error talking http to rclone', 'rclone stdio connection already closed',
    'unexpected http response',
]


class ResticError(CommandError):
    """A restic command failed; ``kind`` classifies it (see ERROR_KINDS, 'transient')."""

    def __init__(self, argv, rc, stdout='', stderr='', hint=None, kind=None, attempts=1):
        self.kind = kind
        self.attempts = attempts
        super(ResticError, self).__init__(argv, rc, stdout, stderr, hint)

    def as_result(self):
        result = super(ResticError, self).as_result()
        result['error_kind'] = self.kind
        result['attempts'] = self.attempts
        return result


# ---------------------------------------------------------------- parsing

def parse_version(text):
    """``restic 0.14.0 compiled with go1.19.8 on linux/amd64`` -> (0, 14, 0)."""
    match = re.search(r'restic\s+v?(\d+)\.(\d+)\.(\d+)', text or '')
    if not match:
        raise ValueError('cannot read a restic version from %r' % (text,))
    return tuple(int(x) for x in match.groups())


def features_for(version):
    return dict((name, tuple(version) >= first) for name, first in FEATURES.items())


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


def tool_message(stderr, stdout=''):
    """The tool's own words: the ``exit_error`` message of restic >= 0.17, else stderr."""
    for doc in parse_json_lines(stderr) + parse_json_lines(stdout):
        if isinstance(doc, dict) and doc.get('message_type') == 'exit_error':
            return doc.get('message', '')
    return (stderr or '').strip() or (stdout or '').strip()


def classify_error(rc, stderr, stdout=''):
    """Which kind of failure this is: an ERROR_KINDS key, 'transient' or None."""
    text = tool_message(stderr, stdout)
    lower = (text + '\n' + (stderr or '')).lower()
    for kind, info in ERROR_KINDS.items():
        if info['code'] is not None and rc == info['code']:
            return kind
    # A full disk or damaged data is never worth a retry, whatever else the output says.
    for kind in ('no_space', 'corrupt'):
        if any(p.lower() in lower for p in ERROR_KINDS[kind]['patterns']):
            return kind
    # restic < 0.17 exits 1 for everything: read the message.  A refused connection also
    # prints "Is there a repository ...", so transient network errors are checked first.
    if any(p in lower for p in TRANSIENT_PATTERNS):
        return 'transient'
    for kind in ('locked', 'wrong_password', 'repository_missing'):
        if any(p.lower() in lower for p in ERROR_KINDS[kind]['patterns']):
            return kind
    return None


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


def select_snapshot(snapshots, wanted='latest'):
    """Pick ``latest`` (newest time) or an id / unique id prefix from a snapshots list."""
    if not snapshots:
        raise Refusal('no snapshot matches the selection (host/tags/paths); list them with '
                      'resilience.dr.restic_snapshot_info')
    if wanted in (None, '', 'latest'):
        return max(snapshots, key=lambda s: parse_time_ns(s['time']))
    found = [s for s in snapshots if s.get('id', '').startswith(wanted)
             or s.get('short_id') == wanted]
    if not found:
        newest = sorted(snapshots, key=lambda s: parse_time_ns(s['time']))[-5:]
        raise Refusal('snapshot %r is not among the %d snapshots of the repository that match '
                      'host/tags/paths (newest: %s). List them with '
                      'resilience.dr.restic_snapshot_info (or "restic snapshots") and set '
                      'snapshot to one of their ids, or to "latest"; check host/tags/paths '
                      'if the id exists but is filtered out'
                      % (wanted, len(snapshots), ', '.join(
                          '%s (%s)' % (s.get('short_id', ''), s.get('time', '')[:19])
                          for s in reversed(newest))), option='snapshot')
    if len(found) > 1:
        raise Refusal('snapshot %r matches %d snapshots (%s); give a longer id or "latest"'
                      % (wanted, len(found), ', '.join(s.get('short_id', '') for s in found[:10])),
                      option='snapshot')
    return found[0]


def split_path(path):
    return [c for c in path.split('/') if c]


def glob_match(pattern, path):
    """Match a directory path against ``source_path``, component by component.

    ``*`` never crosses ``/``.  An absolute pattern must match the whole path; a relative
    pattern (``*/snapshots/backup_*/homes``) matches the path's last components.
    """
    pat = split_path(pattern)
    comps = split_path(path)
    if pattern.startswith('/'):
        if len(pat) != len(comps):
            return False
    else:
        if len(pat) > len(comps) or not pat:
            return False
        comps = comps[len(comps) - len(pat):]
    return all(fnmatch.fnmatchcase(c, p) for c, p in zip(comps, pat))


def candidate_dirs(snapshot):
    """The snapshot's backed-up paths and all their ancestors (no listing needed)."""
    out = set()
    for path in snapshot.get('paths') or []:
        comps = split_path(path)
        for i in range(1, len(comps) + 1):
            out.add('/' + '/'.join(comps[:i]))
    return out


def resolve_source(pattern, snapshot, deep_dirs=None):
    """The one directory of ``snapshot`` that ``pattern`` names, or a Refusal listing matches.

    ``deep_dirs`` is a callable returning every directory in the snapshot; it is only called
    when no backed-up path or ancestor of one matches (a subtree deeper than the paths).
    """
    if not pattern or pattern == '/':
        return '/'
    matches = sorted(d for d in candidate_dirs(snapshot) if glob_match(pattern, d))
    if not matches and deep_dirs is not None:
        matches = sorted(d for d in deep_dirs() if glob_match(pattern, d))
    if not matches:
        raise Refusal(
            'source_path %r matches 0 directories in snapshot %s; it must match exactly one. '
            'Snapshot paths: %s. List the directories with "restic ls %s <one of those paths>" '
            'and set source_path to one of them: an absolute pattern must match a whole path, '
            'a relative one its last components (e.g. "*/snapshots/backup_*/homes"); or pick '
            'another snapshot (option snapshot)'
            % (pattern, snapshot.get('short_id'), ', '.join(snapshot.get('paths') or []),
               snapshot.get('short_id')), option='source_path')
    if len(matches) > 1:
        raise Refusal(
            'source_path %r matches %d directories in snapshot %s; it must match exactly one. '
            'Found: %s. Snapshot paths: %s. Make source_path more specific '
            '(e.g. "*/snapshots/backup_*/homes") or pick another snapshot'
            % (pattern, len(matches), snapshot.get('short_id'),
               ', '.join(matches[:20]), ', '.join(snapshot.get('paths') or [])),
            option='source_path')
    return matches[0]


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


# ---------------------------------------------------------------- include / exclude

def _match_components(pat, comps):
    """restic-style component match with ``**`` (any number of components)."""
    if not pat:
        return True  # the pattern matched a prefix: children of a match match too
    if pat[0] == '**':
        return any(_match_components(pat[1:], comps[i:]) for i in range(len(comps) + 1))
    if not comps:
        return False
    return fnmatch.fnmatchcase(comps[0], pat[0]) and _match_components(pat[1:], comps[1:])


def pattern_matches(pattern, relpath):
    """Does a restore include/exclude ``pattern`` select ``relpath`` (relative to the source)?

    A pattern starting with ``/`` is anchored at the source; any other pattern may match at
    any depth.  A match on a directory selects everything below it.
    """
    pat = split_path(pattern)
    comps = split_path(relpath)
    if pattern.startswith('/'):
        return _match_components(pat, comps)
    return _match_components(['**'] + pat, comps)


def pattern_may_match_below(pattern, relpath):
    """Could something below directory ``relpath`` match ``pattern``? (dirs kept for includes)"""
    pat = split_path(pattern)
    comps = split_path(relpath)
    if not pattern.startswith('/'):
        return True
    for p, c in zip(pat, comps):
        if p == '**':
            return True
        if not fnmatch.fnmatchcase(c, p):
            return False
    return len(pat) > len(comps)


def selected(relpath, node_type, include, exclude):
    if any(pattern_matches(p, relpath) for p in exclude or []):
        return False
    if include:
        if any(pattern_matches(p, relpath) for p in include):
            return True
        return node_type == 'dir' and any(pattern_may_match_below(p, relpath) for p in include)
    return True


def filter_entries(entries, include, exclude):
    """The entries a restore with these patterns brings back, exactly as restic does it.

    With include patterns, a directory that no pattern selects itself is only restored when
    something selected lies below it (restic creates no directory that leads to nothing).
    """
    out = dict((rel, node) for rel, node in entries.items()
               if selected(rel, node['type'], include, exclude))
    if not include:
        return out
    keep = set()
    for rel, node in out.items():
        if node['type'] != 'dir' or any(pattern_matches(p, rel) for p in include):
            comps = rel.split('/')
            keep.update('/'.join(comps[:i]) for i in range(1, len(comps) + 1))
    return dict((rel, node) for rel, node in out.items() if rel in keep)


def translate_pattern(pattern, source):
    """A pattern relative to the subtree -> a pattern on the whole snapshot (staging method)."""
    base = source.rstrip('/')
    if pattern.startswith('/'):
        return base + pattern
    return base + '/**/' + pattern


def totals(entries):
    files = [n for n in entries.values() if n['type'] == 'file']
    return {'files': len(files), 'bytes': sum(n['size'] for n in files),
            'entries': len(entries)}


# ---------------------------------------------------------------- target inspection

def lstat_or_none(path):
    try:
        return os.lstat(path)
    except OSError:
        return None


def compare_entry(path, node, check_owner=True):
    """'' when ``path`` on disk matches the snapshot node, else a short reason."""
    st = lstat_or_none(path)
    if st is None:
        return 'missing'
    kind = node['type']
    if kind == 'dir':
        if not stat.S_ISDIR(st.st_mode):
            return 'type'
    elif kind == 'symlink':
        if not stat.S_ISLNK(st.st_mode):
            return 'type'
        return ''
    elif kind == 'file':
        if not stat.S_ISREG(st.st_mode):
            return 'type'
        if st.st_size != node['size']:
            return 'size'
        if node['mtime_ns'] is not None and abs(st.st_mtime_ns - node['mtime_ns']) >= 1000:
            return 'mtime'
    if (st.st_mode & 0o777) != node['mode'] and kind != 'symlink':
        return 'mode'
    if check_owner and node.get('uid') is not None and (st.st_uid, st.st_gid) != (node['uid'], node['gid']):
        return 'owner'
    return ''


def walk_target(target, skip=()):
    """Every path under ``target`` (relative), without following symlinks."""
    out = {}
    if not os.path.isdir(target):
        return out
    for dirpath, dirnames, filenames in os.walk(target):
        rel_dir = os.path.relpath(dirpath, target)
        rel_dir = '' if rel_dir == '.' else rel_dir
        if rel_dir == '':
            dirnames[:] = [d for d in dirnames if d not in skip]
            filenames = [f for f in filenames if f not in skip]
        for name in dirnames + filenames:
            rel = os.path.join(rel_dir, name) if rel_dir else name
            st = os.lstat(os.path.join(dirpath, name))
            out[rel] = 'dir' if stat.S_ISDIR(st.st_mode) else 'other'
    return out


def node_from_stat(st):
    """A listing-shaped node for something on disk (what restic just restored there)."""
    if stat.S_ISREG(st.st_mode):
        kind = 'file'
    elif stat.S_ISDIR(st.st_mode):
        kind = 'dir'
    elif stat.S_ISLNK(st.st_mode):
        kind = 'symlink'
    else:
        kind = 'other'
    return {'type': kind, 'size': st.st_size if kind == 'file' else 0,
            'mode': stat.S_IMODE(st.st_mode), 'uid': st.st_uid, 'gid': st.st_gid,
            'mtime_ns': st.st_mtime_ns}


def scan_tree(root, skip=()):
    """(root node or None, {relpath: node}) of a tree on disk, without following symlinks.

    Used instead of ``restic ls`` where the tree is exactly what restic restored (the staged
    subtree, or a target that was empty before the restore): the same shape as
    :func:`parse_listing`, so :func:`totals` and :func:`apply_dir_metadata` work on it.
    ``mode`` keeps setuid/setgid/sticky (restic set them). ``skip`` names at the top level
    are left out.
    """
    root_st = lstat_or_none(root)
    if root_st is None:
        return None, {}
    entries = {}
    if not stat.S_ISDIR(root_st.st_mode):
        return node_from_stat(root_st), entries
    todo = ['']
    while todo:
        rel_dir = todo.pop()
        with os.scandir(os.path.join(root, rel_dir) if rel_dir else root) as it:
            for entry in it:
                if not rel_dir and entry.name in skip:
                    continue
                rel = rel_dir + '/' + entry.name if rel_dir else entry.name
                node = node_from_stat(entry.stat(follow_symlinks=False))
                entries[rel] = node
                if node['type'] == 'dir':
                    todo.append(rel)
    return node_from_stat(root_st), entries


def listing_plan(method, loaded, target_empty, source, subfolder):
    """Where a restore learns what it restored (counts, state record, directory metadata).

    ``loaded``: the listing was already needed (check/diff mode, verify, delete).
    ``scan``: read the restored tree itself, no ``restic ls`` at all. That tree is exactly the
    snapshot's subtree after include/exclude when it is the staged subtree (staging) or a
    target that was empty before the restore (native).
    ``scan+root``: the same, plus ``restic ls`` without ``--recursive`` (one directory) in a
    thread while restic restores, for the source directory's own mode, owner and mtime,
    which restic >= 0.17 does not give the target of ``snapshot:subfolder``.
    ``full``: ``restic ls --recursive`` in a thread while restic restores (native restore
    into a target that already holds files).
    """
    if loaded:
        return 'loaded'
    if method == 'native' and not target_empty:
        return 'full'
    if source != '/' and (method == 'native' or subfolder):
        return 'scan+root'
    return 'scan'


def check_source_node(root_node, source, short_id, found):
    """Refuse a ``source_path`` that is no directory of the snapshot.

    ``root_node`` is the source directory's own node (None when unknown); ``found`` says that
    something under it was seen (entries listed, or include patterns that restic applied).
    """
    if source != '/' and root_node is None and not found:
        raise Refusal('source_path %s is not a directory in snapshot %s' % (source, short_id))
    if root_node is not None and root_node['type'] != 'dir':
        raise Refusal('source_path %s is a %s in snapshot %s, not a directory'
                      % (source, root_node['type'], short_id))


def is_empty_dir(path, skip=()):
    """True when ``path`` is missing or holds nothing but the ``skip`` names."""
    try:
        return all(name in skip for name in os.listdir(path))
    except OSError:
        return not os.path.lexists(path)


def lossy(rel):
    """A name as restic's JSON shows it: bytes that are not UTF-8 become U+FFFD.

    On disk such a name is kept byte for byte (Python: surrogate escapes); ``restic ls``
    prints it lossily, so comparisons match names in this form.
    """
    return rel.encode('utf-8', 'surrogateescape').decode('utf-8', 'replace')


def compare_target(target, entries, include=None, exclude=None, skip=(), check_owner=None,
                   with_extra=True):
    """Compare the target with the expected entries: new, changed, unchanged and extra.

    ``extra`` holds on-disk names (for removal); the other lists the entries' names.
    """
    if check_owner is None:
        check_owner = os.geteuid() == 0  # only root can restore owners
    disk = None
    on_disk = {}
    if with_extra or any(u'\ufffd' in rel for rel in entries):
        disk = walk_target(target, skip)
        on_disk = dict((lossy(rel), rel) for rel in disk if lossy(rel) != rel)
    new, changed, unchanged = [], [], []
    for rel in sorted(entries):
        real = on_disk.get(rel, rel)
        reason = compare_entry(os.path.join(target, real), entries[rel], check_owner)
        if reason == 'missing':
            new.append(rel)
        elif reason:
            changed.append((rel, reason))
        else:
            unchanged.append(rel)
    extra = []
    if with_extra:
        seen = set()
        for rel, kind in sorted(disk.items()):
            kind = 'dir' if kind == 'dir' else 'file'
            if rel in entries or lossy(rel) in entries or not selected(rel, kind, include, exclude):
                continue
            comps = rel.split('/')
            if any('/'.join(comps[:i]) in seen for i in range(1, len(comps))):
                continue  # inside an extra directory that goes as a whole
            seen.add(rel)
            extra.append(rel)
    return {'new': new, 'changed': changed, 'unchanged': unchanged, 'extra': extra}


def summarize_comparison(cmp, entries, limit=20):
    def bytes_of(rels):
        return sum(entries[r]['size'] for r in rels if entries[r]['type'] == 'file')
    changed = [c[0] for c in cmp['changed']]
    return {
        'new': len(cmp['new']), 'new_bytes': bytes_of(cmp['new']),
        'changed': len(changed), 'changed_bytes': bytes_of(changed),
        'unchanged': len(cmp['unchanged']),
        'extra': len(cmp['extra']),
        'examples': {
            'new': cmp['new'][:limit],
            'changed': ['%s (%s)' % c for c in cmp['changed'][:limit]],
            'extra': [lossy(e) for e in cmp['extra'][:limit]],
        },
    }


# ---------------------------------------------------------------- the restic client

class Restic:
    """restic with one repository: environment, retries with backoff, error classification."""

    def __init__(self, runner, executable='restic', repository=None, password=None,
                 password_file=None, environment=None, cache_dir=None, limit_download=None,
                 retries=3, backoff=2.0, sleep=time.sleep, no_lock=False):
        self.runner = runner
        self.executable = executable
        self.repository = repository
        self.env = {}
        self.env.update(environment or {})
        if repository:
            self.env['RESTIC_REPOSITORY'] = repository
        if password is not None:
            self.env['RESTIC_PASSWORD'] = password
        elif password_file:
            self.env['RESTIC_PASSWORD_FILE'] = password_file
        self.cache_dir = cache_dir
        self.limit_download = limit_download
        self.retries = max(0, int(retries))
        self.backoff = float(backoff)
        self.sleep = sleep
        self.no_lock = no_lock
        self._version = None
        self.attempts = 0

    def global_args(self, no_lock=None):
        args = []
        if self.cache_dir:
            args += ['--cache-dir', self.cache_dir]
        if self.limit_download:
            args += ['--limit-download', str(self.limit_download)]
        if self.no_lock if no_lock is None else no_lock:
            args.append('--no-lock')
        return args

    @property
    def version(self):
        if self._version is None:
            rc, out, err = self.runner.run([self.executable, 'version'], check_rc=False,
                                           env=self.env)
            if rc != 0:
                raise ResticError([self.executable, 'version'], rc, out, err,
                                  hint='install restic (apt install restic) or set executable')
            self._version = parse_version(out)
        return self._version

    @property
    def version_string(self):
        return '.'.join(str(x) for x in self.version)

    @property
    def features(self):
        return features_for(self.version)

    def argv(self, args, no_lock=None):
        return [self.executable] + self.global_args(no_lock) + list(args)

    def run(self, args, no_lock=None, retry=True, ok_codes=(0,)):
        """Run restic; retry transient backend failures with exponential backoff."""
        argv = self.argv(args, no_lock)
        attempt = 0
        while True:
            attempt += 1
            self.attempts += 1
            rc, out, err = self.runner.run(argv, check_rc=False, env=self.env)
            if rc in ok_codes:
                return out, err
            kind = classify_error(rc, err, out)
            if kind == 'transient' and retry and attempt <= self.retries:
                self.sleep(self.backoff * (2 ** (attempt - 1)))
                continue
            if kind == 'transient':
                hint = ('the backend failed %d time(s) with a network/backend error; check that '
                        'the repository server or rclone remote is up and reachable, then re-run '
                        '(raise retries to wait longer)' % attempt)
            else:
                hint = ERROR_KINDS.get(kind, {}).get('hint', 'read the restic message above')
            raise ResticError(argv, rc, out, err, hint=hint, kind=kind, attempts=attempt)

    def json(self, args, no_lock=None):
        out = self.run(list(args[:1]) + ['--json'] + list(args[1:]), no_lock=no_lock)[0]
        return parse_json_lines(out)

    def snapshots(self, host=None, tags=None, paths=None, no_lock=None):
        args = ['snapshots']
        for h in host or []:
            args += ['--host', h]
        for t in tags or []:
            args += ['--tag', t]
        for p in paths or []:
            args += ['--path', p]
        docs = self.json(args, no_lock=no_lock)
        # restic prints a JSON list; parse_json_lines flattens it.
        return [d for d in docs if isinstance(d, dict) and 'time' in d]

    def ls(self, snapshot_id, path=None, no_lock=None, recursive=True):
        """``restic ls --json``; without ``recursive`` only ``path`` and its direct children."""
        args = ['ls', '--json'] + (['--recursive'] if recursive else []) + [snapshot_id]
        if path and path != '/':
            args.append(path)
        out = self.run(args, no_lock=no_lock)[0]
        return out

    def unlock(self):
        """Remove stale locks only (restic's default; never --remove-all)."""
        return self.run(['unlock'])

    def check(self, read_data_subset=None):
        args = ['check']
        if read_data_subset:
            args += ['--read-data-subset', str(read_data_subset)]
        rc_out = self.run(args, retry=False, ok_codes=(0, 1, 3))
        return rc_out


def redact_repository(repository):
    """Hide credentials in URLs such as rest:https://user:secret@host/repo."""
    return redact_url(repository or '')


# ---------------------------------------------------------------- the restore job

class RestoreJob:
    """Plan and run one restore of a snapshot subtree into a target.

    ``params`` carries the module options (snapshot, host, tags, paths, source_path, target,
    include, exclude, verify, delete, unlock_stale, state_file).
    """

    def __init__(self, restic, params, check_mode=False, now=time.time):
        self.restic = restic
        self.p = params
        self.check_mode = check_mode
        self.now = now
        self.target = os.path.abspath(params['target'])
        self.include = list(params.get('include') or [])
        self.exclude = list(params.get('exclude') or [])
        self.state_loc = state_location(self.target, params.get('state_file', DEFAULT_STATE_FILE))
        self.state_file = os.path.join(*self.state_loc) if self.state_loc else None
        self.skip = set([STAGING_NAME])
        if self.state_file and os.path.dirname(self.state_file) == self.target:
            name = os.path.basename(self.state_file)
            self.skip.update([name, name + '.tmp'])
        self.progress = Progress(self.target)
        self.unlocked = False
        self.subfolder = False
        self.plan_steps = []
        self.warnings = []

    # -- repository access, with the stale-lock path
    def _with_lock_handling(self, func):
        try:
            return func(None)
        except ResticError as exc:
            if exc.kind != 'locked' or not self.p.get('unlock_stale'):
                raise
            if self.check_mode:
                self.plan_steps.append({'step': 'remove stale repository locks',
                                        'command': render(self.restic.argv(['unlock'])),
                                        'destructive': False})
                return func(True)
            self.restic.unlock()
            self.unlocked = True
            try:
                return func(None)
            except ResticError as again:
                if again.kind == 'locked':
                    again.hint = ('the repository is still locked after removing stale locks: a '
                                  'live restic process holds the lock. Wait for it to finish; '
                                  'nothing was written to the target')
                raise

    def find_snapshot(self):
        p = self.p
        tags = p.get('tags') or []
        snaps = self._with_lock_handling(lambda no_lock: self.restic.snapshots(
            host=[p['host']] if p.get('host') else None, tags=tags, paths=p.get('paths'),
            no_lock=no_lock))
        return select_snapshot(snaps, p.get('snapshot') or 'latest')

    def listing(self, snap, source, recursive=True):
        return self._with_lock_handling(
            lambda no_lock: self.restic.ls(snap['id'], source, no_lock=no_lock,
                                           recursive=recursive))

    def run(self):
        started = self.now()
        if self.p.get('delete'):
            check_delete_target(self.target)
        snap = self.find_snapshot()
        summary = snapshot_summary(snap, now=self.now())

        deep = {}

        def deep_dirs():
            text = self.listing(snap, '/')
            all_entries = parse_listing(text, '/')[1]
            deep['entries'] = all_entries
            return ['/' + rel for rel, n in all_entries.items() if n['type'] == 'dir']

        source = resolve_source(self.p.get('source_path'), snap, deep_dirs)
        features = self.restic.features
        # restic (0.14 .. 0.18) refuses --include with --exclude: with both, restore the
        # includes into a staging directory, drop the excludes there, then rename into place.
        both = bool(self.include and self.exclude)
        method = 'native' if features['subfolder'] and not both else 'staging'
        self.subfolder = features['subfolder']
        self.check_target()
        verify = bool(self.p.get('verify'))
        delete = bool(self.p.get('delete'))

        box = {}

        def load_listing(recursive=True):
            if source == '/' and 'entries' in deep:
                root_node, entries = None, deep['entries']
            else:
                root_node, entries = parse_listing(self.listing(snap, source, recursive), source)
            box['root'], box['entries'] = root_node, entries

        def listing_checked():
            if 'error' in box:
                raise box['error']
            root_node, entries = box['root'], box['entries']
            check_source_node(root_node, source, summary['short_id'], found=bool(entries))
            # the module's own names at the top are never restored (a snapshot may plant them)
            entries = dict((rel, n) for rel, n in entries.items()
                           if rel.split('/', 1)[0] not in self.skip)
            return root_node, filter_entries(entries, self.include, self.exclude)

        state = read_state(self.state_loc)
        want_state = self.state_record(summary, source, method, None)
        state_ok = self.state_matches(state, want_state)
        need_restore = not state_ok
        if state_ok and not verify:
            need_restore = not all(os.path.lexists(os.path.join(self.target, rel))
                                   for rel in (state or {}).get('top', []))
        # The listing is needed before restoring for comparisons (check/diff/verify/delete);
        # otherwise it runs in a thread while restic restores (it costs seconds on big trees).
        early = bool(self.check_mode or self.p.get('_diff') or verify or delete)
        root_node = wanted = None
        if early and (need_restore or verify):
            load_listing()
            root_node, wanted = listing_checked()

        cmp_result = None
        if wanted is not None and (verify or self.check_mode or self.p.get('_diff')):
            cmp_result = compare_target(self.target, wanted, self.include, self.exclude,
                                        self.skip, with_extra=delete or not verify)
            if state_ok and verify and (cmp_result['new'] or cmp_result['changed']
                                        or (delete and cmp_result['extra'])):
                need_restore = True

        if wanted is not None:
            tot = totals(wanted)
        else:
            tot = {'files': (state or {}).get('files'), 'bytes': (state or {}).get('bytes')}

        restore_argv = self.restore_argv(snap, source, method, verify)
        if need_restore:
            self.check_writable(method, wanted)
        result = {
            'changed': need_restore,
            'snapshot': summary,
            'rpo_seconds': summary['age_seconds'],
            'source': source,
            'target': self.target,
            'mapping': {source: self.target},
            'method': method,
            'restic_version': self.restic.version_string,
            'repository': redact_repository(self.restic.repository),
            'files': tot['files'],
            'bytes': tot['bytes'],
            'state_file': self.state_file,
            'verified': False,
            'unlocked_stale_locks': self.unlocked,
        }
        plan = list(self.plan_steps)
        if need_restore:
            plan += self.plan(method, restore_argv, verify)
        result['plan'] = plan
        if cmp_result is not None:
            result['comparison'] = summarize_comparison(cmp_result, wanted)

        if not need_restore:
            result['verified'] = verify
            result['restored_files'] = 0
            result['restored_bytes'] = 0
            result['duration'] = round(self.now() - started, 3)
            result['mb_per_s'] = 0.0
            result['msg'] = ('target already holds snapshot %s of %s%s'
                             % (summary['short_id'], source, ' (verified)' if verify else ''))
            return result

        if self.check_mode:
            if features['dry_run'] and method == 'native':
                result['restic_dry_run'] = self.dry_run(restore_argv)
            would = summarize_comparison(cmp_result, wanted)
            result['would_restore'] = {
                'files': sum(1 for r in cmp_result['new'] + [c[0] for c in cmp_result['changed']]
                             if wanted[r]['type'] == 'file'),
                'bytes': would['new_bytes'] + would['changed_bytes'],
                'would_delete': len(cmp_result['extra']) if delete else 0,
            }
            result['msg'] = ('would restore %d files (%d bytes) of snapshot %s:%s into %s'
                             % (result['would_restore']['files'], result['would_restore']['bytes'],
                                summary['short_id'], source, self.target))
            return result

        # ---- do it: any failure from here on says what it left (restore_outcome)
        try:
            return self.write(result, snap, summary, source, method, restore_argv, verify,
                              delete, wanted, want_state, load_listing, listing_checked, box,
                              started)
        except Exception as exc:  # pylint: disable=broad-except
            raise self.failed(exc, method)

    def write(self, result, snap, summary, source, method, restore_argv, verify, delete,
              wanted, want_state, load_listing, listing_checked, box, started):
        how = listing_plan(method, wanted is not None, is_empty_dir(self.target, self.skip),
                           source, self.subfolder)
        scan = how in ('scan', 'scan+root')
        need_root = how == 'scan+root'
        thread = None
        if how in ('full', 'scan+root'):
            def background():
                try:
                    load_listing(recursive=how == 'full')
                except Exception as exc:  # surfaced by listing_checked()
                    box['error'] = exc
            thread = threading.Thread(target=background)
            thread.daemon = True
            thread.start()

        def get_listing():
            if thread is not None:
                thread.join()
            return listing_checked()

        t0 = self.now()
        restic_summary, root_node, wanted = self.execute(snap, source, method, restore_argv,
                                                         get_listing, scan, need_root)
        restore_seconds = self.now() - t0
        tot = totals(wanted)
        result['files'], result['bytes'] = tot['files'], tot['bytes']
        self.progress.restored = True
        if verify:
            check = compare_target(self.target, wanted, self.include, self.exclude, self.skip,
                                   with_extra=delete)
            bad = check['new'] + ['%s (%s)' % c for c in check['changed']]
            if delete:
                bad += ['%s (extra)' % lossy(e) for e in check['extra']]
            if bad:
                raise VerifyMismatch('verification failed after restore: %d entries differ '
                                     'from the snapshot, e.g. %s; re-run, and if it persists '
                                     'run restic check' % (len(bad), ', '.join(bad[:10])))
            result['verified'] = True
        if self.state_file:
            want_state.update(tot)
            # only what is there: restic creates no directory that holds nothing included
            top = set(rel.split('/')[0] for rel in wanted)
            want_state['top'] = sorted(name for name in top
                                       if os.path.lexists(os.path.join(self.target, name)))[:1000]
            want_state['completed'] = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
            want_state['verified'] = result['verified']
            write_state(self.state_loc, want_state)
        duration = self.now() - started
        result['restic_summary'] = restic_summary
        result['restored_files'] = tot['files']
        result['restored_bytes'] = tot['bytes']
        result['restore_seconds'] = round(restore_seconds, 3)
        result['duration'] = round(duration, 3)
        result['mb_per_s'] = round(tot['bytes'] / 1e6 / duration, 2) if duration > 0 else 0.0
        result['msg'] = ('restored %d files (%d bytes) of snapshot %s:%s into %s'
                         % (tot['files'], tot['bytes'], summary['short_id'], source, self.target))
        return result

    # -- pieces
    def staged_tree(self, staged, source, need_root, get_listing, snap):
        """(root node, entries) of the staged subtree, checked like a listing would be.

        restic < 0.17 restores the source directory itself with its metadata; restic >= 0.17
        (``snapshot:subfolder`` into the staging directory) does not, so the node then comes
        from ``get_listing()``. The whole snapshot (``/``) has no root node to apply.
        """
        root_node, entries = scan_tree(staged)
        if need_root:
            root_node = get_listing()[0]
        elif source == '/':
            root_node = None
        check_source_node(root_node, source, snap.get('short_id') or snap['id'][:8],
                          found=bool(self.include))
        return root_node, entries

    def check_target(self):
        if os.path.lexists(self.target) and not os.path.isdir(self.target):
            raise Refusal('target %s exists and is not a directory; choose a directory'
                          % self.target)

    def check_writable(self, method, wanted):
        check_writable(self.target, method, totals(wanted)['bytes'] if wanted is not None else None,
                       self.restic.version_string)

    def failed(self, exc, method):
        """Clean up what this run staged and say truthfully what state it left."""
        progress = self.progress
        note = None
        if progress.staging and os.path.lexists(progress.staging):
            try:
                remove_staging(self.target)
                note = 'The staging directory %s was removed.' % progress.staging
                progress.staging = None
            except OSError as err:
                note = ('The staging directory %s is left behind (%s); the next run removes '
                        'it and starts again.' % (progress.staging, err))
        if progress.in_place and progress.empty_before and is_empty_dir(self.target, self.skip):
            progress.in_place = False  # restic failed before it wrote anything
        if progress.created and not progress.wrote_data():
            path = self.target
            try:
                while True:  # the directories this run created, deepest first
                    os.rmdir(path)
                    if path == progress.created:
                        break
                    path = os.path.dirname(path)
            except OSError:
                pass
        space = None
        if method == 'staging':
            space = 'Next: %s.' % staging_space_note(self.restic.version_string, None,
                                                     free_bytes(self.target))
        else:
            space = ('Next: free space on the filesystem of %s (%s bytes free now), then re-run.'
                     % (self.target, free_bytes(self.target)))
        return failure(exc, progress, self.state_file, note, space)

    def state_record(self, summary, source, method, tot):
        return {
            'format': STATE_FORMAT,
            'snapshot_id': summary['id'],
            'snapshot_time': summary['time'],
            'source': source,
            'include': self.include,
            'exclude': self.exclude,
            'delete': bool(self.p.get('delete')),
            'repository': redact_repository(self.restic.repository),
            'method': method,
        }

    @staticmethod
    def state_matches(state, want):
        if not state or state.get('format') != STATE_FORMAT:
            return False
        keys = ('snapshot_id', 'source', 'include', 'exclude')
        if any(state.get(k) != want.get(k) for k in keys):
            return False
        # delete=true asks for more than a previous delete=false run guaranteed
        return state.get('delete') or not want.get('delete')

    def restore_argv(self, snap, source, method, verify):
        args = ['restore', '--json']
        if method == 'native':
            spec = snap['id'] if source == '/' else '%s:%s' % (snap['id'], source)
            args += [spec, '--target', self.target]
            for pat in self.include:
                args += ['--include', pat]
            for pat in self.exclude:
                args += ['--exclude', pat]
            args += ['--overwrite', 'if-changed']
            if self.p.get('delete'):
                args.append('--delete')
            if not self.include:
                # the module's own names: never restored from a snapshot (which may plant
                # them), never deleted (restic refuses --include with --exclude)
                for name in sorted(self.skip):
                    args += ['--exclude', '/' + name]
        else:
            # restic refuses --include together with --exclude: excludes are applied to the
            # staged tree before it is renamed into the target (prune_excluded).
            staging = os.path.join(self.target, STAGING_NAME)
            if source == '/':
                args += [snap['id'], '--target', staging]
                includes = list(self.include)
                if not self.include:
                    for pat in self.exclude:
                        args += ['--exclude', pat]
            elif self.subfolder:
                args += ['%s:%s' % (snap['id'], source), '--target', staging]
                includes = list(self.include)
            else:
                args += [snap['id'], '--target', staging]
                includes = [translate_pattern(p, source) for p in self.include] or [source]
            for pat in includes:
                args += ['--include', pat]
        if verify:
            args.append('--verify')
        return self.restic.argv(args)

    def plan(self, method, restore_argv, verify):
        steps = []
        if method == 'staging':
            steps.append({'step': 'clear the staging directory %s'
                          % os.path.join(self.target, STAGING_NAME), 'command': None,
                          'destructive': False})
        steps.append({'step': 'restore with restic (%s method)' % method,
                      'command': render(restore_argv), 'destructive': False})
        if method == 'staging':
            steps.append({'step': 'rename the staged subtree into %s' % self.target,
                          'command': None, 'destructive': bool(self.p.get('delete'))})
            if self.p.get('delete'):
                steps.append({'step': 'delete from the target what the snapshot lacks',
                              'command': None, 'destructive': True})
        if verify:
            steps.append({'step': 'verify every entry against restic ls', 'command': None,
                          'destructive': False})
        if self.state_file:
            steps.append({'step': 'record the restore in %s' % self.state_file,
                          'command': None, 'destructive': False})
        return steps

    def dry_run(self, restore_argv):
        argv = list(restore_argv)
        args = argv[len(self.restic.argv([])):]
        args = [a for a in args if a != '--verify'] + ['--dry-run']
        try:
            out = self.restic.run(args)[0]
        except ResticError as exc:
            # restic's dry run reads the target and stops at what the real restore replaces
            # (a symlink where the snapshot has a directory): report it, the plan stands
            self.warnings.append('restic restore --dry-run failed: %s' % exc.tool_message)
            return {'error': exc.tool_message}
        for doc in reversed(parse_json_lines(out)):
            if isinstance(doc, dict) and doc.get('message_type') == 'summary':
                return doc
        return {}

    def execute(self, snap, source, method, restore_argv, get_listing, scan=False,
                need_root=False):
        """Restore; ``get_listing()`` returns (root node, wanted entries) once it is needed.

        With ``scan`` the wanted entries are read from the restored tree instead (see run());
        ``need_root`` then says that ``get_listing()`` holds the source directory's node.
        """
        args = restore_argv[len(self.restic.argv([])):]
        progress = self.progress
        if not os.path.isdir(self.target):
            top = self.target
            while not os.path.lexists(os.path.dirname(top)):
                top = os.path.dirname(top)
            os.makedirs(self.target)
            progress.created = top
        if method == 'native':
            progress.state_removed = remove_state(self.state_loc)
            remove_staging(self.target)  # a staging leftover (or a planted name): never used
            progress.empty_before = is_empty_dir(self.target, self.skip)
            progress.in_place = True
            out = self.restic.run(args)[0]
            summary = {}
            for doc in reversed(parse_json_lines(out)):
                if isinstance(doc, dict) and doc.get('message_type') == 'summary':
                    summary = doc
                    break
            if scan:
                wanted = scan_tree(self.target, self.skip)[1]
                root_node = get_listing()[0] if need_root else None
            else:
                root_node, wanted = get_listing()
            apply_dir_metadata(self.target, root_node, {}, own=True)
            return summary, root_node, wanted
        staging = make_staging(self.target)
        progress.staging = staging
        self.restic.run(args)
        staged = staging if source == '/' or self.subfolder else os.path.join(staging, source.lstrip('/'))
        if os.path.isdir(staged) and not os.path.islink(staged):
            patterns = self.exclude if self.exclude and (self.include or source != '/') else []
            # the module's own names at the top never come from a snapshot; the whole staged
            # tree is only walked when exclude patterns have to be applied
            select = None
            if patterns:
                def select(rel):
                    return any(pattern_matches(p, rel) for p in patterns)
            prune_staged(staged, self.skip, select)
        if scan:
            root_node, wanted = self.staged_tree(staged, source, need_root, get_listing, snap)
        else:
            root_node, wanted = get_listing()
        # From here on the target itself changes: the old record goes first, so that an
        # interrupted merge never looks finished.
        progress.state_removed = remove_state(self.state_loc)
        if os.path.isdir(staged) and not os.path.islink(staged):
            progress.merge_started = True
            merge_staged(staged, self.target, progress.merged)
        remove_staging(self.target)
        progress.staging = None
        if self.p.get('delete'):
            cmp_result = compare_target(self.target, wanted, self.include, self.exclude,
                                        self.skip)
            progress.deleted = bool(cmp_result['extra'])
            remove_extra(self.target, cmp_result['extra'])
        apply_dir_metadata(self.target, root_node, wanted, own=True)
        return {}, root_node, wanted


# ---------------------------------------------------------------- snapshot_info

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


def parse_check(out, err, rc):
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
