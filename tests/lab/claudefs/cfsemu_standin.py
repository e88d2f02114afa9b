"""A trivial stand-in for a node process, for the harness's own tests (not an emulator).

It does what the supervisor relies on and nothing more: serves ``/v1/health`` and a
``/v1/raft/shards`` in which every shard is led by the site's first node, writes ``ready``,
and every 50 ms sends one UDP datagram and opens one TCP connection from its own address to
every other node (so a partition's drop counters move).  SIGTERM stops it cleanly.
"""

import argparse
import json
import os
import signal
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--cluster', required=True)
    parser.add_argument('--node', required=True)
    args = parser.parse_args()
    doc = json.load(open(args.cluster))
    me = doc['nodes'][args.node]
    addr = me['address']
    shards = [{'shard': k, 'site': site, 'epoch': 0, 'term': 1,
               'leader': doc['sites'][site]['nodes'][0], 'commit_index': 0, 'members': []}
              for site in doc['sites'] for k in range(doc['shards'])]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = {'status': 'ok', 'node': args.node} if self.path == '/v1/health' else \
                {'shards': shards} if self.path == '/v1/raft/shards' else None
            self.send_response(200 if body else 404)
            self.send_header('Content-Type', 'application/json')
            self.end_headers()
            self.wfile.write(json.dumps(body or {'error': {'code': 'not_found'}}).encode())

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer((addr, doc['admin_port']), Handler)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((addr, doc['swim_port']))
    tcp = socket.socket()
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind((addr, doc['raft_base_port']))
    tcp.listen(64)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())

    def gossip():
        peers = [n['address'] for name, n in doc['nodes'].items() if name != args.node]
        while not stop.is_set():
            for peer in peers:
                udp.sendto(b'ping', (peer, doc['swim_port']))
                conn = socket.socket()
                conn.settimeout(0.05)
                try:
                    conn.bind((addr, 0))
                    conn.connect((peer, doc['raft_base_port']))
                except OSError:
                    pass
                finally:
                    conn.close()
            time.sleep(0.05)

    def accept():
        while not stop.is_set():
            conn, _ = tcp.accept()
            conn.close()

    for target in (server.serve_forever, gossip, accept):
        threading.Thread(target=target, daemon=True).start()
    open(os.path.join(me['dir'], 'ready'), 'w').close()
    stop.wait()
    server.shutdown()


if __name__ == '__main__':
    main()
