# -*- coding: utf-8 -*-
"""Parsers and planning helpers of the module_utils/btrfs/ package over REAL captured tool output.

Fixtures in tests/unit/fixtures/btrfs/ were captured on Debian 12 (btrfs-progs 6.2, util-linux
2.38) from loop devices; ``v6.2_`` in the name says which btrfs-progs printed them.
"""

import os
import time

import pytest

from ansible_collections.resilience.dr.plugins.module_utils import runner, timeutil
from ansible_collections.resilience.dr.plugins.module_utils.btrfs import (
    discovery, parsers, profile, request, scrub)

FIX = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'fixtures', 'btrfs')
UUID = 'c5973b5b-94ed-43f0-aa9b-4c2fabb4cc74'


def fixture(name):
    with open(os.path.join(FIX, name)) as f:
        return f.read()


def test_show_raid10_unmounted():
    fss = parsers.parse_filesystem_show(fixture('v6.2_show_raw_raid10_unmounted.txt'))
    assert len(fss) == 1
    fs = fss[0]
    assert fs['uuid'] == UUID and fs['label'] == 'captest'
    assert fs['total_devices'] == 4 and fs['bytes_used'] == 147456
    assert [d['devid'] for d in fs['devices']] == [1, 2, 3, 4]
    assert fs['devices'][0] == {'devid': 1, 'size': 335544320, 'used': 109051904,
                                'path': '/dev/loop0', 'missing': False}
    assert fs['some_missing'] is False


def test_show_degraded_unmounted_lists_present_and_flags_missing():
    fs = parsers.parse_filesystem_show(fixture('v6.2_show_raw_degraded_unmounted.txt'))[0]
    assert [d['path'] for d in fs['devices']] == ['/dev/loop0', '/dev/loop1', '/dev/loop2']
    assert fs['some_missing'] is True and fs['total_devices'] == 4


def test_show_degraded_mounted_has_missing_devid():
    fs = parsers.parse_filesystem_show(fixture('v6.2_show_raw_degraded_mounted.txt'))[0]
    missing = [d for d in fs['devices'] if d['missing']]
    assert [d['devid'] for d in missing] == [4]
    assert missing[0]['path'] is None
    assert fs['some_missing'] is True


def test_show_none():
    assert parsers.parse_filesystem_show(fixture('v6.2_show_raw_none.txt')) == []


def test_show_label_none_and_quotes():
    text = ("Label: none  uuid: 11111111-2222-3333-4444-555555555555\n"
            "\tTotal devices 1 FS bytes used 1\n"
            "\tdevid    1 size 10 used 5 path /dev/sda\n\n"
            "Label: 'it''s'  uuid: 11111111-2222-3333-4444-666666666666\n"
            "\tTotal devices 1 FS bytes used 1\n"
            "\tdevid    1 size 10 used 5 path /dev/sdb\n")
    fss = parsers.parse_filesystem_show(text)
    assert fss[0]['label'] is None
    assert fss[1]['label'] == "it''s"


def test_usage_raid10():
    u = parsers.parse_filesystem_usage(fixture('v6.2_usage_b_raid10.txt'))
    assert u['profiles'] == {'data': ['raid10'], 'metadata': ['raid10'], 'system': ['raid10']}
    assert u['overall']['device_size'] == 1342177280
    assert u['overall']['device_missing'] == 0
    assert u['overall']['data_ratio'] == 2.0
    assert u['overall']['used'] == 42303488
    data = [g for g in u['block_groups'] if g['type'] == 'data'][0]
    assert data == {'type': 'data', 'profile': 'raid10', 'size': 134217728, 'used': 20971520}


def test_usage_degraded_reports_missing_bytes():
    u = parsers.parse_filesystem_usage(fixture('v6.2_usage_b_degraded.txt'))
    assert u['overall']['device_missing'] == 335544320


def test_device_stats_text_and_missing_devid():
    s = parsers.parse_device_stats(fixture('v6.2_device_stats_raid10.txt'))
    assert sorted(s) == ['/dev/loop0', '/dev/loop1', '/dev/loop2', '/dev/loop3']
    assert s['/dev/loop0'] == {'write_io_errs': 0, 'read_io_errs': 0, 'flush_io_errs': 0,
                               'corruption_errs': 0, 'generation_errs': 0}
    d = parsers.parse_device_stats(fixture('v6.2_device_stats_degraded.txt'))
    assert 'devid:4' in d


def test_scrub_status_finished():
    s = parsers.parse_scrub_status(fixture('v6.2_scrub_status_R_finished.txt'))
    assert s['uuid'] == UUID
    assert s['status'] == 'finished'
    assert s['duration_seconds'] == 0
    assert s['bytes_scrubbed'] == 41943040 + 360448
    assert s['uncorrectable_errors'] == 0 and s['corrected_errors'] == 0
    expected = time.mktime(time.strptime('Sun Nov 22 04:39:56 2026', '%a %b %d %H:%M:%S %Y'))
    assert s['started_epoch'] == int(expected)
    assert s['finished_epoch'] == int(expected)
    assert scrub.scrub_fresh(s, expected - 1)
    assert not scrub.scrub_fresh(s, expected + 1)


def test_scrub_status_never():
    text = ('UUID:             %s\n\tno stats available\n\tdata_extents_scrubbed: 0\n'
            '\tcorrected_errors: 0\n\tlast_physical: 0\n' % UUID)
    s = parsers.parse_scrub_status(text)
    assert s['status'] == 'never'
    assert not scrub.scrub_fresh(s, 0)


def test_chunk_tree_profiles_and_devids():
    c = parsers.parse_chunk_tree(fixture('v6.2_dump_tree_chunk_raid10.txt'))
    assert [d['devid'] for d in c['devices']] == [1, 2, 3, 4]
    assert c['devices'][0]['size'] == 335544320
    assert c['profiles'] == {'data': ['raid10'], 'metadata': ['raid10'], 'system': ['raid10']}


def test_chunk_tree_single_has_no_profile_flag():
    text = '\t\tlength 8388608 owner 2 stripe_len 65536 type DATA\n' \
           '\t\tlength 8388608 owner 2 stripe_len 65536 type METADATA|DUP\n'
    c = parsers.parse_chunk_tree(text)
    assert c['profiles']['data'] == ['single'] and c['profiles']['metadata'] == ['dup']


def test_wipefs():
    # the parser moved to module_utils/blockdev.py, shared with bcache
    from ansible_collections.resilience.dr.plugins.module_utils import blockdev
    assert blockdev.parse_wipefs_json(fixture('wipefs_json_blank.json')) == []
    ext4 = blockdev.parse_wipefs_json(fixture('wipefs_json_ext4.json'))
    assert ext4[0]['type'] == 'ext4' and ext4[0]['offset'] == '0x438'
    member = blockdev.parse_wipefs_json(fixture('wipefs_json_btrfs_member.json'))
    assert member[0]['type'] == 'btrfs' and member[0]['uuid'] == UUID
    assert member[0]['label'] == 'captest'


def test_findmnt():
    m = parsers.parse_findmnt_json(fixture('findmnt_btrfs.json'))
    assert m == [{'target': '/tmp/btrcap/mnt', 'source': '/dev/loop0', 'subvol': None,
                  'fstype': 'btrfs',
                  'options': 'rw,relatime,discard=async,space_cache=v2,subvolid=5,subvol=/'}]
    sub = parsers.parse_findmnt_json(
        '{"filesystems": [{"target": "/a", "source": "/dev/sda[/@home]",'
        ' "fstype": "btrfs", "options": "rw", "children": '
        '[{"target": "/a/b", "source": "/dev/sdb", "fstype": "ext4",'
        ' "options": "rw"}]}]}')
    assert sub[0]['source'] == '/dev/sda' and sub[0]['subvol'] == '/@home'
    assert sub[1]['target'] == '/a/b'


def test_age_since():
    # (btrfs --version was parsed here; nothing used it, so parse_version and Btrfs.version
    # went as dead code, issue 11 item 7)
    assert timeutil.parse_age('7d') == 7 * 86400
    assert timeutil.parse_age('90') == 90
    assert timeutil.parse_age('0') == 0
    with pytest.raises(ValueError):
        timeutil.parse_age('a week')
    assert timeutil.parse_since('1970-01-02T00:00:00Z') == 86400
    assert timeutil.parse_since('1970-01-02T01:00:00+01:00') == 86400
    with pytest.raises(ValueError):
        timeutil.parse_since('yesterday')
    assert parsers.parse_duration('1:02:03') == 3723
    assert parsers.parse_duration('26:00:00') == 93600


def test_dominant_profile_and_mutating():
    assert profile.dominant_profile(['single', 'raid1']) == 'raid1'
    assert profile.dominant_profile(['raid10']) == 'raid10'
    assert discovery.is_mutating('/usr/bin/btrfs device add /dev/loop4 /mnt')
    assert discovery.is_mutating('mkfs.btrfs -L x /dev/loop0')
    assert discovery.is_mutating('/usr/sbin/wipefs -a /dev/loop0')
    assert not discovery.is_mutating('/usr/sbin/wipefs --json /dev/loop0')
    assert not discovery.is_mutating('/usr/bin/btrfs filesystem show --raw')
    assert not discovery.is_mutating('/usr/bin/findmnt --json --list -o TARGET,SOURCE,FSTYPE,OPTIONS')


@pytest.mark.parametrize('params,fragment', [
    ({}, 'give label, uuid or devices'),
    ({'label': 'x', 'uuid': 'nope'}, 'not a filesystem UUID'),
    ({'label': 'x', 'devices': ['/dev/a'], 'remove_devices': ['/dev/a']}, 'both devices'),
    ({'label': 'x', 'devices': ['/dev/a', '/dev/a']}, 'twice'),
    ({'label': 'x', 'devices': ['/dev/a', '/dev/b'], 'data_profile': 'dup'}, 'dup'),
])
def test_request_contradictions(params, fragment):
    # a Refusal (a ModuleFailure) that no option allows, no longer a bare ValueError
    with pytest.raises(request.Contradiction) as exc:
        request.ArrayRequest(params)
    assert fragment in str(exc.value)
    assert isinstance(exc.value, runner.Refusal) and exc.value.option is None
    assert str(exc.value).startswith('contradictory or incomplete options: ')


def test_profile_device_count_refusal():
    with pytest.raises(runner.Refusal) as exc:
        profile.check_profile_devices(2, 'raid10', 'raid1', 'devices lists')
    assert 'raid10 needs at least 4 devices' in str(exc.value)
    assert exc.value.option == 'devices'
    profile.check_profile_devices(4, 'raid10', 'raid10', 'devices lists')
    profile.check_profile_devices(3, 'raid1c3', None, 'devices lists')


def test_sysfs_reader(tmp_path):
    base = tmp_path / UUID
    (base / 'devinfo' / '1').mkdir(parents=True)
    (base / 'devinfo' / '2').mkdir(parents=True)
    (base / 'devinfo' / '1' / 'missing').write_text('0\n')
    (base / 'devinfo' / '2' / 'missing').write_text('1\n')
    for kind, profs in (('data', ['raid1', 'single']), ('metadata', ['raid1']),
                        ('system', ['raid1'])):
        for p in profs:
            (base / 'allocation' / kind / p).mkdir(parents=True)
        (base / 'allocation' / kind / 'bytes_used').write_text('0\n')
    (base / 'label').write_text('x\n')
    info = discovery.read_sysfs_fs(UUID, root=str(tmp_path))
    assert info['label'] == 'x'
    assert info['devinfo'][2]['missing'] is True and info['devinfo'][1]['missing'] is False
    assert info['profiles']['data'] == ['raid1', 'single']
    assert discovery.read_sysfs_fs('00000000-0000-0000-0000-000000000000', root=str(tmp_path)) is None


# ---- both btrfs-progs versions (6.2 = Debian 12, 6.14 = Debian 13) ---------------------------

VERSIONS = ['v6.2', 'v6.14']


def by_label(fss, label):
    match = [fs for fs in fss if fs['label'] == label]
    assert len(match) == 1, fss
    return match[0]


LABELS = {'v6.2': 'captest', 'v6.14': 'captest614'}


@pytest.mark.parametrize('version', VERSIONS)
def test_show_versions(version):
    for state in ('raid10_unmounted', 'raid10_mounted'):
        fs = by_label(parsers.parse_filesystem_show(
            fixture('%s_show_raw_%s.txt' % (version, state))), LABELS[version])
        assert fs['total_devices'] == 4
        assert [(d['devid'], d['size'], d['missing']) for d in fs['devices']] == \
            [(i, 335544320, False) for i in (1, 2, 3, 4)]
        assert not fs['some_missing']
    fs = by_label(parsers.parse_filesystem_show(
        fixture('%s_show_raw_degraded_unmounted.txt' % version)), LABELS[version])
    assert fs['some_missing'] and [d['devid'] for d in fs['devices']] == [1, 2, 3]
    fs = by_label(parsers.parse_filesystem_show(
        fixture('%s_show_raw_degraded_mounted.txt' % version)), LABELS[version])
    assert [d['devid'] for d in fs['devices'] if d['missing']] == [4]


def test_show_two_filesystems_614():
    fss = parsers.parse_filesystem_show(fixture('v6.14_show_raw_degraded_mounted.txt'))
    assert sorted(fs['label'] for fs in fss) == ['captest614', 'ml-storage']
    other = by_label(fss, 'ml-storage')
    assert other['devices'] == [{'devid': 1, 'size': 805306368, 'used': 189530112,
                                 'path': '/dev/loop4', 'missing': False}]


@pytest.mark.parametrize('version', VERSIONS)
def test_usage_versions(version):
    u = parsers.parse_filesystem_usage(fixture('%s_usage_b_raid10.txt' % version))
    assert u['profiles'] == {'data': ['raid10'], 'metadata': ['raid10'], 'system': ['raid10']}
    assert u['overall']['device_size'] == 1342177280
    d = parsers.parse_filesystem_usage(fixture('%s_usage_b_degraded.txt' % version))
    assert d['overall']['device_missing'] == 335544320


@pytest.mark.parametrize('version', VERSIONS)
def test_stats_and_chunks_versions(version):
    s = parsers.parse_device_stats(fixture('%s_device_stats_raid10.txt' % version))
    assert len(s) == 4 and all(sum(c.values()) == 0 for c in s.values())
    c = parsers.parse_device_stats(fixture('%s_device_stats_corrected.txt' % version))
    assert c['/dev/loop0']['corruption_errs'] > 0
    assert sum(c['/dev/loop1'].values()) == 0
    d = parsers.parse_device_stats(fixture('%s_device_stats_degraded.txt' % version))
    assert 'devid:4' in d
    chunk = parsers.parse_chunk_tree(fixture('%s_dump_tree_chunk_raid10.txt' % version))
    assert [x['devid'] for x in chunk['devices']] == [1, 2, 3, 4]
    assert chunk['profiles']['data'] == ['raid10']


@pytest.mark.parametrize('version', VERSIONS)
def test_scrub_corrected_versions(version):
    s = parsers.parse_scrub_status(fixture('%s_scrub_status_R_corrected.txt' % version))
    assert s['status'] == 'finished'
    assert s['corrected_errors'] == 5 and s['csum_errors'] == 5
    assert s['uncorrectable_errors'] == 0
    assert s['bytes_scrubbed'] == 42467328 + 360448
    assert s['finished_epoch'] is not None
    r = scrub.scrub_result(s)
    assert r['corrected_errors'] == 5 and r['finished'] is not None


def test_scrub_never_614():
    s = parsers.parse_scrub_status(fixture('v6.14_scrub_status_R_never.txt'))
    assert s['status'] == 'never' and s['finished_epoch'] is None


# -- kernel log: the files a scrub could not repair --------------------------------------------

def _dmesg_fixture():
    return fixture("dmesg_iso_scrub_errors_k6.18.txt")


def test_kernel_log_names_the_unrepairable_file():
    files = parsers.parse_kernel_log_paths(_dmesg_fixture(), devices=['loop0'])
    assert files == [{'path': 'doomed.bin', 'errors': 4, 'kinds': ['checksum error']}]


def test_kernel_log_filters_by_device_and_time():
    text = _dmesg_fixture()
    assert parsers.parse_kernel_log_paths(text, devices=['bcache0']) == []
    # The fixed-up errors (15:22:58) name no file; the unrepairable ones were at 15:23:07.
    since = timeutil.parse_since('2026-11-22T15:23:08+00:00')
    assert parsers.parse_kernel_log_paths(text, since=since) == []
    since = timeutil.parse_since('2026-11-22T15:23:07+00:00')
    assert [f['path'] for f in parsers.parse_kernel_log_paths(text, since=since)] == ['doomed.bin']


def test_describe_affected():
    assert scrub.describe_affected(None).startswith('unknown')
    assert scrub.describe_affected([]) == 'none named by the kernel'
    many = [{'path': 'f%d' % i} for i in range(12)]
    assert scrub.describe_affected(many).endswith('f9 and 2 more')
