"""raftStatus, raftShardStatus, raftDebug, raftForceElection, raftTransferLeader.

Shard numbers repeat per site, so per-shard calls take ``site`` (query or body; default the
active site).  The answering node gathers each site's view with one internal call per node.
"""

import os
import threading
import time

from cfsemu import peers
from cfsemu.errors import ApiError


def register(node):
    r = node.router
    r.add('GET', '/v1/raft/shards', lambda req: raft_status(node, req.arg('site')))
    r.add('GET', '/v1/raft/shards/{shard}', lambda req: shard_status(
        node, parse_shard(node, req), site_arg(node, req)))
    r.add('GET', '/v1/raft/shards/{shard}/debug', lambda req: debug(
        node, parse_shard(node, req), site_arg(node, req)))
    r.add('POST', '/v1/raft/shards/{shard}/election', lambda req: election(
        node, parse_shard(node, req), site_arg(node, req), None))
    r.add('POST', '/v1/raft/shards/{shard}/transfer-leader', lambda req: election(
        node, parse_shard(node, req), site_arg(node, req), require(req, 'to')))
    r.add('GET', '/v1/internal/raft', lambda req: local_report(node))
    r.add('GET', '/v1/internal/raft/{shard}/raw', lambda req: raw(node, int(req.params['shard'])))
    r.add('POST', '/v1/internal/raft/{shard}/transfer', lambda req: local_transfer(
        node, int(req.params['shard']), req.arg('to')))


def require(req, name):
    value = req.arg(name)
    if not value:
        raise ApiError('bad_request', 'field %r is required' % name, field=name)
    return value


def parse_shard(node, req):
    try:
        shard = int(req.params['shard'])
    except ValueError:
        raise ApiError('bad_request', 'shard must be a number, got %r' % req.params['shard'])
    if not 0 <= shard < node.cluster.shards:
        raise ApiError('not_found', 'no shard %d (shards 0..%d)' % (
            shard, node.cluster.shards - 1), shard=shard)
    return shard


def site_arg(node, req):
    site = req.arg('site') or node.control.snapshot()['active_site']
    if site not in node.control.snapshot()['shards']:
        raise ApiError('not_found', 'no site %r' % site, site=site)
    return site


def local_report(node):
    shards = {}
    for shard in node.shards.all():
        status = node.shards.status(shard)
        if status:
            shards[str(shard)] = status
    views = dict(node.swim.views)
    views[node.name] = node.shard_view()
    return {'node': node.name, 'site': node.site, 'shards': shards, 'views': views}


def gather(node, site):
    """{node: local_report} from every reachable node of a site (in parallel)."""
    reports = {}
    members = node.nodes_of_site(site)

    def one(member):
        if member == node.name:
            reports[member] = local_report(node)
            return
        if node.swim.state(member)[0] == 'Dead':
            return
        try:
            status, body = node.call(member, 'GET', '/v1/internal/raft', timeout=1.5)
            if status == 200:
                reports[member] = body
        except peers.PeerError:
            pass
    threads = [threading.Thread(target=one, args=(m,)) for m in members]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return reports


def best(node, site, shard, reports):
    """The leader's report of a shard, else the freshest member's, else a dead placeholder."""
    spec = node.control.snapshot()['shards'][site][str(shard)]
    found = [r['shards'][str(shard)] for r in reports.values()
             if str(shard) in r['shards'] and r['shards'][str(shard)]['epoch'] == spec['epoch']]
    for rep in found:
        if rep['leader'] == rep['reporter'] and any(
                m['node'] == rep['reporter'] and m['role'] == 'Leader' for m in rep['members']):
            return rep
    if found:
        rep = dict(max(found, key=lambda r: (r['term'], r['commit_index'])))
        return rep
    return {'shard': shard, 'site': site, 'epoch': spec['epoch'], 'leader': None, 'term': 0,
            'commit_index': 0, 'has_quorum': False, 'reporter': node.name,
            'members': [{'node': m, 'role': 'Follower', 'match_index': None,
                         'reachable': False} for m in spec['members']]}


def raft_status(node, site=None):
    sites = [site] if site else sorted(node.control.snapshot()['shards'])
    out = []
    for name in sites:
        reports = gather(node, name)
        for shard in range(node.cluster.shards):
            out.append(best(node, name, shard, reports))
    return {'shards': out}


def shard_status(node, shard, site):
    return best(node, site, shard, gather(node, site))


def raw(node, shard):
    """pysyncobj's counters plus role, leader (node name), epoch, pid and start time."""
    sm = node.shards.get(shard)
    st = sm.getStatus()
    out = {k: (str(v) if not isinstance(v, (int, float, str, bool, type(None))) else v)
           for k, v in st.items()}
    role = {0: 'Follower', 1: 'Candidate', 2: 'Leader'}.get(st['state'], 'Follower')
    if role == 'Follower' and sm.is_precandidate():
        role = 'PreCandidate'
    out.update(role=role,
               leader=node.node_of_addr(st['leader']), leader_address=out['leader'],
               epoch=node.shards.epoch(shard), pid=os.getpid(), started=node.started,
               node=node.name, last_seq=sm.st['seq'])
    return out


def debug(node, shard, site):
    spec = node.control.snapshot()['shards'][site][str(shard)]
    views = []
    for member in spec['members']:
        if member == node.name:
            views.append({'node': member, 'reachable': True, 'raw': raw(node, shard)})
            continue
        try:
            status, body = node.call(member, 'GET', '/v1/internal/raft/%d/raw' % shard,
                                     timeout=1.5)
            views.append({'node': member, 'reachable': status == 200,
                          'raw': body if status == 200 else {},
                          'error': None if status == 200 else str(body)})
        except peers.PeerError as exc:
            views.append({'node': member, 'reachable': False, 'error': str(exc)})
    for view in views:
        if view.get('error') is None:
            view.pop('error', None)
    return {'shard': shard, 'site': site, 'epoch': spec['epoch'], 'views': views}


def local_transfer(node, shard, to):
    sm = node.shards.get(shard)
    if not sm._isLeader():  # pylint: disable=protected-access
        raise ApiError('not_leader', 'this node does not lead shard %d' % shard,
                       leader=node.node_of_addr(sm._getLeader()))  # noqa pylint: disable=W0212
    target = node.shards.addr(to, shard, node.shards.epoch(shard)) if to else None
    done = threading.Event()
    outcome = {}

    def callback(_res, err):
        outcome['err'] = err
        done.set()
    sm.transferLeadership(target, callback=callback)
    done.wait(2.0)
    if outcome.get('err') not in (0, None):
        raise ApiError('conflict', 'leadership transfer refused: the target must be connected '
                       'and fully caught up (pysyncobj code %s)' % outcome.get('err'),
                       shard=shard, to=to)
    return {'requested': True}


def election(node, shard, site, to):
    """Force an election (via TimeoutNow to the most caught-up member) or a transfer to ``to``."""
    started = time.monotonic()
    before = best(node, site, shard, gather(node, site))
    spec = node.control.snapshot()['shards'][site][str(shard)]
    if to and to not in spec['members']:
        raise ApiError('bad_request', '%s is not a member of shard %d of %s (members: %s)' % (
            to, shard, site, ', '.join(spec['members'])), members=spec['members'])
    if to and before['leader'] == to:
        return {'shard': shard, 'site': site, 'previous_leader': to, 'leader': to,
                'term': before['term'], 'changed': False, 'elapsed_seconds': 0.0}
    if not before['leader']:
        if not before['has_quorum']:
            raise ApiError('no_quorum', 'shard %d of %s has no quorum: an election cannot '
                           'succeed (see raftForceLeaderPlan)' % (shard, site), shard=shard)
    else:
        node.call_ok(before['leader'], 'POST', '/v1/internal/raft/%d/transfer' % shard,
                     {'to': to})
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = best(node, site, shard, gather(node, site))
        if now['leader'] and (now['term'] > before['term']) and (not to or now['leader'] == to):
            return {'shard': shard, 'site': site, 'previous_leader': before['leader'],
                    'leader': now['leader'], 'term': now['term'], 'changed': True,
                    'elapsed_seconds': round(time.monotonic() - started, 3)}
    raise ApiError('timeout', 'no new leader for shard %d of %s within 5 s' % (shard, site),
                   shard=shard)
