# -*- coding: utf-8 -*-
"""Unit tests for plugins/module_utils/bcache/: parsing and planning only.

Every input is real: sysfs trees captured in a Debian 13 lab VM with
tests/unit/fixtures/bcache/capture_sysfs.py, bcache-super-show and blkid outputs captured in
that VM (``trixie/``) and on the Debian 12 host (``bookworm-host/``, bcache-tools 1.0.8).
"""

import json
import os

import pytest

from ansible_collections.resilience.dr.plugins.module_utils import blockdev
from ansible_collections.resilience.dr.plugins.module_utils.bcache import (
    discovery, parsers, preflight, udev_rules)
from ansible_collections.resilience.dr.plugins.module_utils.bcache.manager import CacheSetManager
from ansible_collections.resilience.dr.plugins.module_utils.bcache.sysfs import Sysfs
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
    return Sysfs(root)


def super_show(name, release='trixie'):
    return parsers.parse_super_show(fixture(release, name + '.super-show.txt'))


def blkid(name, release='trixie'):
    found = blockdev.parse_blkid_export(fixture(release, name + '.blkid-export.txt'))
    entry = dict(found[0]) if found else {}
    entry.pop('DEVNAME', None)
    return entry


class FakeRunner:
    """Planning never runs commands; ``which`` answers with the usual paths."""

    executed = []

    def which(self, tool, required=True, hint=None):
        return '/usr/sbin/%s' % tool

    def run(self, argv, check_rc=True, **kwargs):  # pragma: no cover - planning must not run
        raise AssertionError('planning ran a command: %s' % argv)


# -- parsing ----------------------------------------------------------------------------------

@pytest.mark.parametrize('text,expected', [
    ('0.0k', 0), ('8.0M', 8 * 1024 ** 2), ('4.0M', 4194304), ('512', 512),
    ('976.5k', 999936), ('1.5G', 1610612736), ('-1.5k', -1536),
])
def test_parse_human(text, expected):
    assert parsers.parse_human(text) == expected


@pytest.mark.parametrize('value,expected', [
    (0, '0.0k'), (4194304, '4.0M'), (8388608, '8.0M'), (1000000, '976.5k'), (1024, '1.0k'),
    (1023 * 1024, '0.9M'), (999 * 1024, '999.0k'),
])
def test_hprint_matches_kernel_format(value, expected):
    assert parsers.hprint(value) == expected
    # the kernel truncates to one digit after the point: reading back is precise to 0.1 unit
    unit = 1024 ** ('kMG'.index(expected[-1]) + 1)
    assert 0 <= value - parsers.parse_human(expected) < unit // 10 + 1


def test_size_option():
    assert parsers.parse_size_option('0') == 0
    assert parsers.parse_size_option(1048576) == 1048576
    assert parsers.parse_size_option('4M') == 4194304
    assert parsers.parse_size_option('512k') == 524288
    with pytest.raises(ValueError, match='sequential_cutoff'):
        parsers.parse_size_option('lots')


def test_parse_choice():
    assert parsers.parse_choice('writethrough [writeback] writearound none') == 'writeback'
    assert parsers.parse_choice('[writethrough] writeback writearound none') == 'writethrough'


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
    assert parsers.parse_super_show(fixture('bookworm-host', 'ext4.super-show.txt')) is None


def test_blkid_signatures_are_described():
    ext4 = blkid('ext4', 'bookworm-host')
    assert blockdev.describe_view(ext4) == 'ext4 filesystem'
    btrfs = blkid('btrfs', 'bookworm-host')
    assert 'BTRFS member' in blockdev.describe_view(btrfs)
    facts = discovery.DeviceProbe('/dev/vdb', 'vdb', ext4, None)
    assert facts.kind == 'other'
    facts = discovery.DeviceProbe('/dev/vdb', 'vdb', blkid('backing', 'bookworm-host'),
                                  super_show('backing-detached', 'bookworm-host'))
    assert facts.kind == 'bcache-backing'


def test_udev_rule_merge_is_idempotent_and_keeps_other_devices():
    rule_a = udev_rules.udev_rule('aaaa', 0, 40)
    assert 'ENV{ID_FS_UUID}=="aaaa"' in rule_a
    assert 'echo 0 > $$d/sequential_cutoff' in rule_a
    assert 'echo 40 > $$d/writeback_percent' in rule_a
    text = udev_rules.render_rules('', {'aaaa': rule_a})
    assert udev_rules.render_rules(text, {'aaaa': rule_a}) == text
    other = udev_rules.render_rules(text, {'bbbb': udev_rules.udev_rule('bbbb', 4194304, 10)})
    assert 'aaaa' in other and 'bbbb' in other
    assert udev_rules.render_rules(other, {}, drop_uuids=['aaaa', 'bbbb']) == ''


# -- the kernel's view, over sysfs trees captured in the lab VM -------------------------------

BACKING = ['vdb', 'vdc', 'vdd', 'vde']


def test_state_of_a_loaded_module_without_devices(tmp_path):
    state = discovery.KernelView(sysfs_tree(tmp_path, 'loaded-empty'))
    assert state.loaded is True
    assert state.as_info() == {'loaded': True, 'cache_sets': [], 'backing_devices': [],
                               'cache_devices': []}


def test_state_without_bcache_is_empty(tmp_path):
    (tmp_path / 'sys' / 'class' / 'block').mkdir(parents=True)
    state = discovery.KernelView(Sysfs(str(tmp_path)))
    assert state.loaded is False
    assert state.as_info()['backing_devices'] == []


def test_state_attached_clean(tmp_path):
    state = discovery.KernelView(sysfs_tree(tmp_path, 'attached-clean'))
    cset = super_show('cache')['cset_uuid']
    assert list(state.cache_sets) == [cset]
    info = state.cache_sets[cset]
    assert info['cache_devices'] == ['/dev/nvme0n1p2']
    assert info['backing_devices'] == ['/dev/%s' % n for n in BACKING]
    assert isinstance(info['hit_ratio'], int)
    assert state.caches['nvme0n1p2']['cache_set_uuid'] == cset
    assert sorted(state.backing) == BACKING
    names = sorted(b['bcache_device'] for b in state.backing.values())
    assert names == ['/dev/bcache%d' % i for i in range(4)]
    for dev in state.backing.values():
        assert dev['attached'] and dev['running'] and not dev['waiting_for_cache']
        assert dev['cache_set_uuid'] == cset
        assert dev['state'] == 'clean' and dev['status'] == 'clean'
        assert dev['cache_mode'] == 'writeback'
        assert dev['dirty_data_bytes'] == 0
        assert dev['sequential_cutoff'] == '4.0M' and dev['sequential_cutoff_bytes'] == 4194304
        assert dev['writeback_percent'] == 10
    # the module parameter that clamps writeback_percent is read from sysfs
    assert state.cutoff_writeback == 40


def test_state_attached_dirty(tmp_path):
    state = discovery.KernelView(sysfs_tree(tmp_path, 'attached-dirty'))
    for dev in state.backing.values():
        assert dev['state'] == 'dirty'
        assert dev['dirty_data_bytes'] > 1024 * 1024
        assert dev['writeback_running'] is False


def test_state_waiting_for_a_missing_cache(tmp_path):
    state = discovery.KernelView(sysfs_tree(tmp_path, 'waiting-for-cache'))
    assert state.cache_sets == {}
    assert sorted(state.backing) == BACKING
    for dev in state.backing.values():
        assert dev['waiting_for_cache'] is True
        assert dev['status'] == 'waiting for missing cache'
        assert dev['running'] is False and dev['bcache_device'] is None


def test_state_started_without_cache(tmp_path):
    state = discovery.KernelView(sysfs_tree(tmp_path, 'started-without-cache'))
    for dev in state.backing.values():
        assert dev['running'] is True and dev['attached'] is False
        assert dev['state'] == 'inconsistent'
        assert dev['bcache_device'].startswith('/dev/bcache')


# -- planning ---------------------------------------------------------------------------------

TRAIN = {'cache_device': '/dev/nvme0n1p2', 'backing_devices': ['/dev/%s' % n for n in BACKING],
         'cache_mode': 'writeback', 'sequential_cutoff': None, 'writeback_percent': None,
         'state': 'present', 'flush_timeout': 300, 'force': False, 'start_without_cache': False,
         'persist': False, 'persist_path': '/nonexistent/70-resilience-bcache.rules'}


def planner(tmp_path, tree, facts, check_mode=True, persist_text='', **params):
    args = dict(TRAIN)
    args.update(params)
    manager = CacheSetManager(FakeRunner(), args, check_mode=check_mode,
                              sysfs=sysfs_tree(tmp_path, tree), probes=facts,
                              persist_text=persist_text,
                              new_cset_uuid='11111111-2222-3333-4444-555555555555')
    manager.build()
    return manager


def facts_from(cache_kind, backing_kind):
    """DeviceFacts for the NVMe partition and the 4 HDDs from captured tool output."""
    def one(path, kind, name):
        if kind == 'blank':
            return discovery.DeviceProbe(path, name, {}, None)
        if kind == 'ext4':
            return discovery.DeviceProbe(path, name, blkid('ext4'), None)
        if kind == 'cache':
            return discovery.DeviceProbe(path, name, blkid('cache'), super_show('cache'))
        return discovery.DeviceProbe(path, name, blkid('backing'),
                                     super_show('backing-%s-%s' % (kind, name)))
    facts = {'/dev/nvme0n1p2': one('/dev/nvme0n1p2', cache_kind, 'nvme0n1p2')}
    for name in BACKING:
        facts['/dev/%s' % name] = one('/dev/%s' % name, backing_kind, name)
    return facts


def steps(manager):
    return [s['step'] for s in manager.plan.as_list()]


def commands(manager):
    return [s['command'] for s in manager.plan.as_list() if s['command']]


def test_plan_on_blank_devices_creates_registers_attaches_and_tunes(tmp_path):
    manager = planner(tmp_path, 'loaded-empty', facts_from('blank', 'blank'),
                      sequential_cutoff='0', writeback_percent=40)
    cmds = commands(manager)
    assert cmds[0] == ('/usr/sbin/make-bcache -C --cset-uuid '
                       '11111111-2222-3333-4444-555555555555 /dev/nvme0n1p2')
    assert ['/usr/sbin/make-bcache -B /dev/%s' % n for n in BACKING] == cmds[1:]
    text = steps(manager)
    assert ('attach /dev/vdb to cache set: echo 11111111-2222-3333-4444-555555555555 > '
            '/sys/block/vdb/bcache/attach') in text
    assert 'echo writeback > /sys/block/vde/bcache/cache_mode' in text
    assert 'echo 0 > /sys/block/vde/bcache/sequential_cutoff' in text
    assert 'echo 40 > /sys/block/vde/bcache/writeback_percent' in text
    # the partition is addressed through /sys/class/block
    assert any('/sys/fs/bcache/register' in s and '/dev/nvme0n1p2' in s for s in text)
    assert manager.result(False)['cache_set_uuid'] == '11111111-2222-3333-4444-555555555555'


def test_plan_is_empty_when_everything_matches(tmp_path):
    manager = planner(tmp_path, 'attached-clean', facts_from('cache', 'clean'),
                      sequential_cutoff='4M', writeback_percent=10)
    assert manager.plan.as_list() == []
    before = manager.diff_view(manager.kernel)
    assert manager.predicted(before) == before


def test_plan_changes_only_what_differs(tmp_path):
    manager = planner(tmp_path, 'attached-clean', facts_from('cache', 'clean'),
                      sequential_cutoff='0', writeback_percent=10)
    assert steps(manager) == ['echo 0 > /sys/block/%s/bcache/sequential_cutoff' % n
                              for n in BACKING]


def test_writeback_percent_above_the_kernel_limit_is_clamped_with_a_warning(tmp_path):
    manager = planner(tmp_path, 'attached-clean', facts_from('cache', 'clean'),
                      sequential_cutoff='4M', writeback_percent=100)
    assert 'echo 40 > /sys/block/vdb/bcache/writeback_percent' in steps(manager)
    assert any('bch_cutoff_writeback=40' in w for w in manager.warnings)


def test_plan_refuses_make_bcache_over_a_filesystem(tmp_path):
    facts = facts_from('blank', 'blank')
    facts['/dev/vde'] = discovery.DeviceProbe('/dev/vde', 'vde', blkid('ext4'), None)
    with pytest.raises(Refusal) as err:
        planner(tmp_path, 'loaded-empty', facts)
    assert err.value.option == 'force'
    assert 'ext4 filesystem' in str(err.value) and 'force' in str(err.value)
    forced = planner(tmp_path / 'f', 'loaded-empty', facts, force=True)
    assert '/usr/sbin/wipefs -a /dev/vde' in commands(forced)
    wipe = commands(forced).index('/usr/sbin/wipefs -a /dev/vde')
    assert commands(forced)[wipe + 1] == '/usr/sbin/make-bcache -B /dev/vde'


def test_plan_refuses_a_partition_table(tmp_path):
    facts = facts_from('blank', 'blank')
    facts['/dev/nvme0n1p2'] = discovery.DeviceProbe('/dev/nvme0n1p2', 'nvme0n1p2',
                                                    blkid('nvme-gpt'), None)
    with pytest.raises(Refusal, match='gpt partition table'):
        planner(tmp_path, 'loaded-empty', facts)


def test_plan_after_os_reinstall_registers_and_never_formats(tmp_path):
    manager = planner(tmp_path, 'loaded-empty', facts_from('cache', 'clean'))
    assert not any('make-bcache' in c or 'wipefs' in c for c in commands(manager))
    registers = [s for s in steps(manager) if '/sys/fs/bcache/register' in s]
    assert len(registers) == 5
    assert not any(s['destructive'] for s in manager.plan.as_list())


def test_plan_refuses_to_start_devices_waiting_for_a_lost_cache(tmp_path):
    with pytest.raises(Refusal) as err:
        planner(tmp_path, 'waiting-for-cache', facts_from('blank', 'waiting'))
    assert err.value.option == 'start_without_cache'
    lost = err.value.details['waiting_for_cache']
    assert [d['device'] for d in lost] == ['/dev/%s' % n for n in BACKING]
    # the capture wrote data with writeback held, so the superblocks say dirty
    assert set(d['dirty_data_lost_bytes'] for d in lost) == {'unknown'}


def test_plan_replaces_a_failed_cache_start_then_attach(tmp_path):
    manager = planner(tmp_path, 'waiting-for-cache', facts_from('blank', 'waiting'),
                      start_without_cache=True)
    text = steps(manager)
    start = [i for i, s in enumerate(text) if s.startswith('start /dev/')]
    attach = [i for i, s in enumerate(text) if s.startswith('attach /dev/')]
    assert len(start) == 4 and len(attach) == 4
    assert max(start) < min(attach)
    assert 'echo 1 > /sys/block/vdb/bcache/running' in text[start[0]]
    assert manager.data_lost[0]['dirty_data_lost_bytes'] == 'unknown'
    assert '/usr/sbin/make-bcache -C' in commands(manager)[0]


def test_plan_attaches_devices_started_without_cache(tmp_path):
    facts = facts_from('blank', 'blank')
    for name in BACKING:
        facts['/dev/%s' % name] = discovery.DeviceProbe(
            '/dev/%s' % name, name, blkid('backing'), super_show('backing-inconsistent'))
    manager = planner(tmp_path, 'started-without-cache', facts)
    assert [s for s in steps(manager) if s.startswith('start ')] == []
    assert len([s for s in steps(manager) if s.startswith('attach ')]) == 4


def test_detach_of_dirty_devices_needs_a_flush(tmp_path):
    with pytest.raises(Refusal) as err:
        planner(tmp_path, 'attached-dirty', facts_from('cache', 'clean'), state='detached',
                flush_timeout=0)
    assert err.value.option == 'flush_timeout'
    manager = planner(tmp_path / 'b', 'attached-dirty', facts_from('cache', 'clean'),
                      state='detached', flush_timeout=300)
    text = steps(manager)
    assert text[0].startswith('stop new dirty data on /dev/vdb, /dev/vdc, /dev/vdd, /dev/vde')
    assert text[1].startswith('wait up to 300s (flush_timeout)')
    assert text[2:6] == ['detach /dev/%s from its cache: echo 1 > /sys/block/%s/bcache/detach'
                         % (n, n) for n in BACKING]


def test_detach_with_a_missing_cache_needs_force(tmp_path):
    with pytest.raises(Refusal) as err:
        planner(tmp_path, 'waiting-for-cache', facts_from('blank', 'waiting'), state='detached')
    assert err.value.option == 'force'
    manager = planner(tmp_path / 'b', 'waiting-for-cache', facts_from('blank', 'waiting'),
                      state='detached', force=True)
    assert len([s for s in steps(manager) if s.startswith('start ')]) == 4
    assert manager.data_lost[0]['dirty_data_lost_bytes'] == 'unknown'


def test_detached_devices_need_nothing(tmp_path):
    facts = facts_from('cache', 'clean')
    manager = planner(tmp_path, 'backing-no-cache', facts, state='detached')
    assert manager.plan.as_list() == []


def test_absent_needs_force(tmp_path):
    with pytest.raises(Refusal) as err:
        planner(tmp_path, 'backing-no-cache', facts_from('cache', 'clean'), state='absent')
    assert err.value.option == 'force'


def test_persist_rule_is_planned_once(tmp_path):
    facts = facts_from('cache', 'clean')
    manager = planner(tmp_path, 'attached-clean', facts, sequential_cutoff='4M',
                      writeback_percent=10, persist=True)
    [step] = steps(manager)
    assert 'udev rule' in step
    uuids = [facts['/dev/%s' % n].sb['dev_uuid'] for n in BACKING]
    assert len(set(uuids)) == 4
    for uuid in uuids:
        assert uuid in manager.persist_after
    again = planner(tmp_path / 'b', 'attached-clean', facts, sequential_cutoff='4M',
                    writeback_percent=10, persist=True, persist_text=manager.persist_after)
    assert again.plan.as_list() == []


class CapturedRunner(FakeRunner):
    """Answers blkid and bcache-super-show with outputs captured in a lab VM (Debian 13)."""

    def __init__(self, blkid_text, super_show_by_device):
        self.blkid_text = blkid_text
        self.super_show = super_show_by_device

    def run(self, argv, check_rc=True, **kwargs):
        if argv[0].endswith('blkid'):
            return 0, self.blkid_text, ''
        if argv[0].endswith('bcache-super-show'):
            return 0, self.super_show[argv[-1]], ''
        raise AssertionError('unexpected command %s' % argv)


def test_info_reports_what_the_superblocks_recorded_for_devices_waiting_for_a_lost_cache(tmp_path):
    """The only record of dirty data on a lost cache is the backing superblock's state."""
    names = ['vdb', 'vdc', 'vdd', 'vde']
    blkid_text = ''.join(fixture('trixie', 'backing.blkid-export.txt').replace('/dev/vdb', '/dev/' + n)
                         + '\n' for n in names)
    runner = CapturedRunner(blkid_text, dict(
        ('/dev/' + n, fixture('trixie', 'backing-waiting-%s.super-show.txt' % n)) for n in names))
    info = discovery.gather_info(runner, sysfs_tree(tmp_path, 'waiting-for-cache'))
    recorded = dict((d['name'], d['superblock_state']) for d in info['backing_devices'])
    expected = dict((n, super_show('backing-waiting-%s' % n)['cache_state']) for n in names)
    assert recorded == expected
    assert 'dirty' in recorded.values()
    assert all(d['waiting_for_cache'] for d in info['backing_devices'])


# -- a kernel without bcache (the module is neither loaded nor installed) ----------------------

RELEASE = '6.18.44-test'


def kernel_tree(tmp_path, listing=None, where='modules.dep'):
    """A root with no /sys/fs/bcache and /lib/modules/<release>/<where> holding ``listing``."""
    root = tmp_path / 'root'
    (root / 'sys' / 'class' / 'block').mkdir(parents=True)
    mods = root / 'lib' / 'modules' / RELEASE
    mods.mkdir(parents=True)
    (mods / where).write_text(listing or 'kernel/fs/btrfs/btrfs.ko: kernel/lib/raid6/raid6_pq.ko\n')
    return Sysfs(str(root))


def no_kernel_planner(sysfs, facts, check_mode=True, **params):
    args = dict(TRAIN)
    args.update(params)
    manager = CacheSetManager(FakeRunner(), args, check_mode=check_mode, sysfs=sysfs,
                              probes=facts, persist_text='', kernel_release=RELEASE,
                              new_cset_uuid='11111111-2222-3333-4444-555555555555')
    manager.build()
    return manager


@pytest.mark.parametrize('check_mode', [True, False])
def test_no_bcache_in_the_kernel_fails_with_what_to_do(tmp_path, check_mode):
    sysfs = kernel_tree(tmp_path)
    assert preflight.kernel_support(sysfs, RELEASE)[0] == 'missing'
    with pytest.raises(preflight.BcacheFailure) as err:
        no_kernel_planner(sysfs, facts_from('blank', 'blank'), check_mode=check_mode)
    text = str(err.value)
    assert 'the running kernel (%s) has no bcache support' % RELEASE in text
    assert 'CONFIG_BCACHE' in text and 'Nothing was changed' in text
    assert 'modprobe' not in text
    assert err.value.details == {'bcache_available': False}


def test_no_modules_directory_at_all(tmp_path):
    root = tmp_path / 'root'
    (root / 'sys' / 'class' / 'block').mkdir(parents=True)
    status, detail = preflight.kernel_support(Sysfs(str(root)), RELEASE)
    assert status == 'missing' and '/lib/modules/%s does not exist' % RELEASE in detail


@pytest.mark.parametrize('where,listing', [
    ('modules.dep', 'kernel/drivers/md/bcache/bcache.ko: kernel/lib/crc64.ko\n'),
    ('modules.builtin', 'kernel/drivers/md/bcache/bcache.ko\n'),
])
def test_bcache_module_not_loaded_is_planned_as_modprobe(tmp_path, where, listing):
    sysfs = kernel_tree(tmp_path, listing, where)
    expected = ('module', '/lib/modules/%s/%s lists bcache' % (RELEASE, where))
    assert preflight.kernel_support(sysfs, RELEASE) == expected
    manager = no_kernel_planner(sysfs, facts_from('blank', 'blank'))
    first = manager.plan.as_list()[0]
    assert first['command'] == '/usr/sbin/modprobe bcache'
    assert first['step'].startswith('load the bcache kernel module (')


def test_absent_needs_no_bcache_kernel(tmp_path):
    # wiping superblocks is wipefs only: a kernel without bcache can still do it
    manager = no_kernel_planner(kernel_tree(tmp_path), facts_from('cache', 'clean'),
                                state='absent', force=True)
    cmds = commands(manager)
    assert cmds and all(c.startswith('/usr/sbin/wipefs -a ') for c in cmds)


def test_no_bcache_kernel_is_reported_before_a_signature_refusal(tmp_path):
    # force could never help on this kernel: the message must not suggest it
    facts = facts_from('ext4', 'blank')
    with pytest.raises(preflight.BcacheFailure) as err:
        no_kernel_planner(kernel_tree(tmp_path), facts)
    assert 'has no bcache support' in str(err.value) and 'force' not in str(err.value)


# -- the sizes human_to_bytes reads, and the kernel's own notation ------------------------------

@pytest.mark.parametrize('value,expected', [
    ('4MiB', 4194304), ('4MB', 4194304), ('4Mb', 4194304), ('512K', 524288), ('1.5M', 1572864),
    (' 4M ', 4194304), ('0.0k', 0),
])
def test_size_option_reads_binary_units(value, expected):
    assert parsers.parse_size_option(value) == expected


@pytest.mark.parametrize('value', ['-1k', '', '4X', 'M', '4Mbits'])
def test_size_option_refuses_what_is_not_a_byte_count(value):
    with pytest.raises(ValueError, match='sequential_cutoff must be a byte count'):
        parsers.parse_size_option(value)


# -- a flush that times out puts the devices back (over the captured dirty tree) --------------

def test_flush_that_times_out_restores_every_tunable_it_changed(tmp_path):
    from ansible_collections.resilience.dr.plugins.module_utils.bcache.actions import (
        SysfsActions)
    from ansible_collections.resilience.dr.plugins.module_utils.bcache.detach import FlushDetach
    from ansible_collections.resilience.dr.plugins.module_utils.runner import Plan

    sysfs = sysfs_tree(tmp_path, 'attached-dirty')
    plan = Plan()
    flush = FlushDetach(SysfsActions(FakeRunner(), sysfs, plan), BACKING, timeout=0)
    flush.add_steps()
    assert [s['step'].split(' ')[0] for s in plan.as_list()] == (
        ['stop', 'wait'] + ['detach'] * 4 + ['restore'])

    def attr(name, leaf):
        return sysfs.read('/sys/block/%s/bcache/%s' % (name, leaf))
    flush.stop_dirtying()
    for n in BACKING:
        assert attr(n, 'cache_mode') == 'writethrough'
        assert attr(n, 'writeback_percent') == '0' and attr(n, 'writeback_running') == '1'
        assert attr(n, 'writeback_delay') == '0'
    with pytest.raises(preflight.BcacheFailure) as err:
        flush.wait_clean()     # the captured tree stays dirty: flush_timeout=0 is over at once
    assert 'flush_timeout=0s' in str(err.value) and 'stay attached' in str(err.value)
    left = err.value.details['dirty_bytes_left']
    assert sorted(left) == ['/dev/%s' % n for n in BACKING]
    assert all(v > 1024 * 1024 for v in left.values())
    for n in BACKING:
        assert attr(n, 'cache_mode') == 'writeback'
        assert attr(n, 'writeback_percent') == '10' and attr(n, 'writeback_running') == '0'
        assert attr(n, 'writeback_delay') == '30'
    assert len(err.value.details['restored']) == 4
