# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The end of every cfs_* module's ``main()``: errors in one shape, the client's calls kept."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.resilience.dr.plugins.module_utils.runner import run_module
from ansible_collections.resilience.dr.plugins.module_utils.cfs.client import (
    CfsApiError, NEEDS_CONFIRMATION, NO_QUORUM, UNREACHABLE)
from ansible_collections.resilience.dr.plugins.module_utils.cfs.raft import PlanningError

_NEXT = {
    UNREACHABLE: 'check that the nodes in endpoints are up and reachable from this host '
                 '(cfs_info with several endpoints shows which answer)',
    NO_QUORUM: 'the shard has no majority: cfs_raft state=healthy shows which shards lost '
               'quorum, force_leader rebuilds them',
    'unauthorized': 'the admin token was rejected: check the token option (Vault variable)',
    NEEDS_CONFIRMATION: 'the cluster refused a destructive step; read error_details.would_lose',
}


def cfs_run(module, client, work):
    """Run ``work()`` (returns the result dict); API and planning errors fail cleanly.

    Every result and failure carries ``api_calls`` (operation, endpoint, status, seconds),
    never the token.  A failure says nothing was changed unless the result said otherwise.
    """
    def wrapped():
        try:
            result = work()
        except CfsApiError as exc:
            hint = _NEXT.get(exc.code)
            msg = str(exc) + (' -- next: %s' % hint if hint else '')
            module.fail_json(msg=msg, changed=False, api_calls=client.calls, **exc.as_result())
        except PlanningError as exc:
            module.fail_json(msg='%s; nothing was changed' % exc, changed=False,
                             api_calls=client.calls)
        result['api_calls'] = client.calls
        if result.pop('failed', False):
            msg = result.pop('msg')
            module.fail_json(msg=msg, **result)
        if not module._diff:
            result.pop('diff', None)
        return result
    run_module(module, wrapped)
