"""HTTP calls from one node to another (forwarding and the internal endpoints)."""

import http.client
import json
import socket

from cfsemu.errors import ApiError


# set by the node when cluster.json has "tls": true (a context trusting the cluster's cert)
TLS_CONTEXT = None


class PeerError(Exception):
    """The peer could not be reached or timed out (the request may or may not have run)."""


def call(address, port, token, method, path, body=None, timeout=3.0, raw=False, headers=None):
    """One request; returns (status, decoded body). Raises PeerError when unreachable."""
    if TLS_CONTEXT is not None:
        conn = http.client.HTTPSConnection(address, port, timeout=timeout, context=TLS_CONTEXT)
    else:
        conn = http.client.HTTPConnection(address, port, timeout=timeout)
    hdrs = {'Authorization': 'Bearer %s' % token}
    hdrs.update(headers or {})
    data = None
    if body is not None:
        if isinstance(body, (bytes, bytearray)):
            data = bytes(body)
        else:
            data = json.dumps(body).encode()
            hdrs['Content-Type'] = 'application/json'
    try:
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        payload = resp.read()
        resp_headers = dict(resp.getheaders())
    except (OSError, socket.timeout, http.client.HTTPException) as exc:
        raise PeerError('%s:%s %s %s: %s' % (address, port, method, path, exc)) from exc
    finally:
        conn.close()
    if raw and resp.status == 200:
        return resp.status, payload, resp_headers
    try:
        decoded = json.loads(payload) if payload else {}
    except ValueError:
        decoded = {'raw': payload.decode('latin-1')}
    if raw:
        return resp.status, decoded, resp_headers
    return resp.status, decoded


def reraise(status, body):
    """Turn a peer's error envelope back into the same ApiError."""
    err = body.get('error') if isinstance(body, dict) else None
    if not err:
        raise ApiError('internal', 'peer answered %s without an error envelope' % status)
    exc = ApiError(err['code'], err.get('message', ''), **err.get('details', {}))
    exc.status = status
    raise exc
