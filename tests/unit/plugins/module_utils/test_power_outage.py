# -*- coding: utf-8 -*-
"""After a power cut: /dev/kmsg records since boot, restic lock classification (over a lock
captured from restic 0.14) and the report entries of roles/train_power."""

import json
import os

from ansible_collections.resilience.dr.plugins.filter.train_power import train_power_checks
from ansible_collections.resilience.dr.plugins.module_utils import kernel_log
from ansible_collections.resilience.dr.plugins.module_utils.restic import locks
from ansible_collections.resilience.dr.plugins.module_utils.timeutil import parse_since

FIX = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'restic')


def lock():
    with open(os.path.join(FIX, 'lock-0.14.json')) as handle:
        return json.load(handle)


def test_kmsg_fields_and_storage_errors():
    recs = [kernel_log.parse_kmsg_fields(r) for r in (
        b'6,1,100,-;Linux version 6.12',
        b'3,2,2500000,-;BTRFS error (device bcache0): bdev /dev/bcache0 errs: wr 0, rd 1',
        b'4,3,2600000,-;BTRFS warning (device bcache0): checksum error at logical 123',
        b'6,4,2700000,-;bcache: register_bdev() registered backing device vdb',
        b'3,5,2800000,-;usb 1-1: device descriptor read/64, error -71',
        b'6,6,2900000,-;blk_update_request: I/O error, dev vdb, sector 8',
    )]
    assert recs[1] == {'level': 'err', 'seq': 2, 'seconds': 2.5,
                       'message': 'BTRFS error (device bcache0): bdev /dev/bcache0 errs: wr 0, rd 1'}
    found = kernel_log.storage_errors(recs)
    assert [r['seq'] for r in found] == [2, 3, 5, 6]   # a routine bcache line is not an error
    assert kernel_log.parse_kmsg_fields(b'garbage') is None


def test_lock_classification():
    doc = lock()
    now = parse_since('2026-12-01T07:20:00Z')
    assert locks.classify_lock(doc, 'vm', now, alive=lambda pid: False)[0] == 'stale'
    kind, age = locks.classify_lock(doc, 'vm', now, alive=lambda pid: pid == 25081)
    assert kind == 'live' and 110 <= age <= 115
    assert locks.classify_lock(doc, 'other', now)[0] == 'foreign'
    assert locks.classify_lock(doc, 'other', now + 3600)[0] == 'old'
    assert locks.describe('abcdef0123', doc, 'stale', 1.5)['id'] == 'abcdef01'


def test_pid_is_restic_refuses_a_reused_pid(tmp_path):
    proc = tmp_path / '42'
    proc.mkdir()
    (proc / 'cmdline').write_bytes(b'/usr/bin/python3\0x\0')
    assert locks.pid_is_restic(42, str(tmp_path)) is False
    (proc / 'cmdline').write_bytes(b'/usr/bin/restic\0backup\0')
    assert locks.pid_is_restic(42, str(tmp_path)) is True
    assert locks.pid_is_restic(43, str(tmp_path)) is False


def test_power_checks_report_and_warn_without_repairing():
    results = {
        'bcache': {'backing_devices': [{'state': 'dirty', 'dirty_data_bytes': 4096},
                                       {'state': 'clean', 'dirty_data_bytes': 0}]},
        'info': {'filesystems': [{'mountpoint': '/mnt/storage', 'devices': [
            {'path': '/dev/bcache0', 'stats': {'write_io_errs': 0, 'corruption_errs': 2}}]}]},
        'kernel': {'records': [], 'count': 0, 'storage_count': 0, 'readable': True},
        'scrub': {'status': 'finished', 'corrected_errors': 0, 'uncorrectable_errors': 0,
                  'scrub': {'csum_errors': 2}, 'affected_summary': 'homes/a'},
        'locks': {'removed': [{'hostname': 'train', 'pid': 7, 'kind': 'stale'}], 'kept': []},
        'backup_before': {'latest': {'short_id': 'ab12', 'age_seconds': 90000}},
        'backup_after': {'latest': {'short_id': 'cd34', 'age_seconds': 10}},
        'backup_run': {'changed': True},
        'rpo_target': 86400,
        # community.docker.docker_host_info, containers: true (the API's list form)
        'containers': {'containers': [
            {'Names': ['/workspace-alice'], 'State': 'running', 'Status': 'Up 2 minutes'},
            {'Names': ['/workspace-bob'], 'State': 'exited', 'Status': 'Exited (137) 1 minute ago'}]},
    }
    out = train_power_checks(results, '/mnt/storage')
    checks = dict((c['check'], c) for c in out['checks'])
    assert '4096 bytes dirty' in checks['bcache state after the power cut']['detail']
    assert checks['BTRFS device error counters'] == {
        'check': 'BTRFS device error counters', 'ok': False,
        'detail': '/dev/bcache0 corruption_errs=2'}
    assert checks['BTRFS scrub after the power cut']['ok'] is False      # found, not repaired
    assert 'report-only' in checks['BTRFS scrub after the power cut']['detail']
    assert checks['restic locks']['detail'].startswith('removed 1 stale (train pid 7)')
    assert checks['backup within the RPO target']['ok'] and 're-run now' in \
        checks['backup within the RPO target']['detail']
    assert checks['workspace containers running'] == {
        'check': 'workspace containers running', 'ok': False, 'detail': '1 running, down: workspace-bob'}
    assert any('train_power_scrub_repair=true' in w for w in out['warnings'])
    assert any('dirty data' in w for w in out['warnings'])
    repaired = train_power_checks(dict(results, scrub=dict(results['scrub'], corrected_errors=2)),
                                  '/mnt/storage', repair=True)
    assert dict((c['check'], c['ok']) for c in repaired['checks'])['BTRFS scrub after the power cut']
