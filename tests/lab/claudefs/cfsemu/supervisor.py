"""Bring an emulated ClaudeFS cluster up and down, and inject its faults.

``Cluster(state_dir)`` works on an instance described by ``DIR/cluster.json``; every method is
safe to call from another process than the one that ran ``up`` (the state is in the directory,
the kernel's nftables table and the pid files).  Node processes run
``python -m cfsemu.node --cluster DIR/cluster.json --node NAME`` in their own session; the
command can be replaced (``CFSEMU_NODE_MODULE``) by a stand-in for the harness's own tests.

Instances are registered in ``/run/cfsemu/<net>.json`` (state dir, owner pid); ``gc()`` finds
the ones whose owner is gone and takes them down, so a killed test run leaves nothing behind.
"""

import json
import os
import shutil
import signal
import sys
import time

from cfsemu import adminhttp, procs, s3servers, topology
from cfsemu.faults import FaultsMixin
from cfsemu.netfault import Firewall

LAB = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REGISTRY = os.environ.get('CFSEMU_REGISTRY', '/run/cfsemu')


class ClusterError(RuntimeError):
    pass


def node_module():
    return os.environ.get('CFSEMU_NODE_MODULE', 'cfsemu.node')


class Cluster(FaultsMixin):
    """One emulator instance: its processes (here) and its faults (``FaultsMixin``)."""

    error = None  # set below: ClusterError, for the mixin

    def __init__(self, state_dir):
        self.state_dir = os.path.abspath(state_dir)
        self.doc = topology.load(self.state_dir)
        self.cluster_json = os.path.join(self.state_dir, 'cluster.json')
        self.firewall = Firewall(self.doc['net'])

    # ---------------------------------------------------------------- creation
    @classmethod
    def create(cls, state_dir, owner=None, **options):
        """Write cluster.json (fresh secrets) and register the instance; starts nothing.

        ``owner``: a pid whose death makes the instance garbage (``gc``); None for an
        instance that lives until ``down``."""
        state_dir = os.path.abspath(state_dir)
        if os.path.exists(os.path.join(state_dir, 'cluster.json')):
            raise ClusterError('%s already holds an instance: run "cfsemu down --state %s" '
                               'first, or pick another --state' % (state_dir, state_dir))
        doc = topology.build(state_dir, **options)
        _claim(doc, owner)  # atomic: two creators never get the same net
        try:
            topology.write(doc)
        except OSError:
            _unregister(doc)
            raise
        return cls(state_dir)

    def up(self, timeout=60.0):
        """Start S3, then every node; wait for readiness and a leader on every shard.
        Returns the timings (seconds) of each phase."""
        timings = {}
        start = time.monotonic()
        for role in self.own_s3():
            s3servers.start(self.doc, role)
        timings['s3'] = time.monotonic() - start
        for node in self.doc['nodes']:
            self.start(node, wait=False)
        self.wait_ready(list(self.doc['nodes']), timeout=timeout)
        timings['nodes_ready'] = time.monotonic() - start
        self.wait_leaders(timeout=max(1.0, timeout - (time.monotonic() - start)))
        timings['leaders'] = time.monotonic() - start
        with open(os.path.join(self.state_dir, 'inventory.yml'), 'w') as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(topology.inventory(
                self.doc, [sys.executable, os.path.join(LAB, 'cfsemu.py')]))
        return timings

    def own_s3(self):
        """The S3 endpoints this instance runs (not those it borrows read-only: s3_from)."""
        return [role for role in ('primary', 'backup')
                if not self.doc['s3'][role].get('external')]

    # ---------------------------------------------------------------- nodes
    def node_dir(self, node):
        self._check_node(node)
        return self.doc['nodes'][node]['dir']

    def _check_node(self, node):
        if node not in self.doc['nodes']:
            raise ClusterError('no node %r in this cluster (nodes: %s)'
                               % (node, ', '.join(sorted(self.doc['nodes']))))

    def pid(self, node):
        return procs.read_pid(os.path.join(self.node_dir(node), 'pid'))

    def running(self, node):
        return procs.owned(self.pid(node), self._marker(node))

    def _marker(self, node):
        return '--node %s' % node

    def _argv(self, node):
        return [sys.executable, '-m', node_module(), '--cluster', self.cluster_json,
                '--node', node]

    def start(self, node, wait=True, timeout=30.0):
        """Start a node process (a no-op when it runs)."""
        node_dir = self.node_dir(node)
        if self.running(node):
            return self.pid(node)
        os.makedirs(node_dir, exist_ok=True)
        ready = os.path.join(node_dir, 'ready')
        if os.path.exists(ready):
            os.unlink(ready)
        env = dict(os.environ, PYTHONPATH=LAB, LC_ALL='C', PYTHONUNBUFFERED='1')
        proc = procs.spawn(self._argv(node), os.path.join(node_dir, 'node.log'),
                           os.path.join(node_dir, 'pid'), env=env)
        if wait:
            self.wait_ready([node], timeout=timeout)
        return proc.pid

    def wait_ready(self, nodes, timeout=30.0):
        deadline = time.monotonic() + timeout
        pending = list(nodes)
        while pending:
            for node in list(pending):
                if not procs.alive(self.pid(node)):
                    raise ClusterError('node %s exited while starting; see %s' % (
                        node, os.path.join(self.node_dir(node), 'node.log')))
                if os.path.exists(os.path.join(self.node_dir(node), 'ready')):
                    pending.remove(node)
            if pending and time.monotonic() > deadline:
                raise ClusterError('nodes %s not ready within %ss; see their node.log'
                                   % (', '.join(pending), timeout))
            if pending:
                time.sleep(0.02)

    def wait_leaders(self, timeout=30.0, sites=None):
        """Until every shard of every site (or of ``sites``) reports a leader."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            try:
                missing = self.shards_without_leader(sites)
            except adminhttp.AdminError as exc:
                missing = None
                last = str(exc)
            if missing == []:
                return
            if missing:
                last = 'shards without a leader: %s' % missing
            if time.monotonic() > deadline:
                raise ClusterError('not every shard has a leader after %ss (%s)' % (timeout,
                                                                                     last))
            time.sleep(0.05)

    def shards_without_leader(self, sites=None):
        missing = []
        for site in sites or self.doc['sites']:
            node = next((n for n in self.doc['sites'][site]['nodes'] if self.running(n)), None)
            if node is None:
                raise adminhttp.AdminError('no running node in %s' % site)
            try:
                answer = self.admin(node).get('/v1/raft/shards', timeout=2.0)
            except adminhttp.AdminError as exc:
                if exc.status != 404:
                    raise
                missing += self._leaderless_from_status(node, site)
                continue
            shards = answer.get('shards', answer) if isinstance(answer, dict) else answer
            for shard in shards:
                if shard.get('site', site) == site and not shard.get('leader'):
                    missing.append((site, shard.get('shard')))
        return missing

    def _leaderless_from_status(self, node, site):
        """A node without raftStatus: its status's per-site shard summary."""
        for row in self.admin(node).get('/v1/status', timeout=2.0).get('sites', []):
            if row.get('name') == site:
                led = row.get('shards_with_leader', 0)
                return [(site, 'count') for _ in range(row.get('shards_total', 0) - led)]
        return [(site, 'unknown')]

    def admin(self, node):
        return adminhttp.Admin(topology.node_endpoint(self.doc, node), self.doc['admin_token'])

    def kill(self, node):
        """SIGKILL the node; returns its pid once it is gone."""
        pid = self.pid(node)
        if not self.running(node):
            raise ClusterError('node %s is not running' % node)
        if not procs.signal_and_wait(pid, signal.SIGKILL, 10.0, self._marker(node)):
            raise ClusterError('node %s (pid %d) survived SIGKILL' % (node, pid))
        return pid

    def stop(self, node, timeout=15.0):
        """SIGTERM (a clean shutdown), SIGKILL after ``timeout``; returns the pid."""
        pid = self.pid(node)
        if self.running(node):
            procs.terminate(pid, self._marker(node), timeout)
        return pid

    # ---------------------------------------------------------------- whole cluster
    def reload(self):
        """Re-read cluster.json: another process may have added nodes (``add-node``)."""
        if os.path.exists(self.cluster_json):
            self.doc = topology.load(self.state_dir)
        return self.doc

    def status(self):
        self.reload()
        nodes = {}
        for node, spec in sorted(self.doc['nodes'].items()):
            pid = self.pid(node)
            nodes[node] = {'site': spec['site'], 'address': spec['address'],
                           'pid': pid if self.running(node) else None,
                           'running': self.running(node),
                           'ready': os.path.exists(os.path.join(spec['dir'], 'ready'))}
        s3 = {role: {'endpoint': self.doc['s3'][role]['endpoint'],
                     'running': s3servers.running(self.doc, role),
                     'read_only': bool(self.doc['s3'][role].get('read_only'))}
              for role in ('primary', 'backup')}
        counters = self.counters()
        return {'name': self.doc['name'], 'state_dir': self.state_dir, 'nodes': nodes, 's3': s3,
                'partition': {'active': counters.get('active', False),
                              'side_a': counters.get('side_a', []),
                              'side_b': counters.get('side_b', [])}}

    def stop_nodes(self, sig=signal.SIGKILL):
        self.reload()
        gone = {}
        for node in self.doc['nodes']:
            pid = self.pid(node)
            if self.running(node):
                procs.signal_and_wait(pid, sig, 10.0, self._marker(node))
                if sig != signal.SIGKILL and self.running(node):
                    procs.signal_and_wait(pid, signal.SIGKILL, 5.0, self._marker(node))
            gone[node] = not self.running(node)
        return gone

    def destroy(self):
        """Kill every node and delete their directories; S3 (data and servers) stays."""
        self.stop_nodes(signal.SIGKILL)
        for node in self.doc['nodes']:
            shutil.rmtree(self.doc['nodes'][node]['dir'], ignore_errors=True)
        return self._fault('destroy')

    def reset(self, timeout=90.0):
        """Every node a new, empty machine again and running (a drill's scratch cluster after
        the drill: what it restored is gone).  S3 is not touched."""
        self.reload()
        nodes = list(self.doc['nodes'])
        self.stop_nodes(signal.SIGTERM)
        for node in nodes:
            shutil.rmtree(self.doc['nodes'][node]['dir'], ignore_errors=True)
        for node in nodes:
            self.start(node, wait=False)
        self.wait_ready(nodes, timeout=timeout)
        self.wait_leaders(timeout=timeout)
        return {'reset': nodes, 'fault': self._fault('reset')}

    def down(self, remove_state=False):
        """Stop everything this instance started and remove its firewall table."""
        self.stop_nodes(signal.SIGTERM)
        for role in self.own_s3():
            s3servers.stop(self.doc, role)
        self.firewall.remove()
        _unregister(self.doc)
        if remove_state:
            shutil.rmtree(self.state_dir, ignore_errors=True)


def net_in_use(net):
    """Any socket bound in 127.<net>.0.0/16 (TCP or UDP), by anyone: /proc/net/{tcp,udp}."""
    suffix = '%02X7F' % int(net)  # the kernel prints the address as a host-order u32
    for table in ('/proc/net/tcp', '/proc/net/udp'):
        try:
            with open(table) as handle:
                next(handle)
                for line in handle:
                    local = line.split()[1].split(':')[0]
                    if local.endswith(suffix):
                        return True
        except OSError:
            continue
    return False


def free_net(start=90, stop=140):
    """An unused 127.X.0.0/16 for a new instance: not registered, no socket bound in it."""
    for net in range(start, stop):
        if not _registered(net) and not net_in_use(net):
            return net
    raise ClusterError('no free 127.X.0.0/16 between %d and %d' % (start, stop))


Cluster.error = ClusterError


# -------------------------------------------------------------------- registry and gc
def _registry_path(net):
    return os.path.join(REGISTRY, '%d.json' % int(net))


def _registered(net):
    try:
        with open(_registry_path(net)) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def _in_use(entry):
    """A registered instance still holds its net: its directory exists and its owner lives
    (or it has none: a bare "cfsemu up"), or something still has a socket in the net."""
    exists = os.path.exists(os.path.join(entry.get('state_dir', ''), 'cluster.json'))
    return (exists and (entry.get('owner') is None or _owner_alive(entry))) or \
        net_in_use(entry['net'])


def _claim(doc, owner):
    """Register a new instance, atomically (O_EXCL): a stale entry is replaced, a live one
    refused."""
    os.makedirs(REGISTRY, exist_ok=True)
    path = _registry_path(doc['net'])
    for unused in range(3):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            other = _registered(doc['net'])
            if other and other.get('state_dir') != doc['state_dir'] and _in_use(other):
                raise ClusterError('127.%d.0.0/16 is used by the instance in %s; choose '
                                   'another --net' % (doc['net'], other['state_dir']))
            try:
                os.unlink(path)  # stale (or ours): claim it afresh
            except FileNotFoundError:
                pass
            continue
        with os.fdopen(fd, 'w') as handle:
            json.dump({'state_dir': doc['state_dir'], 'owner': owner, 'net': doc['net']},
                      handle)
        return
    raise ClusterError('could not register 127.%d.0.0/16 (contended); retry' % doc['net'])


def _register(doc, owner):
    os.makedirs(REGISTRY, exist_ok=True)
    with open(_registry_path(doc['net']), 'w') as handle:
        json.dump({'state_dir': doc['state_dir'], 'owner': owner, 'net': doc['net']}, handle)


def _unregister(doc):
    entry = _registered(doc['net'])
    if entry and entry.get('state_dir') == doc['state_dir']:
        os.unlink(_registry_path(doc['net']))


def _owner_alive(entry):
    return procs.alive(entry.get('owner'))


def gc(everything=False):
    """Take down registered instances whose owner process is gone (or all of them).

    Only what the registry names is touched: its node and S3 processes (checked by command
    line), its own nftables table.  Returns the state dirs cleaned."""
    cleaned = []
    if not os.path.isdir(REGISTRY):
        return cleaned
    for name in sorted(os.listdir(REGISTRY)):
        if not name.endswith('.json'):
            continue
        entry = _registered(name[:-5]) if name[:-5].isdigit() else None
        if not entry:
            continue
        state_dir = entry['state_dir']
        exists = os.path.exists(os.path.join(state_dir, 'cluster.json'))
        # An instance from a bare "cfsemu up" (no owner) lives until "cfsemu down".
        if not everything and exists and (entry.get('owner') is None or _owner_alive(entry)):
            continue
        if exists:
            Cluster(state_dir).down(remove_state=entry.get('temporary', False))
        else:  # the directory is gone: find its processes by the paths they were given
            for marker in (os.path.join(state_dir, 'cluster.json'),
                           os.path.join(state_dir, 's3', '')):
                for pid in procs.find(marker):
                    procs.signal_and_wait(pid, signal.SIGKILL, 5.0, marker)
            Firewall(entry['net']).remove()
            os.unlink(_registry_path(entry['net']))
        cleaned.append(state_dir)
    return cleaned


def set_owner(state_dir, owner, temporary=False):
    """Hand an instance to another owner (a test session): gc takes it down when it dies."""
    doc = topology.load(state_dir)
    _register(doc, owner)
    if temporary:
        path = _registry_path(doc['net'])
        entry = _registered(doc['net'])
        entry['temporary'] = True
        with open(path, 'w') as handle:
            json.dump(entry, handle)
