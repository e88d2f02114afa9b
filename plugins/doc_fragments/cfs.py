# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Connection options of every cfs_* module (module_utils.cfs.client.connection_argument_spec)."""

    DOCUMENTATION = r'''
options:
  endpoints:
    description:
      - Base URLs of the ClaudeFS admin API (C(https://storage-1:8443)), one per node.
      - Any node answers any call. When one cannot be reached (connection refused, no route,
        TLS failure before sending) the next is tried, for every operation. A timeout after
        the request was sent is retried only for operations the contract marks retry-safe
        (reads, plans); others fail and say that the request may have been applied.
      - List several nodes of different sites, so that the module works while some are down.
    type: list
    elements: str
    required: true
  token:
    description:
      - The admin API's bearer token (C(cfs-mgmt)'s static token). Keep it in Ansible Vault.
      - Never logged, never returned.
    type: str
    required: true
  validate_certs:
    description: Verify the endpoints' TLS certificates. Only V(false) for a lab.
    type: bool
    default: true
  ca_path:
    description: CA bundle (PEM) that signed the endpoints' certificates.
    type: path
  timeout:
    description: Seconds to wait for one HTTP response.
    type: float
    default: 10.0
  retries:
    description:
      - Extra rounds over all endpoints for retry-safe operations when no endpoint answered
        or the cluster said the error is retryable (C(no_quorum) while an election runs).
    type: int
    default: 3
  retry_delay:
    description: Seconds before the first extra round; it doubles each round.
    type: float
    default: 0.5
notes:
  - The admin contract is C(docs/claudefs/admin-api.yaml) in this collection; every call and
    its retry rules are listed there.
  - Results carry C(api_calls) (operation, endpoint, HTTP status, attempts, seconds) and never
    the token.
'''
