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
from ansible_collections.resilience.dr.plugins.module_utils.cfs.failover_actions import (
    FailoverActions, state_of)


def state_of_failover(status):
    return (status.get('failover') or {}).get('state')


_state = state_of


class ReplicationManager(FailoverActions):
    """cfs_replication: status, sync, failback and conflicts here; the failover in
    :class:`~failover_actions.FailoverActions`."""

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
