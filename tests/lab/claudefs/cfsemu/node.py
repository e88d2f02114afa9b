"""One emulated ClaudeFS storage node: ``python -m cfsemu.node --cluster cluster.json --node a1``.

It serves the admin API on <address>:8443, Prometheus metrics on <address>:9100, SWIM on UDP
7946 and one Raft group member per shard of its site; it writes ``<node dir>/ready`` once the
admin API answers and removes it on a clean stop (SIGTERM/SIGINT).
"""

import argparse
import faulthandler
import logging
import os
import signal
import ssl
import sys
import threading
import time

if __package__ in (None, ''):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from cfsemu import config, netbind, peers  # noqa: E402  pylint: disable=wrong-import-position
from cfsemu.control import Control  # noqa: E402
from cfsemu.disk import MetaStore  # noqa: E402
from cfsemu.errors import ApiError  # noqa: E402
from cfsemu.server import Router, serve  # noqa: E402
from cfsemu.shards import ShardGroups  # noqa: E402
from cfsemu.swim import Swim  # noqa: E402

LOG = logging.getLogger('cfsemu.node')
VERSION = '0.1.0-emulator'
OPS_MODULES = ('ops_core', 'ops_files', 'ops_raft', 'ops_force', 'ops_nodes', 'ops_s3',
               'sitecalls', 'ops_meta', 'ops_repl')


class Node:
    """Wires the parts of a node together; the operations live in the ops_* modules."""

    def __init__(self, cluster, name):
        self.cluster = cluster
        self.name = name
        self.site = cluster.site_of(name)
        self.address = cluster.address(name)
        self.dir = cluster.node_dir(name)
        self.started = time.time()
        for sub in ('flash', 'meta', 'raft'):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        self.meta = MetaStore(self.dir)
        self.control = Control(self)
        self.shards = ShardGroups(self)
        self.swim = Swim(self)
        self.router = Router()
        self.extras = {}
        self.stopping = threading.Event()
        # set once a peer confirmed our control record is current: a fenced node coming back
        # with an old record must not serve writes from its stale groups meanwhile
        self.control_fresh = threading.Event()
        from cfsemu import metrics  # local: prometheus registry per process
        self.metrics = metrics.Metrics(self)

    # ---- helpers used by the ops modules ----------------------------------------------
    def node_of_addr(self, addr):
        """'127.77.1.2:7103' (or a pysyncobj Node) -> 'a2'."""
        if addr is None:
            return None
        host = str(getattr(addr, 'address', addr)).rsplit(':', 1)[0]
        for node, spec in list(self.control.peek()['nodes'].items()):
            if spec['address'] == host:
                return node
        return None

    def meta_apply(self, shard, seq, op, record):
        entry = self.shards.groups.get(shard)      # no lock: called in the tick thread
        if op != 'install' and entry and entry[2]._isLeader():  # pylint: disable=W0212
            self.swim.announce()
        if op == 'install':
            self.meta.write_record(shard, record)
        elif record.get('deleted'):
            self.meta.append(shard, seq, op, record)
            self.meta.drop_record(shard, record['inode'])
        else:
            self.meta.append(shard, seq, op, record)

    def shard_view(self):
        view = {}
        for shard, sm in self.shards.all().items():
            try:
                st = sm.getStatus()
            except Exception:  # pylint: disable=broad-except
                continue
            view[str(shard)] = [self.node_of_addr(st['leader']), st['commit_idx'],
                                st['leader_commit_idx'] or 0, sm.st['seq'],
                                self.shards.epoch(shard), st['state'], bool(st['has_quorum'])]
        return view

    def nodes_of_site(self, site, alive_only=False):
        nodes = self.control.snapshot()['nodes']
        out = [n for n, spec in sorted(nodes.items())
               if spec['site'] == site and spec['state'] not in ('removed', 'fenced')]
        if alive_only:
            # Alive first (self first of all), then Suspect; Dead ones are left out
            rank = {'Alive': 1, 'Suspect': 2}
            ranked = [(0 if n == self.name else rank.get(self.swim.state(n)[0], 9), n)
                      for n in out]
            out = [n for r, n in sorted(ranked) if r < 9]
        return out

    def call(self, node, method, path, body=None, timeout=3.0, raw=False, headers=None):
        address = self.control.snapshot()['nodes'][node]['address']
        return peers.call(address, self.cluster.admin_port(), self.cluster.token, method, path,
                          body, timeout=timeout, raw=raw, headers=headers)

    def call_ok(self, node, method, path, body=None, timeout=3.0):
        """Call a peer; its error envelope becomes the same ApiError here."""
        try:
            status, answer = self.call(node, method, path, body, timeout=timeout)
        except peers.PeerError as exc:
            raise ApiError('node_unreachable', 'node %s did not answer: %s' % (node, exc),
                           node=node)
        if status >= 400:
            peers.reraise(status, answer)
        return answer

    def call_any(self, site, method, path, body=None, timeout=3.0):
        """Call the first node of a site that answers (self excluded)."""
        last = None
        for node in self.nodes_of_site(site, alive_only=True):
            if node == self.name:
                continue
            try:
                return node, self.call_ok(node, method, path, body, timeout=timeout)
            except ApiError as exc:
                if exc.code != 'node_unreachable':
                    raise
                last = exc
        raise last or ApiError('node_unreachable', 'no node of %s answers' % site, site=site)

    def mark_split_brain(self, value):
        fo = self.control.snapshot().get('failover', {})
        if bool(fo.get('split_brain')) != value:
            self.control.update(lambda r: r['failover'].__setitem__('split_brain', value))

    def push_control(self):
        record = self.control.snapshot()
        for node in record['nodes']:
            if node != self.name and record['nodes'][node]['state'] != 'removed':
                try:
                    self.call(node, 'POST', '/v1/internal/control', record, timeout=1.0)
                except peers.PeerError:
                    pass

    def pull_control(self, node):
        def pull():
            try:
                status, record = self.call(node, 'GET', '/v1/internal/control', timeout=1.0)
                if status == 200:
                    self.control.offer(record)
                    self.control_fresh.set()
            except peers.PeerError:
                pass
        threading.Thread(target=pull, daemon=True).start()

    # ---- life cycle -------------------------------------------------------------------
    def build_routes(self):
        import importlib
        for name in OPS_MODULES:
            importlib.import_module('cfsemu.' + name).register(self)

    def sync_control_at_start(self):
        """A node without a control record of its own asks its peers for theirs first."""
        if not self.control.derived:
            return
        for node, spec in sorted(self.control.snapshot()['nodes'].items()):
            if node == self.name:
                continue
            try:
                status, record = peers.call(spec['address'], self.cluster.admin_port(),
                                            self.cluster.token, 'GET', '/v1/internal/control',
                                            timeout=0.5)
            except peers.PeerError:
                continue
            if status == 200 and self.control.adopt(record):
                self.control_fresh.set()
                LOG.info('node %s took the control record (version %s) from %s', self.name,
                         record['version'], node)
                return

    def start(self):
        self.build_routes()
        self.sync_control_at_start()
        self.shards.start()
        self.control.listeners.append(self.shards.request_reconcile)
        self.swim.start()
        lone = threading.Timer(float(self.cluster.timeouts['swim_dead_s']), self.control_fresh.set)
        lone.daemon = True
        lone.start()
        for part in self.extras.values():
            if hasattr(part, 'start'):
                part.start()
        self.httpd = serve(self.address, self.cluster.admin_port(), self.router,
                           self.cluster.token, self.metrics)
        if self.cluster.data.get('tls'):
            # optional TLS: "tls": true, "tls_cert"/"tls_key" (self-signed; peers trust it)
            server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            server_ctx.load_cert_chain(self.cluster['tls_cert'], self.cluster['tls_key'])
            self.httpd.socket = server_ctx.wrap_socket(self.httpd.socket, server_side=True)
            client_ctx = ssl.create_default_context(cafile=self.cluster['tls_cert'])
            client_ctx.check_hostname = False
            peers.TLS_CONTEXT = client_ctx
        threading.Thread(target=self.httpd.serve_forever, daemon=True, name='http').start()
        self.metrics.start()
        with open(os.path.join(self.dir, 'ready'), 'w', encoding='utf-8') as handle:
            handle.write('%d\n' % os.getpid())
        LOG.info('node %s ready on %s', self.name, self.address)

    def stop(self):
        self.stopping.set()
        try:
            os.unlink(os.path.join(self.dir, 'ready'))
        except FileNotFoundError:
            pass
        for part in self.extras.values():
            if hasattr(part, 'stop'):
                part.stop()
        self.httpd.shutdown()
        self.swim.stop()
        self.shards.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--cluster', required=True, help='path of cluster.json')
    parser.add_argument('--node', required=True, help='node name, e.g. a1')
    parser.add_argument('--log-level', default=os.environ.get('CFSEMU_LOG', 'INFO'))
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level,
                        format='%(asctime)s %(name)s %(levelname)s %(message)s')
    logging.getLogger('pysyncobj').setLevel(logging.WARNING)
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # thread dump for diagnosis
    cluster = config.load(args.cluster)
    netbind.install(cluster.address(args.node))
    node = Node(cluster, args.node)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    node.start()
    done.wait()
    node.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
