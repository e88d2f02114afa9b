"""fileWrite / fileRead / fileList / fileDelete and the internal blob endpoints."""

import json
import time
from urllib.parse import quote

from cfsemu import peers, sitecalls
from cfsemu.datapath import DataPath
from cfsemu.errors import ApiError
from cfsemu.flash import Flash
from cfsemu.server import Raw
from cfsemu.statemachine import shard_of


def register(node):
    flash = Flash(node)
    data = DataPath(node, flash)
    node.extras['s3queue'] = flash
    node.extras['datapath'] = data
    r = node.router
    r.add('PUT', '/v1/files/{path+}', lambda req: write(node, data, req))
    r.add('GET', '/v1/files/{path+}', lambda req: read(node, data, req))
    r.add('DELETE', '/v1/files/{path+}', lambda req: delete(node, req))
    r.add('GET', '/v1/files', lambda req: listing(node, req))
    r.add('GET', '/v1/internal/shard-files/{shard}', lambda req: {
        'files': node.shards.get(int(req.params['shard'])).files()})
    r.add('PUT', '/v1/internal/blobs/{sha}', lambda req: put_blob(flash, req))
    r.add('GET', '/v1/internal/blobs/{sha}', lambda req: get_blob(flash, req))


def serving_site(node, req=None):
    site = req.arg('site') if req is not None else None
    return site or node.control.snapshot()['active_site']


def forward(node, site, method, path, body=None, headers=None):
    """Proxy a request to a live node of ``site``; the answer is passed through."""
    last = None
    for other in node.nodes_of_site(site, alive_only=True):
        if other == node.name:
            continue
        try:
            status, payload, hdrs = node.call(other, method, path, body, timeout=8.0, raw=True,
                                              headers=headers)
        except peers.PeerError as exc:
            last = exc
            continue
        if isinstance(payload, (bytes, bytearray)):
            keep = {k: v for k, v in hdrs.items() if k.lower().startswith('x-')}
            keep['Content-Type'] = hdrs.get('Content-Type', 'application/octet-stream')
            return Raw(bytes(payload), keep, status)
        return Raw(json.dumps(payload).encode(), {'Content-Type': 'application/json'}, status)
    raise ApiError('node_unreachable', 'no node of %s answers (%s)' % (site, last), site=site)


def _local(node, site, path):
    """True when this node should serve ``path`` itself (it holds the shard on that site)."""
    if node.site != site:
        return False
    try:
        node.shards.get(shard_of(path, node.cluster.shards))
    except ApiError:
        return False
    return True


def write(node, data, req):
    path = req.params['path']
    site = serving_site(node)
    if not _local(node, site, path):
        return forward(node, site, 'PUT', '/v1/files/%s' % quote(path), req.raw,
                       {k: v for k, v in req.headers.items() if k.lower() == 'x-client-op-id'})
    blocked = node.control.snapshot().get('failover', {})
    if blocked.get('writes_blocked') and blocked.get('from') == node.site:
        raise ApiError('conflict', 'writes to %s are blocked by failover-prepare; fail over or '
                       'call failback to unblock' % node.site, site=node.site)
    return data.write(path, req.raw, req.headers.get('X-Client-Op-Id'))


def read(node, data, req):
    path = req.params['path']
    site = serving_site(node, req)
    if not _local(node, site, path):
        query = '?site=%s' % site if req.arg('site') else ''
        return forward(node, site, 'GET', '/v1/files/%s%s' % (quote(path), query))
    version, content = data.read(path)
    return Raw(content, {'Content-Type': 'application/octet-stream',
                         'X-Content-Sha256': version['sha256'],
                         'X-Seq': str(version['seq']), 'X-Shard': str(version['shard'])})


def delete(node, req):
    path = req.params['path']
    site = serving_site(node)
    if not _local(node, site, path):
        return forward(node, site, 'DELETE', '/v1/files/%s' % quote(path))
    shard = shard_of(path, node.cluster.shards)
    tomb = node.shards.submit(shard, 'delete', {'path': path, 'timestamp': time.time(),
                                                'site': node.site})
    if tomb is None:
        raise ApiError('not_found', 'no file %s' % path, path=path)
    return tomb


def listing(node, req):
    site = serving_site(node, req)
    prefix = req.arg('prefix', '') or ''
    if node.site != site:
        query = '?prefix=%s&site=%s' % (quote(prefix), site)
        return forward(node, site, 'GET', '/v1/files' + query)
    files = []
    held = node.shards.all()
    for sm in held.values():
        files.extend(v for v in sm.files() if v['path'].startswith(prefix))
    missing = sorted(set(range(node.cluster.shards)) - set(held))
    unavailable = []
    for shard in missing:   # shards this node is not a member of: ask their members
        for member in sitecalls.members(node, site, shard):
            try:
                answer = node.call_ok(member, 'GET', '/v1/internal/shard-files/%d' % shard)
            except ApiError:
                continue
            files.extend(v for v in answer['files'] if v['path'].startswith(prefix))
            break
        else:
            unavailable.append(shard)     # a partial listing says so: never a silent loss
    files.sort(key=lambda v: v['path'])
    return {'site': site, 'files': files, 'unavailable_shards': unavailable}


def put_blob(flash, req):
    """A peer's copy of a blob; refused (enospc) when it does not fit this node's quota."""
    sha = req.params['sha']
    if not flash.has(sha) and flash.mode(len(req.raw)) == 'enospc':
        flash.evict(need=len(req.raw))
        if flash.mode(len(req.raw)) == 'enospc':
            raise ApiError('enospc', 'flash of %s is full' % flash.node.name,
                           node=flash.node.name)
    return {'stored': flash.put(sha, req.raw)}


def get_blob(flash, req):
    data = flash.get(req.params['sha'])
    if data is None:
        raise ApiError('not_found', 'blob %s not on this flash' % req.params['sha'])
    return Raw(data, {'Content-Type': 'application/octet-stream'})
