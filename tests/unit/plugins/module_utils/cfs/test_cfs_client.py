# -*- coding: utf-8 -*-
"""module_utils/cfs/client.py against a real HTTP server on loopback.

The server here is a scripted stand-in (real sockets, scripted answers) for the client's
transport rules: failover only when a request never arrived, retries only for retry-safe
operations, the error envelope, the token. The behaviour against the emulator is covered by
tests/claudefs_e2e/.
"""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.resilience.dr.plugins.module_utils.cfs import client as cfs_client

TOKEN = 's3cr3t-admin-token'


class Script:
    def __init__(self, answers):
        self.answers = list(answers)   # (status, body or None, delay)
        self.seen = []


def serve(script):
    class Handler(BaseHTTPRequestHandler):
        def _answer(self):
            length = int(self.headers.get('Content-Length') or 0)
            body = self.rfile.read(length) if length else b''
            script.seen.append({'method': self.command, 'path': self.path,
                                'auth': self.headers.get('Authorization'),
                                'body': json.loads(body) if body else None})
            status, payload, delay = script.answers.pop(0) if len(script.answers) > 1 \
                else script.answers[0]
            time.sleep(delay)
            raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
            except (BrokenPipeError, ConnectionResetError):
                pass

        do_GET = do_POST = do_DELETE = _answer

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, 'http://127.0.0.1:%d' % server.server_address[1]


@pytest.fixture
def server():
    made = []

    def make(*answers):
        script = Script(answers)
        srv, url = serve(script)
        made.append(srv)
        return script, url
    yield make
    for srv in made:
        srv.shutdown()
        srv.server_close()


def closed_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return 'http://127.0.0.1:%d' % port


def make_client(endpoints, **kw):
    kw.setdefault('sleep', lambda s: None)
    return cfs_client.CfsClient(endpoints, TOKEN, **kw)


def test_bearer_token_sent_and_never_recorded(server):
    script, url = server((200, {'cluster_name': 'c1'}, 0))
    c = make_client([url])
    assert c.call('status') == {'cluster_name': 'c1'}
    assert script.seen[0]['auth'] == 'Bearer ' + TOKEN
    assert TOKEN not in json.dumps(c.calls)
    assert c.calls[0]['operation'] == 'status' and c.calls[0]['status'] == 200


def test_refused_endpoint_fails_over_even_for_unsafe_operations(server):
    script, url = server((200, {'plan_id': 'p1', 'shards': []}, 0))
    c = make_client([closed_port(), url])
    c.call('raftForceElection', body={'site': 'site-a'}, shard=2)
    assert len(script.seen) == 1 and script.seen[0]['body'] == {'site': 'site-a'}
    assert c.calls[0]['attempts'] == 2 and c.calls[0]['endpoint'] == url
    # the endpoint that answered is tried first next time
    c.call('status')
    assert c.calls[1]['attempts'] == 1


def test_timeout_after_sending_is_not_retried_for_unsafe_operations(server):
    script, url = server((200, {}, 1.5))
    other_script, other = server((200, {}, 0))
    c = make_client([url, other], timeout=0.5)
    with pytest.raises(cfs_client.CfsApiError) as exc:
        c.call('raftForceElection', body={'site': 'site-a'}, shard=1)
    assert exc.value.code == 'unreachable'
    assert 'may have been applied' in str(exc.value)
    assert len(script.seen) == 1 and other_script.seen == []


def test_timeout_on_a_read_goes_to_the_next_endpoint(server):
    slow, url = server((200, {}, 1.5))
    fast, other = server((200, {'shards': []}, 0))
    c = make_client([url, other], timeout=0.5)
    assert c.call('raftStatus') == {'shards': []}
    assert len(slow.seen) == 1 and len(fast.seen) == 1


def test_error_envelope_becomes_one_exception(server):
    envelope = {'error': {'code': 'refused_needs_confirmation', 'message': 'may lose 3 entries',
                          'retryable': False,
                          'details': {'would_lose': {'1': 3}, 'confirm_field': 'confirm_data_loss'}}}
    script, url = server((409, envelope, 0))
    c = make_client([url])
    with pytest.raises(cfs_client.CfsApiError) as exc:
        c.call('raftForceLeader', body={'plan_id': 'p'})
    e = exc.value
    assert (e.code, e.status, e.api_message) == ('refused_needs_confirmation', 409,
                                                 'may lose 3 entries')
    assert e.details['confirm_field'] == 'confirm_data_loss'
    assert e.as_result()['error_code'] == 'refused_needs_confirmation'
    assert len(script.seen) == 1


def test_retryable_errors_retried_only_for_safe_operations(server):
    no_quorum = {'error': {'code': 'no_quorum', 'message': 'election running', 'retryable': True,
                           'details': {}}}
    script, url = server((503, no_quorum, 0), (503, no_quorum, 0), (200, {'shards': [1]}, 0))
    c = make_client([url], retries=3)
    assert c.call('raftStatus') == {'shards': [1]}
    assert len(script.seen) == 3

    script, url = server((503, no_quorum, 0), (200, {}, 0))
    c = make_client([url], retries=3)
    with pytest.raises(cfs_client.CfsApiError) as exc:
        c.call('raftForceElection', body={}, shard=3)
    assert exc.value.code == 'no_quorum' and len(script.seen) == 1
    assert script.seen[0]['path'] == '/v1/raft/shards/3/election'


def test_retries_give_up_with_the_last_error(server):
    no_quorum = {'error': {'code': 'no_quorum', 'message': 'no majority', 'retryable': True}}
    script, url = server((503, no_quorum, 0))
    delays = []
    c = cfs_client.CfsClient([url], TOKEN, retries=2, retry_delay=0.1, sleep=delays.append)
    with pytest.raises(cfs_client.CfsApiError, match='no_quorum'):
        c.call('status')
    assert len(script.seen) == 3 and delays == [0.1, 0.2]


def test_nothing_answers(server):
    c = make_client([closed_port(), closed_port()], retries=1)
    with pytest.raises(cfs_client.CfsApiError) as exc:
        c.call('status')
    assert exc.value.code == 'unreachable'
    assert 'after 4 attempts' in str(exc.value)


def test_response_without_envelope(server):
    script, url = server((500, b'<html>boom</html>', 0))
    c = make_client([url], retries=0)
    with pytest.raises(cfs_client.CfsApiError) as exc:
        c.call('nodeList')
    assert exc.value.code == 'http_500' and 'boom' in exc.value.api_message


def test_path_arguments_are_quoted(server):
    script, url = server((200, {}, 0))
    make_client([url]).call('nodeRemove', node='../x y')
    assert script.seen[0]['path'] == '/v1/nodes/..%2Fx%20y'
    assert script.seen[0]['method'] == 'DELETE'


def test_retry_table_matches_the_contract():
    """OPERATIONS agrees with docs/claudefs/admin-api.yaml (method, path, x-retry-safe)."""
    yaml = pytest.importorskip('yaml')
    import os
    root = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', '..')
    path = os.path.join(root, 'docs', 'claudefs', 'admin-api.yaml')
    if not os.path.exists(path):
        pytest.skip('the contract is not in this checkout yet')
    with open(path) as f:
        spec = yaml.safe_load(f)
    declared = {}
    for route, methods in spec['paths'].items():
        for method, op in methods.items():
            if isinstance(op, dict) and 'operationId' in op:
                declared[op['operationId']] = (method.upper(), route, op.get('x-retry-safe'))
    for name, entry in cfs_client.OPERATIONS.items():
        assert declared[name] == entry, name


def test_credentials_in_endpoint_urls_never_reach_results(server):
    script, url = server((200, {}, 0))
    secret = url.replace('http://', 'http://admin:hunter2@')
    c = make_client([closed_port().replace('http://', 'http://u:pw-in-url@'), secret])
    c.call('status')
    assert 'hunter2' not in json.dumps(c.calls) and 'pw-in-url' not in json.dumps(c.calls)
    c = make_client(['http://u:pw-in-url@127.0.0.1:9'], retries=0)
    with pytest.raises(cfs_client.CfsApiError) as exc:
        c.call('status')
    assert 'pw-in-url' not in str(exc.value) and 'pw-in-url' not in json.dumps(exc.value.details)
    assert cfs_client.redact('https://a:b@h:8443/x') == 'https://h:8443/x'
