# -*- coding: utf-8 -*-
"""The btrfs planners over filesystems described from REAL captured tool output.

A filesystem is described the way ``Btrfs.describe`` does it (``filesystem show --raw`` plus the
chunk tree's profiles), with device numbers given (7:N for /dev/loopN) instead of read from the
host, so that nothing depends on the machine's devices.  The planners only build steps; these
tests check the steps, the refusals and the predicted view.  The device guard is a stand-in that
finds every device blank (its own tests are test_btrfs_guard.py).
"""

import os

import pytest

from ansible_collections.resilience.dr.plugins.module_utils import blockdev
from ansible_collections.resilience.dr.plugins.module_utils.btrfs import (
    lifecycle, membership, mount, parsers, profile, request, scrub)
from ansible_collections.resilience.dr.plugins.module_utils.runner import Plan, Refusal

FIX = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'fixtures', 'btrfs')
UUID = 'c5973b5b-94ed-43f0-aa9b-4c2fabb4cc74'
BTRFS = '/usr/bin/btrfs'


def fixture(name):
    with open(os.path.join(FIX, name)) as f:
        return f.read()


def rdev_of(path):
    return os.makedev(7, int(path[len('/dev/loop'):])) if path else None


def described(show, chunk='v6.2_dump_tree_chunk_raid10.txt', profiles=None, mountpoints=()):
    """One filesystem of a captured ``show --raw`` completed as Btrfs.describe completes it."""
    fs = parsers.parse_filesystem_show(fixture(show))[0]
    for d in fs['devices']:
        d['rdev'] = rdev_of(d['path'])
    tree = parsers.parse_chunk_tree(fixture(chunk))
    known = set(d['devid'] for d in fs['devices'])
    missing = set(d['devid'] for d in fs['devices'] if d['missing'])
    for item in tree['devices']:
        if item['devid'] not in known:
            missing.add(item['devid'])
            fs['devices'].append({'devid': item['devid'], 'size': item['size'],
                                  'used': item['used'], 'path': None, 'missing': True,
                                  'rdev': None})
    fs['missing_devids'] = sorted(missing)
    fs['missing_count'] = len(missing)
    fs['profiles'] = profiles or tree['profiles']
    fs['mountpoints'] = list(mountpoints)
    fs['mountpoint'] = mountpoints[0] if mountpoints else None
    fs['mounted'] = bool(mountpoints)
    return fs


def listed(*paths):
    """Devices as guard.resolve_devices gives them, for loop devices that exist."""
    return [{'path': p, 'realpath': p, 'rdev': rdev_of(p), 'size': 1 << 30, 'exists': True,
             'block': True, 'dev': None} for p in paths]


class BlankGuard:
    """Every device is safe to write and blank; records what was checked."""

    def __init__(self):
        self.checked = []

    def check_writable(self, dev, purpose, filesystems):
        self.checked.append((dev['path'], purpose))
        return []

    def refuse_in_use(self, dev, purpose):
        self.checked.append((dev['path'], purpose))


def req(**params):
    params.setdefault('label', 'captest')
    return request.ArrayRequest(params)


# -- profiles -----------------------------------------------------------------------------------

def changes(count_after, to_remove=(), replaced=0):
    c = membership.MembershipChanges()
    c.count_after = count_after
    c.to_remove = list(to_remove)
    c.replacements = [(4, {'path': '/dev/loop9'})] * replaced
    return c


def test_profile_mismatch_is_only_reported_without_convert():
    fs = described('v6.2_show_raw_raid10_unmounted.txt')
    warnings = []
    planner = profile.ProfilePlanner(req(data_profile='raid1', metadata_profile='raid10'), fs,
                                     BTRFS, warnings)
    assert planner.plan(changes(4)) == []
    assert planner.mismatch == {'data': {'current': ['raid10'], 'wanted': 'raid1'}}
    assert 'data is raid10, wanted raid1' in warnings[0] and 'convert: true' in warnings[0]
    assert planner.predicted()['data'] == ['raid10']


def test_profile_convert_is_one_soft_balance_and_checks_the_device_count():
    fs = described('v6.2_show_raw_raid10_unmounted.txt')
    planner = profile.ProfilePlanner(req(data_profile='raid1', metadata_profile='raid1c3',
                                         convert=True), fs, BTRFS, [])
    steps = planner.plan(changes(4))
    assert [s.argv for s in steps] == [[BTRFS, 'balance', 'start', '-dconvert=raid1,soft',
                                        '-mconvert=raid1c3,soft']]
    assert steps[0].description == 'convert profiles (data to raid1, metadata to raid1c3)'
    assert planner.predicted() == {'data': ['raid1'], 'metadata': ['raid1c3'],
                                   'system': ['raid1c3']}
    with pytest.raises(Refusal) as err:
        planner.plan(changes(2))
    assert 'metadata_profile raid1c3 needs at least 3 devices, but the filesystem will have 2' \
        in str(err.value)


def test_removal_below_the_intended_profile_is_refused():
    fs = described('v6.2_show_raw_raid10_unmounted.txt')
    planner = profile.ProfilePlanner(req(), fs, BTRFS, [])
    with pytest.raises(Refusal) as err:
        planner.plan(changes(3, to_remove=['/dev/loop3']))
    assert 'data_profile raid10 needs at least 4 devices, but after removing /dev/loop3 the ' \
        'filesystem would have 3' in str(err.value)
    assert err.value.option == 'devices'


def test_replace_restores_the_redundancy_of_chunks_written_degraded():
    fs = described('v6.2_show_raw_degraded_mounted.txt', profiles={
        'data': ['raid10', 'single'], 'metadata': ['raid10'], 'system': ['raid10']},
        mountpoints=['/mnt/a'])
    planner = profile.ProfilePlanner(req(), fs, BTRFS, [])
    steps = planner.plan(changes(4, replaced=1))
    assert [s.argv for s in steps] == [[BTRFS, 'balance', 'start', '-dconvert=raid10,soft',
                                        '-mconvert=raid10,soft']]
    assert profile.dominant_profile(['single', 'raid10']) == 'raid10'


# -- membership ---------------------------------------------------------------------------------

def test_degraded_filesystem_replace_add_and_remove(tmp_path):
    fs = described('v6.2_show_raw_degraded_mounted.txt', mountpoints=['/mnt/a'])
    assert fs['missing_devids'] == [4]
    new = str(tmp_path / 'new-disk')         # not a device here: the guard stand-in decides
    guard = BlankGuard()
    planner = membership.MembershipPlanner(
        req(replace_missing=[new], remove_devices=['missing']), fs, guard, BTRFS, [])
    got = planner.plan(listed('/dev/loop0', '/dev/loop1', '/dev/loop2'), [fs])
    assert [(devid, d['path']) for devid, d in got.replacements] == [(4, new)]
    assert [s.argv for s in got.steps] == [[BTRFS, 'replace', 'start', '-B', '4', new]]
    # the missing member is replaced, so "missing" has nothing left to remove
    assert got.to_remove == [] and got.removal_steps == []
    assert got.count_after == 4
    assert guard.checked == [(new, 'replace devid 4')]
    members = planner.predicted_members(got, ['/dev/loop0', '/dev/loop1', '/dev/loop2',
                                              'devid 4 (missing)'])
    assert members == sorted(['/dev/loop0', '/dev/loop1', '/dev/loop2', new])


def test_missing_member_removed_when_not_replaced():
    fs = described('v6.2_show_raw_degraded_mounted.txt', mountpoints=['/mnt/a'])
    planner = membership.MembershipPlanner(req(remove_devices=['missing']), fs, BlankGuard(),
                                           BTRFS, [])
    got = planner.plan([], [fs])
    assert got.to_remove == ['missing'] and got.count_after == 3
    assert [s.argv for s in got.removal_steps] == [[BTRFS, 'device', 'remove', 'missing']]


def test_more_replacements_than_missing_members_is_a_contradiction(tmp_path):
    fs = described('v6.2_show_raw_degraded_mounted.txt', mountpoints=['/mnt/a'])
    planner = membership.MembershipPlanner(
        req(replace_missing=[str(tmp_path / 'a'), str(tmp_path / 'b')]), fs, BlankGuard(),
        BTRFS, [])
    with pytest.raises(Refusal) as err:
        planner.plan([], [fs])
    assert 'replace_missing names 2 devices but only devid(s) 4 are missing' in str(err.value)
    assert err.value.details['contradiction'] is True


def test_listed_device_that_is_not_a_member_is_added_once():
    fs = described('v6.2_show_raw_raid10_mounted.txt', mountpoints=['/mnt/a'])
    guard = BlankGuard()
    planner = membership.MembershipPlanner(req(), fs, guard, BTRFS, [])
    got = planner.plan(listed('/dev/loop0', '/dev/loop1', '/dev/loop2', '/dev/loop3',
                              '/dev/loop7'), [fs])
    assert [s.argv for s in got.steps] == [[BTRFS, 'device', 'add', '/dev/loop7']]
    assert got.count_after == 5
    assert guard.checked == [('/dev/loop7', 'add to %s' % UUID)]


# -- which filesystem a request names -----------------------------------------------------------

def test_identify_by_label_uuid_and_superblocks():
    fss = [described('v6.2_show_raw_raid10_unmounted.txt')]
    assert request.identify(req(), fss, []).fs is fss[0]
    with pytest.raises(Refusal) as err:
        request.identify(req(label='other', uuid=UUID), fss, [])
    assert err.value.option == 'label' and 'relabel: true' in str(err.value)
    found = request.identify(req(label='other', devices=['/dev/loop0', '/dev/loop1']), fss,
                             listed('/dev/loop0', '/dev/loop1'))
    assert found.fs is fss[0]
    assert found.label_mismatch == {'current': 'captest', 'wanted': 'other'}
    assert 'found by its members\' superblocks' in found.warning
    # a request mixing a member with another device names a new filesystem
    assert request.identify(req(label='other'), fss, listed('/dev/loop0', '/dev/loop7')).fs is None


def test_two_filesystems_with_one_label_need_a_uuid():
    a = described('v6.2_show_raw_raid10_unmounted.txt')
    b = dict(a, uuid='11111111-2222-3333-4444-555555555555')
    with pytest.raises(Refusal) as err:
        request.identify(req(), [a, b], [])
    assert err.value.option == 'uuid' and '2 filesystems carry the label' in str(err.value)


# -- create, wipe, mounted steps ----------------------------------------------------------------

class Which:
    def which(self, tool, hint=None, required=True):
        return '/usr/sbin/' + tool


def test_create_plans_one_mkfs_and_predicts_the_view():
    plan = Plan()
    predicted = lifecycle.plan_create(
        plan, req(devices=['/dev/loop5', '/dev/loop6'], data_profile='raid1',
                  metadata_profile='raid1'),
        listed('/dev/loop5', '/dev/loop6'), [], BlankGuard(), Which(), [])
    assert [s.argv for s in plan.steps] == [['/usr/sbin/mkfs.btrfs', '-L', 'captest', '-d',
                                             'raid1', '-m', 'raid1', '/dev/loop5', '/dev/loop6']]
    assert plan.steps[0].destructive is False
    assert predicted['members'] == ['/dev/loop5', '/dev/loop6']
    assert predicted['profiles']['system'] == ['raid1']
    with pytest.raises(Refusal) as err:
        lifecycle.plan_create(Plan(), req(uuid=UUID), [], [], BlankGuard(), Which(), [])
    assert 'never recreated with that uuid' in str(err.value)


def partitions_of_one_disk(tmp_path):
    """A sysfs tree with loop0 (7:0) and its partitions loop0p1, loop0p2, as the kernel lays
    it out; the two partitions as resolved devices."""
    root = tmp_path / 'sys'
    block = root / 'devices' / 'virtual' / 'block'
    for rel, devno in (('loop0', '7:0'), ('loop0/loop0p1', '259:0'), ('loop0/loop0p2', '259:1')):
        d = block / rel
        d.mkdir(parents=True)
        (d / 'dev').write_text(devno + '\n')
        (d / 'size').write_text('409600\n')
        (d / 'holders').mkdir()
        (d / 'slaves').mkdir()
        if '/' in rel:
            (d / 'partition').write_text(rel[-1] + '\n')
        for link in (root / 'dev' / 'block' / devno,
                     root / 'class' / 'block' / os.path.basename(rel)):
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(d)
    out = []
    for name in ('loop0p1', 'loop0p2'):
        dev = blockdev.resolve_name(name, str(root))
        out.append({'path': dev.path, 'realpath': dev.path, 'rdev': dev.rdev, 'size': 1 << 30,
                    'exists': True, 'block': True, 'dev': dev})
    return out


def test_create_warns_when_a_redundant_profile_shares_one_disk(tmp_path):
    parts = partitions_of_one_disk(tmp_path)
    warnings = []
    lifecycle.plan_create(Plan(), req(devices=[p['path'] for p in parts], data_profile='raid1',
                                      metadata_profile='raid1'),
                          parts, [], BlankGuard(), Which(), warnings)
    assert len(warnings) == 1
    assert 'raid1 keeps its copies on different devices' in warnings[0]
    assert 'are on one disk (loop0)' in warnings[0]
    warnings = []
    lifecycle.plan_create(Plan(), req(devices=[p['path'] for p in parts], data_profile='single',
                                      metadata_profile='dup'),
                          parts, [], BlankGuard(), Which(), warnings)
    assert warnings == []


def test_wipe_refuses_a_mounted_filesystem_and_needs_force():
    fs = described('v6.2_show_raw_raid10_mounted.txt', mountpoints=['/mnt/a'])
    with pytest.raises(Refusal) as err:
        lifecycle.plan_wipe(Plan(), req(state='absent', force=True), request.Identified(fs), [],
                            None, BlankGuard(), Which())
    assert 'is mounted at /mnt/a' in str(err.value) and err.value.option == 'force'
    fs = described('v6.2_show_raw_raid10_unmounted.txt')
    with pytest.raises(Refusal) as err:
        lifecycle.plan_wipe(Plan(), req(state='absent'), request.Identified(fs), [], None,
                            BlankGuard(), Which())
    assert err.value.option == 'force' and '/dev/loop0, /dev/loop1' in str(err.value)


def test_wipe_forgets_then_wipes_each_member_and_tolerates_only_the_forget():
    fs = described('v6.2_show_raw_raid10_unmounted.txt')

    class View:
        btrfs = BTRFS

    plan = Plan()
    assert lifecycle.plan_wipe(plan, req(state='absent', force=True), request.Identified(fs),
                               [], View(), BlankGuard(), Which()) == {'exists': False}
    assert [s.argv for s in plan.steps[:2]] == [[BTRFS, 'device', 'scan', '--forget',
                                                 '/dev/loop0'],
                                                ['/usr/sbin/wipefs', '-a', '/dev/loop0']]
    assert len(plan) == 8
    assert [s.may_fail for s in plan.steps[:2]] == [True, False]


def test_mounted_steps_take_the_mountpoint_at_the_marker_or_the_end():
    plan = Plan()
    mount.add_mounted_steps(plan, [
        mount.MountedStep('add', [BTRFS, 'device', 'add', '/dev/loop7'], False),
        mount.MountedStep('relabel', [BTRFS, 'filesystem', 'label', mount.MNT, 'new'], False),
    ], '/mnt/a')
    assert [s.argv for s in plan.steps] == [[BTRFS, 'device', 'add', '/dev/loop7', '/mnt/a'],
                                            [BTRFS, 'filesystem', 'label', '/mnt/a', 'new']]


# -- scrub --------------------------------------------------------------------------------------

class ScrubView:
    btrfs = BTRFS


def test_scrub_plan_by_freshness_and_state():
    finished = parsers.parse_scrub_status(fixture('v6.2_scrub_status_R_finished.txt'))
    at = finished['finished_epoch']
    plan, wait = scrub.plan_scrub(ScrubView(), 'completed', finished, '/mnt/a', threshold=at)
    assert not plan and not wait
    plan, wait = scrub.plan_scrub(ScrubView(), 'completed', finished, '/mnt/a', threshold=at + 1)
    assert [s.argv for s in plan.steps] == [[BTRFS, 'scrub', 'start', '-B', '/mnt/a']]
    plan, wait = scrub.plan_scrub(ScrubView(), 'started', finished, '/mnt/a', readonly=True,
                                  threshold=at + 1)
    assert [s.argv for s in plan.steps] == [[BTRFS, 'scrub', 'start', '-r', '/mnt/a']]
    running = dict(finished, status='running')
    assert scrub.plan_scrub(ScrubView(), 'completed', running, '/mnt/a', threshold=at + 1)[1]
    plan, wait = scrub.plan_scrub(ScrubView(), 'cancelled', running, '/mnt/a')
    assert [s.argv for s in plan.steps] == [[BTRFS, 'scrub', 'cancel', '/mnt/a']]
    assert not scrub.plan_scrub(ScrubView(), 'cancelled', finished, '/mnt/a')[0]


def test_scrub_threshold_and_unreadable_options():
    assert scrub.freshness_threshold(max_age='1h', now=10000) == 10000 - 3600
    assert scrub.freshness_threshold(since='1970-01-02T00:00:00Z', max_age='1h') == 86400
    with pytest.raises(Refusal) as err:
        scrub.freshness_threshold(max_age='a week')
    assert str(err.value).startswith("max_age: cannot read 'a week' as an age")
    with pytest.raises(Refusal) as err:
        scrub.freshness_threshold(since='yesterday')
    assert str(err.value).startswith('since: cannot read')
