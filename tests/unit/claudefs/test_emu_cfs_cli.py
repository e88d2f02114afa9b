"""tools/cfs/cfs: the runbook's spelling becomes the contract's requests; errors become the
documented exit codes.  A local HTTP server records what the client sends."""

import importlib.machinery
import importlib.util
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
CFS = os.path.join(REPO, 'tools', 'cfs', 'cfs')


def load_cfs():
    loader = importlib.machinery.SourceFileLoader('cfs_cli', CFS)
    spec = importlib.util.spec_from_loader('cfs_cli', loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


class Recorder:
    def __init__(self):
        self.requests = []
        self.answers = {}     # (method, path prefix) -> (status, body)

    def answer(self, method, path):
        for (meth, prefix), reply in self.answers.items():
            if meth == method and path.startswith(prefix):
                return reply
        return 200, {}


@pytest.fixture
def server():
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def handle_any(self):
            length = int(self.headers.get('Content-Length') or 0)
            body = self.rfile.read(length) if length else b''
            recorder.requests.append({
                'method': self.command, 'path': self.path,
                'auth': self.headers.get('Authorization'),
                'json': json.loads(body) if body and self.headers.get(
                    'Content-Type') == 'application/json' else body})
            status, answer = recorder.answer(self.command, self.path)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = handle_any

    httpd = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    recorder.endpoint = 'http://127.0.0.1:%d' % httpd.server_address[1]
    yield recorder
    httpd.shutdown()


def run(server, *argv):
    return load_cfs().main(['--endpoint', server.endpoint, '--token', 't0k', '--json'] +
                           list(argv))


def error(code, status, **details):
    return status, {'error': {'code': code, 'message': code, 'retryable': False,
                              'details': details}}


def test_raft_status_of_one_shard_with_the_runbook_spelling(server, capsys):
    shard = {'shard': 1, 'site': 'site-a', 'epoch': 0, 'leader': 'a2', 'term': 3,
             'commit_index': 9, 'has_quorum': True, 'members': [
                 {'node': 'a2', 'role': 'Leader', 'match_index': 9, 'reachable': True}]}
    server.answers[('GET', '/v1/raft/shards/1')] = (200, shard)
    assert run(server, 'admin', 'raft-status', '--shard', '001') == 0
    req = server.requests[-1]
    assert (req['method'], req['path'], req['auth']) == ('GET', '/v1/raft/shards/1',
                                                         'Bearer t0k')
    assert json.loads(capsys.readouterr().out) == shard
    cfs = load_cfs()
    assert cfs.main(['--endpoint', server.endpoint, '--token', 't0k', 'admin', 'raft-status',
                     '--shard', '1', '--site', 'site-a']) == 0
    assert server.requests[-1]['path'] == '/v1/raft/shards/1?site=site-a'
    assert capsys.readouterr().out.startswith('Shard 001 (site-a, epoch 0): Leader=a2 term=3')


def test_force_leader_plans_then_applies_with_the_confirmation(server):
    server.answers[('POST', '/v1/raft/force-leader/plan')] = (200, {
        'plan_id': 'abc123', 'site': 'site-a', 'shards': []})
    server.answers[('POST', '/v1/raft/force-leader')] = (200, {
        'plan_id': 'abc123', 'applied': True, 'changed': True, 'shards': []})
    assert run(server, 'admin', 'raft-force-leader', '--shard', '*', '--leader', 'a3',
               '--confirm-data-loss') == 0
    plan, apply = server.requests[-2:]
    assert plan['json'] == {'shards': 'all', 'leader': 'a3'}
    assert apply['json'] == {'plan_id': 'abc123', 'confirm_data_loss': True}


def test_a_refusal_exits_3_and_names_the_flag(server, capsys):
    server.answers[('POST', '/v1/raft/force-leader/plan')] = (200, {
        'plan_id': 'abc123', 'site': 'site-a', 'shards': []})
    server.answers[('POST', '/v1/raft/force-leader')] = error(
        'refused_needs_confirmation', 409, confirm_field='confirm_data_loss', would_lose=[])
    assert run(server, 'admin', 'raft-force-leader', '--shard', '2', '--leader', 'a3') == 3
    assert server.requests[-2]['json']['shards'] == [2]
    assert '--confirm-data-loss' in capsys.readouterr().err


@pytest.mark.parametrize('code,status,exit_code', [
    ('no_quorum', 503, 4), ('not_leader', 503, 4), ('node_unreachable', 502, 5),
    ('timeout', 504, 6), ('unauthorized', 401, 7), ('enospc', 507, 8), ('lag_not_zero', 409, 3),
    ('not_found', 404, 1)])
def test_error_codes_map_to_exit_codes(server, code, status, exit_code):
    server.answers[('GET', '/v1/status')] = error(code, status)
    assert run(server, 'admin', 'status') == exit_code


def test_an_unreachable_endpoint_exits_5():
    cfs = load_cfs()
    assert cfs.main(['--endpoint', 'http://127.0.0.1:9', '--token', 'x', 'admin',
                     'status']) == 5


def test_node_and_cluster_commands(server):
    assert run(server, 'node', 'add', '--node', 'a4', '--replaces', 'a2') == 0
    assert server.requests[-1]['json'] == {'name': 'a4', 'replaces': 'a2'}
    assert run(server, 'admin', 'node-remove', 'a2', '--confirm-last-replica') == 0
    last = server.requests[-1]
    assert (last['method'], last['path']) == ('DELETE', '/v1/nodes/a2')
    assert server.requests[-1]['json'] == {'confirm_last_replica': True}
    assert run(server, 'cluster', 'init', '--bootstrap-node', 'a1', '--cluster-name', 'dr') == 0
    assert server.requests[-1]['json'] == {'cluster_name': 'dr', 'bootstrap_node': 'a1'}


def test_replication_and_conflict_commands(server):
    assert run(server, 'admin', 'failover', '--from', 'primary', '--to', 'secondary') == 0
    assert server.requests[-1]['json'] == {'from': 'primary', 'to': 'secondary',
                                           'confirm_data_loss': False}
    assert run(server, 'admin', 'resolve-conflicts', '--strategy', 'manual', '--inode', '456',
               '--winner', 'site-a') == 0
    assert server.requests[-1]['json'] == {'strategy': 'manual',
                                           'choices': [{'inode': 456, 'winner': 'site-a'}]}
    assert run(server, 'admin', 'replay-journal', '--from', '2026-02-28T00:00:00Z') == 0
    assert server.requests[-1]['json'] == {'from_time': 1772236800.0}
    assert run(server, 'admin', 'restore-metadata', '--from-snapshot',
               's3://cfs-backups/m.tar.gz') == 0
    assert server.requests[-1]['json'] == {'source': 's3://cfs-backups/m.tar.gz',
                                           'confirm_live_restore': False}
