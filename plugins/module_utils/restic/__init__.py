# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""restic: snapshots, restores and repository checks (modules restic_restore, restic_snapshot_info,
restic_manifest_verify).

Pure, over captured output (unit-tested with fixtures from restic 0.14 and 0.18):

``parsers``     restic's output: version, ``--json`` documents, snapshots, ``ls``, ``check``;
``patterns``    ``source_path`` globs and include/exclude rules, matched as restic does;
``selection``   which snapshot (latest, an id, the newest before a time) and which directory
                of it (refusals that list what exists);
``owners``      the snapshot's owners mapped onto accounts by name (names from the tree blobs;
                ``ls --json`` carries only numbers), or ``OwnerMismatch`` listing why not.

Reading the repository and the disk (no writes):

``client``      :class:`Restic` (environment, retries, ``ResticError`` with its error kind);
``view``        the repository's snapshots and the source subtree (``restic ls``, in a thread
                while restic restores), with the stale-lock path in one place; the owner
                names of a subtree (``restic cat blob``, stopping once every id is named);
``compare``     the target against the snapshot (new, changed, extra), scans of restored trees;
``manifest``    the backup job's sha256 manifest (stored in the same snapshot) and a restored
                tree verified against it, read through descriptors, never through a symlink.

Planning and writing:

``preflight``   refusals before anything is written (credentials, delete guard, target);
``strategies``  ``NativeRestore`` (restic >= 0.17, in place) and ``StagingRestore`` (older):
                each builds the restic command and the ``runner.Plan`` steps of its restore;
``target``      every write below the target (state record, staging, merge) via safe_fs;
``chown``       the chown pass after a restore with mapped owners (descriptor-relative, never
                through a symlink; each path from its snapshot node, so a re-run converges);
``outcome``     what a failed restore left behind, said truthfully (``RestoreFailed``);
``locks``       ``LockManager`` for ``restic_locks``: locks classified (stale, live, old,
                foreign), ``restic unlock`` only when a stale one exists;
``job``         ``RestoreJob``, the manager restic_restore calls: wires view, strategy,
                comparison and state record into one plan, reports or executes it;
``module``      the options the restic modules share (doc fragment ``resilience.dr.restic``),
                the client built from them, and the end of every restic module's ``main()``.
"""
