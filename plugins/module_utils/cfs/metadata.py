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

import json
import time

from ansible_collections.resilience.dr.plugins.module_utils.runner import Plan, Refusal
from ansible_collections.resilience.dr.plugins.module_utils.cfs.raft import PlanningError
from ansible_collections.resilience.dr.plugins.module_utils.cfs.client import CfsApiError
from ansible_collections.resilience.dr.plugins.module_utils.cfs import snapshot_choice
from ansible_collections.resilience.dr.plugins.module_utils.cfs.archive import (  # noqa: F401
    epoch_of, local_path, verify_archive)


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
        if source == snapshot_choice.NEWEST_VERIFIED:
            return self.restore_newest_verified(site, allow_live_restore,
                                                pre_restore_destination)
        live = self._live_files(site, source, allow_live_restore)
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

    def _live_files(self, site, source, allow_live_restore):
        listing = self.client.call('fileList', query={'site': site} if site else None)
        live = len(listing.get('files', [])) if isinstance(listing, dict) else len(listing or [])
        if live and not allow_live_restore:
            raise Refusal('restoring %s over a live cluster refused: it holds %d file(s) whose '
                          'metadata the snapshot would replace (everything written after the '
                          'snapshot is lost unless replayed). Set allow_live_restore=true; a '
                          'pre-restore snapshot is taken first' % (source, live),
                          option='allow_live_restore', details={'live_files': live})
        return live

    def restore_newest_verified(self, site, allow_live_restore, pre_restore_destination):
        """Restore the newest listed snapshot that verifies; skipped ones say why."""
        found = snapshot_choice.candidates(self.client.call('metadataSnapshotList'))
        if not found:
            raise PlanningError('no metadata snapshot is listed in the bucket: nothing to '
                                'restore from (a new cluster without snapshots cannot be '
                                'restored; see cfs-setup-backups.yml)')
        live = self._live_files(site, snapshot_choice.NEWEST_VERIFIED, allow_live_restore)
        pre_dest = pre_restore_destination or snapshot_choice.pre_restore_location(
            found[0], self.clock)
        if live:
            pre = dict([('site', site)] if site else [], destination=pre_dest)
            self.plan.add('POST /v1/metadata/snapshots destination=%s (pre-restore snapshot of '
                          'the live metadata)' % pre_dest,
                          action=lambda: self.client.call('metadataSnapshot', body=pre))
        names = [s['location'] for s in found]
        self.plan.add('POST /v1/metadata/restore source=<newest that verifies of: %s>%s' % (
            ', '.join(names), ' confirm_live_restore=true' if live else ''),
            action=lambda: self._first_verified(found, site, bool(live)), destructive=bool(live))
        if self.check_mode:
            return self._result(True, live_files=live, candidates=names)
        self._run()
        chosen = self.plan.steps[-1].result
        extra = {'restored': chosen['restored'], 'skipped': chosen['skipped'],
                 'source': chosen['source'], 'live_files': live, 'candidates': names}
        if live:
            extra['pre_restore_snapshot'] = self.plan.steps[0].result
        if chosen['restored'] is None:
            why = '; '.join('%s: %s' % (s['location'], s['reason']) for s in chosen['skipped'])
            where = ', the pre-restore snapshot is at %s' % pre_dest if live else ''
            extra.update(failed=True, msg='no listed snapshot verifies (%s); nothing was '
                         'restored%s' % (why, where))
            return self._result(bool(live), **extra)
        return self._result(bool(chosen['restored'].get('changed', True)) or bool(live),
                            **extra)

    def _first_verified(self, found, site, live):
        skipped = []
        for snap in found:
            location = snap['location']
            if snapshot_choice.local_path(location):
                _manifest, why = snapshot_choice.verify_local(location)
                if why:
                    skipped.append({'location': location, 'reason': why, 'verified_by': 'here'})
                    continue
            body = {'source': location, 'confirm_live_restore': live}
            if site:
                body['site'] = site
            try:
                restored = self.client.call('metadataRestore', body=body)
            except CfsApiError as exc:
                if exc.code not in snapshot_choice.NOT_VERIFIED:
                    raise
                skipped.append({'location': location, 'reason': exc.api_message,
                                'verified_by': 'the cluster'})
                continue
            return {'source': location, 'restored': restored, 'skipped': skipped}
        return {'source': None, 'restored': None, 'skipped': skipped}

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
