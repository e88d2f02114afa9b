#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r'''
---
module: cfs_cluster
short_description: Initialise a new, empty ClaudeFS cluster (complete-loss rebuild)
version_added: 0.2.0
author: resilience.dr contributors (@resilience-dr)
description:
  - O(state=initialized) names a new cluster, bootstrapped from one node, after a complete
    loss and before its metadata is restored (the runbook's C(cfs cluster init)).
  - The cluster refuses an init while it holds files (init only names a new, empty cluster);
    the refusal is returned as the failure and nothing is changed.
  - Before anything is sent, the S3 endpoint the data lives in must be reachable
    (C(s3Health)) - the new cluster reads the file content back from it, so an init with no
    reachable bucket would only lead to a restore whose files cannot be read.
extends_documentation_fragment:
  - resilience.dr.cfs
  - ansible.builtin.action_common_attributes
options:
  state:
    description: C(initialized) is the only state.
    type: str
    choices: [initialized]
    default: initialized
  cluster_name:
    description: The new cluster's name. The same name again on an initialised, empty cluster is unchanged.
    type: str
    required: true
  bootstrap_node:
    description: The node the new cluster is bootstrapped from.
    type: str
    required: true
  require_s3:
    description: Fail before the init when the cluster's current S3 target is not reachable.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    details: Returns the planned call and the S3 state; sends nothing that changes the cluster.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
seealso:
  - module: resilience.dr.cfs_metadata
  - module: resilience.dr.cfs_info
'''

EXAMPLES = r'''
- name: Name the rebuilt cluster
  resilience.dr.cfs_cluster:
    endpoints: "{{ claudefs_admin_endpoints }}"
    token: "{{ claudefs_admin_token }}"
    cluster_name: claudefs-prod-dr
    bootstrap_node: a1
'''

RETURN = r'''
init:
  description: The cluster's answer (cluster_name, bootstrap_node, changed, epoch).
  returned: when the init ran
  type: dict
s3:
  description: The S3 endpoints as the cluster sees them (name, reachable, error) and the current target.
  returned: always
  type: dict
plan:
  description: The planned API calls.
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
from ansible_collections.resilience.dr.plugins.module_utils.runner import Plan
from ansible_collections.resilience.dr.plugins.module_utils.cfs.client import (
    client_from_module, connection_argument_spec)
from ansible_collections.resilience.dr.plugins.module_utils.cfs.module import cfs_run
from ansible_collections.resilience.dr.plugins.module_utils.cfs.raft import PlanningError


def s3_view(health):
    endpoints = health.get('endpoints') or []
    target = health.get('target') or health.get('active')
    return {'target': target, 'healthy': health.get('healthy'),
            'endpoints': [{'name': e.get('name'), 'reachable': e.get('reachable'),
                           'error': e.get('error')} for e in endpoints]}


def main():
    spec = connection_argument_spec()
    spec.update(
        state=dict(type='str', choices=['initialized'], default='initialized'),
        cluster_name=dict(type='str', required=True),
        bootstrap_node=dict(type='str', required=True),
        require_s3=dict(type='bool', default=True),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    client = client_from_module(module)

    def work():
        s3 = s3_view(client.call('s3Health'))
        reachable = [e['name'] for e in s3['endpoints'] if e['reachable']]
        if p['require_s3'] and (s3['target'] not in reachable if s3['target'] else
                                not reachable):
            raise PlanningError('the S3 target %s is not reachable (%s): the data of the new '
                                'cluster lives there; bring it back or switch the target '
                                '(s3Failover) first' % (s3['target'], '; '.join(
                                    '%s: %s' % (e['name'], e['error']) for e in s3['endpoints']
                                    if not e['reachable']) or 'no endpoint reachable'))
        plan = Plan()
        body = {'cluster_name': p['cluster_name'], 'bootstrap_node': p['bootstrap_node']}
        plan.add('POST /v1/cluster/init cluster_name=%s bootstrap_node=%s' % (
            p['cluster_name'], p['bootstrap_node']),
            action=lambda: client.call('clusterInit', body=body))
        status = client.call('status')
        if status.get('cluster_name', status.get('name')) == p['cluster_name']:
            return {'changed': False, 's3': s3, 'plan': [], 'executed': [],
                    'init': {'cluster_name': p['cluster_name'], 'changed': False}}
        if module.check_mode:
            return {'changed': True, 's3': s3, 'plan': plan.as_list(), 'executed': []}
        init = plan.steps[0].action()
        plan.done.append(plan.steps[0].as_dict())
        return {'changed': bool(init.get('changed', True)), 'init': init, 's3': s3,
                'plan': plan.as_list(), 'executed': plan.done}

    cfs_run(module, client, work)


if __name__ == '__main__':
    main()
