# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What recover-full-restore.yml computes: the snapshot to restore, the restores, the disks'
signatures.  Documentation of each filter: the ``<filter>.yml`` files next to this one."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.errors import AnsibleFilterError

from ansible_collections.resilience.dr.plugins.module_utils.runner import ModuleFailure
from ansible_collections.resilience.dr.plugins.module_utils.restic.selection import (
    select_before, select_snapshot)
from ansible_collections.resilience.dr.plugins.module_utils.timeutil import parse_since


def train_restore_snapshot(snapshots, wanted='latest', before=''):
    """The one snapshot to restore: the newest before ``before`` (ISO 8601) when given, else
    ``wanted`` (``latest``, an id or a unique id prefix)."""
    try:
        if before not in (None, ''):
            if wanted not in (None, '', 'latest'):
                raise AnsibleFilterError('give either a snapshot id (%s) or a time to restore '
                                         'before (%s), not both' % (wanted, before))
            return select_before(snapshots, parse_since(before))
        return select_snapshot(snapshots, wanted or 'latest')
    except (ModuleFailure, ValueError) as exc:
        raise AnsibleFilterError(str(exc))


def train_restore_jobs(paths, mountpoint, snapshot_dir, snapshot_paths=None):
    """One restore per backed-up directory: ``path``, the ``source_path`` glob that finds it
    under the backup's timestamped snapshot prefix, and the ``target`` on the array.  With
    ``snapshot_paths`` (the snapshot's ``paths``), only the directories the snapshot holds
    (the backup job skips those that did not exist)."""
    held = None if snapshot_paths is None else [str(p).rstrip('/') for p in snapshot_paths]
    out = []
    for path in paths or []:
        rel = str(path).strip('/')
        if not rel or '..' in rel.split('/'):
            raise AnsibleFilterError('backup path %r must be relative to the mount point' % path)
        if held is not None and not any(p.endswith('/' + rel) for p in held):
            continue
        out.append({'path': rel,
                    'source_path': '%s/backup_*/%s' % (str(snapshot_dir).rstrip('/'), rel),
                    'target': '%s/%s' % (str(mountpoint).rstrip('/'), rel)})
    return out


def train_disk_signatures(results):
    """``wipefs --no-act --json`` results of a loop over the disks -> one line per signature
    (``device: type at offset``); empty when every disk is blank."""
    out = []
    for res in results or []:
        device = res.get('item')
        if res.get('rc', 0) != 0:
            out.append('%s: cannot be probed (%s)' % (device, (res.get('stderr') or '').strip()))
            continue
        try:
            doc = json.loads(res.get('stdout') or '{}')
        except ValueError:
            raise AnsibleFilterError('wipefs output for %s is no JSON' % device)
        for sig in doc.get('signatures') or []:
            out.append('%s: %s at offset %s' % (device, sig.get('type') or 'unknown',
                                                sig.get('offset')))
    return out


def train_restore_summary(results, snapshot, paths, not_restorable, mountpoint):
    """The report's notices (what is not restorable by design, the snapshot restored, the
    owners mapped by name, backed-up directories the snapshot lacks) of the ``restic_restore``
    loop results; ``warnings`` stays for what would need the operator's attention."""
    restored = [r['item']['path'] for r in results or [] if isinstance(r.get('item'), dict)]
    renumbered = []
    for res in results or []:
        for line in (res.get('owner_map') or {}).get('renumbered') or []:
            if line not in renumbered:
                renumbered.append(line)
    notices = ['Not restorable by design: %s under %s are not in the backup (datasets and '
               'caches are downloaded again, workspaces and Docker images rebuilt); they start '
               'empty.' % (', '.join(not_restorable or []), mountpoint),
               'Restored snapshot %s of %s: %s.%s' % (
                   snapshot.get('short_id'), snapshot.get('time'), ', '.join(restored),
                   (' Owners mapped by name: %s.' % ', '.join(renumbered)) if renumbered else '')]
    # The backup job skips directories that do not exist (shared/* behind a FUSE mount, or
    # never created): nothing was lost there, so this is said, not warned about.
    missing = [p for p in paths or [] if str(p).strip('/') not in restored]
    if missing:
        notices.append('The snapshot holds none of %s (absent when it was taken): nothing to '
                       'restore there.' % ', '.join(missing))
    return {'notices': notices, 'warnings': []}


class FilterModule(object):
    def filters(self):
        return {
            'train_restore_snapshot': train_restore_snapshot,
            'train_restore_jobs': train_restore_jobs,
            'train_disk_signatures': train_disk_signatures,
            'train_restore_summary': train_restore_summary,
        }
