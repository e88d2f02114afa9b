# -*- coding: utf-8 -*-
"""The kernel log read by position: /dev/kmsg records, and the scrub's file names from them."""

import os

from ansible_collections.resilience.dr.plugins.module_utils.btrfs import parsers
from ansible_collections.resilience.dr.plugins.module_utils.kernel_log import (
    KernelLogCursor, is_storage_error, parse_kmsg_record)

# Records as /dev/kmsg gave them on the lab host (kernel 6.18): "prio,seq,usec,flags;text".
SCRUB_RECORD = (b'4,2398,13102211345,-;BTRFS warning (device loop7): checksum error at logical '
                b'298844160 on dev /dev/loop7, physical 298844160, root 5, inode 257, offset 0, '
                b'length 4096, links 1 (path: homes/caf\\xc3\\xa9 \\x01.bin)\n'
                b' SUBSYSTEM=block\n DEVICE=b7:7\n')


def test_record_gives_its_message_with_escapes_decoded():
    assert parse_kmsg_record(b'12,2515,13219047105,-;probe\n') == 'probe'
    message = parse_kmsg_record(SCRUB_RECORD)
    assert message.startswith('BTRFS warning (device loop7): checksum error')
    assert message.endswith('(path: homes/caf\u00e9 \x01.bin)')


def test_malformed_records_are_skipped():
    assert parse_kmsg_record(b' SUBSYSTEM=block\n') is None
    assert parse_kmsg_record(b'no separator\n') is None


def test_scrub_paths_from_kmsg_messages_need_no_time():
    text = parse_kmsg_record(SCRUB_RECORD)
    files = parsers.parse_kernel_log_paths(text, devices=['loop7'], since=2 ** 40)
    assert files == [{'path': 'homes/caf\u00e9 \x01.bin', 'errors': 1, 'kinds': ['checksum error']}]
    assert parsers.parse_kernel_log_paths(text, devices=['loop0']) == []


def test_cursor_reads_records_in_order_and_only_new_ones(tmp_path):
    # /dev/kmsg hands out one record per read(); a FIFO of whole records behaves alike for
    # the order and the end (EAGAIN), which is what the cursor relies on beyond the seek.
    fifo = str(tmp_path / 'kmsg')
    os.mkfifo(fifo)
    writer_read_end = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    writer = os.open(fifo, os.O_WRONLY)
    cursor = KernelLogCursor.__new__(KernelLogCursor)
    cursor.lost = False
    cursor.fd = writer_read_end
    os.write(writer, b'6,1,1,-;first\n')
    assert cursor.read() == ['first']
    assert cursor.read() == []
    cursor.close()
    os.close(writer)
    assert not cursor.available and cursor.read() is None


def test_cursor_without_kmsg_is_unavailable(tmp_path):
    cursor = KernelLogCursor(str(tmp_path / 'absent'))
    assert not cursor.available
    assert cursor.read() is None


def test_a_second_bcache_registration_is_not_a_storage_error():
    """Captured in the lab after a power cut: udev and the recovery both registered the same
    backing device, and the kernel refused the second at level err."""
    assert not is_storage_error('bcache: register_bcache() error : device already registered')
    assert is_storage_error('bcache: register_bcache() error : cannot allocate memory')
    assert is_storage_error('BTRFS error (device bcache0): bdev /dev/bcache0 errs: wr 0, rd 0, '
                            'flush 0, corrupt 1, gen 0')
    assert is_storage_error('I/O error, dev vdb, sector 2048 op 0x0:(READ)')
