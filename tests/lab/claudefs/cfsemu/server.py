"""The admin HTTP server: routing, bearer auth, JSON bodies and the error envelope."""

import hmac
import json
import logging
import re
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from cfsemu.errors import ApiError

LOG = logging.getLogger('cfsemu.server')


class Request:
    """What a handler sees: params from the path, the query, the body and the headers."""

    def __init__(self, method, params, query, body, headers):
        self.method = method
        self.params = params
        self.query = query
        self.raw = body
        self.headers = headers
        self._json = None

    def json(self):
        if self._json is None:
            if not self.raw:
                self._json = {}
            else:
                try:
                    self._json = json.loads(self.raw)
                except ValueError as exc:
                    raise ApiError('bad_request', 'request body is not JSON: %s' % exc)
                if not isinstance(self._json, dict):
                    raise ApiError('bad_request', 'request body must be a JSON object')
        return self._json

    def arg(self, name, default=None):
        body = self.json() if self.method in ('POST', 'PUT', 'DELETE') and self.raw else {}
        if name in body:
            return body[name]
        values = self.query.get(name)
        if values:
            return values[0]
        return default

    def flag(self, name, default=False):
        value = self.arg(name, default)
        if isinstance(value, str):
            return value.lower() in ('1', 'true', 'yes', 'on')
        return bool(value)


class Raw:
    """A non-JSON response body (file content)."""

    def __init__(self, data, headers=None, status=200):
        self.data = data
        self.headers = headers or {}
        self.status = status


class Router:
    def __init__(self):
        self.routes = []

    def add(self, method, pattern, handler, auth=True):
        regex = re.compile('^' + re.sub(r'\{(\w+)\}', r'(?P<\1>[^/]+)',
                                        pattern.replace('{path+}', '(?P<path>.+)')) + '$')
        self.routes.append((method, regex, handler, auth))

    def match(self, method, path):
        allowed = False
        for meth, regex, handler, auth in self.routes:
            found = regex.match(path)
            if found:
                if meth == method:
                    return handler, {k: unquote(v) for k, v in found.groupdict().items()}, auth
                allowed = True
        if allowed:
            raise ApiError('bad_request', 'method %s not allowed on %s' % (method, path))
        raise ApiError('not_found', 'no operation at %s %s' % (method, path))


def make_handler(router, token, stats):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'
        server_version = 'cfsemu'

        def log_message(self, fmt, *args):  # quiet; the node log gets errors only
            LOG.debug(fmt, *args)

        def _dispatch(self, method):
            started = time.monotonic()
            split = urlsplit(self.path)
            length = int(self.headers.get('Content-Length') or 0)
            body = self.rfile.read(length) if length else b''
            try:
                handler, params, auth = router.match(method, split.path)
                if auth:
                    given = self.headers.get('Authorization', '')
                    if not hmac.compare_digest(given.encode(), ('Bearer %s' % token).encode()):
                        raise ApiError('unauthorized', 'missing or wrong bearer token')
                result = handler(Request(method, params, parse_qs(split.query), body,
                                         self.headers))
                if isinstance(result, Raw):
                    self._send(result.status, result.data, result.headers)
                else:
                    status = 200
                    if isinstance(result, tuple):
                        status, result = result
                    self._send_json(status, result)
            except ApiError as exc:
                self._send_json(exc.status, exc.envelope())
            except Exception as exc:  # pylint: disable=broad-except
                LOG.error('handler failed: %s\n%s', exc, traceback.format_exc())
                err = ApiError('internal', 'internal error: %s' % exc)
                self._send_json(err.status, err.envelope())
            stats.observe(method, split.path, time.monotonic() - started)

        def _send_json(self, status, obj):
            self._send(status, json.dumps(obj, sort_keys=True).encode(),
                       {'Content-Type': 'application/json'})

        def _send(self, status, data, headers):
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            if self.command != 'HEAD':
                self.wfile.write(data)

        def do_GET(self):  # noqa: N802
            self._dispatch('GET')

        def do_POST(self):  # noqa: N802
            self._dispatch('POST')

        def do_PUT(self):  # noqa: N802
            self._dispatch('PUT')

        def do_DELETE(self):  # noqa: N802
            self._dispatch('DELETE')

    return Handler


class AdminServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def serve(address, port, router, token, stats):
    return AdminServer((address, port), make_handler(router, token, stats))
