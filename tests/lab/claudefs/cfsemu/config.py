"""cluster.json: the topology and tunables every node process reads at start.

The harness (``cfsemu up``) writes the file; ``load()`` fills in defaults for optional keys so a
hand-written minimal file works too.  Mutable cluster state (epochs, members, active site) lives
in the control record (``control.py``), not here.
"""

import json
import os

DEFAULTS = {
    'shards': 8, 'replication_factor': 3, 'admin_port': 8443, 'metrics_port': 9100,
    'raft_base_port': 7100, 'swim_port': 7946, 'active_site': 'site-a', 'epoch': 0,
    'blob_size': 65536,
}
FLASH_DEFAULTS = {'quota_bytes': 4 * 1024 * 1024, 'high_watermark': 0.8,
                  'critical_watermark': 0.95, 'evict_watermark': 0.6}
TIMEOUT_DEFAULTS = {'raft_election_min_ms': 300, 'raft_election_max_ms': 600,
                    'raft_heartbeat_ms': 50, 'swim_suspect_s': 1.5, 'swim_dead_s': 4.0,
                    'swim_interval_ms': 200, 'write_through_s': 2.0,
                    'replication_interval_ms': 200, 'commit_timeout_s': 3.0}


class Cluster:
    """Read-only view of cluster.json with the address arithmetic in one place."""

    def __init__(self, data, path=None):
        self.path = path
        self.data = data
        for key, value in DEFAULTS.items():
            data.setdefault(key, value)
        data['flash'] = dict(FLASH_DEFAULTS, **data.get('flash', {}))
        data['timeouts'] = dict(TIMEOUT_DEFAULTS, **data.get('timeouts', {}))
        self.name = data.get('name') or data.get('cluster_name') or 'cfsemu'
        self.token = os.environ.get('CFS_ADMIN_TOKEN') or data.get('admin_token', '')
        self.shards = int(data['shards'])
        self.flash = data['flash']
        self.timeouts = data['timeouts']
        self.state_dir = data.get('state_dir') or (os.path.dirname(path) if path else '.')

    def __getitem__(self, key):
        return self.data[key]

    @property
    def sites(self):
        return {name: list(site['nodes']) for name, site in self.data['sites'].items()}

    @property
    def nodes(self):
        return self.data['nodes']

    def site_of(self, node):
        return self.nodes[node]['site']

    def address(self, node):
        return self.nodes[node]['address']

    def node_dir(self, node):
        return self.nodes[node].get('dir') or os.path.join(self.state_dir, 'nodes', node)

    def raft_port(self, shard, epoch):
        return int(self.data['raft_base_port']) + 100 * int(epoch) + int(shard)

    def admin_port(self):
        return int(self.data['admin_port'])

    def s3_endpoints(self):
        return self.data.get('s3', {})


def load(path):
    with open(path, encoding='utf-8') as handle:
        return Cluster(json.load(handle), os.path.abspath(path))


def minimal(state_dir, net=77, token='dev-token', shards=8):
    """A cluster.json for development runs without the harness (two sites, three nodes each)."""
    nodes = {}
    sites = {}
    for index, site in enumerate(('site-a', 'site-b'), start=1):
        names = ['%s%d' % (site[-1], i) for i in (1, 2, 3)]
        sites[site] = {'nodes': names}
        for i, name in enumerate(names, start=1):
            nodes[name] = {'site': site, 'address': '127.%d.%d.%d' % (net, index, i),
                           'dir': os.path.join(state_dir, 'nodes', name)}
    s3 = {'active': 'primary'}
    for i, which in enumerate(('primary', 'backup'), start=1):
        s3[which] = {'endpoint': 'http://127.%d.0.%d:9000' % (net, i), 'access_key': 'cfsemu',
                     'secret_key': 'cfsemu-secret', 'bucket': 'claudefs',
                     'dir': os.path.join(state_dir, 's3', which)}
    return {'name': 'cfsemu-%d' % net, 'net': net, 'state_dir': state_dir, 'admin_token': token,
            'shards': shards, 'sites': sites, 'nodes': nodes, 's3': s3}
