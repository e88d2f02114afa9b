"""s3Health, s3Failover, s3QueueStatus."""

import threading
import time

from cfsemu import peers, s3
from cfsemu.errors import ApiError


def register(node):
    r = node.router
    r.add('GET', '/v1/s3/health', lambda req: health(node))
    r.add('POST', '/v1/s3/failover', lambda req: failover(node, req.arg('target')))
    r.add('GET', '/v1/s3/queue', lambda req: queue(node))
    r.add('GET', '/v1/internal/s3/queue', lambda req: node.extras['s3queue'].status())


def endpoints(node):
    return {name: spec for name, spec in node.cluster.s3_endpoints().items()
            if isinstance(spec, dict)}


def health(node):
    flash = node.extras['s3queue']
    target = flash.target()
    out = []
    for name, spec in sorted(endpoints(node).items()):
        started = time.monotonic()
        error = None
        try:
            s3.client(spec, timeout=1.0).ping()
        except s3.S3Error as exc:
            error = str(exc)
        out.append({'name': name, 'endpoint': spec['endpoint'], 'bucket': spec.get('bucket'),
                    'reachable': error is None, 'error': error,
                    'latency_ms': round((time.monotonic() - started) * 1000, 1)
                    if error is None else None,
                    'last_success': flash.last_success if name == target else None})
    healthy = any(e['reachable'] for e in out if e['name'] == target)
    return {'target': target, 'healthy': healthy, 'endpoints': out,
            'last_successful_write': flash.last_success}


def resolve_target(node, target):
    eps = endpoints(node)
    if target in eps:
        return target
    if target and target.startswith('s3://'):
        bucket = target[5:].split('/', 1)[0]
        named = [n for n, spec in eps.items() if spec.get('bucket') == bucket]
        current = node.control.snapshot()['s3_target']
        others = [n for n in named if n != current]
        if len(named) == 1 or others:
            return (others or named)[0]
    raise ApiError('bad_request', 'unknown S3 target %r: use one of %s or s3://<bucket>' % (
        target, ', '.join(sorted(eps))), targets=sorted(eps))


def failover(node, target):
    name = resolve_target(node, target)
    previous = node.control.snapshot()['s3_target']
    if name == previous:
        return {'target': name, 'previous_target': previous, 'changed': False,
                'requeued': len(node.extras['s3queue'].queue())}
    try:
        s3.client(endpoints(node)[name], timeout=1.0).ping()
    except s3.S3Error as exc:
        raise ApiError('s3_unavailable', 'refusing to switch to %s: it does not answer (%s)' % (
            name, exc), target=name)
    node.control.update(lambda r: r.__setitem__('s3_target', name))
    node.extras['s3queue'].kick.set()
    return {'target': name, 'previous_target': previous, 'changed': True,
            'requeued': len(node.extras['s3queue'].queue())}


def queue(node):
    rows = []
    lock = threading.Lock()

    def one(member):
        if member == node.name:
            row = node.extras['s3queue'].status()
        else:
            try:
                status, row = node.call(member, 'GET', '/v1/internal/s3/queue', timeout=1.5)
                if status != 200:
                    raise peers.PeerError(str(row))
            except peers.PeerError:
                row = {'node': member, 'depth': 0, 'bytes': 0, 'flash_used_bytes': 0,
                       'flash_quota_bytes': 0, 'flash_used_ratio': 0.0, 'mode': 'write-back',
                       'reachable': False}
        with lock:
            rows.append(row)
    members = [n for n, spec in node.control.snapshot()['nodes'].items()
               if spec['state'] not in ('removed', 'fenced')]
    threads = [threading.Thread(target=one, args=(m,)) for m in members]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rows.sort(key=lambda r: r['node'])
    order = ['write-back', 'write-through', 'enospc']
    mode = max((r['mode'] for r in rows if r.get('reachable', True)), key=order.index,
               default='write-back')
    flash = node.cluster.flash
    return {'depth': sum(r['depth'] for r in rows), 'bytes': sum(r['bytes'] for r in rows),
            'mode': mode, 'target': node.control.snapshot()['s3_target'], 'nodes': rows,
            'watermarks': {'high': float(flash['high_watermark']),
                           'critical': float(flash['critical_watermark']), 'full': 1.0,
                           'evict': float(flash['evict_watermark'])}}
