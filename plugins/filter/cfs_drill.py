# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the ClaudeFS DR drill (roles/claudefs_drill).

cfs_drill_compare(restored, live, manifest)  the restored files against the live cluster
cfs_drill_guard(scratch, live)               why a scratch cluster must not be used (or '')
cfs_drill_check_line(check)                  one check of dr_drill_result as a sentence
cfs_drill_report_check(check)                one check as the recovery report's {check, ok, detail}
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

SHOWN = 10  # paths named in a detail line; the counts are always complete


def _by_path(files):
    return dict((f.get('path'), f) for f in files or [] if f.get('path'))


def cfs_drill_compare(restored, live, manifest):
    """Compare the files a scratch cluster restored from a snapshot with the live cluster.

    A live file can be compared when it has not changed since the snapshot: its version's
    sequence number is at most the snapshot's ``last_seq`` of its shard.  Such a file must
    be in the restore with the same SHA-256; a newer one is counted as changed since, a
    restored file the live cluster no longer lists as deleted since (both are expected: the
    cluster lives on).  ``expected`` maps every compared, equal file to the live cluster's
    checksum: the content a sample is read against on the scratch cluster.
    """
    manifest = manifest or {}
    last_seq = dict((str(k), int(v)) for k, v in (manifest.get('last_seq') or {}).items())
    restored_by_path = _by_path(restored)
    live_by_path = _by_path(live)
    expected, missing, differ, changed_since = {}, [], [], 0
    for path in sorted(live_by_path):
        entry = live_by_path[path]
        limit = last_seq.get(str(entry.get('shard')))
        if limit is None or int(entry.get('seq') or 0) > limit:
            changed_since += 1
            continue
        got = restored_by_path.get(path)
        if got is None:
            missing.append(path)
        elif got.get('sha256') != entry.get('sha256'):
            differ.append({'path': path, 'live': entry.get('sha256'),
                           'restored': got.get('sha256')})
        else:
            expected[path] = entry.get('sha256')
    deleted_since = len(set(restored_by_path) - set(live_by_path))
    snapshot_files = manifest.get('files')
    count_ok = snapshot_files is None or int(snapshot_files) == len(restored_by_path)
    detail = ('%d file(s) restored (the snapshot lists %s); live %d: %d compared, %d equal, '
              '%d missing from the restore, %d differ; %d changed and %d deleted since the '
              'snapshot' % (len(restored_by_path), '?' if snapshot_files is None else
                            snapshot_files, len(live_by_path), len(expected) + len(missing) +
                            len(differ), len(expected), len(missing), len(differ),
                            changed_since, deleted_since))
    if missing:
        detail += '; missing: %s' % ', '.join(missing[:SHOWN])
    if differ:
        detail += '; differ: %s' % ', '.join(d['path'] for d in differ[:SHOWN])
    return {'restored_files': len(restored_by_path), 'snapshot_files': snapshot_files,
            'live_files': len(live_by_path), 'compared': len(expected) + len(missing) + len(differ),
            'equal': len(expected), 'missing': missing, 'differ': differ,
            'changed_since': changed_since, 'deleted_since': deleted_since,
            'expected': expected, 'ok': count_ok and not missing and not differ,
            'detail': detail}


def cfs_drill_guard(scratch, live):
    """Why the scratch cluster must not be drilled into (a sentence), or '' when it may.

    ``scratch`` and ``live``: ``{endpoints, name}``.  The drill resets the scratch cluster;
    pointed at the live one by mistake it would destroy production, so any shared endpoint or
    the same cluster name refuses it."""
    scratch_eps = set(e.rstrip('/') for e in (scratch or {}).get('endpoints') or [])
    live_eps = set(e.rstrip('/') for e in (live or {}).get('endpoints') or [])
    if not scratch_eps:
        return ('no scratch cluster: set claudefs_drill_scratch_endpoints (and '
                'claudefs_drill_scratch_token) to the standby the drill restores into')
    shared = sorted(scratch_eps & live_eps)
    if shared:
        return ('the scratch endpoints include the live cluster\'s %s: the drill resets its '
                'scratch cluster and never runs against the live one' % ', '.join(shared))
    name = (scratch or {}).get('name')
    if name and name == (live or {}).get('name'):
        return ('the scratch cluster answers with the live cluster\'s name %s: the drill '
                'resets its scratch cluster and never runs against the live one' % name)
    return ''


def cfs_drill_check_line(check):
    return '%s: %s (%.1f s) - %s' % (check.get('name'), str(check.get('status')).upper(),
                                     float(check.get('seconds') or 0), check.get('detail'))


def cfs_drill_report_check(check):
    """A warning fails the drill: only ``pass`` is ok."""
    return {'check': 'ClaudeFS drill: %s' % check.get('name'),
            'ok': check.get('status') == 'pass',
            'detail': '%s: %s' % (check.get('status'), check.get('detail'))}


class FilterModule(object):
    def filters(self):
        return {'cfs_drill_compare': cfs_drill_compare, 'cfs_drill_guard': cfs_drill_guard,
                'cfs_drill_check_line': cfs_drill_check_line,
                'cfs_drill_report_check': cfs_drill_report_check}
