# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What cfs_node does: join, drain, remove and replace a storage node, as a Plan of API calls.

Each state is reached by planning the calls from what the cluster reports, then (outside
check mode) executing them and waiting until the cluster shows the outcome: a joined node
Alive and caught up, a drained node (contract: state ``draining``, it leads no shard and gets
no new replicas), a removed node gone from the node list and from every shard group.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.resilience.dr.plugins.module_utils.runner import Plan, Refusal
from ansible_collections.resilience.dr.plugins.module_utils.cfs import nodes, raft
from ansible_collections.resilience.dr.plugins.module_utils.cfs.client import (
    CfsApiError, NEEDS_CONFIRMATION)
from ansible_collections.resilience.dr.plugins.module_utils.cfs.raft import PlanningError


class NodeManager:
    def __init__(self, client, check_mode=False, max_lag=0, poll=0.25, clock=time.time,
                 sleep=time.sleep):
        self.client = client
        self.max_lag = max_lag
        self.check_mode = check_mode
        self.poll = poll
        self.clock = clock
        self.sleep = sleep
        self.plan = Plan()
        self.before = None

    def read(self):
        node_list = nodes.node_views(self.client.call('nodeList'))
        shard_views = raft.views(self.client.call('raftStatus'))
        return node_list, shard_views

    @staticmethod
    def _state_of(node_list, shard_views, names):
        out = {}
        for name in names:
            n = nodes.find(node_list, name)
            out[name] = None if n is None else {
                'swim_state': n['swim_state'], 'state': n['state'],
                'replicas': sorted('%s/%s' % (r['site'], r['shard'])
                                   for r in nodes.replicas(shard_views, name)),
                'leads': nodes.leads(shard_views, name)}
        return out

    def _finish(self, names, changed, until, timeout, what):
        """Execute the plan (unless check mode), wait for ``until``, and build the result.

        With nothing to do the outcome is still required: a node that is in the cluster but
        down or behind (SWIM may not have noticed yet) is not "present and caught up", so the
        module waits for it like after a change and fails when it does not get there.
        """
        if self.check_mode:
            node_list, shard_views = self.read()
            return self._result(node_list, shard_views, names, changed)
        for step in self.plan.steps:
            try:
                step.action()
            except CfsApiError as exc:
                if exc.code == NEEDS_CONFIRMATION:
                    raise Refusal('the cluster refused "%s": %s (would lose: %s)' % (
                        step.description, exc.api_message, exc.details.get('would_lose')),
                        option='allow_data_loss', details={'executed': self.plan.done,
                                                           'error_details': exc.details})
                if self.plan.done:
                    exc.api_message += ' (after these steps had run: %s)' % '; '.join(
                        d['step'] for d in self.plan.done)
                raise
            self.plan.done.append(step.as_dict())
        deadline = self.clock() + timeout
        while True:
            node_list, shard_views = self.read()
            if until(node_list, shard_views) or self.clock() >= deadline:
                break
            self.sleep(self.poll)
        result = self._result(node_list, shard_views, names, bool(self.plan))
        if not until(node_list, shard_views):
            result.update(failed=True, msg='%s: not reached within %ss after %s' % (
                what, timeout, '; '.join(d['step'] for d in self.plan.done)
                or 'nothing was changed'))
        return result

    def _settle(self, site, timeout):
        deadline = self.clock() + timeout
        while True:
            pending = [raft.label(v) for v in raft.views(self.client.call('raftStatus'), site)
                       if v['condition'] != raft.HEALTHY]
            if not pending:
                return
            if self.clock() >= deadline:
                raise PlanningError('shard(s) %s of %s still have no leader after %ss; a node '
                                    'cannot join them now' % (', '.join(pending), site, timeout))
            self.sleep(self.poll)

    def _result(self, node_list, shard_views, names, changed):
        name = names[0]
        return {'changed': changed, 'node': nodes.find(node_list, name),
                'replicas': nodes.replicas(shard_views, name), 'nodes': node_list,
                'under_replicated': nodes.under_replicated(shard_views),
                'plan': self.plan.as_list(), 'executed': self.plan.done,
                'diff': {'before': self.before,
                         'after': self._state_of(node_list, shard_views, names)}}

    # -- states ---------------------------------------------------------------------------
    def present(self, name, address, site, replace, timeout):
        node_list, shard_views = self.read()
        names = [name] + ([replace] if replace else [])
        self.before = self._state_of(node_list, shard_views, names)
        old = nodes.find(node_list, replace) if replace else None
        if old is not None and old['swim_state'] == nodes.ALIVE and old['state'] == 'active':
            # A planned replacement of a live node: its leaderships move first.
            self.plan.add('POST /v1/nodes/%s/drain (move its leaderships before %s takes its '
                          'place)' % (replace, name),
                          action=lambda: self.client.call('nodeDrain', body={}, node=replace))
        if nodes.find(node_list, name) is None:
            if not site or not (address or self.check_mode):
                raise PlanningError('node %s is not in the cluster; address and site are needed '
                                    'to add it' % name)
            # In check mode a machine not provisioned yet has no address to show.
            address = address or '<its address once provisioned>'
            body = {'name': name, 'address': address, 'site': site}
            if replace:
                body['replaces'] = replace
            self.plan.add('wait until every shard of %s has a leader (a group still being '
                          'rebuilt refuses new members)' % site,
                          action=lambda: self._settle(site, timeout))
            self.plan.add('POST /v1/nodes name=%s address=%s site=%s%s' % (
                name, address, site, ' replaces=%s' % replace if replace else ''),
                action=lambda: self.client.call('nodeAdd', body=body))
        if old is not None:
            self.plan.add('DELETE /v1/nodes/%s (replaced by %s)' % (replace, name),
                          action=lambda: self.client.call('nodeRemove', node=replace))

        def done(node_list, shard_views):
            n = nodes.find(node_list, name)
            ok = n is not None and n['swim_state'] in (None, nodes.ALIVE) and nodes.caught_up(
                shard_views, name, self.max_lag)
            if replace:
                ok = ok and nodes.find(node_list, replace) is None and not nodes.replicas(
                    shard_views, replace)
            site_of = (n or {}).get('site') or site
            return ok and all(v['condition'] == raft.HEALTHY for v in shard_views
                              if v['site'] == site_of)
        return self._finish(names, bool(self.plan), done, timeout,
                            'node %s joined and caught up' % name)

    def drained(self, name, timeout):
        node_list, shard_views = self.read()
        self.before = self._state_of(node_list, shard_views, [name])
        node = nodes.find(node_list, name)
        if node is None:
            raise PlanningError('node %s is not in the cluster; nothing to drain' % name)
        if node['state'] != 'draining' or nodes.leads(shard_views, name):
            self.plan.add('POST /v1/nodes/%s/drain (leaderships move off it, no new replicas '
                          'go to it)' % name,
                          action=lambda: self.client.call('nodeDrain', body={}, node=name))

        def done(node_list, shard_views):
            n = nodes.find(node_list, name)
            return n is not None and n['state'] == 'draining' and not nodes.leads(
                shard_views, name)
        return self._finish([name], bool(self.plan), done, timeout, 'node %s drained' % name)

    def absent(self, name, allow_data_loss, timeout):
        node_list, shard_views = self.read()
        self.before = self._state_of(node_list, shard_views, [name])
        if nodes.find(node_list, name) is None:
            return self._result(node_list, shard_views, [name], False)
        node = nodes.find(node_list, name)
        held = nodes.replicas(shard_views, name)
        last = []
        if held and node['swim_state'] in (None, nodes.ALIVE):
            # Alive: its leaderships move first; the others hold what it holds.
            if node['state'] != 'draining':
                self.plan.add('POST /v1/nodes/%s/drain (leaderships move off it first)' % name,
                              action=lambda: self.client.call('nodeDrain', body={}, node=name))
            last = self._refuse_last_replica(shard_views, name, allow_data_loss, 'remove')
        elif held:
            # Not reachable: whatever only it holds cannot move; removing it loses that.
            last = self._refuse_last_replica(shard_views, name, allow_data_loss, 'remove')
        query = {'confirm_last_replica': 'true'} if last else None
        suffix = '?confirm_last_replica=true' if last else ''
        self.plan.add('DELETE /v1/nodes/%s%s' % (name, suffix),
                      action=lambda: self.client.call('nodeRemove', query=query, node=name),
                      destructive=bool(last))
        return self._finish([name], True, lambda nl, sv: nodes.find(nl, name) is None
                            and not nodes.replicas(sv, name), timeout, 'node %s removed' % name)

    def _refuse_last_replica(self, shard_views, name, allow_data_loss, verb):
        last = nodes.last_replicas(shard_views, name)
        if last and not allow_data_loss:
            raise Refusal(
                'refusing to %s node %s: it holds the last up-to-date replica of shard(s) %s '
                '(%s). Bring another member back or let it catch up first; set allow_data_loss '
                'only if those entries may be lost' % (
                    verb, name, ', '.join('%s/%s' % (l['site'], l['shard']) for l in last),
                    '; '.join('%s/%s: %d entries only here' % (l['site'], l['shard'],
                                                               l['entries_only_here'])
                              for l in last)),
                option='allow_data_loss', details={'last_replicas': last})
        return last
