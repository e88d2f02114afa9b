# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What cfs_metadata does: consistency check, repair, snapshot, restore and journal replay.

Each action reads first, plans its API calls (check mode returns them), runs them, and proves
the outcome: a repair is followed by a second check, a snapshot counts only once its archive
verifies (checksum, manifest), a restore over a live cluster is refused unless allowed and is
then preceded by a pre-restore snapshot.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import hashlib
import json
import os
import tarfile
import time

from ansible_collections.resilience.dr.plugins.module_utils.runner import Plan, Refusal
from ansible_collections.resilience.dr.plugins.module_utils.cfs.raft import PlanningError


def verify_archive(path, expected_sha256):
    """Check a snapshot archive on this host: its SHA-256 and a readable manifest.json.

    Returns the manifest.  Members are only listed and the manifest read into memory;
    nothing is extracted, so hostile member names cannot write anywhere.
    """
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    if expected_sha256 and digest.hexdigest() != expected_sha256:
        raise PlanningError('snapshot %s has SHA-256 %s, the cluster reported %s: it does not '
                            'count as a backup' % (path, digest.hexdigest(), expected_sha256))
    with tarfile.open(path, 'r:gz') as tar:
        names = [m for m in tar.getmembers() if os.path.basename(m.name) == 'manifest.json'
                 and m.isfile()]
        if not names:
            raise PlanningError('snapshot %s has no manifest.json' % path)
        manifest = json.loads(tar.extractfile(names[0]).read().decode('utf-8'))
    for key in ('created', 'files', 'records'):
        if key not in manifest:
            raise PlanningError('the manifest of %s lacks %s' % (path, key))
    return manifest


def epoch_of(stamp):
    """Seconds since the epoch of an S3 LastModified (``2026-11-30T23:00:00.000Z``), or None."""
    if not stamp:
        return None
    if isinstance(stamp, (int, float)):
        return float(stamp)
    try:
        return calendar.timegm(time.strptime(stamp.split('.')[0].rstrip('Z'), '%Y-%m-%dT%H:%M:%S'))
    except ValueError:
        return None


def local_path(location):
    """The local path of a ``file://`` location (None for S3)."""
    if location and location.startswith('file://'):
        return location[len('file://'):]
    if location and location.startswith('/'):
        return location
    return None


class MetadataManager:
    def __init__(self, client, check_mode=False, clock=time.time):
        self.client = client
        self.check_mode = check_mode
        self.clock = clock
        self.plan = Plan()

    def _result(self, changed, **extra):
        result = {'changed': changed, 'plan': self.plan.as_list(), 'executed': self.plan.done}
        result.update(extra)
        return result

    def _run(self):
        for step in self.plan.steps:
            step.result = step.action()
            self.plan.done.append(step.as_dict())

    # -- check and repair ------------------------------------------------------------------
    def check(self, cross_site=False):
        report = self.client.call('metadataConsistencyCheck',
                                  body={'cross_site': cross_site, 'verbose': True})
        return self._result(False, report=report, consistent=bool(report.get('consistent')))

    def repair(self, cross_site, allow_repair):
        before = self.client.call('metadataConsistencyCheck',
                                  body={'cross_site': cross_site, 'verbose': True})
        if before.get('consistent'):
            return self._result(False, report=before, consistent=True)
        preview = self.client.call('metadataRepair', body={'auto_fix': False})
        step = self.plan.add('POST /v1/metadata/repair auto_fix=true confirm_repair=true (%d '
                             'problem(s) from the healthy replicas)' % len(before['problems']),
                             action=lambda: self.client.call(
                                 'metadataRepair', body={'auto_fix': True, 'confirm_repair': True}),
                             destructive=True)
        if self.check_mode:
            return self._result(True, report=before, consistent=False, would_repair=preview)
        if not allow_repair:
            raise Refusal('metadata repair refused: it rewrites %d record(s) on the nodes that '
                          'hold them from the other replicas (%s). Set allow_repair=true to '
                          'repair' % (len(before['problems']), ', '.join(sorted(set(
                              '%s shard %s' % (p.get('node'), p.get('shard'))
                              for p in before['problems']))[:10])),
                          option='allow_repair', details={'report': before})
        self._run()
        after = self.client.call('metadataConsistencyCheck',
                                 body={'cross_site': cross_site, 'verbose': True})
        result = self._result(True, report=after, consistent=bool(after.get('consistent')),
                              repaired=step.result, before=before)
        if not after.get('consistent'):
            result.update(failed=True, msg='repair ran but %d problem(s) remain: restore from '
                          'the last good snapshot (action=restore)' % len(after['problems']))
        return result

    # -- snapshot --------------------------------------------------------------------------
    def snapshot(self, destination, site, max_age):
        if max_age:
            fresh = self._fresh_snapshot(max_age)
            if fresh:
                return self._result(False, snapshot=fresh, fresh_enough=True)
        body = {'site': site} if site else {}
        if destination:
            body['destination'] = destination
        step = self.plan.add('POST /v1/metadata/snapshots destination=%s' % (
            destination or '(default)'), action=lambda: self.client.call('metadataSnapshot',
                                                                         body=body))
        if self.check_mode:
            return self._result(True)
        self._run()
        snap = step.result
        path = local_path(snap.get('location'))
        if path:
            snap['verified_manifest'] = verify_archive(path, snap.get('sha256'))
            snap['verified'] = 'sha256 and manifest.json of the local archive'
        else:
            listed = [s for s in self.client.call('metadataSnapshotList').get('snapshots', [])
                      if s.get('location') == snap.get('location')]
            if not listed or (snap.get('size') and listed[0].get('size') != snap['size']):
                raise PlanningError('snapshot %s is not listed in the bucket with its size %s; '
                                    'it does not count as a backup' % (snap.get('location'),
                                                                       snap.get('size')))
            snap['verified'] = 'listed in the bucket with the size the cluster reported'
        return self._result(True, snapshot=snap)

    def _fresh_snapshot(self, max_age):
        newest = None
        for s in self.client.call('metadataSnapshotList').get('snapshots', []):
            modified = epoch_of(s.get('modified'))
            if modified is None:
                continue
            if newest is None or modified > newest[0]:
                newest = (modified, s)
        if newest and self.clock() - float(newest[0]) <= max_age:
            return newest[1]
        return None

    # -- restore and replay ----------------------------------------------------------------
    def restore(self, source, site, allow_live_restore, pre_restore_destination):
        listing = self.client.call('fileList', query={'site': site} if site else None)
        live = len(listing.get('files', [])) if isinstance(listing, dict) else len(listing or [])
        if live and not allow_live_restore:
            raise Refusal('restoring %s over a live cluster refused: it holds %d file(s) whose '
                          'metadata the snapshot would replace (everything written after the '
                          'snapshot is lost unless replayed). Set allow_live_restore=true; a '
                          'pre-restore snapshot is taken first' % (source, live),
                          option='allow_live_restore', details={'live_files': live})
        if live:
            pre = {'site': site} if site else {}
            if pre_restore_destination:
                pre['destination'] = pre_restore_destination
            self.plan.add('POST /v1/metadata/snapshots (pre-restore snapshot of the live '
                          'metadata)', action=lambda: self.client.call('metadataSnapshot',
                                                                       body=pre))
        body = {'source': source, 'confirm_live_restore': bool(live)}
        if site:
            body['site'] = site
        self.plan.add('POST /v1/metadata/restore source=%s%s' % (
            source, ' confirm_live_restore=true' if live else ''),
            action=lambda: self.client.call('metadataRestore', body=body), destructive=bool(live))
        if self.check_mode:
            return self._result(True, live_files=live)
        self._run()
        restored = self.plan.steps[-1].result
        extra = {'restored': restored, 'live_files': live}
        if live:
            extra['pre_restore_snapshot'] = self.plan.steps[0].result
        return self._result(bool(restored.get('changed', True)), **extra)

    def replay(self, from_seq, from_time, until_time, source):
        given = (('from_seq', from_seq), ('from_time', from_time), ('until_time', until_time),
                 ('source', source))
        body = dict((k, v) for k, v in given if v is not None)
        self.plan.add('POST /v1/metadata/replay-journal %s' % json.dumps(body, sort_keys=True),
                      action=lambda: self.client.call('journalReplay', body=body))
        if self.check_mode:
            return self._result(True)
        self._run()
        replayed = self.plan.steps[-1].result
        return self._result(bool(replayed.get('changed')), replayed=replayed)
