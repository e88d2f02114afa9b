# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What cfs_replication does, wired from the client and the pure planners in ``replication``.

Each action reads the cluster, plans its calls (check mode returns the plan), runs them, and
reads again to prove the outcome.  Refusals happen before anything is changed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.resilience.dr.plugins.module_utils.runner import ModuleFailure, Plan, Refusal
from ansible_collections.resilience.dr.plugins.module_utils.cfs import replication as rp
from ansible_collections.resilience.dr.plugins.module_utils.cfs.client import CfsApiError
from ansible_collections.resilience.dr.plugins.module_utils.cfs.raft import PlanningError


def state_of_failover(status):
    return (status.get('failover') or {}).get('state')


def _state(status):
    failover = status.get('failover') or {}
    return {'active_site': status.get('active_site'), 'state': status.get('state'),
            'writes_blocked': bool(failover.get('writes_blocked')),
            'failover_state': failover.get('state')}


class ReplicationManager:
    def __init__(self, client, check_mode=False, probe=None, clock=time.time, sleep=time.sleep,
                 poll=0.5):
        self.client = client
        self.check_mode = check_mode
        self.probe = probe            # endpoints -> [endpoints that answer health], or None
        self.clock = clock
        self.sleep = sleep
        self.poll = poll
        self.plan = Plan()

    def _result(self, changed, before=None, after=None, **extra):
        result = {'changed': changed, 'plan': self.plan.as_list(), 'executed': self.plan.done}
        if before is not None:
            result['diff'] = {'before': before, 'after': after if after is not None else before}
        result.update(extra)
        return result

    def _run(self):
        """Run the plan; a failure after a step ran says so (changed, steps done and left)."""
        for index, step in enumerate(self.plan.steps):
            try:
                step.result = step.action()
            except (ModuleFailure, CfsApiError) as exc:
                if not self.plan.done:
                    raise
                if isinstance(exc, CfsApiError):
                    exc = ModuleFailure('%s, after these steps had run: %s' % (
                        exc, '; '.join(d['step'] for d in self.plan.done)),
                        details=exc.as_result())
                exc.changed = True
                exc.details['steps_done'] = list(self.plan.done)
                exc.details['steps_left'] = [s.as_dict() for s in self.plan.steps[index:]]
                raise exc
            self.plan.done.append(step.as_dict())

    def status(self):
        return self.client.call('replicationStatus')

    def _wait(self, until, timeout):
        deadline = self.clock() + timeout
        while True:
            status = self.status()
            if until(status) or self.clock() >= deadline:
                return status
            self.sleep(self.poll)

    # -- status and sync ----------------------------------------------------------------------
    def report(self):
        status = self.status()
        return self._result(False, status=status, links=rp.summary(status),
                            in_sync=rp.in_sync(status), **_state(status))

    def sync(self, source, target, timeout):
        status = self.status()
        rp.check_site(status, source, 'source')
        target = target or rp.other_site(status, source)
        rp.check_site(status, target, 'target')
        before = rp.link(status, source, target)
        if rp.in_sync(status, source, target):
            return self._result(False, status=status, links=rp.summary(status), in_sync=True,
                                shipped_ops=0, **_state(status))
        self.plan.add('POST /v1/replication/sync source=%s target=%s (%d operation(s) to ship%s)'
                      % (source, target, before.get('lag_ops') or 0,
                         '' if before.get('source_reachable') else
                         ', the source does not answer the target now'),
                      action=lambda: self.client.call('replicationSync', body={
                          'source': source, 'target': target, 'timeout_seconds': timeout}))
        if self.check_mode:
            return self._result(True, status=status, links=rp.summary(status), in_sync=False,
                                **_state(status))
        self._run()
        synced = self.plan.steps[-1].result
        after = self._wait(lambda s: rp.in_sync(s, source, target), min(timeout, 10))
        result = self._result(bool(synced.get('changed', True)), status=after,
                              links=rp.summary(after), in_sync=rp.in_sync(after, source, target),
                              shipped_ops=synced.get('shipped_ops'),
                              conflicts_after_sync=synced.get('conflicts'), **_state(after))
        if not result['in_sync']:
            result.update(failed=True, msg='sync %s -> %s returned but the lag is not zero: %s'
                          % (source, target, rp.summary(after)))
        return result

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
                            links=rp.summary(status), **_state(status))

    def prepare(self, source, target):
        status = self.status()
        source, target = self._pair(status, source, target)
        state = _state(status)
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
        return self._result(True, before=state, after=_state(status), status=status,
                            prepared=self.plan.steps[-1].result, links=rp.summary(status),
                            **_state(status))

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
        state = _state(status)
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
        fields = dict(_state(after_status), **extra)
        result = self._result(True, before=state, after=_state(after_status),
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

    # -- failback -------------------------------------------------------------------------------
    def failback(self, source, target, timeout):
        """Move the active site from ``source`` (active now) back to ``target``."""
        status = self.status()
        source = source or status['active_site']
        if not target and state_of_failover(status) != 'failover':
            target = status['active_site']   # no failover in force: nothing to move back
        target = target or rp.other_site(status, source)
        rp.check_site(status, target, 'target')
        state = _state(status)
        if status['active_site'] == target and state['failover_state'] in (None, 'none'):
            return self._result(False, before=state, status=status, links=rp.summary(status),
                                **state)
        if status['active_site'] != source:
            raise PlanningError('failback from %s refused: the active site is %s' % (
                source, status['active_site']))
        conflicts = self.client.call('conflictsList').get('conflicts', [])
        diff = rp.failback_diff(status, conflicts, source, target)
        if diff['conflicts_lww']:
            self.plan.add('POST /v1/conflicts/resolve strategy=last-write-wins (%d conflict(s); '
                          'the overwritten versions stay in the conflict log)' % len(
                              diff['conflicts_lww']),
                          action=lambda: self.client.call('conflictsResolve',
                                                          body={'strategy': rp.LWW}))
        self.plan.add('POST /v1/replication/failback from=%s to=%s' % (source, target),
                      action=lambda: self.client.call('failback',
                                                      body={'from': source, 'to': target}))
        after = dict(state, active_site=target, failover_state='none', writes_blocked=False)
        if self.check_mode:
            return self._result(True, before=state, after=after, status=status,
                                merge=diff, links=diff['links'], **state)
        if diff['blockers']:
            raise Refusal('failback from %s to %s refused, nothing was changed: %s' % (
                source, target, '; '.join(diff['blockers'])),
                details={'merge': diff, 'lag_not_zero': any(
                    link['lag_ops'] or not link['known'] for link in diff['links'])})
        started = self.clock()
        self._run()
        after_status = self._wait(lambda s: s.get('active_site') == target, timeout)
        log = self.client.call('conflictsList').get('conflicts', [])
        result = self._result(True, before=state, after=_state(after_status),
                              status=after_status, links=rp.summary(after_status), merge=diff,
                              conflict_log=[dict(c, line=rp.conflict_line(c)) for c in log],
                              seconds=round(self.clock() - started, 3),
                              **_state(after_status))
        if after_status.get('active_site') != target:
            result.update(failed=True, msg='the failback was accepted but %s is not reported '
                          'active' % target)
        return result

    # -- conflicts ------------------------------------------------------------------------------
    def conflicts(self, strategy, choices):
        listed = self.client.call('conflictsList')
        items = listed.get('conflicts', [])
        before = {'unresolved': listed.get('unresolved', 0),
                  'winners': dict((str(c['inode']), c.get('winner')) for c in items)}
        log = [dict(c, line=rp.conflict_line(c)) for c in items]
        if strategy == 'list':
            return self._result(False, conflicts=log, unresolved=before['unresolved'])
        if strategy == rp.MANUAL:
            wanted = rp.normalize_choices(choices)
            if not wanted:
                raise PlanningError('strategy=manual needs choices (inode -> winning site)')
            known = sorted(set(s for c in items for s in (c.get('sites') or {})))
            to_apply, already, errors = rp.plan_manual(items, wanted, known)
            if errors:
                raise PlanningError('manual choices rejected, nothing was changed: %s' % (
                    '; '.join(errors)))
            planned = {'manual': to_apply, 'already': already}
            if to_apply:
                self.plan.add('POST /v1/conflicts/resolve strategy=manual %s' % ', '.join(
                    'inode %d -> %s' % (c['inode'], c['winner']) for c in to_apply),
                    action=lambda: self.client.call('conflictsResolve', body={
                        'strategy': rp.MANUAL, 'choices': [
                            {'inode': c['inode'], 'winner': c['winner']} for c in to_apply]}))
        else:
            decided, ties = rp.plan_lww(items)
            planned = {'lww': decided, 'ties': ties}
            if decided:
                self.plan.add('POST /v1/conflicts/resolve strategy=last-write-wins (%d '
                              'conflict(s), %d tie(s) stay for a manual choice)' % (
                                  len(decided), len(ties)),
                              action=lambda: self.client.call('conflictsResolve',
                                                              body={'strategy': rp.LWW}))
        if not self.plan.steps:
            return self._result(False, before=before, conflicts=log,
                                unresolved=before['unresolved'], planned=planned)
        if self.check_mode:
            after = dict(before, winners=dict(before['winners']))
            for c in planned.get('manual', []) + planned.get('lww', []):
                after['winners'][str(c['inode'])] = c['winner']
            return self._result(True, before=before, after=after, conflicts=log,
                                unresolved=before['unresolved'], planned=planned)
        self._run()
        answer = self.plan.steps[-1].result
        again = self.client.call('conflictsList')
        items = again.get('conflicts', [])
        after = {'unresolved': again.get('unresolved', 0),
                 'winners': dict((str(c['inode']), c.get('winner')) for c in items)}
        return self._result(bool(answer.get('changed', True)), before=before, after=after,
                            conflicts=[dict(c, line=rp.conflict_line(c)) for c in items],
                            unresolved=after['unresolved'], planned=planned,
                            resolved=answer.get('resolved', []))
