# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""File operations inside a tree that someone else controls, without following symlinks.

A restore target holds backup content, and backup content is attacker-controlled: any name in
it may be a symlink to ``/etc/shadow`` or a directory may be a symlink to ``/root``.  Every
write, chmod, chown, rename and delete the collection does *below* a directory it was given
goes through this file, which works on directory file descriptors:

* the directory the operator named (the target) is opened once by path (trusted);
* every name below it is opened relative to its parent's descriptor, one component at a time,
  with ``O_NOFOLLOW`` (a symlink there fails with ``ELOOP`` instead of being followed);
* files are created with ``O_CREAT | O_EXCL | O_NOFOLLOW`` and moved into place with
  ``renameat``, which replaces a symlink at the destination instead of writing through it;
* metadata is changed on an open descriptor (``fchmod``, ``fchown``, ``futimens``), never by
  path.

Nothing here follows a symlink it did not create.  Linux/POSIX only (``dir_fd`` support).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import stat

O_CLOEXEC = getattr(os, 'O_CLOEXEC', 0)
DIR_FLAGS = os.O_RDONLY | getattr(os, 'O_DIRECTORY', 0) | os.O_NOFOLLOW | O_CLOEXEC


class UnsafePath(OSError):
    """A component below the trusted directory is a symlink or not a directory."""


def _check_name(name):
    if not name or name in ('.', '..') or '/' in name:
        raise ValueError('not a single path component: %r' % (name,))


def open_dir(path):
    """A descriptor for a directory the operator named (the path itself is trusted)."""
    return os.open(path, os.O_RDONLY | getattr(os, 'O_DIRECTORY', 0) | O_CLOEXEC)


def open_subdir(dir_fd, name):
    """Open directory ``name`` of ``dir_fd``; refuse (UnsafePath) a symlink or a non-directory."""
    _check_name(name)
    try:
        return os.open(name, DIR_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise UnsafePath(exc.errno, '%s is a symlink or not a directory (not followed)'
                             % name, name)
        raise


def split_rel(relpath):
    return [c for c in (relpath or '').split('/') if c and c != '.']


def _walk_beneath(root_fd, relpath, create_mode=None):
    """Open directory ``relpath`` below ``root_fd`` component by component, never following a
    symlink and never going up (``..`` is refused); with ``create_mode``, missing directories
    are created with that mode on the way. The caller closes the result."""
    fd = os.dup(root_fd)
    try:
        for comp in split_rel(relpath):
            if comp == '..':
                raise UnsafePath(errno.EPERM, '".." in a path below the target', relpath)
            if create_mode is not None:
                try:
                    os.mkdir(comp, create_mode, dir_fd=fd)
                except OSError as exc:
                    if exc.errno != errno.EEXIST:
                        raise
            nxt = open_subdir(fd, comp)
            os.close(fd)
            fd = nxt
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_beneath(root_fd, relpath):
    """Open directory ``relpath`` below ``root_fd``, never following a symlink. ``''`` returns
    a duplicate of ``root_fd``. The caller closes the result."""
    return _walk_beneath(root_fd, relpath)


def lstat_at(dir_fd, name):
    """``lstat`` of ``name`` in ``dir_fd``, or None when it does not exist."""
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise


def rmtree_at(dir_fd, name):
    """Remove directory ``name`` of ``dir_fd`` with everything below it (symlinks unlinked)."""
    fd = open_subdir(dir_fd, name)
    try:
        for entry in list(os.scandir(fd)):
            if entry.is_dir(follow_symlinks=False):
                rmtree_at(fd, entry.name)
            else:
                os.unlink(entry.name, dir_fd=fd)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=dir_fd)


def remove_at(dir_fd, name):
    """Remove ``name`` of ``dir_fd`` whatever it is; a symlink is unlinked, never followed.
    Returns False when there was nothing to remove."""
    st = lstat_at(dir_fd, name)
    if st is None:
        return False
    if stat.S_ISDIR(st.st_mode):
        rmtree_at(dir_fd, name)
    else:
        os.unlink(name, dir_fd=dir_fd)
    return True


def makedirs_beneath(root_fd, relpath, mode=0o700):
    """Create the missing directories of ``relpath`` below ``root_fd``; return an fd of the last."""
    return _walk_beneath(root_fd, relpath, create_mode=mode)


def read_at(dir_fd, name, limit=1 << 20):
    """The content of regular file ``name`` (not through a symlink), or None when absent."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | O_CLOEXEC | getattr(os, 'O_NONBLOCK', 0),
                     dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ELOOP, errno.ENOTDIR):
            return None
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return os.read(fd, limit)
    finally:
        os.close(fd)


def write_atomic_at(dir_fd, name, data, mode=0o600):
    """Write ``data`` to ``name`` in ``dir_fd`` atomically, without following any symlink.

    The temporary file ``<name>.tmp`` is removed first when something (a planted symlink, a
    leftover) is there, then created with ``O_EXCL | O_NOFOLLOW`` (a symlink re-planted in
    between makes the open fail, never write through it), filled, ``fchmod``-ed, synced and
    renamed over ``name`` (``renameat`` replaces a symlink instead of following it).
    """
    _check_name(name)
    tmp = name + '.tmp'
    if isinstance(data, str):
        data = data.encode('utf-8')
    remove_at(dir_fd, tmp)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | O_CLOEXEC, mode,
                 dir_fd=dir_fd)
    try:
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(tmp, dir_fd=dir_fd)
        raise
    os.close(fd)
    try:
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except OSError:
        os.unlink(tmp, dir_fd=dir_fd)
        raise
    os.fsync(dir_fd)


def _open_beneath_or_none(root_fd, relpath):
    """The directory ``relpath`` below ``root_fd``, or None when it is missing or a component
    is a symlink or not a directory (the callers then change nothing)."""
    try:
        return open_beneath(root_fd, relpath)
    except UnsafePath:
        return None
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise


def nearest_existing(path):
    """``path`` made absolute, or its nearest ancestor that exists (for statvfs and access
    checks on a target that is still to be created)."""
    probe = os.path.abspath(path)
    while not os.path.lexists(probe):
        probe = os.path.dirname(probe)
    return probe


def set_dir_metadata(root_fd, relpath, mode=None, uid=None, gid=None, mtime_ns=None):
    """chown/chmod/utime directory ``relpath`` below ``root_fd`` through an open descriptor.

    Returns False (and changes nothing) when a component is a symlink or not a directory.
    """
    fd = _open_beneath_or_none(root_fd, relpath)
    if fd is None:
        return False
    try:
        if uid is not None:
            os.fchown(fd, uid, gid if gid is not None else -1)
        if mode is not None:
            os.fchmod(fd, mode)
        if mtime_ns is not None:
            os.utime(fd, ns=(mtime_ns, mtime_ns))
    finally:
        os.close(fd)
    return True


def replace_at(src_fd, dst_fd, name):
    """Move ``name`` from ``src_fd`` to ``dst_fd``, replacing whatever the destination holds.

    A symlink or file in the way is unlinked (never followed); a directory in the way of a
    non-directory is removed as a whole.
    """
    d_st = lstat_at(dst_fd, name)
    s_st = os.stat(name, dir_fd=src_fd, follow_symlinks=False)
    if d_st is not None and (stat.S_ISDIR(d_st.st_mode) or stat.S_ISDIR(s_st.st_mode)):
        # rename(2) cannot put a directory over a non-directory or vice versa
        remove_at(dst_fd, name)
    os.replace(name, name, src_dir_fd=src_fd, dst_dir_fd=dst_fd)


def merge_tree_at(src_fd, dst_fd, progress=None, rel=''):
    """Move everything below ``src_fd`` into ``dst_fd`` (renames on one filesystem).

    A name missing in the destination is renamed whole; a directory present on both sides (as
    real directories, not symlinks) is merged recursively; anything else at the destination
    (a file, a symlink planted to point elsewhere) is replaced, never written through.
    ``progress`` (a list) receives every relative path moved into place.
    """
    for entry in sorted(os.scandir(src_fd), key=lambda e: e.name):
        name = entry.name
        path = rel + '/' + name if rel else name
        s_st = entry.stat(follow_symlinks=False)
        d_st = lstat_at(dst_fd, name)
        if d_st is not None and stat.S_ISDIR(s_st.st_mode) and stat.S_ISDIR(d_st.st_mode):
            sub_src = open_subdir(src_fd, name)
            try:
                sub_dst = open_subdir(dst_fd, name)
                try:
                    merge_tree_at(sub_src, sub_dst, progress, path)
                finally:
                    os.close(sub_dst)
            finally:
                os.close(sub_src)
            continue
        replace_at(src_fd, dst_fd, name)
        if progress is not None:
            progress.append(path)


def prune_at(root_fd, select, rel=''):
    """Remove every entry below ``root_fd`` for which ``select(relpath)`` is true."""
    for entry in list(os.scandir(root_fd)):
        path = rel + '/' + entry.name if rel else entry.name
        if select(path):
            remove_at(root_fd, entry.name)
        elif entry.is_dir(follow_symlinks=False):
            fd = open_subdir(root_fd, entry.name)
            try:
                prune_at(fd, select, path)
            finally:
                os.close(fd)


def remove_beneath(root_fd, relpath):
    """Remove ``relpath`` below ``root_fd`` (its parents are opened without following
    symlinks). Returns False when a parent is a symlink or missing: nothing is removed then."""
    parts = split_rel(relpath)
    if not parts:
        raise ValueError('refusing to remove the root itself')
    parent = _open_beneath_or_none(root_fd, '/'.join(parts[:-1]))
    if parent is None:
        return False
    try:
        return remove_at(parent, parts[-1])
    finally:
        os.close(parent)


def is_read_only(path):
    """(True, reason) when ``path`` (or its nearest existing ancestor) cannot be written."""
    probe = nearest_existing(path)
    try:
        flags = os.statvfs(probe).f_flag
    except OSError:
        flags = 0
    if flags & getattr(os, 'ST_RDONLY', 1):
        return True, '%s is on a read-only filesystem' % probe
    if not os.access(probe, os.W_OK):
        err = 'not writable by uid %d' % os.geteuid()
        return True, '%s is %s' % (probe, err)
    return False, ''
