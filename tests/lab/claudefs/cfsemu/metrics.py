"""Prometheus metrics with the contract's names, computed when scraped (prometheus_client)."""

import time

from prometheus_client import CollectorRegistry, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily

STATE_VALUE = {0: 0, 2: 1, 1: 2}   # pysyncobj follower/candidate/leader -> 0/2/1


class Collector:
    def __init__(self, node):
        self.node = node

    def collect(self):  # noqa: C901 - one family after the other
        node = self.node
        state = GaugeMetricFamily('raft_node_state', 'Raft role of this node per shard '
                                  '(0 follower, 1 leader, 2 candidate)', labels=['shard', 'node'])
        term = GaugeMetricFamily('claudefs_raft_term', 'Raft term per shard', labels=['shard'])
        commit = GaugeMetricFamily('claudefs_raft_commit_index', 'Raft commit index per shard',
                                   labels=['shard'])
        leaders = GaugeMetricFamily('raft_leader_count', 'Shards this node leads')
        count = 0
        for shard, sm in node.shards.all().items():
            try:
                st = sm.getStatus()
            except Exception:  # pylint: disable=broad-except
                continue
            state.add_metric([str(shard), node.name], STATE_VALUE.get(st['state'], 0))
            term.add_metric([str(shard)], st['raft_term'])
            commit.add_metric([str(shard)], st['commit_idx'])
            count += 1 if st['state'] == 2 else 0
        leaders.add_metric([], count)
        yield state
        yield term
        yield commit
        yield leaders
        repl = node.extras.get('replication')
        lag = GaugeMetricFamily('claudefs_replication_lag_secs',
                                'Age of the oldest local write not yet shipped to the other site')
        lag_ops = GaugeMetricFamily('claudefs_replication_lag_ops',
                                    'Local writes not yet shipped to the other site')
        if repl is not None:
            summary = repl.local_lag()
            lag.add_metric([], summary['lag_seconds'])
            lag_ops.add_metric([], summary['lag_ops'])
        yield lag
        yield lag_ops
        queue = node.extras.get('s3queue')
        depth = GaugeMetricFamily('claudefs_s3_queue_depth', 'Blobs waiting for upload to S3')
        flash = GaugeMetricFamily('claudefs_flash_used_ratio', 'Flash use over the quota')
        if queue is not None:
            q = queue.status()
            depth.add_metric([], q['depth'])
            flash.add_metric([], q['flash_used_ratio'])
        yield depth
        yield flash
        swim = GaugeMetricFamily('claudefs_swim_member_state', 'SWIM view (0 alive, 1 suspect, '
                                 '2 dead)', labels=['member'])
        for member in node.swim.members():
            swim.add_metric([member], {'Alive': 0, 'Suspect': 1, 'Dead': 2}[
                node.swim.state(member)[0]])
        yield swim
        up = GaugeMetricFamily('claudefs_node_uptime_seconds', 'Seconds since the node started')
        up.add_metric([], time.time() - node.started)
        yield up


class Metrics:
    """Registry + the admin-latency histogram the HTTP server feeds."""

    def __init__(self, node):
        self.node = node
        self.registry = CollectorRegistry()
        self.registry.register(Collector(node))
        self.latency = Histogram('claudefs_admin_request_seconds', 'Admin API latency',
                                 ['method'], registry=self.registry,
                                 buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5))

    def observe(self, method, _path, seconds):
        self.latency.labels(method).observe(seconds)

    def start(self):
        start_http_server(int(self.node.cluster['metrics_port']), addr=self.node.address,
                          registry=self.registry)
