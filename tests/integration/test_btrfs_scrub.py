# -*- coding: utf-8 -*-
"""btrfs_scrub (and btrfs_array_info's error reporting) after real, deliberate corruption.

One copy of a file on a raid1 is overwritten on one device only (found by searching the loop's
backing image for a marker the test wrote); a scrub must repair it from the other copy.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from btrfs_helpers import (have_root_and_loops, loop_pool, module_runner,  # noqa: E402
                           mutating_commands, sh, sha256_file)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not have_root_and_loops(), reason='needs root and loop devices'),
]

MARKER = b'resilience.dr scrub marker 7f3a9c1e -- one copy of this gets corrupted. '


@pytest.fixture
def pool():
    with loop_pool(prefix='btrfs-scrub-') as p:
        yield p


@pytest.fixture
def run(run_module):
    return module_runner(run_module)


def write_marker_file(path, size=256 * 1024):
    data = (MARKER * (size // len(MARKER) + 1))[:size]
    with open(path, 'wb') as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return sha256_file(path)


def find_marker(image, chunk=8 * 1024 * 1024):
    """Offset of the first MARKER in ``image`` (the file's first data block), or None."""
    with open(image, 'rb') as f:
        pos = 0
        tail = b''
        while True:
            block = f.read(chunk)
            if not block:
                return None
            buf = tail + block
            i = buf.find(MARKER)
            if i >= 0:
                return pos - len(tail) + i
            tail = buf[-len(MARKER):]
            pos += len(block)


def corrupt(image, offset, length=16384):
    with open(image, 'r+b') as f:
        f.seek(offset)
        f.write(b'\xde\xad\xbe\xef' * (length // 4))
        f.flush()
        os.fsync(f.fileno())


def make_fs(run, pool, label, count, profile):
    loops = pool.new(count)
    res = run('btrfs_array', {'label': label, 'devices': [lp.device for lp in loops],
                              'data_profile': profile, 'metadata_profile':
                              'dup' if count == 1 else profile})
    assert not res.failed and res['changed'], res.get('msg')
    return loops, res


def test_scrub_repairs_one_corrupted_copy_on_raid1(pool, run):
    loops, made = make_fs(run, pool, 'it-scrub', 2, 'raid1')
    mnt = pool.mount(loops[0].device)
    digest = write_marker_file(os.path.join(mnt, 'precious.bin'))
    pool.umount(mnt)

    offset = find_marker(loops[0].image)
    assert offset is not None and offset % 4096 == 0
    other = find_marker(loops[1].image)
    assert other is not None, 'raid1 keeps a second copy on the other device'
    corrupt(loops[0].image, offset)
    assert find_marker(loops[0].image) != offset

    mnt = pool.mount(loops[0].device)
    # a clean scrub record must not count: nothing was scrubbed yet -> scrub now
    res = run('btrfs_scrub', {'mountpoint': mnt, 'max_age': '1h'}, check=True)
    assert res['changed'] is True and mutating_commands(res) == []
    res = run('btrfs_scrub', {'mountpoint': mnt, 'max_age': '1h'})
    assert not res.failed, res.get('msg')
    assert res['changed'] is True
    assert res['status'] == 'finished'
    assert res['corrected_errors'] >= 1
    assert res['uncorrectable_errors'] == 0
    assert res['bytes_scrubbed'] > 256 * 1024
    assert res['uuid'] == made['uuid']
    assert res['finished'] is not None

    # the copy on disk was rewritten from the good one
    assert find_marker(loops[0].image) == offset
    pool.umount(mnt)
    sh('sync')
    with open('/proc/sys/vm/drop_caches', 'w') as f:
        f.write('3\n')
    mnt = pool.mount(loops[0].device)
    assert sha256_file(os.path.join(mnt, 'precious.bin')) == digest

    # idempotent: scrubbed within the hour -> no new scrub
    again = run('btrfs_scrub', {'mountpoint': mnt, 'max_age': '1h'})
    assert again['changed'] is False and again['plan'] == []
    assert again['corrected_errors'] >= 1
    assert mutating_commands(again) == []
    # ... but "since" after that scrub asks for a new one
    since = run('btrfs_scrub', {'label': 'it-scrub', 'since': '2099-01-01T00:00:00Z'},
                check=True)
    assert since['changed'] is True

    info = run('btrfs_array_info', {'label': 'it-scrub'})
    fs = info['filesystems'][0]
    assert fs['last_scrub']['status'] == 'finished'
    assert fs['last_scrub']['corrected_errors'] >= 1
    bad = [d for d in fs['devices'] if d['path'] == loops[0].device][0]
    assert bad['stats']['corruption_errs'] >= 1
    assert fs['errors'] >= 1


def test_uncorrectable_fails_unless_report_only(pool, run):
    loops, made = make_fs(run, pool, 'it-scrub-single', 1, 'single')
    mnt = pool.mount(loops[0].device)
    write_marker_file(os.path.join(mnt, 'doomed.bin'))
    pool.umount(mnt)
    offset = find_marker(loops[0].image)
    corrupt(loops[0].image, offset)
    mnt = pool.mount(loops[0].device)

    res = run('btrfs_scrub', {'mountpoint': mnt, 'max_age': '0'})
    assert res.failed
    assert 'uncorrectable' in res['msg'] and 'fail_on_uncorrectable' in res['msg']
    assert res['uncorrectable_errors'] >= 1
    # The kernel names the damaged file; the module passes it on, in the result and the message.
    assert [f['path'] for f in res['affected_files']] == ['doomed.bin']
    assert 'doomed.bin' in res['msg']

    report = run('btrfs_scrub', {'mountpoint': mnt, 'max_age': '1h',
                                 'fail_on_uncorrectable': False})
    assert not report.failed, report.get('msg')
    assert report['changed'] is False
    assert report['uncorrectable_errors'] >= 1
    assert [f['path'] for f in report['affected_files']] == ['doomed.bin']
    assert report['affected_summary'] == 'doomed.bin'


def test_started_returns_at_once_and_cancelled(pool, run):
    loops, made = make_fs(run, pool, 'it-scrub-bg', 1, 'single')
    mnt = pool.mount(loops[0].device)
    write_marker_file(os.path.join(mnt, 'f.bin'))
    res = run('btrfs_scrub', {'uuid': made['uuid'], 'state': 'started', 'max_age': '0'})
    assert not res.failed, res.get('msg')
    assert res['changed'] is True
    assert any(' scrub start ' in c['cmd'] and ' -B ' not in c['cmd'] for c in res['commands'])
    done = run('btrfs_scrub', {'uuid': made['uuid'], 'state': 'completed', 'max_age': '1h'})
    assert not done.failed and done['status'] == 'finished'
    assert done['changed'] is False
    cancel = run('btrfs_scrub', {'uuid': made['uuid'], 'state': 'cancelled'})
    assert cancel['changed'] is False    # nothing running


def test_info_without_match_and_unmounted_refusal(run):
    res = run('btrfs_array_info', {'label': 'no-such-label-here'})
    assert not res.failed and res['filesystems'] == []
    everything = run('btrfs_array_info', {'stats': True})   # '-a {}' is taken as raw params
    assert not everything.failed and isinstance(everything['filesystems'], list)
    scrub = run('btrfs_scrub', {'label': 'no-such-label-here'})
    assert scrub.failed and scrub.get('refused')
