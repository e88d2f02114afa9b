# -*- coding: utf-8 -*-
"""Progress probes' parsers over output captured from the real tools
(tests/unit/fixtures/progress/README.md says how), and the progress line."""

import os

from ansible_collections.resilience.dr.plugins.plugin_utils import progress as pg

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'progress')


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def test_sizes_and_durations():
    assert pg.to_bytes('1.17GiB') == int(1.17 * 1024 ** 3)
    assert pg.to_bytes('8.0M') == 8 * 1024 ** 2 and pg.to_bytes('0.0k') == 0
    assert pg.to_bytes('512') == 512 and pg.to_bytes('0.00B') == 0
    assert pg.to_bytes('lots') is None and pg.to_bytes('3 parsecs') is None
    assert pg.to_seconds('1:02:03') == 3723 and pg.to_seconds('soon') is None


def test_scrub_running_and_finished():
    running = pg.parse_btrfs_scrub_status(fixture('btrfs-scrub-status-running.txt'))
    assert running.state == 'running' and running.percent == 0.0
    assert running.total == int(1.17 * 1024 ** 3) and running.done == 0
    finished = pg.parse_btrfs_scrub_status(fixture('btrfs-scrub-status-finished.txt'))
    assert finished.state == 'finished' and finished.percent == 100.0
    assert finished.done == finished.total


def test_replace_status_lines():
    never, early, later, done = fixture('btrfs-replace-status.txt').splitlines()
    assert pg.parse_btrfs_replace_status(never).state == 'Never started'
    assert pg.parse_btrfs_replace_status(never).percent is None
    assert pg.parse_btrfs_replace_status(early).percent == 13.6
    assert pg.parse_btrfs_replace_status(later).percent == 35.4
    assert pg.parse_btrfs_replace_status(done).percent == 100.0


def test_bcache_flush_counts_down_from_the_first_reading():
    first = pg.parse_bcache_dirty('8.0M\n4.0M\n')
    assert first.total == 12 * 1024 ** 2 and first.done == 0 and first.state == 'flushing'
    later = pg.parse_bcache_dirty('2.0M\n1.0M\n', initial=first.total)
    assert later.done == 9 * 1024 ** 2 and later.percent == 75.0
    clean = pg.parse_bcache_dirty('0.0k\n0.0k\n', initial=first.total)
    assert clean.percent == 100.0 and clean.state == 'clean'
    assert pg.parse_bcache_dirty('').done is None


def test_bytes_in_with_and_without_a_total():
    assert pg.parse_bytes_in('1048576\t/mnt/storage/homes\n', total=4 * 1048576).percent == 25.0
    unknown = pg.parse_bytes_in('1048576\t/x\n')
    assert unknown.done == 1048576 and unknown.percent is None


def test_meter_rate_eta_and_the_line():
    meter = pg.Meter()
    meter.update(100.0, pg.Sample(done=0, total=1000 * 1024 ** 2))
    sample = meter.update(110.0, pg.Sample(done=100 * 1024 ** 2, total=1000 * 1024 ** 2))
    assert sample.rate == 10 * 1024 ** 2 and sample.eta == 90.0
    line = pg.progress_line('restore /mnt/storage/homes', sample, 62)
    assert line == ('restore /mnt/storage/homes: 10.0%, 100.0 MiB of 1000.0 MiB, 10.0 MiB/s, '
                    'ETA 1m 30s (running for 1m 02s)')
    assert pg.progress_line('scrub', pg.Sample(), 3) == 'scrub: no reading yet (running for 3s)'


def test_probe_commands_are_quoted_and_c_locale():
    assert pg.probe_command('btrfs_scrub', {'path': '/mnt/my storage'}) == \
        "LC_ALL=C btrfs scrub status '/mnt/my storage'"
    assert pg.probe_command('bcache_flush', {'devices': ['/dev/bcache0', 'bcache1']}) == \
        'LC_ALL=C cat /sys/block/bcache0/bcache/dirty_data /sys/block/bcache1/bcache/dirty_data'
