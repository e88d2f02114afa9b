# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Everything a restore writes below its target: state record, staging directory, merge.

The target's content is not trusted (backup content, users' homes): every operation here goes
through :mod:`safe_fs` and never follows a symlink it did not create.

The state record (``.restic-restore.json`` by default) says which snapshot, subtree and
include/exclude selection the target holds: :func:`state_matches` lets the next run report
``changed=false`` without reading the data again.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json
import os

from ansible_collections.resilience.dr.plugins.module_utils import safe_fs

STAGING_NAME = '.restic-restore-staging'
DEFAULT_STATE_FILE = '.restic-restore.json'
STATE_FORMAT = 1


# ---------------------------------------------------------------- state file

def state_location(target, state_file):
    """(trusted directory, path below it) of the state file, or None when disabled.

    A relative ``state_file`` lives inside the target, whose content is not trusted: it is
    read and written through :mod:`safe_fs`, one component at a time, never via a symlink.
    """
    if not state_file:
        return None
    path = state_file if os.path.isabs(state_file) else os.path.join(target, state_file)
    path = os.path.normpath(path)
    if path.startswith(target.rstrip('/') + '/'):
        return target, path[len(target.rstrip('/')) + 1:]
    return os.path.dirname(path), os.path.basename(path)


def reserved_names(target, state_file):
    """The module's own names at the top of the target: never restored from a snapshot (which
    may plant them), never compared, never deleted."""
    names = set([STAGING_NAME])
    if state_file and os.path.dirname(state_file) == target:
        name = os.path.basename(state_file)
        names.update([name, name + '.tmp'])
    return names


def state_record(snapshot, source, include, exclude, delete, repository, method):
    """What the record of a restore holds before the counts (see :func:`state_matches`)."""
    return {
        'format': STATE_FORMAT,
        'snapshot_id': snapshot['id'],
        'snapshot_time': snapshot['time'],
        'source': source,
        'include': include,
        'exclude': exclude,
        'delete': bool(delete),
        'repository': repository,
        'method': method,
    }


def state_matches(state, want):
    """Does the record ``state`` say that the target already holds what ``want`` asks for?"""
    if not state or state.get('format') != STATE_FORMAT:
        return False
    keys = ('snapshot_id', 'source', 'include', 'exclude', 'owners')
    if any(state.get(k) != want.get(k) for k in keys):
        return False
    # delete=true asks for more than a previous delete=false run guaranteed
    return state.get('delete') or not want.get('delete')


@contextlib.contextmanager
def _state_dir(location):
    """The trusted directory of the state record as a descriptor; None when there is no
    record (disabled) or its directory cannot be opened."""
    try:
        root = safe_fs.open_dir(location[0]) if location else None
    except OSError:
        root = None
    try:
        yield root
    finally:
        if root is not None:
            os.close(root)


def read_state(location):
    """The state record, or None (absent, unreadable, or reached only through a symlink)."""
    with _state_dir(location) as root:
        if root is None:
            return None
        rel = location[1]
        try:
            parent = safe_fs.open_beneath(root, os.path.dirname(rel))
            try:
                data = safe_fs.read_at(parent, os.path.basename(rel))
            finally:
                os.close(parent)
            return json.loads(data.decode('utf-8')) if data is not None else None
        except (OSError, ValueError):
            return None


def write_state(location, state):
    """Write the record atomically (O_EXCL|O_NOFOLLOW temp file, renameat over the old one)."""
    base, rel = location
    root = safe_fs.open_dir(base)
    try:
        parent = safe_fs.makedirs_beneath(root, os.path.dirname(rel))
        try:
            safe_fs.write_atomic_at(parent, os.path.basename(rel),
                                    json.dumps(state, indent=1, sort_keys=True), 0o600)
        finally:
            os.close(parent)
    finally:
        os.close(root)


def remove_state(location):
    """Remove the record (an interrupted run must never look finished). True when removed."""
    with _state_dir(location) as root:
        return root is not None and safe_fs.remove_beneath(root, location[1])


# ---------------------------------------------------------------- the staged tree

def apply_dir_metadata(target, root_node, entries, own=True):
    """Give directories the snapshot's mode, owner and mtime (merging touched them).

    Each directory is opened below the target without following symlinks and changed through
    its descriptor; a path that is no real directory any more is left alone.
    """
    dirs = [(rel, n) for rel, n in entries.items() if n['type'] == 'dir']
    dirs.sort(key=lambda item: -item[0].count('/'))
    if root_node is not None:
        dirs.append(('', root_node))
    chown = own and os.geteuid() == 0
    root = safe_fs.open_dir(target)
    try:
        for rel, node in dirs:
            safe_fs.set_dir_metadata(
                root, rel, mode=node['mode'],
                uid=node.get('uid') if chown else None, gid=node.get('gid') if chown else None,
                mtime_ns=node.get('mtime_ns'))
    finally:
        os.close(root)


def prune_staged(root, reserved, select=None):
    """Remove the ``reserved`` names at the top of a staged tree and, when ``select`` is given,
    every entry below it for which ``select(relpath)`` is true."""
    fd = safe_fs.open_dir(root)
    try:
        for name in reserved:
            safe_fs.remove_at(fd, name)
        if select is not None:
            safe_fs.prune_at(fd, select)
    finally:
        os.close(fd)


def remove_extra(target, extra):
    root = safe_fs.open_dir(target)
    try:
        for rel in extra:
            safe_fs.remove_beneath(root, rel)
    finally:
        os.close(root)


# ---------------------------------------------------------------- staging

def make_staging(target):
    """A fresh staging directory in ``target`` (mode 0700), whatever held its name before."""
    root = safe_fs.open_dir(target)
    try:
        safe_fs.remove_at(root, STAGING_NAME)  # left by an interrupted run (or planted)
        os.mkdir(STAGING_NAME, 0o700, dir_fd=root)
    finally:
        os.close(root)
    return os.path.join(target, STAGING_NAME)


def remove_staging(target):
    root = safe_fs.open_dir(target)
    try:
        return safe_fs.remove_at(root, STAGING_NAME)
    finally:
        os.close(root)


def merge_staged(staged, target, progress):
    """Rename the staged tree into the target, never through a symlink found there."""
    src = safe_fs.open_dir(staged)
    try:
        dst = safe_fs.open_dir(target)
        try:
            safe_fs.merge_tree_at(src, dst, progress)
        finally:
            os.close(dst)
    finally:
        os.close(src)


def free_bytes(path):
    try:
        st = os.statvfs(safe_fs.nearest_existing(path))
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


def staging_space_note(version, need, free):
    """Why the staging method needs room for a second copy, and the ways out."""
    return ('restic %s (< 0.17) restores into the staging directory %s inside the target '
            'first and renames it into place afterwards, so the target\'s filesystem needs room '
            'for a second copy: the whole restored selection%s in addition to what the target '
            'already holds (%s bytes are free). Free space there, remove the old copy from the '
            'target first, restore into a target on a bigger filesystem, or use restic >= 0.17 '
            '(option executable), which restores in place'
            % (version, STAGING_NAME, ' (%d bytes)' % need if need is not None else '',
               free if free is not None else 'unknown'))
