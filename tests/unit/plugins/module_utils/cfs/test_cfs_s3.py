# -*- coding: utf-8 -*-
"""cfs_s3's diagnosis and decisions over answers in the emulator's shapes (s3Health, s3Queue)."""

import pytest

from ansible_collections.resilience.dr.plugins.module_utils.runner import Refusal
from ansible_collections.resilience.dr.plugins.module_utils.cfs import s3


def health(target='primary', primary_error=None, backup_error=None):
    def ep(name, error):
        number = 1 if name == 'primary' else 2
        return {'name': name, 'endpoint': 'http://127.90.0.%d:9000' % number,
                'bucket': 'claudefs', 'reachable': error is None, 'error': error,
                'latency_ms': None if error else 1.2, 'last_success': None}
    eps = [ep('backup', backup_error), ep('primary', primary_error)]
    return {'target': target, 'endpoints': eps, 'last_successful_write': 1796094700.0,
            'healthy': [e for e in eps if e['name'] == target][0]['reachable']}


def queue(depth=0, ratio=0.1, mode='write-back', target='primary'):
    return {'depth': depth, 'bytes': depth * 16384, 'mode': mode, 'target': target,
            'watermarks': {'high': 0.8, 'critical': 0.95, 'full': 1.0, 'evict': 0.6},
            'nodes': [{'node': 'a1', 'depth': depth, 'flash_used_ratio': ratio, 'mode': mode,
                       'journal_pending': 0, 'reachable': True},
                      {'node': 'b1', 'depth': 0, 'flash_used_ratio': 0.0, 'mode': 'write-back',
                       'journal_pending': None, 'reachable': False}]}


@pytest.mark.parametrize('error,kind', [
    ('http://127.90.0.1:9000 unreachable: [Errno 111] Connection refused', s3.NETWORK),
    ('http://x unreachable: timed out', s3.NETWORK),
    ('PUT k: HTTP 403 <Error><Code>SignatureDoesNotMatch</Code>', s3.AUTH),
    ('HEAD k: HTTP 500 internal', s3.ENDPOINT),
    (None, None)])
def test_classify(error, kind):
    assert s3.classify(error) == kind


def test_diagnose_names_the_failure_and_the_alternative():
    diag = s3.diagnose(health(primary_error='x unreachable: [Errno 111] Connection refused'))
    assert diag['healthy'] is False and diag['target_failure'] == s3.NETWORK
    assert diag['reachable_alternatives'] == ['backup']
    row = [r for r in diag['endpoints'] if r['name'] == 'primary'][0]
    assert 'firewalls' in row['advice']


def test_queue_summary_watermark_and_unreachable_nodes():
    summary = s3.queue_summary(queue(depth=7, ratio=0.83, mode='write-through'))
    assert summary['above_high_watermark'] and summary['flash_used_ratio_max'] == 0.83
    assert summary['unreachable_nodes'] == ['b1'] and summary['journal_pending'] == 0


class Fake:
    def __init__(self, h, q):
        self.answers = {'s3Health': h, 's3QueueStatus': q}
        self.calls = []

    def call(self, operation, body=None, **_):
        self.calls.append(operation)
        return self.answers[operation]


def test_failover_to_a_dead_backup_is_refused_before_any_call():
    fake = Fake(health(primary_error='refused', backup_error='HTTP 403 AccessDenied'), queue(3))
    with pytest.raises(Refusal) as refused:
        s3.S3Manager(fake).failover('backup', True, 5)
    assert 'auth failure' in str(refused.value) and 's3Failover' not in fake.calls


def test_failover_check_mode_and_unchanged_when_already_there():
    fake = Fake(health(primary_error='refused'), queue(3))
    planned = s3.S3Manager(fake, check_mode=True).failover('backup', True, 5)
    assert planned['changed'] and planned['diff']['after'] == {'target': 'backup'}
    assert 's3Failover' not in fake.calls
    fake = Fake(health(target='backup', primary_error='refused'), queue(0, target='backup'))
    same = s3.S3Manager(fake).failover('backup', True, 5)
    assert same['changed'] is False and same['drained'] is True


def test_wait_drained_fails_with_the_queue_and_the_diagnosis():
    clock = iter(range(100)).__next__
    fake = Fake(health(primary_error='x unreachable: timed out'), queue(4, 0.9, 'write-through'))
    result = s3.S3Manager(fake, clock=clock, sleep=lambda s: None).wait_drained(3)
    assert result['failed'] and '4 upload(s) left' in result['msg'] and 'network' in result['msg']
