"""A minimal JSON-over-HTTP client for the admin API (stdlib only), for the supervisor.

The conformance tests have their own client (``cfscheck.api``) that records every call and
validates it against the contract; this one only waits for readiness.
"""

import json
import urllib.error
import urllib.request


class AdminError(RuntimeError):
    def __init__(self, message, status=None, body=None):
        super().__init__(message)
        self.status = status
        self.body = body


class Admin:
    def __init__(self, endpoint, token):
        self.endpoint = endpoint.rstrip('/')
        self.token = token

    def request(self, method, path, body=None, timeout=5.0):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.endpoint + path, data=data, method=method)
        req.add_header('Authorization', 'Bearer %s' % self.token)
        if data is not None:
            req.add_header('Content-Type', 'application/json')
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                payload = json.loads(raw or b'null')
            except ValueError:
                payload = raw
            raise AdminError('%s %s: HTTP %d %s' % (method, path, exc.code, payload),
                             exc.code, payload) from None
        except (OSError, urllib.error.URLError) as exc:
            raise AdminError('%s %s: %s' % (method, path, exc)) from None
        return json.loads(raw) if raw else None

    def get(self, path, timeout=5.0):
        return self.request('GET', path, timeout=timeout)

    def post(self, path, body=None, timeout=5.0):
        return self.request('POST', path, body if body is not None else {}, timeout=timeout)
