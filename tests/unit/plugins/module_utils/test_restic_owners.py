# -*- coding: utf-8 -*-
"""Ownership by name (module_utils/restic/owners.py, view.owner_names, chown.py) over what
restic 0.14 and 0.18 really print (tests/unit/fixtures/restic/capture_owners.sh: a backup of
a host where alice=1000, bob=1001, carol=1002)."""

import json
import os

import pytest

from ansible_collections.resilience.dr.plugins.module_utils.restic import chown, owners, view
from ansible_collections.resilience.dr.plugins.module_utils.restic.parsers import parse_listing
from ansible_collections.resilience.dr.plugins.module_utils.runner import Refusal

FIX = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..',
                                    'fixtures', 'restic'))
VERSIONS = ['0.14', '0.18']
SHIFTED = [{'name': 'alice', 'uid': 2001}, {'name': 'bob', 'uid': 2000},
           {'name': 'carol', 'uid': 2002}]


class FakeRestic:
    """Answers ``cat snapshot`` / ``cat blob`` from the captured trees; counts the calls."""

    def __init__(self, captured):
        self.snapshot = captured['snapshot']
        self.trees = captured['trees']
        self.calls = []

    def run(self, args, no_lock=None):
        self.calls.append(args)
        if args[:2] == ['cat', 'snapshot']:
            return json.dumps(self.snapshot), ''
        if args[:2] == ['cat', 'blob']:
            return self.trees[args[2]], ''
        raise AssertionError(args)


def captured(version):
    with open(os.path.join(FIX, 'owners_trees_%s.json' % version)) as handle:
        trees = json.load(handle)
    with open(os.path.join(FIX, 'owners_ls_%s.ndjson' % version)) as handle:
        listing = handle.read()
    source = trees['snapshot']['paths'][0]
    root, entries = parse_listing(listing, source)
    return trees, source, root, entries


def names_of(version):
    trees, source, root, entries = captured(version)
    restic = FakeRestic(trees)
    repo_view = view.RepositoryView(restic)
    uids, gids = owners.distinct_ids(root, entries)
    uid_names, gid_names = view.owner_names(repo_view, {'id': 'x'}, source, uids, gids)
    return uids, gids, uid_names, gid_names, restic, root, entries


@pytest.mark.parametrize('version', VERSIONS)
def test_ls_json_carries_numbers_only_and_the_trees_carry_the_names(version):
    uids, gids, uid_names, gid_names, restic, _root, entries = names_of(version)
    assert all('user' not in json.dumps(n) for n in entries.values())
    assert uids == {0, 1000, 1001, 1002} and gids == uids
    expected = {0: {'root'}, 1000: {'alice'}, 1001: {'bob'}, 1002: {'carol'}}
    assert {u: uid_names[u] for u in uids} == expected
    assert gid_names[1002] == {'carol'}
    # the walk stops once every id is named: the path down, then a few directories
    assert len(restic.calls) < 1 + 12


@pytest.mark.parametrize('version', VERSIONS)
def test_plan_maps_by_name_and_apply_rewrites_the_wanted_nodes(version):
    uids, gids, uid_names, gid_names, _restic, root, entries = names_of(version)
    plan = owners.plan_owner_map(uids, gids, uid_names, gid_names, SHIFTED)
    assert plan['uid_map'] == {1000: 2001, 1001: 2000, 1002: 2002}
    assert plan['gid_map'] == {1000: 2001, 1001: 2000, 1002: 2002}
    assert 'alice 1000 -> 2001' in plan['renumbered']
    owners.apply_owner_map(root, entries, plan)
    assert entries['alice/data/model.bin']['uid'] == 2001
    assert entries['alice/evil']['uid'] == 2001          # the symlink node itself
    assert entries['bob/from-carol']['gid'] == 2002
    assert root['uid'] == 0                               # root stays root
    assert 'alice 1000 -> 2001' in owners.describe(plan)


@pytest.mark.parametrize('version', VERSIONS)
def test_identity_needs_no_chown(version):
    uids, gids, uid_names, gid_names = names_of(version)[:4]
    same = [{'name': 'alice', 'uid': 1000}, {'name': 'bob', 'uid': 1001},
            {'name': 'carol', 'uid': 1002}]
    plan = owners.plan_owner_map(uids, gids, uid_names, gid_names, same)
    assert plan == {'uid_map': {}, 'gid_map': {}, 'renumbered': []}
    assert owners.describe(plan) == 'owners already match the accounts by name'


@pytest.mark.parametrize('version', VERSIONS)
def test_a_name_without_account_is_refused_listing_it(version):
    uids, gids, uid_names, gid_names = names_of(version)[:4]
    with pytest.raises(owners.OwnerMismatch) as err:
        owners.plan_owner_map(uids, gids, uid_names, gid_names, SHIFTED[:2])
    assert 'user carol (user 1002 in the snapshot) has no account' in str(err.value)
    assert 'group carol (group 1002 in the snapshot)' in str(err.value)
    assert 'Nothing was restored' in str(err.value)
    assert isinstance(err.value, Refusal)


def test_two_ids_onto_one_and_one_id_with_two_names_are_refused():
    # a system id kept as a number that an account's new uid lands on
    clash = r'users 999 \(svc\) and 1000 \(alice\) of the snapshot would all become user 999'
    with pytest.raises(owners.OwnerMismatch, match=clash):
        owners.plan_owner_map({999, 1000}, set(), {999: {'svc'}, 1000: {'alice'}}, {},
                              [{'name': 'alice', 'uid': 999}])
    with pytest.raises(owners.OwnerMismatch, match='user 1000 carries several names'):
        owners.plan_owner_map({1000}, set(), {1000: {'alice', 'alicia'}}, {},
                              [{'name': 'alice', 'uid': 1000}])
    with pytest.raises(owners.OwnerMismatch, match='gives UID 5 to both a and b'):
        owners.normalise_accounts([{'name': 'a', 'uid': 5}, {'name': 'b', 'uid': 5}])
    with pytest.raises(owners.OwnerMismatch, match='user 1500 has no name recorded'):
        owners.plan_owner_map({1500}, set(), {1500: {''}}, {}, [])


def test_system_ids_are_kept_and_gids_default_to_uids():
    plan = owners.plan_owner_map({0, 33, 1000}, {0, 1000}, {0: {'root'}, 33: {'www-data'},
                                                            1000: {'alice'}},
                                 {0: {'root'}, 1000: {'alice'}},
                                 [{'name': 'alice', 'uid': 3000}])
    assert plan['uid_map'] == {1000: 3000} and plan['gid_map'] == {1000: 3000}
    plan = owners.plan_owner_map({1000}, {1000}, {1000: {'alice'}}, {1000: {'alice'}},
                                 [{'name': 'alice', 'uid': 3000, 'gid': 4000}])
    assert plan['gid_map'] == {1000: 4000}


def test_parse_tree_blob_tolerates_junk():
    assert owners.parse_tree_blob('') == []
    assert owners.parse_tree_blob('{"nodes": [1, {"name": "a"}]}') == [{'name': 'a'}]


def test_chown_pass_never_follows_symlinks(tmp_path):
    """Over a real tree (as root: owners; otherwise the pass must still only lchown)."""
    if os.geteuid() != 0:
        pytest.skip('chown needs root')
    target = tmp_path / 'homes'
    outside = tmp_path / 'outside'
    (target / 'alice').mkdir(parents=True)
    outside.mkdir()
    (outside / 'secret').write_text('x')
    (target / 'alice' / 'f').write_text('y')
    os.chmod(target / 'alice' / 'f', 0o2755)
    os.symlink(str(outside / 'secret'), str(target / 'alice' / 'evil'))
    os.symlink(str(outside), str(target / 'alice' / 'evil-dir'))
    (target / '.restic-restore.json').write_text('{}')
    entries = {'alice': {'type': 'dir', 'uid': 2001, 'gid': 2001},
               'alice/f': {'type': 'file', 'uid': 2001, 'gid': 2001},
               'alice/evil': {'type': 'symlink', 'uid': 2001, 'gid': 2001},
               'alice/evil-dir': {'type': 'symlink', 'uid': 2001, 'gid': 2001},
               # the snapshot says dir, the target has a file: left alone
               '.restic-restore.json': {'type': 'dir', 'uid': 7, 'gid': 7}}
    changed = chown.chown_tree(str(target), {'type': 'dir', 'uid': 0, 'gid': 0}, entries,
                               reserved=('.restic-restore.json',))
    assert changed == 4
    for rel in ('alice', 'alice/f', 'alice/evil', 'alice/evil-dir'):
        st = os.lstat(target / rel)
        assert (st.st_uid, st.st_gid) == (2001, 2001), rel
    assert oct(os.lstat(target / 'alice' / 'f').st_mode & 0o7777) == oct(0o2755)
    for path in (outside, outside / 'secret', target / '.restic-restore.json'):
        assert os.lstat(path).st_uid == 0
    assert chown.chown_tree(str(target), None, entries, reserved=('.restic-restore.json',)) == 0
