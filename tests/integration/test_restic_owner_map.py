# -*- coding: utf-8 -*-
"""restic_restore ``owners``: ownership mapped by name on real restores (restic on the host).

The "backed-up host" has its own account database: the backup runs in a private mount
namespace (``unshare -m``) where /etc/passwd and /etc/group are bind-mounted from files of
the test, so restic records the names alice/bob/carol for UIDs 1000-1002 without touching
this machine's accounts.  The restoring "host" is the inventory given in ``owners``.
"""

import json
import os
import stat
import time

import pytest

from restic_helpers import ANSIBLE_ENV_FIX, PASSWORD, sh

pytestmark = pytest.mark.integration

RESTIC = '/usr/bin/restic'
PASSWD = ('root:x:0:0:root:/root:/bin/sh\n'
          'alice:x:1000:1000::/home/alice:/bin/sh\n'
          'bob:x:1001:1001::/home/bob:/bin/sh\n'
          'carol:x:1002:1002::/home/carol:/bin/sh\n')
GROUP = 'root:x:0:\nalice:x:1000:\nbob:x:1001:\ncarol:x:1002:\n'
SNAP = 'snapshots/backup_20260101_020000'

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason='owners and unshare need root')


def backup_as_other_host(base, repo, paths, tag):
    """restic backup of ``paths`` with the other host's account database; returns the id."""
    etc = os.path.join(base, 'etc-other-host')
    os.makedirs(etc, exist_ok=True)
    with open(os.path.join(etc, 'passwd'), 'w') as handle:
        handle.write(PASSWD)
    with open(os.path.join(etc, 'group'), 'w') as handle:
        handle.write(GROUP)
    script = ('set -e; mount --bind %s/passwd /etc/passwd; mount --bind %s/group /etc/group; '
              'exec "$@"' % (etc, etc))
    out = sh('unshare', '-m', '--propagation', 'private', 'sh', '-c', script, 'sh', RESTIC,
             '-r', repo, 'backup', '--json', '--host', 'train', '--tag', tag, *paths,
             env={'RESTIC_PASSWORD': PASSWORD, 'LC_ALL': 'C'}).stdout
    return [json.loads(line) for line in out.splitlines() if '"summary"' in line][-1]['snapshot_id']


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip('needs root')
    base = str(tmp_path_factory.mktemp('owner-map'))
    storage = os.path.join(base, 'mnt', 'storage', SNAP)
    homes = os.path.join(storage, 'homes')
    outside = os.path.join(base, 'outside')
    os.makedirs(outside)
    with open(os.path.join(outside, 'secret'), 'w') as handle:
        handle.write('not in the backup\n')
    os.chmod(os.path.join(outside, 'secret'), 0o600)
    for uid, user in ((1000, 'alice'), (1001, 'bob')):
        home = os.path.join(homes, user)
        os.makedirs(os.path.join(home, 'data'))
        with open(os.path.join(home, 'data', 'model.bin'), 'wb') as handle:
            handle.write(os.urandom(4096 + uid))
        # hostile content: symlinks out of the tree, to a file and to a directory
        os.symlink(os.path.join(outside, 'secret'), os.path.join(home, 'evil-file'))
        os.symlink(outside, os.path.join(home, 'evil-dir'))
        with open(os.path.join(home, 'setuid-tool'), 'w') as handle:
            handle.write('#!/bin/sh\n')
        os.chmod(os.path.join(home, 'setuid-tool'), 0o4755)
        os.chmod(home, 0o700)
        for dirpath, dirnames, filenames in os.walk(home):
            for name in [dirpath] + [os.path.join(dirpath, n) for n in dirnames + filenames]:
                os.chown(name, uid, uid, follow_symlinks=False)
        os.chmod(os.path.join(home, 'setuid-tool'), 0o4755)  # chown cleared it
    # a root-owned file stays root's; carol (1002) owns one file in bob's home
    with open(os.path.join(homes, 'bob', 'from-carol'), 'w') as handle:
        handle.write('carol\n')
    os.chown(os.path.join(homes, 'bob', 'from-carol'), 1002, 1002)
    with open(os.path.join(homes, 'README'), 'w') as handle:
        handle.write('root file\n')
    repo = os.path.join(base, 'repo')
    sh(RESTIC, '-r', repo, 'init', env={'RESTIC_PASSWORD': PASSWORD})
    first = backup_as_other_host(base, repo, [homes], 'first')
    time.sleep(1.5)  # distinct snapshot times, a second apart at least
    os.utime(os.path.join(homes, 'README'))
    second = backup_as_other_host(base, repo, [homes], 'second')
    return {'base': base, 'repo': repo, 'outside': outside, 'ids': (first, second)}


def args(world, target, **extra):
    out = {'repository': world['repo'], 'password': PASSWORD, 'executable': RESTIC,
           'target': target, 'source_path': '*/%s/homes' % SNAP, 'retry_delay': 0.5}
    out.update(extra)
    return out


SHIFTED = [{'name': 'alice', 'uid': 2001}, {'name': 'bob', 'uid': 2000},
           {'name': 'carol', 'uid': 2002}]


def owner(path):
    st = os.lstat(path)
    return st.st_uid, st.st_gid


@needs_root
def test_owners_mapped_by_name_on_a_real_restore(world, run_module, tmp_path):
    target = str(tmp_path / 'homes')
    secret = os.path.join(world['outside'], 'secret')
    before_outside = (os.lstat(secret), os.lstat(world['outside']))
    res = run_module('restic_restore', args(world, target, owners=SHIFTED),
                     env=dict(ANSIBLE_ENV_FIX))
    assert res['changed'] and not res.get('failed'), (res.get('msg'), res.get('exception'))
    assert res['owner_map']['uid_map'] == {'1000': 2001, '1001': 2000, '1002': 2002}
    assert 'alice 1000 -> 2001' in res['owner_map']['renumbered']
    assert res['owner_map']['chowned'] > 0
    # every path of alice's home is alice's new uid, bob's is bob's, carol's file carol's
    for user, uid in (('alice', 2001), ('bob', 2000)):
        home = os.path.join(target, user)
        for dirpath, dirnames, filenames in os.walk(home):
            for name in [dirpath] + [os.path.join(dirpath, n) for n in dirnames + filenames]:
                if name.endswith('from-carol'):
                    assert owner(name) == (2002, 2002)
                else:
                    assert owner(name) == (uid, uid), name
        # setuid kept through the chown pass
        assert stat.S_IMODE(os.lstat(os.path.join(home, 'setuid-tool')).st_mode) == 0o4755
        # the symlinks themselves got the owner, their targets outside did not
        assert os.path.islink(os.path.join(home, 'evil-file'))
    assert owner(os.path.join(target, 'README')) == (0, 0)
    after_outside = (os.lstat(secret), os.lstat(world['outside']))
    for before, after in zip(before_outside, after_outside):
        assert (after.st_uid, after.st_gid, after.st_mode) == \
            (before.st_uid, before.st_gid, before.st_mode)

    again = run_module('restic_restore', args(world, target, owners=SHIFTED),
                       env=dict(ANSIBLE_ENV_FIX))
    assert again['changed'] is False, again
    # verify compares every entry with the mapped owners: nothing differs
    verified = run_module('restic_restore', args(world, target, owners=SHIFTED, verify=True),
                          env=dict(ANSIBLE_ENV_FIX))
    assert verified['changed'] is False and verified['verified'] is True, verified


@needs_root
def test_interrupted_chown_pass_rerun_lands_on_the_same_owners(world, run_module, tmp_path):
    """A shift where alice's new uid is bob's old one: mapping from the snapshot, not from
    the current owner, so a re-run after a partial pass gives the same result."""
    target = str(tmp_path / 'homes')
    shifted = [{'name': 'alice', 'uid': 1001}, {'name': 'bob', 'uid': 1002},
               {'name': 'carol', 'uid': 1003}]
    first = run_module('restic_restore', args(world, target, owners=shifted),
                       env=dict(ANSIBLE_ENV_FIX))
    assert first['changed'], first
    model = os.path.join(target, 'alice', 'data', 'model.bin')
    assert owner(model) == (1001, 1001)
    # the interruption: the state record is gone (as after a kill before it was written)
    os.unlink(os.path.join(target, '.restic-restore.json'))
    again = run_module('restic_restore', args(world, target, owners=shifted),
                       env=dict(ANSIBLE_ENV_FIX))
    assert again['changed'], again
    assert owner(model) == (1001, 1001)
    assert owner(os.path.join(target, 'bob', 'data', 'model.bin')) == (1002, 1002)


@needs_root
def test_mismatch_is_refused_before_anything_is_restored(world, run_module, tmp_path):
    target = str(tmp_path / 'homes')
    missing_carol = [{'name': 'alice', 'uid': 2001}, {'name': 'bob', 'uid': 2000}]
    res = run_module('restic_restore', args(world, target, owners=missing_carol),
                     env=dict(ANSIBLE_ENV_FIX))
    assert res.get('failed'), res
    assert 'carol (user 1002 in the snapshot) has no account in the inventory' in res['msg']
    assert 'Nothing was restored' in res['msg']
    assert not os.path.exists(target) or os.listdir(target) == []
    # two names onto one UID: refused as well
    clash = [{'name': 'alice', 'uid': 2000}, {'name': 'bob', 'uid': 2000},
             {'name': 'carol', 'uid': 2002}]
    res = run_module('restic_restore', args(world, target, owners=clash),
                     env=dict(ANSIBLE_ENV_FIX))
    assert res.get('failed') and 'both alice and bob' in res['msg'], res
    assert not os.path.exists(target) or os.listdir(target) == []


@needs_root
def test_check_mode_reports_the_map_and_writes_nothing(world, run_module, tmp_path):
    target = str(tmp_path / 'homes')
    res = run_module('restic_restore', args(world, target, owners=SHIFTED), check=True,
                     env=dict(ANSIBLE_ENV_FIX))
    assert res['changed'] and not res.get('failed'), res
    assert any(step['step'].startswith('map owners by name') for step in res['plan']), res['plan']
    assert not os.path.exists(target)


@needs_root
def test_snapshot_selection_by_id_and_before_time(world, run_module):
    """The playbook's choice (filter train_restore_snapshot) over restic_snapshot_info."""
    from ansible_collections.resilience.dr.plugins.filter.train_restore import (
        train_restore_snapshot)
    from ansible.errors import AnsibleFilterError
    info = run_module('restic_snapshot_info', {'repository': world['repo'], 'password': PASSWORD,
                                               'executable': RESTIC},
                      env=dict(ANSIBLE_ENV_FIX))
    snaps = info['snapshots']
    first, second = world['ids']
    assert train_restore_snapshot(snaps)['id'].startswith(second)
    assert train_restore_snapshot(snaps, first[:8])['id'].startswith(first)
    # the second snapshot's own time: the newest strictly before it is the first
    assert train_restore_snapshot(snaps, 'latest', snaps[-1]['time'])['id'].startswith(first)
    with pytest.raises(AnsibleFilterError, match='no snapshot is older'):
        train_restore_snapshot(snaps, 'latest', '2000-01-01T00:00:00Z')
    with pytest.raises(AnsibleFilterError, match='not among'):
        train_restore_snapshot(snaps, 'deadbeef')
