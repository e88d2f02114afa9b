#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: cfs_replication
short_description: ClaudeFS cross-site replication - status, sync, failover, failback, conflicts
version_added: 0.3.0
author: resilience.dr contributors (@resilience-dr)
description:
  - O(action=status) reads the replication links (lag in operations and seconds, the
    unreplicated operations, whether each site hears the other). Read-only.
  - O(action=sync) ships every unreplicated operation from O(source) to O(target) and waits
    until that link's lag is zero. Unchanged when it already is.
  - O(action=failover) makes O(target) the active site. O(failover_step=test) only checks
    (quorum, leaders, lag); O(failover_step=prepare) blocks writes on O(source) and ships what
    it has; O(failover_step=execute) (the default) decides what kind of failover this is and
    does it. When O(source) answers both this host and O(target), writes are blocked and shipped
    first (planned, nothing lost). When it answers this host but not O(target) (a partition),
    it is fenced first (its writes blocked through its own admin API). When it answers neither
    (site loss), O(target) is promoted from what it has. When O(target) still hears O(source)
    but this host does not, the failover is refused (two active sites).
  - A failover that would lose acknowledged writes - unshipped writes of O(source), or unknown
    ones when O(source) cannot be asked - is refused unless O(confirm_data_loss=true); the
    refusal lists them.
  - The result's RV(rpo) is what the new site lacks at promotion - the count and the age of the
    writes acknowledged on the old site that it does not hold. When the old site cannot be
    asked, the count is unknown and C(max_age_seconds) in RV(rpo) bounds the window of writes that
    may be missing (every shard holds the old site's writes up to C(last_replicated_at)).
  - O(action=failback) moves the active site from O(source) (active now) back to O(target). It
    merges instead of discarding - the operations each site shipped meet by last-write-wins
    and every overwritten version stays in the conflict log; unresolved conflicts are resolved
    by last-write-wins before the switch. It is refused while any link's lag is not zero or a
    conflict is a full tie. Check mode returns the dry-run diff (RV(merge)).
  - O(action=conflicts) lists the conflicts (O(strategy=list)), resolves them by
    last-write-wins, or applies manual choices (O(choices), inode to winning site).
extends_documentation_fragment:
  - resilience.dr.cfs
  - ansible.builtin.action_common_attributes
options:
  action:
    description: What to do.
    type: str
    choices: [status, sync, failover, failback, conflicts]
    default: status
  source:
    description:
      - The site that ships (O(action=sync)), the site losing the active role
        (O(action=failover), default the active site) or the site active now
        (O(action=failback), default the active site).
    type: str
  target:
    description:
      - The site that receives (O(action=sync), default the other site), the site to promote
        (O(action=failover), required) or the site to move back to (O(action=failback),
        default the other site).
    type: str
  failover_step:
    description: With O(action=failover) - C(test), C(prepare) or the whole C(execute).
    type: str
    choices: [test, prepare, execute]
    default: execute
  source_endpoints:
    description:
      - Admin API endpoints of the nodes of O(source), probed directly from this host to tell a
        lost site from a partitioned one, and to fence it when it answers.
      - Without them the source is taken as not answering this host.
    type: list
    elements: str
    default: []
  confirm_data_loss:
    description: Allow a failover that loses acknowledged writes (listed when refused).
    type: bool
    default: false
  strategy:
    description: With O(action=conflicts) - C(list), C(last-write-wins) or C(manual).
    type: str
    choices: [list, last-write-wins, manual]
    default: list
  choices:
    description:
      - With O(strategy=manual), the winning site per inode - a list of dicts with C(inode) and
        C(winner), or one dict mapping each inode to its winning site.
      - A choice already applied changes nothing; an inode without a conflict or a winner that
        is not a site fails the task before anything is changed.
    type: raw
  wait_timeout:
    description: Seconds to wait for a sync to reach zero lag, or for the new active site to be reported.
    type: float
    default: 60
attributes:
  check_mode:
    support: full
    details: Returns the planned calls, the failover's situation and RPO, the failback's merge diff.
  diff_mode:
    support: full
    details: Before and after - active site, site state, writes blocked; winners per inode for conflicts.
  platform:
    support: full
    platforms: posix
notes:
  - List the endpoints of O(target) first for a failover, so that the cluster is read from the
    side that survives.
seealso:
  - module: resilience.dr.cfs_info
  - module: resilience.dr.cfs_s3
'''

EXAMPLES = r'''
- name: Replication lag
  resilience.dr.cfs_replication:
    endpoints: "{{ claudefs_admin_endpoints }}"
    token: "{{ claudefs_admin_token }}"

- name: Promote site-b after the loss of site-a, accepting the reported RPO
  resilience.dr.cfs_replication:
    endpoints: "{{ site_b_endpoints + site_a_endpoints }}"
    token: "{{ claudefs_admin_token }}"
    action: failover
    source: site-a
    target: site-b
    source_endpoints: "{{ site_a_endpoints }}"
    confirm_data_loss: true

- name: Ship site-b's writes back to site-a
  resilience.dr.cfs_replication:
    endpoints: "{{ claudefs_admin_endpoints }}"
    token: "{{ claudefs_admin_token }}"
    action: sync
    source: site-b
    target: site-a

- name: Manual winners after a partition
  resilience.dr.cfs_replication:
    endpoints: "{{ claudefs_admin_endpoints }}"
    token: "{{ claudefs_admin_token }}"
    action: conflicts
    strategy: manual
    choices:
      - {inode: 4711, winner: site-b}
'''

RETURN = r'''
active_site:
  description: The active site after the action.
  returned: always
  type: str
state:
  description: The active site's state (Normal, Degraded, Failover, Recovery, SplitBrain).
  returned: always
  type: str
writes_blocked:
  description: Whether a failover-prepare blocks writes on the source.
  returned: always
  type: bool
links:
  description: Per direction - source, target, lag_ops, lag_seconds, known, reachable, unreplicated.
  returned: with every action but conflicts
  type: list
  elements: dict
in_sync:
  description: Every selected link known and at zero lag.
  returned: with action status and sync
  type: bool
situation:
  description: planned, partitioned, gone or done (failover).
  returned: with action failover, step execute
  type: str
rpo:
  description:
    - What the new site lacks at promotion. C(known), C(ops) (count, null when unknown),
      C(age_seconds) (age of the oldest missing write), C(max_age_seconds) (bound), C(writes)
      (the missing writes when known), C(last_replicated_at), C(basis), C(at).
  returned: with action failover, step execute
  type: dict
rpo_sentence:
  description: The RPO in one sentence, for reports.
  returned: with action failover, step execute
  type: str
verdict:
  description: The cluster's failover test (checks, ok).
  returned: with failover_step test
  type: dict
merge:
  description:
    - The failback's dry-run diff - links, conflicts LWW decides (winner and the versions it
      overwrites), full ties, the conflict log, and the blockers that refuse the failback.
  returned: with action failback
  type: dict
conflicts:
  description: The conflicts (id, inode, path, type, sites with both versions, winner, resolved, resolution, line).
  returned: with action conflicts
  type: list
  elements: dict
conflict_log:
  description: Every conflict after a failback, with both versions.
  returned: when a failback ran
  type: list
  elements: dict
unresolved:
  description: Conflicts still unresolved.
  returned: with action conflicts
  type: int
plan:
  description: The planned API calls; destructive ones are marked.
  returned: always
  type: list
  elements: dict
executed:
  description: The calls that ran.
  returned: always
  type: list
  elements: dict
api_calls:
  description: Admin API calls made (operation, endpoint, HTTP status, attempts, seconds).
  returned: always
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.resilience.dr.plugins.module_utils.cfs.client import (
    CfsApiError, CfsClient, connection_argument_spec)
from ansible_collections.resilience.dr.plugins.module_utils.cfs.module import cfs_run
from ansible_collections.resilience.dr.plugins.module_utils.cfs.replication_manager import (
    ReplicationManager)


class Probe:
    """Asks each endpoint of the old site directly (no failover to other endpoints)."""

    def __init__(self, params, timeout):
        self.params = params
        self.timeout = timeout
        self.clients = []

    def _client(self, endpoints, timeout):
        p = self.params
        client = CfsClient(endpoints, p['token'], validate_certs=p['validate_certs'],
                           ca_path=p['ca_path'], timeout=timeout, retries=0)
        self.clients.append(client)
        return client

    def __call__(self, endpoints):
        answering = []
        for endpoint in endpoints:
            try:
                self._client([endpoint], min(self.timeout, 3.0)).call('status')
                answering.append(endpoint)
            except CfsApiError:
                continue
        return answering

    def client(self, endpoints):
        return self._client(endpoints, self.timeout)


def main():
    spec = connection_argument_spec()
    spec.update(
        action=dict(type='str', default='status',
                    choices=['status', 'sync', 'failover', 'failback', 'conflicts']),
        source=dict(type='str'),
        target=dict(type='str'),
        failover_step=dict(type='str', default='execute', choices=['test', 'prepare', 'execute']),
        source_endpoints=dict(type='list', elements='str', default=[]),
        confirm_data_loss=dict(type='bool', default=False),
        strategy=dict(type='str', default='list', choices=['list', 'last-write-wins', 'manual']),
        choices=dict(type='raw'),
        wait_timeout=dict(type='float', default=60.0),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True,
                           required_if=[('action', 'failover', ('target',)),
                                        ('action', 'sync', ('source',)),
                                        ('strategy', 'manual', ('choices',))])
    p = module.params
    # A sync or a prepare answers once the cluster is done: the request timeout covers it.
    long_timeout = max(p['timeout'], p['wait_timeout'] + 10.0)
    client = CfsClient(p['endpoints'], p['token'], validate_certs=p['validate_certs'],
                       ca_path=p['ca_path'], timeout=long_timeout, retries=p['retries'],
                       retry_delay=p['retry_delay'])
    probe = Probe(p, max(p['timeout'], 30.0))
    manager = ReplicationManager(client, check_mode=module.check_mode, probe=probe)

    def work():
        action = p['action']
        if action == 'status':
            return manager.report()
        if action == 'sync':
            return manager.sync(p['source'], p['target'], p['wait_timeout'])
        if action == 'failover':
            step = p['failover_step']
            if step == 'test':
                return manager.test(p['source'], p['target'])
            if step == 'prepare':
                return manager.prepare(p['source'], p['target'])
            result = manager.failover(p['source'], p['target'], p['source_endpoints'],
                                      p['confirm_data_loss'], p['wait_timeout'])
            result['probe_calls'] = [c for pc in probe.clients for c in pc.calls]
            return result
        if action == 'failback':
            return manager.failback(p['source'], p['target'], p['wait_timeout'])
        return manager.conflicts(p['strategy'], p['choices'])

    cfs_run(module, client, work)


if __name__ == '__main__':
    main()
