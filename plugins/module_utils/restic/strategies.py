# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the content of a snapshot's subtree lands directly under the target: two strategies.

:class:`NativeRestore` (restic >= 0.17)
    ``restic restore <id>:<subtree> --target T --overwrite if-changed [--delete]``, in place.
:class:`StagingRestore` (restic < 0.17, e.g. 0.14 on Debian 12; and any restic when both
include and exclude are given, which restic refuses together)
    ``restic restore <id> --include <subtree> --target T/.restic-restore-staging``; excludes are
    pruned from the staged tree, every entry of it is renamed into ``T`` (same filesystem, so
    each rename is atomic), then the staging directory is removed.

Each strategy builds the restic command and the :class:`runner.Plan` steps of its restore;
the steps' actions write through :mod:`target` and record what they wrote in the shared
:class:`outcome.Progress`, so that a failure says truthfully what it left.  What the steps learn
(restic's summary, the restored entries) is kept in :class:`Restored`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.resilience.dr.plugins.module_utils.runner import Plan
from ansible_collections.resilience.dr.plugins.module_utils.restic.client import ResticError
from ansible_collections.resilience.dr.plugins.module_utils.restic.compare import (
    compare_target, is_empty_dir, scan_tree)
from ansible_collections.resilience.dr.plugins.module_utils.restic.parsers import last_summary
from ansible_collections.resilience.dr.plugins.module_utils.restic.patterns import (
    excluded_by, translate_pattern)
from ansible_collections.resilience.dr.plugins.module_utils.restic.selection import (
    check_source_node)
from ansible_collections.resilience.dr.plugins.module_utils.restic.target import (
    STAGING_NAME, apply_dir_metadata, free_bytes, make_staging, merge_staged, prune_staged,
    remove_extra, remove_staging, remove_state, staging_space_note)
from ansible_collections.resilience.dr.plugins.module_utils.restic.view import (
    FULL, LOADED, SCAN, SCAN_ROOT)


class Restored:
    """What the steps of a restore learn while they run; read by the manager afterwards."""

    def __init__(self):
        self.mode = None          # how the restored entries are learnt (listing_mode)
        self.restic_summary = {}  # restic's own summary (native, restic >= 0.16)
        self.root_node = None     # the source directory's own node, when known
        self.wanted = None        # {relpath: node} of what the restore brought back
        self.finished = None      # clock() when all data was in place


class RestoreStrategy:
    """The shared half of both strategies; subclasses give ``name``, the restic arguments,
    the steps and the listing mode."""

    name = None

    def __init__(self, restic, target, tree, progress, state_loc=None, delete=False,
                 subfolder=False, clock=None):
        self.restic = restic
        self.target = target
        self.tree = tree
        self.progress = progress
        self.state_loc = state_loc
        self.delete = bool(delete)
        self.subfolder = subfolder     # restic understands <snapshot>:<subfolder> (>= 0.17)
        self.clock = clock
        self.restored = Restored()
        self.args = None

    @property
    def snap_id(self):
        return self.tree.snap['id']

    @property
    def reserved(self):
        """The module's own names at the top of the target (target.reserved_names)."""
        return self.tree.reserved

    @property
    def source(self):
        return self.tree.source

    def argv(self, verify):
        """The restic command of the restore (kept for the steps)."""
        self.args = self.restore_args(verify)
        return self.restic.argv(self.args)

    def listing_mode(self, loaded, target_empty):
        return listing_mode(self.name, loaded, target_empty, self.source, self.subfolder)

    def dry_run(self, verify):
        """(restic's dry-run summary or None, a warning or None); only native has one."""
        return None, None

    # -- shared pieces of the steps
    def create_target(self):
        if not os.path.isdir(self.target):
            top = self.target
            while not os.path.lexists(os.path.dirname(top)):
                top = os.path.dirname(top)
            os.makedirs(self.target)
            self.progress.created = top

    def finish(self, entries):
        """Give directories the snapshot's metadata; from here on all data is in place."""
        apply_dir_metadata(self.target, self.restored.root_node, entries, own=True)
        self.progress.restored = True
        self.restored.finished = self.clock() if self.clock else None


class NativeRestore(RestoreStrategy):
    """restic >= 0.17 restores ``<snapshot>:<subtree>`` into the target itself."""

    name = 'native'

    @staticmethod
    def scan_mode(target_empty, source, subfolder):
        if not target_empty:
            return FULL  # the target holds more than what restic writes: list the snapshot
        return SCAN_ROOT if source != '/' else SCAN

    def restore_args(self, verify):
        spec = self.snap_id if self.source == '/' else '%s:%s' % (self.snap_id, self.source)
        args = ['restore', '--json', spec, '--target', self.target]
        for pat in self.tree.include:
            args += ['--include', pat]
        for pat in self.tree.exclude:
            args += ['--exclude', pat]
        args += ['--overwrite', 'if-changed']
        if self.delete:
            args.append('--delete')
        if not self.tree.include:
            # the module's own names: never restored from a snapshot (which may plant
            # them), never deleted (restic refuses --include with --exclude)
            for name in sorted(self.reserved):
                args += ['--exclude', '/' + name]
        if verify:
            args.append('--verify')
        return args

    def plan(self, verify):
        plan = Plan()
        plan.add('restore with restic (native method)', action=self.restore,
                 shows=self.argv(verify))
        return plan

    def dry_run(self, verify):
        args = [a for a in self.restore_args(verify) if a != '--verify'] + ['--dry-run']
        try:
            out = self.restic.run(args)[0]
        except ResticError as exc:
            # restic's dry run reads the target and stops at what the real restore replaces
            # (a symlink where the snapshot has a directory): report it, the plan stands
            return ({'error': exc.tool_message},
                    'restic restore --dry-run failed: %s' % exc.tool_message)
        return last_summary(out), None

    def restore(self):
        progress, done = self.progress, self.restored
        self.create_target()
        progress.state_removed = remove_state(self.state_loc)
        remove_staging(self.target)  # a staging leftover (or a planted name): never used
        progress.empty_before = is_empty_dir(self.target, self.reserved)
        progress.in_place = True
        done.restic_summary = last_summary(self.restic.run(self.args)[0])
        if done.mode in (SCAN, SCAN_ROOT):
            done.wanted = scan_tree(self.target, self.reserved)[1]
            done.root_node = self.tree.wanted()[0] if done.mode == SCAN_ROOT else None
        else:
            done.root_node, done.wanted = self.tree.wanted()
        self.finish({})

    def space_note(self):
        return ('Next: free space on the filesystem of %s (%s bytes free now), then re-run.'
                % (self.target, free_bytes(self.target)))


class StagingRestore(RestoreStrategy):
    """Restore into a staging directory inside the target, then rename into place."""

    name = 'staging'

    @staticmethod
    def scan_mode(target_empty, source, subfolder):
        # the staged subtree is exactly what was restored; restic >= 0.17 (snapshot:subfolder)
        # does not restore the source directory's own node, so it comes from one `ls` level
        return SCAN_ROOT if source != '/' and subfolder else SCAN

    @property
    def staging(self):
        return os.path.join(self.target, STAGING_NAME)

    @property
    def staged(self):
        """Where the source's content is inside the staging directory."""
        if self.source == '/' or self.subfolder:
            return self.staging
        return os.path.join(self.staging, self.source.lstrip('/'))

    def restore_args(self, verify):
        # restic refuses --include together with --exclude: excludes are applied to the
        # staged tree before it is renamed into the target (restore()).
        include, exclude = self.tree.include, self.tree.exclude
        args = ['restore', '--json']
        if self.source == '/':
            args += [self.snap_id, '--target', self.staging]
            includes = list(include)
            if not include:
                for pat in exclude:
                    args += ['--exclude', pat]
        elif self.subfolder:
            args += ['%s:%s' % (self.snap_id, self.source), '--target', self.staging]
            includes = list(include)
        else:
            args += [self.snap_id, '--target', self.staging]
            includes = [translate_pattern(p, self.source) for p in include] or [self.source]
        for pat in includes:
            args += ['--include', pat]
        if verify:
            args.append('--verify')
        return args

    def plan(self, verify):
        plan = Plan()
        plan.add('clear the staging directory %s' % self.staging, action=self.clear_staging)
        plan.add('restore with restic (staging method)', action=self.restore,
                 shows=self.argv(verify))
        plan.add('rename the staged subtree into %s' % self.target, action=self.merge,
                 destructive=self.delete)
        if self.delete:
            plan.add('delete from the target what the snapshot lacks', action=self.delete_extra,
                     destructive=True)
        return plan

    def clear_staging(self):
        self.create_target()
        self.progress.staging = make_staging(self.target)

    def restore(self):
        self.restic.run(self.args)
        staged = self.staged
        if os.path.isdir(staged) and not os.path.islink(staged):
            tree = self.tree
            patterns = tree.exclude if tree.exclude and (tree.include or self.source != '/') else []
            # the module's own names at the top never come from a snapshot; the whole staged
            # tree is only walked when exclude patterns have to be applied
            prune_staged(staged, self.reserved, excluded_by(patterns))
        done = self.restored
        if done.mode in (SCAN, SCAN_ROOT):
            done.root_node, done.wanted = self.staged_tree(done.mode == SCAN_ROOT)
        else:
            done.root_node, done.wanted = self.tree.wanted()

    def staged_tree(self, need_root):
        """(root node, entries) of the staged subtree, checked like a listing would be.

        restic < 0.17 restores the source directory itself with its metadata; restic >= 0.17
        (``snapshot:subfolder`` into the staging directory) does not, so the node then comes
        from the listing. The whole snapshot (``/``) has no root node to apply.
        """
        root_node, entries = scan_tree(self.staged)
        if need_root:
            root_node = self.tree.wanted()[0]
        elif self.source == '/':
            root_node = None
        check_source_node(root_node, self.source, self.tree.short_id,
                          found=bool(self.tree.include))
        return root_node, entries

    def merge(self):
        # From here on the target itself changes: the old record goes first, so that an
        # interrupted merge never looks finished.
        progress, staged = self.progress, self.staged
        progress.state_removed = remove_state(self.state_loc)
        if os.path.isdir(staged) and not os.path.islink(staged):
            progress.merge_started = True
            merge_staged(staged, self.target, progress.merged)
        remove_staging(self.target)
        progress.staging = None
        if not self.delete:
            self.finish(self.restored.wanted)

    def delete_extra(self):
        tree = self.tree
        extra = compare_target(self.target, self.restored.wanted, tree.include, tree.exclude,
                               self.reserved)['extra']
        self.progress.deleted = bool(extra)
        remove_extra(self.target, extra)
        self.finish(self.restored.wanted)

    def space_note(self):
        return 'Next: %s.' % staging_space_note(self.restic.version_string, None,
                                                free_bytes(self.target))


STRATEGIES = {NativeRestore.name: NativeRestore, StagingRestore.name: StagingRestore}


def choose_strategy(features, include, exclude):
    """NativeRestore from restic 0.17 on, unless include and exclude are both given (restic
    0.14 .. 0.18 refuses them together: the staging directory applies the excludes)."""
    if features['subfolder'] and not (include and exclude):
        return NativeRestore
    return StagingRestore


def listing_mode(method, loaded, target_empty, source, subfolder):
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
        return LOADED
    return STRATEGIES[method].scan_mode(target_empty, source, subfolder)
