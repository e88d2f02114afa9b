# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The target against the snapshot: read a tree on disk, compare it, summarise the difference.

Read-only.  Nodes have the shape of :func:`parsers.parse_listing` (type, size, mode, uid, gid,
mtime_ns), whether they come from ``restic ls`` or from a tree on disk (:func:`scan_tree`).
Nothing here follows a symlink.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

from ansible_collections.resilience.dr.plugins.module_utils.restic.patterns import selected


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
    :func:`parsers.parse_listing`, so :func:`parsers.totals` and
    :func:`target.apply_dir_metadata` work on it. ``mode`` keeps setuid/setgid/sticky (restic
    set them). ``skip`` names at the top level are left out.
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


def differences(cmp_result, delete):
    """The entries of a comparison that the snapshot would change, as readable names."""
    bad = cmp_result['new'] + ['%s (%s)' % c for c in cmp_result['changed']]
    if delete:
        bad += ['%s (extra)' % lossy(e) for e in cmp_result['extra']]
    return bad


def summarize_comparison(cmp_result, entries, limit=20):
    """Counts, bytes and a few examples of a :func:`compare_target` result (RV comparison)."""
    def bytes_of(rels):
        return sum(entries[r]['size'] for r in rels if entries[r]['type'] == 'file')
    changed = [c[0] for c in cmp_result['changed']]
    return {
        'new': len(cmp_result['new']), 'new_bytes': bytes_of(cmp_result['new']),
        'changed': len(changed), 'changed_bytes': bytes_of(changed),
        'unchanged': len(cmp_result['unchanged']),
        'extra': len(cmp_result['extra']),
        'examples': {
            'new': cmp_result['new'][:limit],
            'changed': ['%s (%s)' % c for c in cmp_result['changed'][:limit]],
            'extra': [lossy(e) for e in cmp_result['extra'][:limit]],
        },
    }


def would_restore(cmp_result, entries, delete):
    """Check mode's RV would_restore: files and bytes to write, entries to delete."""
    summary = summarize_comparison(cmp_result, entries)
    to_write = cmp_result['new'] + [c[0] for c in cmp_result['changed']]
    return {
        'files': sum(1 for r in to_write if entries[r]['type'] == 'file'),
        'bytes': summary['new_bytes'] + summary['changed_bytes'],
        'would_delete': len(cmp_result['extra']) if delete else 0,
    }


def comparison_diff(comparison, target, snapshot_label, delete):
    """Diff mode's before/after text from a :func:`summarize_comparison` result."""
    c = comparison
    examples = (''.join('+ %s\n' % x for x in c['examples']['new'])
                + ''.join('~ %s\n' % x for x in c['examples']['changed'])
                + ''.join('%s %s\n' % ('-' if delete else '?', x)
                          for x in c['examples']['extra']))
    return {
        'before_header': '%s (before)' % target,
        'after_header': '%s (snapshot %s)' % (target, snapshot_label),
        'before': 'unchanged: %d\ndiffering: %d\nmissing: %d\nnot in snapshot: %d\n' % (
            c['unchanged'], c['changed'], c['new'], c['extra']),
        'after': 'unchanged: %d\nrestored: %d (%d bytes)\n%s: %d\n%s' % (
            c['unchanged'], c['new'] + c['changed'], c['new_bytes'] + c['changed_bytes'],
            'deleted' if delete else 'not in snapshot (kept)', c['extra'], examples),
    }
