# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Many small files and directories in one module call (resilience.dr.managed_files).

Under TCG every module call costs seconds of Python start-up in the guest, so a role that lays
down a dozen small files with one ``copy``/``template``/``file`` task each spends minutes on
start-up alone.  This plans every entry first (read-only: ``lstat`` and a read of the current
content), refuses the whole request before changing anything when an entry is unsafe or
invalid, then applies the plan in order.

The last component of every path is never followed: a symlink where a directory is wanted is
refused; a file is replaced with ``renameat`` (the symlink itself, never its target, is
replaced) and its owner set with ``fchownat(AT_SYMLINK_NOFOLLOW)``.  The parent directories of
an entry are resolved as given: they are the role's own paths (``/etc/...``, the array's
top-level directories), and entries are applied in order, so a directory entry listed before
the entries below it is checked (not a symlink) before anything is created in it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import grp
import os
import pwd
import stat

from ansible_collections.resilience.dr.plugins.module_utils import safe_fs

STATES = ('file', 'directory')
ENTRY_KEYS = ('state', 'content', 'mode', 'owner', 'group')


class ManagedFilesError(ValueError):
    """An entry is invalid or unsafe; nothing was changed."""


def parse_mode(value, path):
    """An octal mode ('0644', '644' or an int) as an int; None stays None."""
    if value is None or value == '':
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        mode = value
    else:
        text = str(value).strip()
        if not text or any(c not in '01234567' for c in text):
            raise ManagedFilesError('%s: mode %r is not an octal number (write it quoted, as "0644"); '
                                    'symbolic modes are not supported' % (path, value))
        mode = int(text, 8)
    if mode < 0 or mode > 0o7777:
        raise ManagedFilesError('%s: mode %r is out of range' % (path, value))
    return mode


def resolve_owner(value, path, lookup=pwd.getpwnam, kind='user'):
    """A user or group given by name or number, as a number; None stays None."""
    if value is None or value == '':
        return None
    text = str(value)
    if text.isdigit():
        return int(text)
    try:
        return lookup(text)[2]
    except KeyError:
        raise ManagedFilesError('%s: %s %r does not exist on this host; create it first or give '
                                'a number' % (path, kind, text))


def normalise(entries, root=None, defaults=None):
    """The request as a list of dicts with absolute normalised paths, defaults applied.

    Pure (no filesystem access besides the user and group databases); raises ManagedFilesError.
    """
    defaults = dict((k, v) for k, v in (defaults or {}).items() if v is not None)
    out, seen = [], set()
    for raw in entries:
        entry = dict(defaults)
        entry.update(dict((k, v) for k, v in raw.items() if v is not None))
        path = entry.get('path') or ''
        if root and not path.startswith('/'):
            path = os.path.join(root, path)
        if not path.startswith('/'):
            raise ManagedFilesError('%r is not an absolute path (or give root)' % (raw.get('path'),))
        path = os.path.normpath(path)
        if path == '/' or '/../' in path + '/':
            raise ManagedFilesError('%s: not a path this module manages' % path)
        if path in seen:
            raise ManagedFilesError('%s is listed twice' % path)
        seen.add(path)
        state = entry.get('state') or 'file'
        if state not in STATES:
            raise ManagedFilesError('%s: state must be one of %s' % (path, ', '.join(STATES)))
        content = entry.get('content')
        if state == 'file' and content is None:
            raise ManagedFilesError('%s: a file needs content' % path)
        if state == 'directory' and content is not None:
            raise ManagedFilesError('%s: a directory takes no content' % path)
        out.append({'path': path, 'state': state,
                    'content': None if content is None else str(content).encode('utf-8'),
                    'mode': parse_mode(entry.get('mode'), path),
                    'uid': resolve_owner(entry.get('owner'), path),
                    'gid': resolve_owner(entry.get('group'), path, grp.getgrnam, 'group')})
    return out


def _read_nofollow(path, limit):
    parent, name = os.path.split(path)
    try:
        fd = safe_fs.open_dir(parent)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise
    try:
        return safe_fs.read_at(fd, name, limit=limit)
    finally:
        os.close(fd)


def plan_entry(entry, created_dirs=()):
    """What applying ``entry`` would change: a list of change names ([] when nothing).

    Raises ManagedFilesError for what must not be touched (a symlink where a directory is
    wanted, a directory where a file is wanted, a missing parent directory of a file).
    """
    path = entry['path']
    try:
        st = os.lstat(path)
    except OSError as exc:
        if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
            raise
        st = None
    parent = os.path.dirname(path)
    if entry['state'] == 'file' and st is None and not os.path.isdir(parent) \
            and parent not in created_dirs:
        raise ManagedFilesError('%s: its directory %s does not exist; list it first as a '
                                'directory entry' % (path, parent))
    if st is None:
        return ['created'], None
    if entry['state'] == 'directory':
        if stat.S_ISLNK(st.st_mode):
            raise ManagedFilesError('%s is a symlink, not a directory: not followed, nothing was '
                                    'changed. Remove it (it is not this module\'s to replace)' % path)
        if not stat.S_ISDIR(st.st_mode):
            raise ManagedFilesError('%s exists and is not a directory; nothing was changed' % path)
        before = None
    else:
        if stat.S_ISDIR(st.st_mode):
            raise ManagedFilesError('%s is a directory, not a file; nothing was changed' % path)
        if stat.S_ISLNK(st.st_mode):
            return ['replaced_symlink'], None
        if not stat.S_ISREG(st.st_mode):
            raise ManagedFilesError('%s exists and is not a regular file; nothing was changed' % path)
        before = _read_nofollow(path, max(len(entry['content']) + 1, st.st_size + 1))
    changes = []
    if entry['state'] == 'file' and before != entry['content']:
        changes.append('content')
    if entry['mode'] is not None and stat.S_IMODE(st.st_mode) != entry['mode']:
        changes.append('mode')
    if entry['uid'] is not None and st.st_uid != entry['uid']:
        changes.append('owner')
    if entry['gid'] is not None and st.st_gid != entry['gid']:
        changes.append('group')
    return changes, before


def plan(entries):
    """[(entry, changes, content before)] for every entry, or ManagedFilesError before any change."""
    out, created_dirs = [], set()
    for entry in entries:
        changes, before = plan_entry(entry, created_dirs)
        if entry['state'] == 'directory' and 'created' in changes:
            created_dirs.add(entry['path'])
        out.append((entry, changes, before))
    return out


def _set_metadata(fd, entry):
    if entry['mode'] is not None:
        os.fchmod(fd, entry['mode'])
    if entry['uid'] is not None or entry['gid'] is not None:
        os.fchown(fd, -1 if entry['uid'] is None else entry['uid'],
                  -1 if entry['gid'] is None else entry['gid'])


def apply_entry(entry, changes):
    """Make ``entry`` true (``changes`` from plan_entry; nothing is done for [])."""
    if not changes:
        return
    path = entry['path']
    parent, name = os.path.split(path)
    if entry['state'] == 'directory':
        if 'created' in changes:
            os.makedirs(parent, exist_ok=True)
            os.mkdir(path, 0o777 if entry['mode'] is None else 0o700)
        fd = os.open(path, safe_fs.DIR_FLAGS)
        try:
            _set_metadata(fd, entry)
        finally:
            os.close(fd)
        return
    dir_fd = safe_fs.open_dir(parent)
    try:
        current = safe_fs.lstat_at(dir_fd, name)
        current = current if current is not None and stat.S_ISREG(current.st_mode) else None
        uid, gid = entry['uid'], entry['gid']
        if current is not None:
            # What the entry leaves unsaid is kept from the file it replaces (as copy does).
            uid = current.st_uid if uid is None else uid
            gid = current.st_gid if gid is None else gid
        if set(changes) & set(('created', 'content', 'replaced_symlink')):
            mode = entry['mode']
            if mode is None and current is not None:
                mode = stat.S_IMODE(current.st_mode)
            elif mode is None:
                umask = os.umask(0)
                os.umask(umask)
                mode = 0o666 & ~umask
            safe_fs.write_atomic_at(dir_fd, name, entry['content'], mode=mode)
        elif 'mode' in changes:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | safe_fs.O_CLOEXEC, dir_fd=dir_fd)
            try:
                os.fchmod(fd, entry['mode'])
            finally:
                os.close(fd)
        if uid is not None or gid is not None:
            os.chown(name, -1 if uid is None else uid, -1 if gid is None else gid,
                     dir_fd=dir_fd, follow_symlinks=False)
    finally:
        os.close(dir_fd)


def text_or_none(data):
    if data is None:
        return ''
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError:
        return '(binary content)'
