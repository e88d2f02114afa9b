"""Membership changes as new group epochs (force-leader, node add/remove, restore).

A change of a shard group's members writes a new epoch into the control record: new members,
and the member (``seed``) whose state the new group starts from.  Every node reconciles its
SyncObjs with the record; the seed installs its state as the new group's first entry.
"""

import time

from cfsemu.errors import ApiError
from cfsemu.ops_raft import gather


def rebuild(node, site, changes, mutate=None):
    """changes: {shard: {'members': [...], 'seed': node, 'reason': str}}; returns new epochs."""
    def apply(record):
        epochs = {}
        shards = record['shards'][site]
        top = max(max(s['epoch'] for s in site_shards.values())
                  for site_shards in record['shards'].values())
        for shard, change in changes.items():
            spec = shards[str(shard)]
            spec['epoch'] = max(top, spec['epoch']) + 1
            spec['members'] = list(change['members'])
            spec['seed'] = {'node': change['seed'], 'reason': change['reason'],
                            'from_epoch': spec['epoch'] - 1} if change.get('seed') else None
            epochs[shard] = spec['epoch']
        if mutate:
            mutate(record)
        return epochs
    return node.control.update(apply)


def wait_ready(node, site, epochs, timeout=20.0):
    """Wait until every rebuilt shard has a leader at its new epoch and carries its state."""
    deadline = time.monotonic() + timeout
    pending = dict(epochs)
    result = {}
    while pending and time.monotonic() < deadline:
        reports = gather(node, site)
        for shard, epoch in list(pending.items()):
            for report in reports.values():
                rep = report['shards'].get(str(shard))
                if rep and rep['epoch'] == epoch and rep['leader'] == rep['reporter'] and \
                        rep.get('seeded', True):
                    result[shard] = rep
                    pending.pop(shard)
                    break
        if pending:
            time.sleep(0.15)
    if pending:
        raise ApiError('timeout', 'shard groups %s of %s have no leader at their new epoch '
                       'after %.0f s; the control record is updated, the groups keep trying'
                       % (sorted(pending), site, timeout), shards=sorted(pending))
    return result
