"""The conformance tests' HTTP client for the admin API: every answer checked by the contract.

``Client(endpoint, token, contract, coverage)`` sends one request per ``call`` (stdlib
http.client, one connection per call so a partition or a kill cannot leave a stale socket).
Each answer is matched to its operation and validated against the OpenAPI schema for its
status; the operation is counted in ``coverage``.  Transport failures raise ``Unreachable``
with ``definite`` telling whether the request surely never reached the server (connection
refused) or may have (a timeout, a reset): the history's *fail* versus *unknown*.
"""

import http.client
import json
import socket
import urllib.parse

from cfscheck.contract import ContractViolation

# Error codes after which the operation surely did not happen (the contract's refusals).
DEFINITE_FAILURES = {'bad_request', 'unauthorized', 'not_found', 'no_quorum', 'not_leader',
                     'refused_needs_confirmation', 'conflict', 'lag_not_zero', 'plan_stale',
                     'enospc', 's3_unavailable'}


class Unreachable(Exception):
    def __init__(self, message, definite):
        super().__init__(message)
        self.definite = definite


class Response:
    def __init__(self, status, headers, raw, operation):
        self.status = status
        self.headers = headers
        self.raw = raw
        self.operation = operation
        self.json = None
        if raw and headers.get('content-type', '').startswith('application/json'):
            self.json = json.loads(raw)

    @property
    def ok(self):
        return 200 <= self.status < 300

    @property
    def error_code(self):
        if isinstance(self.json, dict) and isinstance(self.json.get('error'), dict):
            return self.json['error'].get('code')
        return None

    def outcome(self):
        """The history outcome of a write that got this answer."""
        if self.ok:
            return 'ok'
        return 'fail' if self.error_code in DEFINITE_FAILURES else 'unknown'

    def __repr__(self):
        body = self.json if self.json is not None else self.raw[:200]
        return '<%s %d %s>' % (self.operation, self.status, body)


class Client:
    def __init__(self, endpoint, token, contract=None, coverage=None, timeout=5.0):
        parsed = urllib.parse.urlsplit(endpoint)
        self.endpoint = endpoint.rstrip('/')
        self.scheme, self.host, self.port = parsed.scheme, parsed.hostname, parsed.port
        self.token = token
        self.contract = contract
        self.coverage = coverage
        self.timeout = timeout

    def _connection(self, timeout):
        if self.scheme == 'https':
            import ssl
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # the emulator's self-signed certificate
            return http.client.HTTPSConnection(self.host, self.port or 443, timeout=timeout,
                                               context=context)
        return http.client.HTTPConnection(self.host, self.port or 80, timeout=timeout)

    def call(self, method, path, body=None, raw=None, headers=None, timeout=None, auth=True,
             validate=True):
        """One request; ``body`` is JSON, ``raw`` bytes (the data path).  Returns Response."""
        send_headers = dict(headers or {})
        if auth and self.token:
            send_headers['Authorization'] = 'Bearer %s' % self.token
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            send_headers['Content-Type'] = 'application/json'
        elif raw is not None:
            payload = raw
            send_headers['Content-Type'] = 'application/octet-stream'
        operation = None
        if self.contract is not None:
            operation = self.contract.match(method, path).id
        conn = self._connection(timeout or self.timeout)
        try:
            try:
                conn.request(method, path, body=payload, headers=send_headers)
            except ConnectionRefusedError as exc:
                raise Unreachable('%s %s%s: %s' % (method, self.endpoint, path, exc), True)
            except OSError as exc:
                raise Unreachable('%s %s%s: %s' % (method, self.endpoint, path, exc), False)
            try:
                resp = conn.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException, socket.timeout) as exc:
                raise Unreachable('%s %s%s: %s' % (method, self.endpoint, path, exc), False)
        finally:
            conn.close()
        response = Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data,
                            operation)
        if self.contract is not None and validate:
            self._check(response, method, path)
        return response

    def _check(self, response, method, path):
        content_type = response.headers.get('content-type', '').split(';')[0].strip()
        if self.coverage is not None:
            self.coverage.record(response.operation, response.status)
        if content_type == 'application/json':
            try:
                self.contract.validate(response.operation, response.status, response.json)
            except ContractViolation as exc:
                raise ContractViolation('%s %s: %s' % (method, path, exc)) from None
        else:
            # a raw body (file read) is only valid where the contract documents one
            self.contract.schema_ref(self.contract.operations[response.operation],
                                     response.status, content_type or 'application/json')

    # Shorthands -------------------------------------------------------------------------
    def get(self, path, **kw):
        return self.call('GET', path, **kw)

    def post(self, path, body=None, **kw):
        return self.call('POST', path, body=body if body is not None else {}, **kw)

    def delete(self, path, **kw):
        return self.call('DELETE', path, **kw)

    def json_ok(self, method, path, body=None, **kw):
        """A call that must succeed; returns its JSON."""
        response = self.call(method, path, body=body, **kw)
        if not response.ok:
            raise AssertionError('%s %s failed: %r' % (method, path, response))
        return response.json
