# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only views of a repository: its snapshots, and the subtree a restore brings back.

:class:`RepositoryView` reads through the client and takes the stale-lock path
(``unlock_stale``) in one place.  :class:`SourceTree` is the source directory of one snapshot
after include/exclude, read with ``restic ls`` now or in a thread while restic restores.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import threading

from ansible_collections.resilience.dr.plugins.module_utils.restic.client import ResticError
from ansible_collections.resilience.dr.plugins.module_utils.restic.owners import (
    note_names, parse_tree_blob)
from ansible_collections.resilience.dr.plugins.module_utils.restic.parsers import parse_listing
from ansible_collections.resilience.dr.plugins.module_utils.restic.patterns import filter_entries
from ansible_collections.resilience.dr.plugins.module_utils.restic.selection import (
    check_source_node, resolve_source, select_snapshot)

# How a restore learns what it restored (see strategies.listing_mode).
LOADED = 'loaded'
FULL = 'full'
SCAN = 'scan'
SCAN_ROOT = 'scan+root'


class RepositoryView:
    """Snapshots and listings of one repository, read without changing it.

    When a read finds the repository locked and ``unlock_stale`` is set, stale locks are
    removed (``restic unlock``, never a live lock) and the read is tried again; in check mode
    the unlock is only planned (added to ``plan``) and the reads go on with ``--no-lock``.
    """

    def __init__(self, restic, unlock_stale=False, check_mode=False, plan=None):
        self.restic = restic
        self.unlock_stale = bool(unlock_stale)
        self.check_mode = check_mode
        self.plan = plan
        self.unlocked = False   # stale locks were removed (RV unlocked_stale_locks)
        self.no_lock = None     # check mode, once a lock was found: read with --no-lock

    def read(self, func):
        """``func(no_lock)`` with the stale-lock path around it."""
        try:
            return func(self.no_lock)
        except ResticError as exc:
            if exc.kind != 'locked' or not self.unlock_stale:
                raise
        if self.check_mode:
            self.plan.add('remove stale repository locks', argv=self.restic.argv(['unlock']))
            self.no_lock = True
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

    def find_snapshot(self, host=None, tags=None, paths=None, wanted='latest'):
        """The one snapshot the request names (see :func:`selection.select_snapshot`)."""
        snaps = self.read(lambda no_lock: self.restic.snapshots(
            host=[host] if host else None, tags=tags or [], paths=paths, no_lock=no_lock))
        return select_snapshot(snaps, wanted or 'latest')

    def ls(self, snapshot_id, path, recursive=True):
        """The text of ``restic ls --json`` (see :meth:`client.Restic.ls`)."""
        return self.read(lambda no_lock: self.restic.ls(snapshot_id, path, no_lock=no_lock,
                                                        recursive=recursive))


class SourceTree:
    """The source directory of one snapshot, as a restore with include/exclude brings it back.

    :meth:`resolve` finds the source (listing the whole snapshot only when ``source_path``
    names something deeper than the backed-up paths); :meth:`load` lists it now, :meth:`start`
    in a thread while restic restores; :meth:`wanted` returns the checked, filtered entries.
    The module's own names (``reserved``) at the top are never part of it.
    """

    def __init__(self, view, snap, include, exclude, reserved):
        self.view = view
        self.snap = snap
        self.include, self.exclude = include, exclude
        self.reserved = reserved
        self.source = None
        self._whole = None        # every entry of the snapshot, when resolve() listed them
        self._listed = None       # (root node, entries) of the last listing
        self._error = None
        self._thread = None

    @property
    def short_id(self):
        return self.snap.get('short_id') or self.snap['id'][:8]

    def resolve(self, pattern):
        self.source = resolve_source(pattern, self.snap, self._deep_dirs)
        return self.source

    def _deep_dirs(self):
        self._whole = parse_listing(self.view.ls(self.snap['id'], '/'), '/')[1]
        return ['/' + rel for rel, n in self._whole.items() if n['type'] == 'dir']

    def load(self, recursive=True):
        """List the source now (one level only without ``recursive``: its own node)."""
        if self.source == '/' and self._whole is not None:
            self._listed = None, self._whole
        else:
            text = self.view.ls(self.snap['id'], self.source, recursive)
            self._listed = parse_listing(text, self.source)

    def start(self, mode):
        """For listing ``mode`` FULL or SCAN_ROOT, list in a thread (restic restores meanwhile)."""
        if mode not in (FULL, SCAN_ROOT):
            return

        def background():
            try:
                self.load(recursive=mode == FULL)
            except Exception as exc:  # pylint: disable=broad-except
                self._error = exc  # raised by wanted(), in the main thread
        self._thread = threading.Thread(target=background)
        self._thread.daemon = True
        self._thread.start()

    def wanted(self):
        """(source node, {relpath: node}) that the restore brings back; refuses a source that
        is no directory of the snapshot."""
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error
        root_node, entries = self._listed
        check_source_node(root_node, self.source, self.short_id, found=bool(entries))
        # the module's own names at the top are never restored (a snapshot may plant them)
        entries = dict((rel, n) for rel, n in entries.items()
                       if rel.split('/', 1)[0] not in self.reserved)
        return root_node, filter_entries(entries, self.include, self.exclude)


def owner_names(view, snap, source, uids, gids):
    """The user and group names restic recorded for ``uids``/``gids`` below ``source``.

    ``restic ls --json`` carries only the numbers; the names are in the tree blobs.  Walks
    from the snapshot's root tree down to ``source``, then breadth first below it, and stops
    as soon as every id has been seen: one ``restic cat blob`` per directory read.
    Returns ({uid: set(names)}, {gid: set(names)}) (see :mod:`owners`).
    """
    def cat(args):
        return view.read(lambda no_lock: view.restic.run(['cat'] + args, no_lock=no_lock)[0])

    uid_names, gid_names = {}, {}
    doc = json.loads(cat(['snapshot', snap['id']]))
    tree = doc.get('tree')
    for comp in [c for c in source.split('/') if c]:
        nodes = parse_tree_blob(cat(['blob', tree]))
        match = [n for n in nodes if n.get('name') == comp and n.get('subtree')]
        if not match:
            return uid_names, gid_names
        note_names(match, uid_names, gid_names)
        tree = match[0]['subtree']
    queue = [tree]
    while queue and not (uids <= set(uid_names) and gids <= set(gid_names)):
        nodes = parse_tree_blob(cat(['blob', queue.pop(0)]))
        note_names(nodes, uid_names, gid_names)
        queue.extend(n['subtree'] for n in nodes if n.get('type') == 'dir' and n.get('subtree'))
    return uid_names, gid_names
