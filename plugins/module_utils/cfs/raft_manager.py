# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What cfs_raft does, wired from the client and the pure planners in ``raft``.

Every action is a :class:`~runner.Plan` of API calls: check mode returns the plan, normal
mode executes it and then verifies by reading the shards again.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.resilience.dr.plugins.module_utils.runner import Plan, Refusal
from ansible_collections.resilience.dr.plugins.module_utils.cfs import nodes, raft
from ansible_collections.resilience.dr.plugins.module_utils.cfs.client import CfsApiError, PLAN_STALE


def _state_of(selected):
    """The diff's before/after: per shard, leader, term, epoch, condition and members."""
    return dict((raft.label(v),
                 {'leader': v['leader'], 'term': v['term'], 'epoch': v['epoch'],
                  'condition': v['condition'],
                  'members': sorted(m['node'] for m in v['members'])}) for v in selected)


class RaftManager:
    """cfs_raft's three jobs: ``healthy``, ``force_leader`` and ``leader_transfer``."""

    def __init__(self, client, check_mode=False, poll=0.25, clock=time.time, sleep=time.sleep):
        self.client = client
        self.check_mode = check_mode
        self.poll = poll
        self.clock = clock
        self.sleep = sleep
        self.plan = Plan()
        self.warnings = []
        self.before = None

    # -- reading -------------------------------------------------------------------------
    def read(self, shards='all', site=None):
        return raft.select(raft.views(self.client.call('raftStatus'), site), shards)

    def _wait(self, shards, site, until, deadline, stop_on_no_quorum=True):
        """Poll until ``until(selected)`` or the deadline; return the last reading."""
        while True:
            selected = self.read(shards, site)
            if until(selected):
                return selected
            if stop_on_no_quorum and raft.by_condition(selected)[raft.NO_QUORUM]:
                return selected
            if self.clock() >= deadline:
                return selected
            self.sleep(self.poll)

    def _result(self, selected, changed, **extra):
        result = {'changed': changed, 'shards': selected, 'summary': raft.summary(selected),
                  'plan': self.plan.as_list(), 'executed': self.plan.done,
                  'diff': {'before': self.before, 'after': _state_of(selected)}}
        result.update(extra)
        return result

    def _no_quorum(self, selected, shards_without):
        entries = raft.force_leader_plan([v for v in selected if raft.label(v) in shards_without])
        raise Refusal(
            'shard(s) %s lost quorum: an election cannot succeed. A force-leader would rebuild '
            'them from one survivor and may lose committed entries - %s. Review it with '
            'force_leader=most-up-to-date in check mode, then apply with allow_data_loss=true'
            % (', '.join(str(s) for s in shards_without), raft.loss_summary(entries)),
            option='force_leader', details={'force_leader_plan': entries, 'shards': selected})

    def status(self, shards, site):
        selected = self.read(shards, site)
        self.before = _state_of(selected)
        return self._result(selected, False)

    # -- state: healthy ------------------------------------------------------------------
    def healthy(self, shards, site, wait_timeout, stall_timeout):
        selected = self.read(shards, site)
        self.before = _state_of(selected)
        groups = raft.by_condition(selected)
        if groups[raft.NO_QUORUM]:
            self._no_quorum(selected, groups[raft.NO_QUORUM])
        if not groups[raft.ELECTING]:
            return self._result(selected, False)
        electing = groups[raft.ELECTING]
        self.plan.add('wait up to %ss for the running election(s) in shard(s) %s'
                      % (stall_timeout, ', '.join(str(s) for s in electing)), action=lambda: None)
        if self.check_mode:
            self.plan.add('POST /v1/raft/shards/{shard}/election for every shard still without '
                          'a leader after %ss (stalled)' % stall_timeout, action=lambda: None)
            return self._result(selected, True)
        started = self.clock()
        selected = self._wait(shards, site, lambda sel: not raft.by_condition(sel)[raft.ELECTING]
                              and not raft.by_condition(sel)[raft.NO_QUORUM],
                              started + stall_timeout)
        self.plan.done.append(self.plan.steps[0].as_dict())
        forced = []
        stalled = raft.by_condition(selected)[raft.ELECTING]
        if raft.by_condition(selected)[raft.NO_QUORUM]:
            self._no_quorum(selected, raft.by_condition(selected)[raft.NO_QUORUM])
        for view in selected:
            if raft.label(view) in stalled:
                self._force_election(view)
                forced.append(raft.label(view))
        if forced:
            selected = self._wait(shards, site, lambda sel: all(
                v['condition'] == raft.HEALTHY for v in sel), started + wait_timeout)
        bad = [raft.label(v) for v in selected if v['condition'] != raft.HEALTHY]
        if bad:
            return self._result(selected, bool(forced), failed=True, msg=(
                'shard(s) %s still have no leader after %ss (forced elections: %s); read '
                'cfs admin raft-debug --shard N for why' % (
                    ', '.join(str(s) for s in bad), wait_timeout,
                    ', '.join(str(s) for s in forced) or 'none')),
                forced_elections=forced)
        return self._result(selected, bool(forced), forced_elections=forced,
                            seconds_to_healthy=round(self.clock() - started, 3))

    def _force_election(self, view):
        step = self.plan.add('POST /v1/raft/shards/%s/election site=%s (stalled without a '
                             'leader)' % (view['shard'], view['site']),
                             action=lambda: self.client.call(
                                 'raftForceElection', body={'site': view['site']},
                                 shard=view['shard']))
        step.action()
        self.plan.done.append(step.as_dict())

    # -- force_leader --------------------------------------------------------------------
    def force_leader(self, shards, site, leader, allow_data_loss, plan_id, verify_timeout):
        selected = self.read(shards, site)
        self.before = _state_of(selected)
        local = raft.force_leader_plan(selected, leader)
        if local:
            self._refuse_fencing_live_members(local)
        if not local:
            if plan_id:
                self.warnings.append('plan %s was not applied: every selected shard has a '
                                     'quorum now' % plan_id)
            return self._result(selected, False, force_leader_plan=[], plan_id=None)
        sites = sorted(set(e['site'] for e in local))
        if len(sites) > 1:
            raise raft.PlanningError('shards of several sites lost quorum (%s); a force-leader '
                                     'plan covers one site: set site' % ', '.join(sites))
        if not plan_id:
            body = {'shards': shards if shards != 'all' else 'all', 'site': sites[0],
                    'leader': leader or raft.MOST_UP_TO_DATE}
            server = self.client.call('raftForceLeaderPlan', body=body)
            plan_id = server.get('plan_id')
            entries = [e for e in raft.normalize_server_plan(server) if not e['has_quorum']]
            for note in raft.plan_disagreements(local, entries):
                self.warnings.append('force-leader plan: %s' % note)
        else:
            entries = local
        self.plan.add('POST /v1/raft/force-leader plan_id=%s: %s' % (plan_id, raft.loss_summary(
            entries)), action=lambda: None, destructive=True)
        extra = {'force_leader_plan': entries, 'plan_id': plan_id}
        if self.check_mode:
            if not allow_data_loss:
                extra['requires'] = 'allow_data_loss'
            return self._result(selected, True, **extra)
        if not allow_data_loss:
            raise Refusal(
                'force-leader refused: it rebuilds shard(s) %s from one survivor and may lose '
                'committed entries - %s. Review the plan (check mode returns it with its '
                'plan_id), then set allow_data_loss=true and pass plan_id'
                % (', '.join(raft.label(e) for e in entries), raft.loss_summary(entries)),
                option='allow_data_loss', details=dict(extra, shards=selected))
        try:
            applied = self.client.call('raftForceLeader',
                                       body={'plan_id': plan_id, 'confirm_data_loss': True})
        except CfsApiError as exc:
            if exc.code == PLAN_STALE:
                raise Refusal('plan %s is stale: the cluster changed since it was reviewed (%s). '
                              'Nothing was applied; run check mode again and review the new plan'
                              % (plan_id, exc.api_message), option='plan_id',
                              details=dict(extra, error_details=exc.details))
            raise
        self.plan.done.append(self.plan.steps[-1].as_dict())
        extra['applied'] = applied
        planned = [raft.label(e) for e in entries]
        started = self.clock()
        selected = self._wait(shards, site, lambda sel: all(
            v['condition'] == raft.HEALTHY for v in sel if raft.label(v) in planned),
            started + verify_timeout, stop_on_no_quorum=False)
        bad = [raft.label(v) for v in selected if raft.label(v) in planned
               and v['condition'] != raft.HEALTHY]
        if bad:
            extra.update(failed=True, msg='force-leader was applied (plan %s) but shard(s) %s '
                         'have no healthy leader after %ss; the members %s are fenced. Read '
                         'raft-debug for those shards' % (
                             plan_id, ', '.join(str(s) for s in bad), verify_timeout,
                             sorted(set(n for e in entries for n in e['fenced_members']))))
        else:
            extra['seconds_to_quorum'] = round(self.clock() - started, 3)
        return self._result(selected, True, **extra)

    def _refuse_fencing_live_members(self, entries):
        """A member SWIM sees Alive is rejoining or partitioned, not lost: never fence it."""
        alive = set(n['name'] for n in nodes.node_views(self.client.call('nodeList'))
                    if n['swim_state'] == nodes.ALIVE)
        live = dict((raft.label(e), sorted(set(e['fenced_members']) & alive)) for e in entries)
        live = dict((k, v) for k, v in live.items() if v)
        if live:
            raise raft.PlanningError(
                'a force-leader would fence members that SWIM reports Alive (%s): they are '
                'rejoining, cut off, or killed so recently that SWIM has not declared them '
                'Dead yet. Wait a few seconds and plan again, wait for them (state=healthy), or '
                'stop them first if they must be replaced' % '; '.join(
                    '%s: %s' % (k, ', '.join(v)) for k, v in sorted(live.items())))

    # -- leader_transfer -----------------------------------------------------------------
    def transfer(self, shards, site, from_node, to_node, wait_timeout):
        selected = self.read(shards, site)
        self.before = _state_of(selected)
        moves = raft.transfer_plan(selected, from_node, to_node)
        if not moves:
            return self._result(selected, False)
        for view, target, reason in moves:
            self.plan.add('POST /v1/raft/shards/%s/transfer-leader site=%s to=%s (%s)'
                          % (view['shard'], view['site'], target, reason),
                          action=lambda v=view, t=target: self.client.call(
                              'raftTransferLeader', body={'to': t, 'site': v['site']},
                              shard=v['shard']))
        if self.check_mode:
            return self._result(selected, True)
        for step in self.plan.steps:
            step.action()
            self.plan.done.append(step.as_dict())
        moved = [raft.label(m[0]) for m in moves]
        selected = self._wait(shards, site, lambda sel: all(
            v['leader'] not in (None, from_node) for v in sel if raft.label(v) in moved),
            self.clock() + wait_timeout, stop_on_no_quorum=False)
        stuck = [raft.label(v) for v in selected if raft.label(v) in moved
                 and v['leader'] in (None, from_node)]
        if stuck:
            return self._result(selected, True, failed=True, msg=(
                'leadership of shard(s) %s did not leave %s within %ss' % (
                    ', '.join(str(s) for s in stuck), from_node, wait_timeout)))
        return self._result(selected, True)
