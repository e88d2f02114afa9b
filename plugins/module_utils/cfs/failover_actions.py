# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""cfs_replication's failover: test, prepare, and the execute that tells a lost site from a
partitioned one, fences a reachable one and reports the RPO.

A mixin of :class:`~replication_manager.ReplicationManager`, which provides ``client``,
``probe``, ``plan``, ``clock``, ``_run``, ``_result``, ``_wait`` and ``status``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.resilience.dr.plugins.module_utils.runner import Refusal
from ansible_collections.resilience.dr.plugins.module_utils.cfs import replication as rp
from ansible_collections.resilience.dr.plugins.module_utils.cfs.client import CfsApiError
from ansible_collections.resilience.dr.plugins.module_utils.cfs.raft import PlanningError


def state_of(status):
    """The diff's before/after of a replication status."""
    failover = status.get('failover') or {}
    return {'active_site': status.get('active_site'), 'state': status.get('state'),
            'writes_blocked': bool(failover.get('writes_blocked')),
            'failover_state': failover.get('state')}


class FailoverActions:
    # -- failover -------------------------------------------------------------------------------
    def _pair(self, status, source, target):
        target = target or (rp.other_site(status, source) if source else None)
        if not target:
            raise PlanningError('failover needs target (the site to promote)')
        rp.check_site(status, target, 'target')
        source = source or (status['active_site'] if status['active_site'] != target
                            else rp.other_site(status, target))
        rp.check_site(status, source, 'source')
        if source == target:
            raise PlanningError('source and target are the same site (%s)' % target)
        return source, target

    def test(self, source, target):
        status = self.status()
        source, target = self._pair(status, source, target)
        verdict = self.client.call('failoverTest', body={'from': source, 'to': target})
        return self._result(False, status=status, verdict=verdict, ok=bool(verdict.get('ok')),
                            links=rp.summary(status), **state_of(status))

    def prepare(self, source, target):
        status = self.status()
        source, target = self._pair(status, source, target)
        state = state_of(status)
        if state['writes_blocked'] and (status.get('failover') or {}).get('from') == source:
            return self._result(False, before=state, status=status, links=rp.summary(status),
                                **state)
        self.plan.add('POST /v1/replication/failover/prepare from=%s to=%s (block writes on '
                      '%s, ship what it has)' % (source, target, source),
                      action=lambda: self.client.call('failoverPrepare',
                                                      body={'from': source, 'to': target}))
        after = dict(state, writes_blocked=True)
        if self.check_mode:
            return self._result(True, before=state, after=after, status=status,
                                links=rp.summary(status), **state)
        self._run()
        status = self.status()
        return self._result(True, before=state, after=state_of(status), status=status,
                            prepared=self.plan.steps[-1].result, links=rp.summary(status),
                            **state_of(status))

    def _source_view(self, source_endpoints):
        """replicationStatus as the old active site itself reports it (None if it cannot)."""
        if not source_endpoints or self.probe is None:
            return None, []
        answering = self.probe(source_endpoints)
        if not answering:
            return None, []
        try:
            return self.probe.client(answering).call('replicationStatus'), answering
        except CfsApiError:
            return None, answering

    def failover(self, source, target, source_endpoints, confirm_data_loss, timeout):
        status = self.status()
        source, target = self._pair(status, source, target)
        state = state_of(status)
        if status['active_site'] == target:
            previous = status.get('failover') or {}
            return self._result(False, before=state, status=status, links=rp.summary(status),
                                situation='done', rpo=previous.get('rpo'), **state)
        verdict = self.client.call('failoverTest', body={'from': source, 'to': target})
        failing = [c for c in verdict.get('checks') or []
                   if c.get('name') in ('target_has_quorum', 'target_has_leaders')
                   and not c.get('ok')]
        if failing:
            raise PlanningError('%s cannot be promoted: %s' % (target, '; '.join(
                '%s (%s)' % (c['name'], c.get('detail')) for c in failing)))
        source_status, answering = self._source_view(source_endpoints)
        kind, why = rp.situation(status, source, target, bool(answering))
        now = self.clock()
        if kind == rp.CUT_OFF_FROM_US:
            raise Refusal('failover from %s to %s refused: %s. Promoting %s now would make two '
                          'active sites; run from a host that reaches %s, or fail over in a '
                          'planned way once it answers' % (source, target, why, target, source),
                          details={'situation': kind})
        if kind == rp.GONE:
            files, unavailable = self._target_files(target)
            shards = self.client.call('status').get('shards')
            rpo = rp.rpo_bound(files, source, now, shards)
            rpo['listing'] = {'files': len(files), 'unavailable_shards': unavailable}
        else:
            view = source_status or status
            rpo = rp.rpo_known(rp.link(view, source, target), now)
        rpo['at'] = now
        extra = {'situation': kind, 'situation_reason': why, 'source_answers_here': answering,
                 'rpo': rpo, 'rpo_sentence': rp.loss_sentence(rpo, source)}
        extra.update(rp.rpo_seconds(rpo))
        if kind == rp.PLANNED:
            self.plan.add('POST /v1/replication/failover/prepare from=%s to=%s (block writes on '
                          '%s and ship what it has)' % (source, target, source),
                          action=lambda: self.client.call('failoverPrepare', body={
                              'from': source, 'to': target}))
        elif kind == rp.PARTITIONED:
            self.plan.add('POST /v1/replication/failover/prepare to %s itself (fence: it '
                          'refuses writes from now on)' % source,
                          action=lambda: self.probe.client(answering).call(
                              'failoverPrepare', body={'from': source, 'to': target}))
        # A planned failover ships everything after blocking writes: nothing is lost unless
        # the cluster says so at the switch (then it refuses and the writes stay blocked).
        would_lose = kind != rp.PLANNED and (not rpo['known'] or rpo['ops'])
        self.plan.add('POST /v1/replication/failover from=%s to=%s%s' % (
            source, target, ' confirm_data_loss=true' if would_lose else ''),
            action=lambda: self._promote(source, target, would_lose), destructive=bool(would_lose))
        after = dict(state, active_site=target, failover_state='failover',
                     writes_blocked=False)
        if self.check_mode:
            return self._result(True, before=state, after=after, status=status,
                                links=rp.summary(status), **dict(state, **extra))
        if would_lose and not confirm_data_loss:
            raise Refusal('failover from %s to %s refused, nothing was changed: %s. Set '
                          'confirm_data_loss=true to promote %s anyway' % (
                              source, target, extra['rpo_sentence'], target),
                          option='confirm_data_loss', details=dict(
                              extra, would_lose=rpo['writes'] or [{'site': source,
                                                                   'unknown': True}]))
        started = self.clock()
        self._run()
        if kind == rp.PLANNED:
            prepared = self.plan.steps[0].result or {}
            rpo = dict(rpo, ops=int(prepared.get('lag_ops') or 0), writes=[],
                       basis='writes were blocked on %s and shipped before the switch' % source)
            rpo['age_seconds'] = rpo['max_age_seconds'] = 0.0 if not rpo['ops'] else None
        elif rpo.get('last_replicated_at') is not None:
            # The window closes at the promotion, which has just been acknowledged.
            promoted = self.clock()
            rpo = dict(rpo, at=promoted, max_age_seconds=round(
                promoted - rpo['last_replicated_at'], 3))
        elif kind == rp.PARTITIONED:
            view = self._source_view(source_endpoints)[0]
            if view:   # writes are blocked there now: its unshipped writes are final
                rpo = dict(rp.rpo_known(rp.link(view, source, target), now), at=now)
        extra.update(rpo=rpo, rpo_sentence=rp.loss_sentence(rpo, source))
        extra.update(rp.rpo_seconds(rpo))
        after_status = self._wait(lambda s: s.get('active_site') == target, timeout)
        extra['seconds'] = round(self.clock() - started, 3)
        fields = dict(state_of(after_status), **extra)
        result = self._result(True, before=state, after=state_of(after_status),
                              status=after_status, links=rp.summary(after_status),
                              promoted=self.plan.steps[-1].result, **fields)
        if after_status.get('active_site') != target:
            result.update(failed=True, msg='the failover was accepted but %s is not reported '
                          'active after %s s' % (target, timeout))
        return result

    def _target_files(self, target, attempts=5):
        """The new site's file versions; a listing with unavailable shards (a member mid
        election) is read again a few times, then returned as it is (those shards get no
        bound)."""
        for attempt in range(attempts):
            listing = self.client.call('fileList', query={'site': target})
            if not isinstance(listing, dict):
                return list(listing or []), []
            unavailable = listing.get('unavailable_shards') or []
            if not unavailable or attempt == attempts - 1:
                return list(listing.get('files') or []), unavailable
            self.sleep(self.poll)
        return [], []

    def _promote(self, source, target, would_lose):
        body = {'from': source, 'to': target}
        if would_lose:
            body['confirm_data_loss'] = True
        try:
            return self.client.call('failover', body=body)
        except CfsApiError as exc:
            if exc.code == 'refused_needs_confirmation' and not would_lose:
                # Writes the prepare could not ship: the cluster's own refusal.  The prepare
                # ran, so writes on the source stay blocked until a failover or a failback.
                raise Refusal('failover from %s to %s refused by the cluster: %s. Writes on %s '
                              'are blocked by the prepare step; run again with '
                              'confirm_data_loss=true to promote, or action=failback '
                              'source=%s target=%s to unblock' % (
                                  source, target, exc.api_message, source, target, source),
                              option='confirm_data_loss', details=exc.details)
            raise
