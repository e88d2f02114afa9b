"""Fault injection on an emulator instance: disks, packets, S3, new machines (a mixin of
``Cluster``).

Every fault is recorded in ``DIR/faults.jsonl`` with its time, so a test's logs say what was
done when.  Packet faults are real drops in the instance's own nftables table (``netfault``).
"""

import json
import os
import shutil
import time

from cfsemu import s3servers, topology


class FaultsMixin:
    """Needs ``self.doc``, ``self.state_dir``, ``self.firewall``, ``self.running()``,
    ``self.node_dir()`` and ``self._check_node()`` from the class it is mixed into."""

    def wipe(self, node):
        """Delete a stopped node's disk (its whole data directory but the log)."""
        if self.running(node):
            raise self.error('node %s is running: stop or kill it before wiping its disk'
                               % node)
        node_dir = self.node_dir(node)
        try:
            from cfsemu import disk  # the node agent's own layout knowledge
            wiped = disk.wipe(node_dir)
        except ImportError:
            wiped = None
        for name in ('flash', 'meta', 'raft'):
            shutil.rmtree(os.path.join(node_dir, name), ignore_errors=True)
        return wiped

    def corrupt(self, node, records=1, seed=0):
        from cfsemu import disk
        return disk.corrupt_metadata(self.node_dir(node), records, seed)

    def corrupt_replicated(self, node, records=1, seed=0):
        """A faulty metadata operation replicated to every member of the site's groups (sent
        through ``node``): unlike ``corrupt``, no replica keeps a good copy to repair from."""
        import urllib.request
        spec = self.doc['nodes'][node]
        request = urllib.request.Request(
            'http://%s:%d/v1/internal/fault/damage-replicated' % (spec['address'],
                                                                  self.doc['admin_port']),
            data=json.dumps({'count': records, 'seed': seed}).encode(), method='POST',
            headers={'Authorization': 'Bearer %s' % self.doc['admin_token'],
                     'Content-Type': 'application/json'})
        with urllib.request.urlopen(request, timeout=30) as answer:
            result = json.loads(answer.read())
        self._fault('corrupt_replicated', node=node, records=records, seed=seed,
                    damaged=result['damaged'])
        return result['damaged']

    # ---------------------------------------------------------------- network
    def addresses(self, nodes):
        return [self.doc['nodes'][n]['address'] for n in nodes]

    def partition(self, site):
        if site not in self.doc['sites']:
            raise self.error('no site %r (sites: %s)' % (site, ', '.join(self.doc['sites'])))
        inside = self.doc['sites'][site]['nodes']
        outside = [n for n in self.doc['nodes'] if n not in inside]
        self.firewall.apply(self.addresses(inside), self.addresses(outside))
        return self._fault('partition', site=site, side_a=inside, side_b=outside)

    def isolate(self, node):
        self._check_node(node)
        others = [n for n in self.doc['nodes'] if n != node]
        self.firewall.apply(self.addresses([node]), self.addresses(others))
        return self._fault('isolate', node=node, side_a=[node], side_b=others)

    def heal(self):
        self.firewall.heal()
        return self._fault('heal')

    def counters(self):
        return self.firewall.counters()

    def _fault(self, name, **fields):
        record = dict(fields, fault=name, time=time.time())
        with open(os.path.join(self.state_dir, 'faults.jsonl'), 'a') as handle:
            handle.write(json.dumps(record) + '\n')
        return record

    # ---------------------------------------------------------------- S3
    def s3_stop(self, role):
        self._check_role(role)
        return s3servers.stop(self.doc, role)

    def s3_start(self, role):
        self._check_role(role)
        return s3servers.start(self.doc, role)

    def _check_role(self, role):
        if role not in ('primary', 'backup'):
            raise self.error('S3 endpoint must be primary or backup, not %r' % role)
        if self.doc['s3'][role].get('external'):
            raise self.error('S3 %s is borrowed read-only from %s: stop or start it there'
                             % (role, self.doc.get('s3_from')))

    def add_node(self, name, site, wait=True):
        """A new machine: a node not in cluster.json yet, on the site's next free address.

        Only the process is started; joining the cluster is the API's nodeAdd (with the
        address returned here), as it would be for a real new server."""
        if name in self.doc['nodes']:
            raise self.error('node %s already exists (address %s)'
                               % (name, self.doc['nodes'][name]['address']))
        if site not in self.doc['sites']:
            raise self.error('no site %r (sites: %s)' % (site, ', '.join(self.doc['sites'])))
        if not name or not all(c.isalnum() or c in '-_' for c in name):
            raise self.error('a node name is letters, digits, - and _ only: %r' % name)
        prefix = '127.%d.%d.' % (self.doc['net'], sorted(self.doc['sites']).index(site) + 1)
        used = {spec['address'] for spec in self.doc['nodes'].values()}
        host = next(h for h in range(1, 255) if prefix + str(h) not in used)
        self.doc['nodes'][name] = {'site': site, 'address': prefix + str(host),
                                   'dir': os.path.join(self.state_dir, 'nodes', name)}
        self.doc['sites'][site]['nodes'].append(name)
        topology.write(self.doc, self.cluster_json)
        pid = self.start(name, wait=wait)
        return {'node': name, 'site': site, 'address': prefix + str(host), 'pid': pid}
