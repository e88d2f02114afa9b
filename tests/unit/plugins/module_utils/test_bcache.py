# -*- coding: utf-8 -*-
"""Unit tests for plugins/module_utils/bcache.py: parsing and planning only.

Every input is real: sysfs trees captured in a Debian 13 lab VM with
tests/unit/fixtures/bcache/capture_sysfs.py, bcache-super-show and blkid outputs captured in
that VM (``trixie/``) and on the Debian 12 host (``bookworm-host/``, bcache-tools 1.0.8).
"""

import json
import os

import pytest

from ansible_collections.resilience.dr.plugins.module_utils import bcache
from ansible_collections.resilience.dr.plugins.module_utils.runner import Refusal

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'bcache')


def fixture(*parts):
    with open(os.path.join(FIXTURES, *parts)) as handle:
        return handle.read()


def sysfs_tree(tmp_path, name):
    """Rebuild a captured sysfs tree under tmp_path; return a Sysfs rooted there."""
    tree = json.loads(fixture('trixie', name + '.sysfs.json'))
    root = str(tmp_path / 'root')
    for path in sorted(tree):
        entry = tree[path]
        full = os.path.join(root, path.lstrip('/'))
        if entry.get('dir'):
            os.makedirs(full, exist_ok=True)
        elif 'link' in entry:
            os.makedirs(os.path.dirname(full), exist_ok=True)
            os.symlink(entry['link'], full)
        else:
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, 'w') as handle:
                handle.write(entry['file'] or '')
    return bcache.Sysfs(root)


def super_show(name, release='trixie'):
    return bcache.parse_super_show(fixture(release, name + '.super-show.txt'))


def blkid(name, release='trixie'):
    found = bcache.parse_blkid_export(fixture(release, name + '.blkid-export.txt'))
    entry = dict(found[0]) if found else {}
    entry.pop('DEVNAME', None)
    return entry


class FakeRunner:
    """Planning never runs commands; ``which`` answers with the usual paths."""

    executed = []

    def which(self, tool, required=True, hint=None):
        return '/usr/sbin/%s' % tool

    def run(self, argv, check=True, **kwargs):  # pragma: no cover - planning must not run
        raise AssertionError('planning ran a command: %s' % argv)


# -- parsing ----------------------------------------------------------------------------------

@pytest.mark.parametrize('text,expected', [
    ('0.0k', 0), ('8.0M', 8 * 1024 ** 2), ('4.0M', 4194304), ('512', 512),
    ('976.5k', 999936), ('1.5G', 1610612736), ('-1.5k', -1536),
])
def test_parse_human(text, expected):
    assert bcache.parse_human(text) == expected


@pytest.mark.parametrize('value,expected', [
    (0, '0.0k'), (4194304, '4.0M'), (8388608, '8.0M'), (1000000, '976.5k'), (1024, '1.0k'),
    (1023 * 1024, '0.9M'), (999 * 1024, '999.0k'),
])
def test_hprint_matches_kernel_format(value, expected):
    assert bcache.hprint(value) == expected
    # the kernel truncates to one digit after the point: reading back is precise to 0.1 unit
    unit = 1024 ** ('kMG'.index(expected[-1]) + 1)
    assert 0 <= value - bcache.parse_human(expected) < unit // 10 + 1


def test_size_option():
    assert bcache.parse_size_option('0') == 0
    assert bcache.parse_size_option(1048576) == 1048576
    assert bcache.parse_size_option('4M') == 4194304
    assert bcache.parse_size_option('512k') == 524288
    with pytest.raises(ValueError, match='sequential_cutoff'):
        bcache.parse_size_option('lots')


def test_parse_choice():
    assert bcache.parse_choice('writethrough [writeback] writearound none') == 'writeback'
    assert bcache.parse_choice('[writethrough] writeback writearound none') == 'writethrough'


def test_super_show_bookworm_cache_and_backing():
    cache = super_show('cache', 'bookworm-host')
    assert cache['type'] == 'cache'
    assert cache['cset_uuid'] == '99b9bbb9-377c-4f81-87b7-f29809b9dffd'
    assert cache['dev_uuid'] == '3f9e2b1e-13b1-4c1a-b5ef-2442f6758c2c'
    backing = super_show('backing-detached', 'bookworm-host')
    assert backing['type'] == 'backing'
    assert backing['cache_state'] == 'detached'
    assert backing['cache_mode'] == 'writethrough'
    assert backing['label'] == ''
    assert backing['data_offset_sectors'] == 16


def test_super_show_bad_magic_is_none():
    assert bcache.parse_super_show(fixture('bookworm-host', 'ext4.super-show.txt')) is None


def test_blkid_signatures_are_described():
    ext4 = blkid('ext4', 'bookworm-host')
    assert bcache.describe_signature(ext4) == 'ext4 filesystem'
    btrfs = blkid('btrfs', 'bookworm-host')
    assert 'BTRFS member' in bcache.describe_signature(btrfs)
    facts = bcache.DeviceFacts('/dev/vdb', 'vdb', ext4, None)
    assert facts.kind == 'other'
    facts = bcache.DeviceFacts('/dev/vdb', 'vdb', blkid('backing', 'bookworm-host'),
                               super_show('backing-detached', 'bookworm-host'))
    assert facts.kind == 'bcache-backing'


def test_udev_rule_merge_is_idempotent_and_keeps_other_devices():
    rule_a = bcache.udev_rule('aaaa', 0, 40)
    assert 'ENV{ID_FS_UUID}=="aaaa"' in rule_a
    assert 'echo 0 > $$d/sequential_cutoff' in rule_a
    assert 'echo 40 > $$d/writeback_percent' in rule_a
    text = bcache.render_rules('', {'aaaa': rule_a})
    assert bcache.render_rules(text, {'aaaa': rule_a}) == text
    other = bcache.render_rules(text, {'bbbb': bcache.udev_rule('bbbb', 4194304, 10)})
    assert 'aaaa' in other and 'bbbb' in other
    assert bcache.render_rules(other, {}, drop_uuids=['aaaa', 'bbbb']) == ''
