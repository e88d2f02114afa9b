# -*- coding: utf-8 -*-
"""The corruption ladder's planner, the rescue mount modes and the btrfs check parser, over
results shaped like the real modules' and output captured from btrfs-progs 6.2 (a clean
filesystem, and one whose tree root was zeroed on every mirror)."""

import os

from ansible_collections.resilience.dr.plugins.module_utils.btrfs import ladder, parsers, rescue

FIX = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'fixtures', 'btrfs')

NORMAL = {'mounted': True, 'mode': 'normal', 'attempts': []}
UNMOUNTABLE = {'mounted': False, 'mode': None, 'attempts': [
    {'mode': m, 'options': o, 'ok': False} for m, o in rescue.mount_attempts('defaults')]}


def fixture(name):
    with open(os.path.join(FIX, name)) as handle:
        return handle.read()


def statuses(plan):
    return [(r['rung'], r['status']) for r in plan['rungs']]


def test_clean_scrub_stops_at_rung_one():
    plan = ladder.plan_ladder(NORMAL, {'corrected_errors': 0, 'uncorrectable_errors': 0})
    assert statuses(plan) == [(1, 'worked')] and plan['next'] == 'stop'
    assert plan['outcome'] == 'clean'


def test_the_scrub_comes_first_when_mounted():
    assert ladder.plan_ladder(NORMAL)['next'] == 'scrub'


def test_corrected_errors_are_rung_one_repaired():
    plan = ladder.plan_ladder(NORMAL, {'corrected_errors': 3, 'uncorrectable_errors': 0})
    assert plan['outcome'] == 'repaired' and '3 error(s)' in plan['rungs'][0]['detail']


def test_named_damaged_files_go_to_the_surgical_restore_then_stop():
    scrub = {'corrected_errors': 1, 'uncorrectable_errors': 2,
             'affected_files': [{'path': 'homes/alice/x.bin'}]}
    plan = ladder.plan_ladder(NORMAL, scrub)
    assert plan['next'] == 'surgical-restore' and statuses(plan) == [(1, 'not-enough'), (2, 'next')]
    done = ladder.plan_ladder(NORMAL, scrub, {'entries': []}, ['homes/alice/x.bin'])
    assert done['outcome'] == 'restored' and done['next'] == 'stop'
    missing = ladder.plan_ladder(NORMAL, scrub, {'entries': []}, [])
    assert missing['next'] == 'full-restore' and missing['outcome'] == 'failed'
    assert 'homes/alice/x.bin' in missing['rungs'][-1]['detail']


def test_uncorrectable_without_a_file_name_is_metadata_and_ends_in_full_restore():
    plan = ladder.plan_ladder(NORMAL, {'corrected_errors': 0, 'uncorrectable_errors': 4,
                                       'affected_files': []})
    assert plan['next'] == 'full-restore'
    assert 'recover-full-restore.yml' in plan['message']


def test_rescue_mount_offers_then_does_the_copy_out():
    mount = {'mounted': True, 'mode': 'usebackuproot', 'attempts': []}
    offered = ladder.plan_ladder(mount)
    assert offered['outcome'] == 'rescued' and 'train_btrfs_repair_copy_to' in offered['rungs'][-1]['detail']
    asked = ladder.plan_ladder(mount, options={'copy_to': '/mnt/usb'})
    assert asked['next'] == 'copy-out'
    done = ladder.plan_ladder(mount, options={'copy_to': '/mnt/usb', 'copied': True})
    assert done['next'] == 'stop' and statuses(done)[-1] == (3, 'worked')


def test_nothing_mounts_check_then_repair_only_behind_variable_and_safeguard():
    assert ladder.plan_ladder(UNMOUNTABLE)['next'] == 'check-readonly'
    check = parsers.parse_check_output(fixture('check-readonly-no-root.txt'), 1)
    refused = ladder.plan_ladder(UNMOUNTABLE, check=check)
    assert statuses(refused)[-2:] == [(5, 'refused'), (6, 'next')]
    assert 'train_btrfs_repair_allow_check_repair=true' in refused['rungs'][-2]['detail']
    no_guard = ladder.plan_ladder(UNMOUNTABLE, check=check, options={'allow_repair': True})
    assert 'needs a rescue copy' in no_guard['rungs'][-2]['detail']
    go = ladder.plan_ladder(UNMOUNTABLE, check=check,
                            options={'allow_repair': True, 'fresh_backup': True})
    assert go['next'] == 'check-repair'
    worked = ladder.plan_ladder(UNMOUNTABLE, check=check, repair={'mounted_after': True},
                                options={'allow_repair': True, 'fresh_backup': True})
    assert worked['outcome'] == 'repaired'
    failed = ladder.plan_ladder(UNMOUNTABLE, check=check, repair={'mounted_after': False},
                                options={'allow_repair': True, 'fresh_backup': True})
    assert failed['next'] == 'full-restore'


def test_report_entries_one_per_rung():
    plan = ladder.plan_ladder(UNMOUNTABLE, check={'clean': False, 'findings': ['x']})
    entries = ladder.report_entries(plan)
    assert [e['check'] for e in entries][:3] == [
        'btrfs ladder rung 1: scrub-repair', 'btrfs ladder rung 2: surgical-restore',
        'btrfs ladder rung 3: rescue-mount']
    assert entries[-1]['ok'] is False


def test_group_by_top_anchors_includes_at_the_top_directory():
    groups = ladder.group_by_top(['homes/alice/a.bin', 'homes/bob/b', 'docker-volumes/s/x',
                                  'top.bin', 'homes/alice/a.bin'])
    assert groups == {'homes': ['/alice/a.bin', '/bob/b'], 'docker-volumes': ['/s/x'],
                      '': ['/top.bin']}


def test_mount_modes_and_attempts():
    assert rescue.mode_from_options('rw,relatime,space_cache=v2') == 'normal'
    # The kernel drops usebackuproot once mounted: a read-only mount is rung 3.
    assert rescue.mode_from_options('ro,relatime,space_cache=v2,subvolid=5') == 'read-only'
    # ro,rescue=all as findmnt shows it on kernel 6.18 (captured)
    assert rescue.mode_from_options(
        'ro,relatime,rescue=nologreplay:ignorebadroots:ignoredatacsums:ignoremetacsums:'
        'ignoresuperflags,discard=async,space_cache=v2,subvolid=5,subvol=/') == 'rescue-all'
    assert rescue.mode_from_options('ro,rescue=usebackuproot') == 'usebackuproot'
    assert [m for m, _o in rescue.mount_attempts('compress=zstd:3')] == [
        'normal', 'usebackuproot', 'rescue-all']
    assert rescue.mount_attempts('compress=zstd:3', rescue=False) == [('normal', 'compress=zstd:3')]
    assert rescue.mount_attempts(None)[1] == ('usebackuproot', 'ro,rescue=usebackuproot')


def test_check_parser_on_captured_output():
    clean = parsers.parse_check_output(fixture('check-readonly-clean.txt'), 0)
    assert clean == {'clean': True, 'rc': 0, 'findings': [], 'opened': True}
    broken = parsers.parse_check_output(fixture('check-readonly-no-root.txt'), 1)
    assert broken['clean'] is False and broken['opened'] is False
    assert broken['findings'][0].startswith('checksum verify failed on 30638080')
    assert "Couldn't read tree root" in broken['findings']
    assert len(broken['findings']) == 4          # duplicates folded
