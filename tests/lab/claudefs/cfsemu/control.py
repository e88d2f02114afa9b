"""The cluster's control record: node registry, shard epochs/members, active site, S3 target.

Changes are rare admin actions.  The node that makes one bumps ``version``, persists it and
pushes it to every node it can reach; SWIM pings carry the version so a node that missed a push
pulls the newer record from the sender.  Highest (version, updated, updated_by) wins.
"""

import copy
import json
import os
import threading
import time


def initial(cluster):
    shards = {}
    for site, members in cluster.sites.items():
        shards[site] = {str(k): {'epoch': int(cluster['epoch']), 'members': list(members),
                                 'seed': None} for k in range(cluster.shards)}
    nodes = {name: {'site': spec['site'], 'address': spec['address'], 'state': 'active'}
             for name, spec in cluster.nodes.items()}
    s3 = cluster.s3_endpoints()
    return {'version': 0, 'updated': 0.0, 'updated_by': '', 'cluster_name': cluster.name,
            'initialized': True, 'active_site': cluster['active_site'], 'active_since': 0.0,
            'failover': {'state': 'none'}, 'nodes': nodes, 'shards': shards,
            's3_target': s3.get('active', 'primary'), 'fenced': []}


def key(record):
    return (record['version'], record['updated'], record['updated_by'])


class Control:
    def __init__(self, node):
        self.node = node
        self.path = os.path.join(node.dir, 'control.json')
        self.lock = threading.RLock()
        self.listeners = []
        self.record = initial(node.cluster)
        self.derived = not os.path.exists(self.path)   # from cluster.json, not yet confirmed
        if os.path.exists(self.path):
            with open(self.path, encoding='utf-8') as handle:
                saved = json.load(handle)
            if key(saved) >= key(self.record):
                self.record = saved

    def snapshot(self):
        with self.lock:
            return copy.deepcopy(self.record)

    def peek(self):
        """The current record without a copy: read only (hot paths: address lookups)."""
        return self.record

    @property
    def version(self):
        return self.record['version']

    def _save(self):
        tmp = self.path + '.tmp'
        with open(tmp, 'w', encoding='utf-8') as handle:
            json.dump(self.record, handle, indent=1, sort_keys=True)
        os.replace(tmp, self.path)

    def update(self, mutate):
        """Apply ``mutate(record)`` as a new version, persist, notify, push to peers."""
        with self.lock:
            record = copy.deepcopy(self.record)
            result = mutate(record)
            record['version'] = self.record['version'] + 1
            record['updated'] = time.time()
            record['updated_by'] = self.node.name
            self.record = record
            self._save()
        self._changed()
        threading.Thread(target=self.node.push_control, daemon=True).start()
        return result

    def offer(self, record):
        """A record from a peer: adopt it when newer. Returns True when adopted."""
        with self.lock:
            if key(record) <= key(self.record):
                return False
            self.record = copy.deepcopy(record)
            self._save()
        self._changed()
        return True

    def adopt(self, record):
        """Take a peer's record over one derived from cluster.json (fresh or wiped node):
        cluster.json may list nodes added later, which must not make themselves members."""
        with self.lock:
            if key(record) < key(self.record):
                return False
            self.record = copy.deepcopy(record)
            self.derived = False
            self._save()
        self._changed()
        return True

    def _changed(self):
        for listener in self.listeners:
            try:
                listener()
            except Exception:  # pylint: disable=broad-except
                pass
