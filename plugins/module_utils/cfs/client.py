# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one HTTP client of the ClaudeFS admin API, on ``ansible.module_utils.urls``.

Every ``cfs_*`` module talks to the cluster through :class:`CfsClient`:

* several node endpoints: any node answers any call, so when one endpoint cannot be reached
  the next one is tried.  A refused connection means the request never arrived, so that
  failover is safe for every operation; a timeout or a reset after the request was sent is
  only retried (on the same or the next endpoint) for operations the contract marks
  retry-safe (:data:`OPERATIONS`);
* the bearer token is sent in a header and never appears in results or messages;
* TLS verification with an optional CA bundle, a per-request timeout;
* the contract's error envelope ``{"error": {code, message, retryable, details}}`` becomes
  one exception, :class:`CfsApiError`, whatever the HTTP status.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import socket
import time

from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.six.moves.urllib.parse import quote
from ansible.module_utils.urls import ConnectionError as UrlsConnectionError, Request

# operationId -> (method, path template, retry-safe), as docs/claudefs/admin-api.yaml declares
# them (x-retry-safe; a unit test keeps the two in step).  Retry-safe means that sending the
# request twice has the same effect as sending it once: reads, and writes the contract makes
# idempotent (a force-leader is keyed by its plan id, adding a member twice changes nothing).
# A forced election is not: a second one starts another election.
OPERATIONS = {
    'health': ('GET', '/v1/health', True),
    'status': ('GET', '/v1/status', True),
    'raftStatus': ('GET', '/v1/raft/shards', True),
    'raftShardStatus': ('GET', '/v1/raft/shards/{shard}', True),
    'raftDebug': ('GET', '/v1/raft/shards/{shard}/debug', True),
    'raftForceElection': ('POST', '/v1/raft/shards/{shard}/election', False),
    'raftTransferLeader': ('POST', '/v1/raft/shards/{shard}/transfer-leader', True),
    'raftForceLeaderPlan': ('POST', '/v1/raft/force-leader/plan', True),
    'raftForceLeader': ('POST', '/v1/raft/force-leader', True),
    'nodeList': ('GET', '/v1/nodes', True),
    'nodeAdd': ('POST', '/v1/nodes', True),
    'nodeDrain': ('POST', '/v1/nodes/{node}/drain', True),
    'nodeRemove': ('DELETE', '/v1/nodes/{node}', True),
    'clusterInit': ('POST', '/v1/cluster/init', True),
    'replicationStatus': ('GET', '/v1/replication', True),
    'replicationSync': ('POST', '/v1/replication/sync', True),
    'failoverPrepare': ('POST', '/v1/replication/failover/prepare', True),
    'failoverTest': ('POST', '/v1/replication/failover/test', True),
    'failover': ('POST', '/v1/replication/failover', True),
    'failback': ('POST', '/v1/replication/failback', True),
    'conflictsList': ('GET', '/v1/conflicts', True),
    'conflictsResolve': ('POST', '/v1/conflicts/resolve', True),
    's3Health': ('GET', '/v1/s3/health', True),
    's3Failover': ('POST', '/v1/s3/failover', True),
    's3QueueStatus': ('GET', '/v1/s3/queue', True),
    'metadataSnapshot': ('POST', '/v1/metadata/snapshots', True),
    'metadataSnapshotList': ('GET', '/v1/metadata/snapshots', True),
    'metadataRestore': ('POST', '/v1/metadata/restore', True),
    'metadataConsistencyCheck': ('POST', '/v1/metadata/consistency-check', True),
    'metadataRepair': ('POST', '/v1/metadata/repair', True),
    'journalReplay': ('POST', '/v1/metadata/replay-journal', True),
    'configExport': ('GET', '/v1/config/export', True),
    # The contract's test data path (a real ClaudeFS serves files over FUSE/NFS).
    'fileList': ('GET', '/v1/files', True),
    'fileRead': ('GET', '/v1/files/{path}', True),
}

# Codes of the contract's error envelope that this collection acts on.
NO_QUORUM = 'no_quorum'
NOT_LEADER = 'not_leader'
NEEDS_CONFIRMATION = 'refused_needs_confirmation'
NODE_UNREACHABLE = 'node_unreachable'
PLAN_STALE = 'plan_stale'
UNREACHABLE = 'unreachable'  # client side: no endpoint answered at all


class CfsApiError(Exception):
    """A failed admin call: the contract's error code, its message and details.

    ``code`` is the envelope's stable code (``no_quorum``, ``plan_stale``...) or
    ``unreachable`` when no endpoint answered; ``status`` the HTTP status (None when no
    response arrived); ``endpoint`` the endpoint that answered or was tried last.
    """

    def __init__(self, code, message, status=None, details=None, retryable=False,
                 operation=None, endpoint=None):
        self.code = code
        self.status = status
        self.details = details or {}
        self.retryable = bool(retryable)
        self.operation = operation
        self.endpoint = endpoint
        self.api_message = message
        super(CfsApiError, self).__init__(message)

    def __str__(self):
        text = '%s: %s' % (self.code, self.api_message)
        if self.operation:
            text = '%s failed (%s)' % (self.operation, text)
        return text

    def as_result(self):
        """Fields for ``fail_json``: what failed, where, and the contract's own words."""
        return {'error_code': self.code, 'http_status': self.status,
                'error_details': self.details, 'operation': self.operation,
                'endpoint': self.endpoint}


def connection_argument_spec():
    """The connection options every cfs_* module shares (doc fragment resilience.dr.cfs)."""
    return dict(
        endpoints=dict(type='list', elements='str', required=True),
        token=dict(type='str', required=True, no_log=True),
        validate_certs=dict(type='bool', default=True),
        ca_path=dict(type='path'),
        timeout=dict(type='float', default=10.0),
        retries=dict(type='int', default=3),
        retry_delay=dict(type='float', default=0.5),
    )


def redact(url):
    """``url`` without ``user:password@`` - endpoints appear in results and messages."""
    scheme, sep, rest = url.partition('://')
    if not sep:
        return url.rpartition('@')[2]
    host, slash, path = rest.partition('/')
    return '%s://%s%s%s' % (scheme, host.rpartition('@')[2], slash, path)


def client_from_module(module):
    p = module.params
    return CfsClient(p['endpoints'], p['token'], validate_certs=p['validate_certs'],
                     ca_path=p['ca_path'], timeout=p['timeout'], retries=p['retries'],
                     retry_delay=p['retry_delay'])


def _envelope(raw, status):
    """The contract's error envelope from a response body, or a synthetic one."""
    try:
        body = json.loads(to_text(raw or b'{}', errors='surrogate_or_replace'))
    except ValueError:
        body = None
    err = body.get('error') if isinstance(body, dict) else None
    if isinstance(err, dict) and err.get('code'):
        return (err['code'], err.get('message') or err['code'], err.get('details') or {},
                bool(err.get('retryable')))
    text = to_text(raw or b'', errors='surrogate_or_replace').strip()[:300]
    return ('http_%s' % status, text or 'HTTP %s without an error envelope' % status, {},
            status in (502, 503, 504))


class CfsClient:
    """Calls admin operations by operationId; see :data:`OPERATIONS`.

    ``calls`` records every request (operation, endpoint, status, seconds, attempts) for the
    modules' results; it never holds the token or request bodies.
    """

    def __init__(self, endpoints, token, validate_certs=True, ca_path=None, timeout=10.0,
                 retries=3, retry_delay=0.5, sleep=time.sleep):
        if not endpoints:
            raise ValueError('at least one endpoint is required')
        self.endpoints = [e.rstrip('/') for e in endpoints]
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.retry_delay = retry_delay
        self.sleep = sleep
        self.calls = []
        self._preferred = 0
        self._request = Request(
            headers={'Authorization': 'Bearer %s' % token, 'Accept': 'application/json'},
            use_proxy=False, timeout=timeout, validate_certs=validate_certs, ca_path=ca_path,
            follow_redirects='none', use_netrc=False, http_agent='resilience.dr-cfs')

    # -- the one entry point -------------------------------------------------------------
    def call(self, operation, body=None, query=None, raw=False, **path_args):
        """Run ``operation``; return the decoded JSON (a dict or a list).

        With ``raw``, return ``(body bytes, headers dict)`` instead (file content).
        Raises :class:`CfsApiError`.  Endpoints are tried in order, starting with the one
        that answered last; an unreachable endpoint moves on to the next.
        """
        method, template, retry_safe = OPERATIONS[operation]
        # A file path keeps its slashes (the contract's {path} may contain them).
        path = template.format(**dict((k, quote(str(v), safe='/' if k == 'path' else ''))
                                      for k, v in path_args.items()))
        if query:
            path += '?' + '&'.join('%s=%s' % (k, quote(str(v), safe=''))
                                   for k, v in sorted(query.items()) if v is not None)
        data = json.dumps(body).encode('utf-8') if body is not None else None
        rounds = 1 + (self.retries if retry_safe else 0)
        last = None
        attempts = 0
        started = time.time()
        for round_no in range(rounds):
            if round_no:
                self.sleep(self.retry_delay * (2 ** (round_no - 1)))
            for offset in range(len(self.endpoints)):
                index = (self._preferred + offset) % len(self.endpoints)
                endpoint = self.endpoints[index]
                attempts += 1
                try:
                    status, payload = self._send(method, endpoint + path, data, raw)
                except _Unsent as exc:
                    # Never arrived: any operation may go to the next endpoint.
                    last = CfsApiError(UNREACHABLE, '%s: %s' % (redact(endpoint), exc),
                                       operation=operation, endpoint=redact(endpoint),
                                       retryable=True)
                    continue
                except _MaybeSent as exc:
                    last = CfsApiError(UNREACHABLE, '%s: %s' % (redact(endpoint), exc),
                                       operation=operation, endpoint=redact(endpoint),
                                       retryable=retry_safe)
                    if not retry_safe:
                        self._record(operation, endpoint, None, started, attempts)
                        last.api_message += (' (the request may have been applied; %s is not '
                                             'retried automatically - read the state before '
                                             'sending it again)' % operation)
                        raise last
                    continue
                except _ApiFailure as exc:
                    self._record(operation, endpoint, exc.error.status, started, attempts)
                    exc.error.operation = operation
                    exc.error.endpoint = redact(endpoint)
                    if exc.error.retryable and retry_safe and exc.error.code != NOT_LEADER:
                        last = exc.error
                        break  # next round, after a pause
                    raise exc.error
                self._preferred = index
                self._record(operation, endpoint, status, started, attempts)
                return payload
        self._record(operation, last.endpoint if last else None, last.status if last else None,
                     started, attempts)
        if last is not None and last.code == UNREACHABLE:
            shown = [redact(e) for e in self.endpoints]
            raise CfsApiError(UNREACHABLE, 'no endpoint answered %s after %d attempts (%s); last '
                              'error: %s' % (operation, attempts, ', '.join(shown),
                                             last.api_message),
                              operation=operation, endpoint=last.endpoint,
                              details={'endpoints': shown})
        raise last

    def _record(self, operation, endpoint, status, started, attempts):
        endpoint = redact(endpoint) if endpoint else endpoint
        self.calls.append({'operation': operation, 'endpoint': endpoint, 'status': status,
                           'attempts': attempts, 'seconds': round(time.time() - started, 3)})

    def _send(self, method, url, data, raw_body=False):
        headers = {'Content-Type': 'application/json'} if data is not None else None
        try:
            resp = self._request.open(method, url, data=data, headers=headers)
            raw = resp.read()
            status = resp.getcode()
        except HTTPError as exc:
            raw = exc.read() if hasattr(exc, 'read') else b''
            code, message, details, retryable = _envelope(raw, exc.code)
            raise _ApiFailure(CfsApiError(code, message, status=exc.code, details=details,
                                          retryable=retryable))
        except URLError as exc:
            # urllib wraps only connect/send failures in URLError: the request did not
            # arrive whole, so the server cannot have applied it.
            raise _Unsent(to_native(getattr(exc, 'reason', exc)))
        except UrlsConnectionError as exc:
            # TLS validation or proxy trouble before anything was sent.
            raise _Unsent(to_native(exc))
        except (socket.timeout, OSError) as exc:
            # Waiting for the response (timeout, reset): it may have been applied.
            raise _MaybeSent(to_native(exc) or type(exc).__name__)
        if raw_body:
            return status, (raw, dict((k.lower(), v) for k, v in resp.headers.items()))
        if not raw:
            return status, {}
        try:
            return status, json.loads(to_text(raw, errors='surrogate_or_strict'))
        except ValueError:
            raise _ApiFailure(CfsApiError('bad_response', 'not JSON: %r' % raw[:200],
                                          status=status))


class _Unsent(Exception):
    """The connection was refused or the name did not resolve: the request never left."""


class _MaybeSent(Exception):
    """Timeout or reset: the server may have received (and applied) the request."""


class _ApiFailure(Exception):
    def __init__(self, error):
        super(_ApiFailure, self).__init__(str(error))
        self.error = error
