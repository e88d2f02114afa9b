# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which snapshot, and which directory of it: pure choices over parsed restic output.

Each refuses (:class:`runner.Refusal`, naming the option) when the request does not pick
exactly one, and lists what it found so that the operator can pick.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.resilience.dr.plugins.module_utils.runner import Refusal
from ansible_collections.resilience.dr.plugins.module_utils.restic.parsers import parse_time_ns
from ansible_collections.resilience.dr.plugins.module_utils.restic.patterns import (
    glob_match, split_path)


def select_snapshot(snapshots, wanted='latest'):
    """Pick ``latest`` (newest time) or an id / unique id prefix from a snapshots list."""
    if not snapshots:
        raise Refusal('no snapshot matches the selection (host/tags/paths); list them with '
                      'resilience.dr.restic_snapshot_info')
    if wanted in (None, '', 'latest'):
        return max(snapshots, key=lambda s: parse_time_ns(s['time']))
    found = [s for s in snapshots if s.get('id', '').startswith(wanted)
             or s.get('short_id') == wanted]
    if not found:
        newest = sorted(snapshots, key=lambda s: parse_time_ns(s['time']))[-5:]
        raise Refusal('snapshot %r is not among the %d snapshots of the repository that match '
                      'host/tags/paths (newest: %s). List them with '
                      'resilience.dr.restic_snapshot_info (or "restic snapshots") and set '
                      'snapshot to one of their ids, or to "latest"; check host/tags/paths '
                      'if the id exists but is filtered out'
                      % (wanted, len(snapshots), ', '.join(
                          '%s (%s)' % (s.get('short_id', ''), s.get('time', '')[:19])
                          for s in reversed(newest))), option='snapshot')
    if len(found) > 1:
        raise Refusal('snapshot %r matches %d snapshots (%s); give a longer id or "latest"'
                      % (wanted, len(found), ', '.join(s.get('short_id', '') for s in found[:10])),
                      option='snapshot')
    return found[0]


def candidate_dirs(snapshot):
    """The snapshot's backed-up paths and all their ancestors (no listing needed)."""
    out = set()
    for path in snapshot.get('paths') or []:
        comps = split_path(path)
        for i in range(1, len(comps) + 1):
            out.add('/' + '/'.join(comps[:i]))
    return out


def resolve_source(pattern, snapshot, deep_dirs=None):
    """The one directory of ``snapshot`` that ``pattern`` names, or a Refusal listing matches.

    ``deep_dirs`` is a callable returning every directory in the snapshot; it is only called
    when no backed-up path or ancestor of one matches (a subtree deeper than the paths).
    """
    if not pattern or pattern == '/':
        return '/'
    matches = sorted(d for d in candidate_dirs(snapshot) if glob_match(pattern, d))
    if not matches and deep_dirs is not None:
        matches = sorted(d for d in deep_dirs() if glob_match(pattern, d))
    if not matches:
        raise Refusal(
            'source_path %r matches 0 directories in snapshot %s; it must match exactly one. '
            'Snapshot paths: %s. List the directories with "restic ls %s <one of those paths>" '
            'and set source_path to one of them: an absolute pattern must match a whole path, '
            'a relative one its last components (e.g. "*/snapshots/backup_*/homes"); or pick '
            'another snapshot (option snapshot)'
            % (pattern, snapshot.get('short_id'), ', '.join(snapshot.get('paths') or []),
               snapshot.get('short_id')), option='source_path')
    if len(matches) > 1:
        raise Refusal(
            'source_path %r matches %d directories in snapshot %s; it must match exactly one. '
            'Found: %s. Snapshot paths: %s. Make source_path more specific '
            '(e.g. "*/snapshots/backup_*/homes") or pick another snapshot'
            % (pattern, len(matches), snapshot.get('short_id'),
               ', '.join(matches[:20]), ', '.join(snapshot.get('paths') or [])),
            option='source_path')
    return matches[0]


def check_source_node(root_node, source, short_id, found):
    """Refuse a ``source_path`` that is no directory of the snapshot.

    ``root_node`` is the source directory's own node (None when unknown); ``found`` says that
    something under it was seen (entries listed, or include patterns that restic applied).
    """
    if source != '/' and root_node is None and not found:
        raise Refusal('source_path %s is not a directory in snapshot %s' % (source, short_id))
    if root_node is not None and root_node['type'] != 'dir':
        raise Refusal('source_path %s is a %s in snapshot %s, not a directory'
                      % (source, root_node['type'], short_id))


def select_before(snapshots, before_epoch):
    """The newest snapshot taken before ``before_epoch`` (seconds), or a Refusal naming the
    oldest one there is."""
    limit = int(before_epoch) * 10 ** 9
    older = [s for s in snapshots or [] if parse_time_ns(s['time']) < limit]
    if not older:
        oldest = min(snapshots, key=lambda s: parse_time_ns(s['time'])) if snapshots else None
        raise Refusal('no snapshot is older than the time asked for%s; choose a later time, '
                      'an id, or "latest"' % (
                          ' (the oldest is %s of %s)' % (oldest.get('short_id'), oldest['time'])
                          if oldest else ''))
    return max(older, key=lambda s: parse_time_ns(s['time']))
