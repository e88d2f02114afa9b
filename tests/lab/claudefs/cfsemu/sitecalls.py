"""Run a shard command or read a shard's state on any site, locally or through a member."""

import threading

from cfsemu.errors import ApiError

ALLOWED = ('install', 'replay', 'apply_remote', 'set_acked', 'resolve')


def register(node):
    r = node.router
    r.add('GET', '/v1/internal/shard-state/{shard}', lambda req: local_state(
        node, int(req.params['shard'])))
    r.add('POST', '/v1/internal/shard-submit/{shard}', lambda req: local_submit(
        node, int(req.params['shard']), req.json()))


def local_state(node, shard):
    sm = node.shards.get(shard)
    current = sm.snapshot_state()
    current.pop('op_ids', None)
    return {'node': node.name, 'leader': sm._isLeader(),  # pylint: disable=protected-access
            'epoch': node.shards.epoch(shard), 'state': current}


def local_submit(node, shard, body):
    method = body.get('method')
    if method not in ALLOWED:
        raise ApiError('bad_request', 'method %r is not submittable' % method)
    return {'result': node.shards.submit(shard, method, *body.get('args', []),
                                         timeout=float(body.get('timeout', 5.0)))}


def members(node, site, shard):
    """Live members of a shard group: self first, then Alive, then Suspect (not Dead)."""
    spec = node.control.snapshot()['shards'][site][str(shard)]
    order = node.nodes_of_site(site, alive_only=True)
    return [m for m in order if m in spec['members']]


def submit(node, site, shard, method, *args, timeout=5.0):
    if node.site == site and node.name in members(node, site, shard):
        return node.shards.submit(shard, method, *args, timeout=timeout)
    last = None
    for member in members(node, site, shard):
        try:
            return node.call_ok(member, 'POST', '/v1/internal/shard-submit/%d' % shard,
                                {'method': method, 'args': list(args), 'timeout': timeout},
                                timeout=timeout + 2)['result']
        except ApiError as exc:
            if exc.code != 'node_unreachable':
                raise
            last = exc
    raise last or ApiError('no_quorum', 'no live member of shard %d of %s' % (shard, site),
                           shard=shard, site=site)


def state(node, site, shard):
    """The shard's state from its leader if one answers, else from the live member that is
    furthest ahead.  Members are asked in parallel, so an unreachable site costs one timeout."""
    answers = []
    lock = threading.Lock()

    def one(member):
        try:
            if member == node.name and node.site == site:
                answer = local_state(node, shard)
            else:
                answer = node.call_ok(member, 'GET', '/v1/internal/shard-state/%d' % shard,
                                      timeout=2.0)
        except ApiError:
            return
        with lock:
            answers.append(answer)
    threads = [threading.Thread(target=one, args=(m,)) for m in members(node, site, shard)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if not answers:
        raise ApiError('no_quorum', 'no member of shard %d of %s answers' % (shard, site),
                       shard=shard, site=site)
    return max(answers, key=lambda a: (a['leader'], a['state']['seq']))
