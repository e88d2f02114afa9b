"""The emulator's cluster.json: topology, credentials, quotas and timeouts.

Addresses live in 127.<net>.0.0/16: S3 servers at 127.<net>.0.<1,2>, site i's node j at
127.<net>.<i>.<j> (sites numbered from 1).  Site names are ``site-a``, ``site-b``, ...; node
names are the site letter and the node's number (``a1``, ``b3``).
"""

import json
import os
import secrets
import string

ADMIN_PORT = 8443
METRICS_PORT = 9100
RAFT_BASE_PORT = 7100
SWIM_PORT = 7946
S3_PORT = 9000
BUCKET = 'claudefs'


def site_name(index):
    return 'site-%s' % string.ascii_lowercase[index]


def build(state_dir, net=77, shards=8, sites=2, nodes_per_site=3, flash_quota=4 * 1024 * 1024,
          blob_size=64 * 1024, token=None, s3_from=None):
    """The cluster.json document for a new instance (secrets generated here).

    ``s3_from``: the state directory of another instance whose S3 endpoints this one reads
    with read-only credentials instead of starting its own (a DR-drill scratch cluster: it
    restores the other one's snapshots and reads its blobs, and can never write there)."""
    if not 1 <= int(net) <= 254:
        raise ValueError('--net must be 1..254 (the X of 127.X.0.0/16), not %r' % net)
    if not 1 <= sites <= 9 or not 1 <= nodes_per_site <= 9:
        raise ValueError('sites and nodes per site must be 1..9')
    if shards < 1 or shards > 64:
        raise ValueError('shards must be 1..64 (ports %d..%d)' % (RAFT_BASE_PORT,
                                                                  RAFT_BASE_PORT + 63))
    state_dir = os.path.abspath(state_dir)
    doc = {
        'name': 'cfsemu-%d' % net, 'net': int(net), 'state_dir': state_dir,
        'admin_token': token or secrets.token_hex(24),
        'shards': int(shards), 'replication_factor': min(3, nodes_per_site),
        'admin_port': ADMIN_PORT, 'metrics_port': METRICS_PORT,
        'raft_base_port': RAFT_BASE_PORT, 'swim_port': SWIM_PORT,
        'active_site': site_name(0), 'epoch': 0, 'sites': {}, 'nodes': {},
        's3': {'active': 'primary'},
        'flash': {'quota_bytes': int(flash_quota), 'evict_watermark': 0.6,
                  'high_watermark': 0.8, 'critical_watermark': 0.95},
        'blob_size': int(blob_size),
        # ClaudeFS elects in 150-300 ms; pysyncobj needs min > 3 x heartbeat and 48 Raft
        # groups on two loaded cores flap below ~300 ms, so the emulator doubles the window.
        'timeouts': {'raft_election_min_ms': 300, 'raft_election_max_ms': 600,
                     'raft_heartbeat_ms': 50, 'swim_interval_ms': 200, 'swim_suspect_s': 3,
                     'swim_dead_s': 6, 'write_through_s': 2, 'replication_interval_ms': 200},
    }
    for i in range(sites):
        site = site_name(i)
        names = ['%s%d' % (site[-1], j + 1) for j in range(nodes_per_site)]
        doc['sites'][site] = {'nodes': names}
        for j, name in enumerate(names):
            doc['nodes'][name] = {'site': site, 'address': '127.%d.%d.%d' % (net, i + 1, j + 1),
                                  'dir': os.path.join(state_dir, 'nodes', name)}
    for k, role in enumerate(('primary', 'backup')):
        doc['s3'][role] = {
            'endpoint': 'http://127.%d.0.%d:%d' % (net, k + 1, S3_PORT),
            'address': '127.%d.0.%d' % (net, k + 1), 'port': S3_PORT,
            'access_key': 'cfsemu%s' % secrets.token_hex(6),
            'secret_key': secrets.token_hex(20), 'bucket': BUCKET,
            'region': 'us-east-1', 'dir': os.path.join(state_dir, 's3', role)}
    if s3_from:
        doc['s3'] = borrowed_s3(load(s3_from))
        doc['s3_from'] = os.path.abspath(s3_from)
    return doc


def borrowed_s3(other):
    """Another instance's S3 endpoints, read-only and not ours to start or stop."""
    s3 = {'active': other['s3'].get('active', 'primary')}
    for role in ('primary', 'backup'):
        s3[role] = dict(other['s3'][role], read_only=True, external=True)
    return s3


def write(doc, path=None):
    path = path or os.path.join(doc['state_dir'], 'cluster.json')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + '.tmp'
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds the secrets
    with os.fdopen(fd, 'w') as handle:
        json.dump(doc, handle, indent=2, sort_keys=True)
    os.replace(tmp, path)
    return path


def load(state_dir):
    with open(os.path.join(os.path.abspath(state_dir), 'cluster.json')) as handle:
        return json.load(handle)


def node_endpoint(doc, node):
    return 'http://%s:%d' % (doc['nodes'][node]['address'], doc['admin_port'])


def inventory(doc, command=None):
    """An Ansible inventory (YAML text): nodes grouped by site, the endpoint and token vars,
    and how the playbooks reach the emulator's service control (``cfsemu`` argv).

    The token is the emulator's throwaway secret; the inventory file is written 0600."""
    lines = ['# Written by cfsemu up: the emulated ClaudeFS cluster %s.' % doc['name'],
             'all:', '  vars:',
             '    claudefs_service_backend: cfsemu',
             '    claudefs_cfsemu_command: %s' % json.dumps(command or []),
             '    claudefs_endpoint: %s' % json.dumps(node_endpoint(doc, _first_node(doc))),
             '    claudefs_admin_token: %s' % json.dumps(doc['admin_token']),
             '    claudefs_state_dir: %s' % json.dumps(doc['state_dir']),
             '  children:', '    claudefs:', '      children:']
    for site in sorted(doc['sites']):
        lines.append('        %s:' % site.replace('-', '_'))
    for site in sorted(doc['sites']):
        lines += ['    %s:' % site.replace('-', '_'), '      vars:',
                  '        claudefs_site: %s' % site, '      hosts:']
        for node in doc['sites'][site]['nodes']:
            lines += ['        %s:' % node,
                      '          ansible_host: %s' % doc['nodes'][node]['address'],
                      '          ansible_connection: local',
                      '          claudefs_node_endpoint: %s' % json.dumps(
                          node_endpoint(doc, node))]
    return '\n'.join(lines) + '\n'


def _first_node(doc):
    return doc['sites'][doc['active_site']]['nodes'][0]
