# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``btrfs_quarantine``: rung 2 of the corruption ladder, before the surgical restore.

The files a scrub could not repair are moved aside, not deleted: each one that still fails to
read is renamed (on the same filesystem, no data copied) into the quarantine directory under
its own relative path, and listed in ``MANIFEST`` there.  Whether a file is damaged is decided
by reading it: a file at the named path that reads back completely (restored earlier, or
repaired) is left alone, so a second run changes nothing.

The tree is users' data: every name is opened below the mountpoint through ``safe_fs``
(directory descriptors, ``O_NOFOLLOW``); a symlink on the way is never followed and the path
is reported as unsafe, untouched.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json
import os
import stat
import time

from ansible_collections.resilience.dr.plugins.module_utils import safe_fs
from ansible_collections.resilience.dr.plugins.module_utils.runner import Refusal

MANIFEST = 'MANIFEST.json'
READ_CHUNK = 1 << 20


def _read_fully(dir_fd, name):
    """None when the regular file ``name`` reads to its end, else the error text."""
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | safe_fs.O_CLOEXEC, dir_fd=dir_fd)
    try:
        while True:
            try:
                if not os.read(fd, READ_CHUNK):
                    return None
            except OSError as exc:
                return '%s (%s)' % (os.strerror(exc.errno), errno.errorcode.get(exc.errno, ''))
    finally:
        os.close(fd)


def check_relative(path, quarantine_dir):
    """The components of a damaged path, or a Refusal naming it."""
    parts = safe_fs.split_rel(path)
    if not parts or '..' in parts or path.startswith('/'):
        raise Refusal('damaged path %r must be relative to the mountpoint, without ".."' % path,
                      option='paths')
    if parts[:len(safe_fs.split_rel(quarantine_dir))] == safe_fs.split_rel(quarantine_dir):
        return None
    return parts


class Quarantine:
    """Inspects and moves aside the damaged files below one mountpoint."""

    def __init__(self, root, quarantine_dir, check_mode=False):
        self.root = root
        self.qdir = quarantine_dir
        self.check_mode = check_mode
        self.root_fd = safe_fs.open_dir(root)

    def close(self):
        os.close(self.root_fd)

    def inspect(self, path):
        """``{path, state, present, detail}`` before any change; state one of ``missing``,
        ``readable``, ``damaged``, ``unsafe``, ``not-a-file``, ``in-quarantine``."""
        entry = {'path': path, 'present': False, 'detail': ''}
        parts = check_relative(path, self.qdir)
        if parts is None:
            entry.update(state='in-quarantine', detail='already a quarantined copy')
            return entry, None
        try:
            parent = safe_fs.open_beneath(self.root_fd, '/'.join(parts[:-1]))
        except safe_fs.UnsafePath as exc:
            entry.update(state='unsafe', detail='not followed: %s' % exc.strerror)
            return entry, None
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                entry.update(state='missing', detail='no such file (restore it)')
                return entry, None
            raise
        st = safe_fs.lstat_at(parent, parts[-1])
        if st is None:
            entry.update(state='missing', detail='no such file (restore it)')
        elif not stat.S_ISREG(st.st_mode):
            entry.update(state='not-a-file', present=True,
                         detail='not a regular file (a symlink is never followed)')
        else:
            error = _read_fully(parent, parts[-1])
            entry.update(present=True, state='damaged' if error else 'readable',
                         detail=error or 'reads completely', size=st.st_size)
        return entry, parent

    def destination(self, parts):
        """A directory fd inside the quarantine for ``parts`` and a free name there."""
        qparts = safe_fs.split_rel(self.qdir) + parts[:-1]
        dst = safe_fs.makedirs_beneath(self.root_fd, '/'.join(qparts), 0o700)
        name = parts[-1]
        n = 0
        while safe_fs.lstat_at(dst, name if not n else '%s.%d' % (name, n)) is not None:
            n += 1
        return dst, (name if not n else '%s.%d' % (name, n)), qparts

    def move_aside(self, entry, parent):
        parts = safe_fs.split_rel(entry['path'])
        dst, name, qparts = self.destination(parts)
        try:
            os.rename(parts[-1], name, src_dir_fd=parent, dst_dir_fd=dst)
        finally:
            os.close(dst)
        entry['quarantined_as'] = '/'.join(qparts[:] + [name])
        entry.update(state='moved', present=False,
                     detail='moved aside to %s (%s)' % (entry['quarantined_as'], entry['detail']))
        return entry

    def record(self, moved):
        qfd = safe_fs.makedirs_beneath(self.root_fd, self.qdir, 0o700)
        try:
            old = safe_fs.read_at(qfd, MANIFEST)
            entries = json.loads(old.decode('utf-8')) if old else []
            now = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
            for e in moved:
                entries.append({'path': e['path'], 'quarantined_as': e['quarantined_as'],
                                'moved_at': now, 'reason': e['detail']})
            safe_fs.write_atomic_at(qfd, MANIFEST, json.dumps(entries, indent=1) + '\n')
        finally:
            os.close(qfd)

    def run(self, paths):
        """Inspect every path and move the damaged ones aside (not in check mode)."""
        entries, moved = [], []
        for path in paths:
            entry, parent = self.inspect(path)
            try:
                if entry['state'] == 'damaged':
                    if self.check_mode:
                        entry['detail'] = 'would move aside: %s' % entry['detail']
                    else:
                        moved.append(self.move_aside(entry, parent))
            finally:
                if parent is not None:
                    os.close(parent)
            entries.append(entry)
        if moved:
            self.record(moved)
        return entries


def quarantine_files(root, paths, quarantine_dir, check_mode=False):
    """The module's work: entries, changed, and the paths to restore from the backup."""
    if not os.path.isdir(root) or not os.path.ismount(root):
        raise Refusal('%s is not a mounted filesystem; mount it first' % root,
                      option='mountpoint')
    q = Quarantine(root, quarantine_dir, check_mode)
    try:
        entries = q.run(sorted(set(paths)))
    finally:
        q.close()
    damaged = [e for e in entries if e['state'] in ('damaged', 'moved')]
    return {
        'changed': bool(damaged),
        'entries': entries,
        'to_restore': [e['path'] for e in entries if e['state'] in ('moved', 'missing', 'damaged')],
        'readable': [e['path'] for e in entries if e['state'] == 'readable'],
        'unsafe': [e['path'] for e in entries if e['state'] in ('unsafe', 'not-a-file')],
        'quarantine_dir': os.path.join(root, quarantine_dir),
    }
