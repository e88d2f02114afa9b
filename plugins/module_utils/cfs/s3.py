# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What cfs_s3 does: S3 health with a diagnosis, failover to another endpoint, the queue.

``diagnose`` and ``queue_summary`` are pure (unit-tested over the emulator's answers);
:class:`S3Manager` makes the calls.  ClaudeFS keeps file blobs on flash and uploads them to
S3 in the background; while S3 is down the queue grows, above the high watermark writes go
write-through (refused while S3 is down), at 100 % they fail with ENOSPC.  Switching the
upload target to the backup endpoint lets the queue drain there.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time

from ansible_collections.resilience.dr.plugins.module_utils.runner import Plan, Refusal
from ansible_collections.resilience.dr.plugins.module_utils.cfs.raft import PlanningError

NETWORK = 'network'
AUTH = 'auth'
ENDPOINT = 'endpoint'

_AUTH = re.compile(r'\b(401|403)\b|AccessDenied|SignatureDoesNotMatch|InvalidAccessKeyId|'
                   r'ExpiredToken|Forbidden', re.I)
_NETWORK = re.compile(r'unreachable|refused|timed? ?out|no route|reset|name or service|'
                      r'temporary failure in name resolution|network', re.I)


def classify(error):
    """network, auth or endpoint for one endpoint's error text (None: no error)."""
    if not error:
        return None
    if _AUTH.search(error):
        return AUTH
    if _NETWORK.search(error):
        return NETWORK
    return ENDPOINT


_ADVICE = {
    NETWORK: 'the endpoint does not answer from the cluster: check the S3 service, DNS, '
             'routes and firewalls between the nodes and it',
    AUTH: 'the endpoint answers but refuses the credentials: check the access key, secret and '
          'bucket policy (a rotated key?)',
    ENDPOINT: 'the endpoint answers with an error: check the S3 service itself (its logs, disk)',
}


def diagnose(health):
    """Per endpoint: reachable, the kind of failure and what to check; and a summary."""
    rows = []
    for ep in health.get('endpoints') or []:
        kind = None if ep.get('reachable') else classify(ep.get('error') or 'unreachable')
        rows.append({'name': ep.get('name'), 'endpoint': ep.get('endpoint'),
                     'bucket': ep.get('bucket'), 'reachable': bool(ep.get('reachable')),
                     'failure': kind, 'error': ep.get('error'),
                     'advice': _ADVICE.get(kind), 'latency_ms': ep.get('latency_ms')})
    target = health.get('target')
    active = [r for r in rows if r['name'] == target]
    spare = [r['name'] for r in rows if r['name'] != target and r['reachable']]
    return {'target': target, 'healthy': bool(health.get('healthy')), 'endpoints': rows,
            'target_failure': active[0]['failure'] if active else None,
            'reachable_alternatives': spare,
            'last_successful_write': health.get('last_successful_write')}


def queue_summary(queue):
    nodes = queue.get('nodes') or []
    ratios = [float(n.get('flash_used_ratio') or 0) for n in nodes if n.get('reachable', True)]
    return {'depth': int(queue.get('depth') or 0), 'bytes': int(queue.get('bytes') or 0),
            'mode': queue.get('mode'), 'target': queue.get('target'),
            'flash_used_ratio_max': max(ratios) if ratios else None,
            'watermarks': queue.get('watermarks'),
            'journal_pending': sum(int(n.get('journal_pending') or 0) for n in nodes),
            'unreachable_nodes': sorted(n.get('node') for n in nodes
                                        if not n.get('reachable', True)),
            'above_high_watermark': bool(ratios) and queue.get('watermarks') is not None
            and max(ratios) >= float(queue['watermarks'].get('high', 1.0))}


def problems(diag, queue):
    out = []
    for row in diag['endpoints']:
        if not row['reachable']:
            out.append('S3 %s (%s) %s failure: %s - %s' % (
                row['name'], row['endpoint'], row['failure'], row['error'], row['advice']))
    if queue['depth']:
        out.append('%d upload(s) queued (%d bytes), flash at %.0f %%, mode %s' % (
            queue['depth'], queue['bytes'], 100 * (queue['flash_used_ratio_max'] or 0),
            queue['mode']))
    return out


class S3Manager:
    def __init__(self, client, check_mode=False, clock=time.time, sleep=time.sleep, poll=0.5):
        self.client = client
        self.check_mode = check_mode
        self.clock = clock
        self.sleep = sleep
        self.poll = poll
        self.plan = Plan()

    def read(self):
        diag = diagnose(self.client.call('s3Health'))
        queue = queue_summary(self.client.call('s3QueueStatus'))
        return diag, queue

    def _result(self, changed, diag, queue, before=None, after=None, **extra):
        result = {'changed': changed, 'plan': self.plan.as_list(), 'executed': self.plan.done,
                  'target': diag['target'], 'healthy': diag['healthy'], 'diagnosis': diag,
                  'queue': queue, 'problems': problems(diag, queue)}
        if before is not None:
            result['diff'] = {'before': before, 'after': after if after is not None else before}
        result.update(extra)
        return result

    def current(self):
        diag, queue = self.read()
        return self._result(False, diag, queue)

    def health(self, wait_healthy):
        """Read; with ``wait_healthy`` seconds, read again until the active target is healthy."""
        deadline = self.clock() + (wait_healthy or 0)
        started = self.clock()
        while True:
            diag, queue = self.read()
            if diag['healthy'] or self.clock() >= deadline:
                return self._result(False, diag, queue,
                                    waited_seconds=round(self.clock() - started, 3))
            self.sleep(self.poll)

    def wait_drained(self, timeout, journal=False):
        started = self.clock()
        deadline = started + timeout
        while True:
            diag, queue = self.read()
            done = queue['depth'] == 0 and (not journal or queue['journal_pending'] == 0)
            if done or self.clock() >= deadline:
                result = self._result(False, diag, queue, drained=done,
                                      waited_seconds=round(self.clock() - started, 3))
                if not done:
                    result.update(failed=True, msg='the S3 queue did not drain within %s s: %d '
                                  'upload(s) left to %s (mode %s); %s' % (
                                      timeout, queue['depth'], queue['target'], queue['mode'],
                                      '; '.join(problems(diag, queue)) or 'no endpoint error'))
                return result
            self.sleep(self.poll)

    def failover(self, target, wait_drained, timeout):
        diag, queue = self.read()
        names = [r['name'] for r in diag['endpoints']]
        if target not in names:
            raise PlanningError('unknown S3 target %r: the cluster has %s' % (
                target, ', '.join(names)))
        before = {'target': diag['target']}
        if diag['target'] == target:
            if wait_drained and not self.check_mode:
                drained = self.wait_drained(timeout)
                drained.update(diff={'before': before, 'after': before})
                return drained
            return self._result(False, diag, queue, before=before)
        row = [r for r in diag['endpoints'] if r['name'] == target][0]
        if not row['reachable']:
            raise Refusal('switching S3 uploads to %s refused, nothing was changed: it does not '
                          'answer either (%s failure: %s). %s' % (
                              target, row['failure'], row['error'], row['advice']),
                          details={'diagnosis': diag})
        self.plan.add('POST /v1/s3/failover target=%s (uploads and reads of missing blobs go '
                      'to %s; %d queued upload(s) drain there)' % (
                          target, target, queue['depth']),
                      action=lambda: self.client.call('s3Failover', body={'target': target}))
        if wait_drained:
            self.plan.add('wait until the upload queue is empty (at most %s s)' % timeout,
                          action=lambda: None)
        if self.check_mode:
            return self._result(True, diag, queue, before=before, after={'target': target})
        started = self.clock()
        switched = self.client.call('s3Failover', body={'target': target})
        self.plan.done.append(self.plan.steps[0].as_dict())
        extra = {'switched': switched, 'switch_seconds': round(self.clock() - started, 3)}
        if wait_drained:
            drained = self.wait_drained(timeout)
            self.plan.done.append(self.plan.steps[1].as_dict())
            drained.update(changed=True, diff={'before': before, 'after': {
                'target': drained['target']}}, plan=self.plan.as_list(),
                executed=self.plan.done, seconds=round(self.clock() - started, 3), **extra)
            if drained.get('failed'):
                drained['msg'] = 'uploads now go to %s, but %s' % (target, drained['msg'])
            return drained
        diag, queue = self.read()
        return self._result(True, diag, queue, before=before, after={'target': diag['target']},
                            seconds=round(self.clock() - started, 3), **extra)
