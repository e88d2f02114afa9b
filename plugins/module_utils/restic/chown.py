# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The chown pass after a restore whose owners were mapped by name (see :mod:`owners`).

Each path gets the owner its snapshot node names, after mapping: the wanted owner comes from
the snapshot, never from what the file has now, so an interrupted pass re-run (or a shift by
one, where alice's new UID is bob's old one) lands on the same result.

The restored tree is backup content, which is not trusted: the walk goes through directory
descriptors (``os.fwalk`` without following symlinks), every change is made relative to its
directory's descriptor with ``follow_symlinks=False`` (a symlink gets its own owner, never its
target's), and a path whose type differs from the snapshot's is left alone.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

_TYPES = {'file': stat.S_ISREG, 'dir': stat.S_ISDIR, 'symlink': stat.S_ISLNK}


def _type_ok(node, mode):
    check = _TYPES.get(node.get('type'))
    if check:
        return check(mode)
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode))


def _set_owner(dir_fd, name, st, uid, gid):
    """lchown one entry below ``dir_fd``; keep setuid/setgid bits, which chown clears."""
    os.chown(name, uid, gid, dir_fd=dir_fd, follow_symlinks=False)
    special = stat.S_IMODE(st.st_mode) & (stat.S_ISUID | stat.S_ISGID)
    if special and stat.S_ISREG(st.st_mode):
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
        try:
            if os.fstat(fd).st_ino == st.st_ino:
                os.fchmod(fd, stat.S_IMODE(st.st_mode))
        finally:
            os.close(fd)


def chown_tree(target, root_node, entries, reserved=()):
    """Give every restored path below ``target`` the owner of its (mapped) snapshot node.

    ``entries`` is {relpath: node}; paths not in it (the module's own files, anything the
    target held before) are not touched.  Returns the number of entries changed.
    """
    changed = 0
    root_st = os.lstat(target)
    if root_node is not None and stat.S_ISDIR(root_st.st_mode) and (
            (root_st.st_uid, root_st.st_gid) != (root_node['uid'], root_node['gid'])):
        os.chown(target, root_node['uid'], root_node['gid'], follow_symlinks=False)
        changed += 1
    for top, dirs, files, top_fd in os.fwalk(target, follow_symlinks=False):
        rel_top = os.path.relpath(top, target)
        if rel_top == '.':
            rel_top = ''
            dirs[:] = [d for d in dirs if d not in reserved]
            files = [f for f in files if f not in reserved]
        for name in list(dirs) + list(files):
            rel = rel_top + '/' + name if rel_top else name
            node = entries.get(rel)
            if node is None or node.get('uid') is None:
                continue
            st = os.stat(name, dir_fd=top_fd, follow_symlinks=False)
            if not _type_ok(node, st.st_mode):
                continue
            if (st.st_uid, st.st_gid) != (node['uid'], node['gid']):
                _set_owner(top_fd, name, st, node['uid'], node['gid'])
                changed += 1
    return changed
