# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``btrfs_array_info``: every btrfs on the host, with error counters, usage and last scrub."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.resilience.dr.plugins.module_utils.blockdev import device_rdev
from ansible_collections.resilience.dr.plugins.module_utils.btrfs.discovery import (
    Btrfs, public_fs)
from ansible_collections.resilience.dr.plugins.module_utils.btrfs.scrub import scrub_result
from ansible_collections.resilience.dr.plugins.module_utils.runner import Refusal


def _selected(fs, label, uuid, rdev):
    if uuid and fs['uuid'] != uuid.lower():
        return False
    if label is not None and fs['label'] != label:
        return False
    return rdev is None or rdev in set(d['rdev'] for d in fs['devices'])


def _mounted_details(view, item, mnt, stats, scrub, usage):
    """Usage, per-device error counters and the last scrub of a mounted filesystem."""
    if usage:
        u = view.usage(mnt)
        item['usage'] = u['overall'] if u else None
    if stats:
        counters = view.device_stats(mnt)
        for d in item['devices']:
            key = d['path'] if d['path'] in counters else 'devid:%d' % d['devid']
            d['stats'] = counters.get(key)
        item['errors'] = sum(sum(c.values()) for c in counters.values())
    if scrub:
        s = view.scrub_status(mnt)
        item['last_scrub'] = scrub_result(s) if s else None


def gather_info(runner, label=None, uuid=None, device=None, stats=True, scrub=True, usage=True):
    """Every btrfs on the host (or the one selected), with stats, usage and last scrub.

    Returns ``(filesystems, note)``; the note says why the list is empty when btrfs-progs
    is not installed.
    """
    if runner.which('btrfs', required=False) is None:
        return [], 'btrfs-progs is not installed'
    view = Btrfs(runner)
    rdev = device_rdev(device) if device else None
    if device and rdev is None:
        raise Refusal('device %s does not exist or is not a block device' % device,
                      option='device')
    out = []
    for fs in view.filesystems():
        if not _selected(fs, label, uuid, rdev):
            continue
        item = public_fs(fs)
        item['usage'] = None
        item['last_scrub'] = None
        for d in item['devices']:
            d['stats'] = None
        if fs['mountpoint']:
            _mounted_details(view, item, fs['mountpoint'], stats, scrub, usage)
        out.append(item)
    return out, None
