# -*- coding: utf-8 -*-
"""restic_restore and restic_snapshot_info under attack and under stress (issue 10).

Real restic (0.14 on the host; 0.18 where the case depends on the restore method), real
tmpfs mounts for a full and a read-only filesystem, real SIGKILL. A hostile user owns the
backed-up homes, so the snapshot plants symlinks named like the module's own files and
symlinks at every level; the operator's target may hold symlinks too. Every case asserts the
return code (``failed``), that the message names the cause and the option or action that fixes
it, and that nothing changed that should not have: the victim file and directory outside the
target are compared byte for byte (and by mode) before and after.
"""

import contextlib
import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import time

import pytest

from restic_helpers import (
    ANSIBLE_ENV_FIX, PASSWORD, ansible_argv, ansible_env, du_bytes, kill_tree, rest_with_auth,
    restic, restic_binaries, sh, tree_digest)

pytestmark = pytest.mark.integration

HOST_RESTIC = '/usr/bin/restic'
HOSTILE_NAMES = ['new\nline.txt', '-rf', '--help', 'bad\udcff\udcfe.bin', 'L' * 250,
                 ' leading space', 'semi;colon $(id)']


def digest_path(path):
    """(kind, content hash or link target, mode) of a file, a link or a whole directory."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        return ('link', os.readlink(path))
    if stat.S_ISDIR(st.st_mode):
        return ('dir', stat.S_IMODE(st.st_mode), tuple(sorted(tree_digest(path, skip=()).items())))
    with open(path, 'rb') as handle:
        return ('file', stat.S_IMODE(st.st_mode), hashlib.sha256(handle.read()).hexdigest())


class World:
    """A hostile snapshot: homes with planted symlinks, hostile names, bulk data."""

    def __init__(self, base, binary):
        self.base = base
        self.binary = binary
        self.victim = os.path.join(base, 'victim')
        self.victimdir = os.path.join(base, 'victimdir')
        with open(self.victim, 'w') as handle:
            handle.write('victim: must never change\n')
        os.chmod(self.victim, 0o644)
        os.makedirs(self.victimdir)
        with open(os.path.join(self.victimdir, 'keep'), 'w') as handle:
            handle.write('keep me\n')
        src = os.path.join(base, 'srv')
        self.homes = os.path.join(src, 'homes')
        for rel, text in (('alice/notes.txt', 'alice 1\n'), ('alice/sub/notes.txt', 'alice 2\n'),
                          ('bob/other.txt', 'bob\n'), ('bob/.ssh/authorized_keys', 'ssh-ed25519 A\n')):
            path = os.path.join(self.homes, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, 'w') as handle:
                handle.write(text)
        # what a hostile user puts in a home (and so in the backup)
        os.symlink(self.victim, os.path.join(self.homes, '.restic-restore.json.tmp'))
        os.symlink(self.victim, os.path.join(self.homes, '.restic-restore.json'))
        os.symlink(self.victimdir, os.path.join(self.homes, '.restic-restore-staging'))
        os.symlink(self.victimdir, os.path.join(self.homes, 'alice', 'evil'))
        os.symlink(self.victim, os.path.join(self.homes, 'alice', 'sub', 'passwd'))
        self.names = os.path.join(src, 'names')
        os.makedirs(self.names)
        for name in HOSTILE_NAMES:
            with open(os.path.join(self.names, name), 'w') as handle:
                handle.write('hostile %r\n' % name)
        self.bulk = os.path.join(src, 'bulk')
        os.makedirs(self.bulk)
        for i in range(4):
            with open(os.path.join(self.bulk, 'blob%d.bin' % i), 'wb') as handle:
                handle.write(os.urandom(2 * 1024 * 1024))
        self.repo = os.path.join(base, 'repo')
        restic(binary, self.repo, 'init')
        restic(binary, self.repo, 'backup', '--host', 'train', self.homes, self.names, self.bulk)
        snaps = json.loads(restic(binary, self.repo, 'snapshots', '--json').stdout)
        self.snapshot = snaps[0]
        # what restic restores of homes: the planted names are the module's own and are not
        # restored (the state record and the staging directory are the module's)
        self.expected_homes = dict(
            (k, v) for k, v in tree_digest(self.homes, skip=()).items()
            if k not in ('.restic-restore.json.tmp', '.restic-restore.json',
                         '.restic-restore-staging'))
        self.expected_names = tree_digest(self.names, skip=())
        self.expected_bulk = tree_digest(self.bulk, skip=())

    def victims(self):
        return (digest_path(self.victim), digest_path(self.victimdir))

    def args(self, target, **extra):
        args = {'repository': self.repo, 'password': PASSWORD, 'executable': self.binary,
                'target': target, 'source_path': '*/srv/homes', 'retry_delay': 0.2}
        args.update(extra)
        return args

    @property
    def native(self):
        return self.binary != HOST_RESTIC


_WORLDS = {}


def world_for(binary, tmp_path_factory):
    if binary not in _WORLDS:
        base = str(tmp_path_factory.mktemp('adv-%s' % os.path.basename(os.path.dirname(binary))))
        _WORLDS[binary] = World(base, binary)
    return _WORLDS[binary]


@pytest.fixture(scope='module', params=restic_binaries())
def world(request, tmp_path_factory):
    """The hostile world for restic 0.14 (staging method) and 0.18 (native method)."""
    return world_for(request.param, tmp_path_factory)


@pytest.fixture(scope='module')
def w14(tmp_path_factory):
    """The hostile world for the host's restic only (cases independent of the method)."""
    return world_for(HOST_RESTIC, tmp_path_factory)


@pytest.fixture(name='run')
def run_fixture(run_module):
    def run(name, args, **kw):
        kw.setdefault('env', dict(ANSIBLE_ENV_FIX))
        result = run_module(name, args, **kw)
        assert PASSWORD not in result['_stdout'] and PASSWORD not in result['_stderr']
        return result
    return run


@pytest.fixture
def guard(request):
    """Assert after the test that the victims outside every target are untouched."""
    worlds = []

    def watch(world):
        worlds.append((world, world.victims()))
        return world
    yield watch
    for world, before in worlds:
        assert world.victims() == before, 'a file outside the target changed'


def says(result, *words):
    text = (result.get('msg', '') + ' ' + str(result.get('hint') or '')).lower()
    missing = [w for w in words if w.lower() not in text]
    assert not missing, 'message lacks %r: %s' % (missing, result.get('msg'))


def ok(result):
    assert not result.failed, result.get('msg')
    return result


@contextlib.contextmanager
def tmpfs(path, size, read_only=False):
    """A tmpfs of ``size`` at ``path`` (created here, unmounted by its path in finally)."""
    os.makedirs(path)
    sh('mount', '-t', 'tmpfs', '-o', 'size=%s,mode=0755' % size, 'resilience-adv', path)
    try:
        if read_only:
            os.makedirs(os.path.join(path, 'target'))
            with open(os.path.join(path, 'target', 'old'), 'w') as handle:
                handle.write('old\n')
            sh('mount', '-o', 'remount,ro', path)
        yield path
    finally:
        sh('umount', path, check=False)
        os.rmdir(path)


# ------------------------------------------------------------ symlinks planted by the snapshot

def test_planted_state_tmp_symlink_is_not_followed(world, guard, run, tmp_path):
    """Issue 10 item 1: .restic-restore.json(.tmp) -> victim in the backup."""
    guard(world)
    target = str(tmp_path / 't')
    res = ok(run('restic_restore', world.args(target)))
    assert res['changed'] is True
    assert tree_digest(target) == world.expected_homes
    state = os.path.join(target, '.restic-restore.json')
    assert stat.S_ISREG(os.lstat(state).st_mode)
    assert not os.path.lexists(state + '.tmp')
    assert not os.path.lexists(os.path.join(target, '.restic-restore-staging'))
    assert run('restic_restore', world.args(target))['changed'] is False


def test_symlinks_in_snapshot_restored_as_links_and_verified(world, guard, run, tmp_path):
    guard(world)
    target = str(tmp_path / 't')
    res = ok(run('restic_restore', world.args(target, verify=True)))
    assert res['verified'] is True
    assert os.readlink(os.path.join(target, 'alice', 'evil')) == world.victimdir
    assert os.readlink(os.path.join(target, 'alice', 'sub', 'passwd')) == world.victim
    assert ok(run('restic_restore', world.args(target, verify=True)))['changed'] is False


@pytest.mark.parametrize('level', ['alice', 'alice/sub', 'bob/.ssh/authorized_keys',
                                   '.restic-restore.json', '.restic-restore.json.tmp',
                                   '.restic-restore-staging'])
def test_target_symlink_at_every_level(world, guard, run, tmp_path, level):
    """Issue 10 item 7: target/alice -> elsewhere ended in ENOTDIR, half merged."""
    guard(world)
    target = str(tmp_path / 't')
    path = os.path.join(target, level)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    dest = world.victim if level.endswith(('keys', '.json', '.tmp')) else world.victimdir
    os.symlink(dest, path)
    res = ok(run('restic_restore', world.args(target)))
    assert res['changed'] is True
    assert tree_digest(target) == world.expected_homes
    assert not os.path.lexists(os.path.join(target, '.restic-restore-staging'))


def test_check_mode_with_planted_links_writes_nothing(world, guard, run, tmp_path):
    guard(world)
    target = str(tmp_path / 't')
    os.makedirs(target)
    os.symlink(world.victimdir, os.path.join(target, 'alice'))
    os.symlink(world.victim, os.path.join(target, '.restic-restore.json.tmp'))
    before = tree_digest(target, skip=())
    res = ok(run('restic_restore', world.args(target, delete=True), check=True, diff=True))
    assert res['changed'] is True and res['would_restore']['files'] >= 4
    assert tree_digest(target, skip=()) == before


# ------------------------------------------------------------ delete

@pytest.mark.parametrize('target', ['/', '/.', '//', '/tmp/..', '/usr', '/etc/', '/usr/../etc',
                                    'LINK-TO-ROOT'])
def test_delete_refused_for_system_directories(w14, guard, run, tmp_path, target):
    """Issue 10 item 5: /. and /tmp/.. passed the string comparison."""
    guard(w14)
    if target == 'LINK-TO-ROOT':
        target = str(tmp_path / 'root-link')
        os.symlink('/', target)
    res = run('restic_restore', w14.args(target, delete=True))
    assert res.failed and res.get('refused') is True
    says(res, 'delete', 'system directory', 'dedicated directory')
    assert res['option'] == 'delete'
    assert res.get('changed') is False


def test_delete_removes_only_unrelated_entries_inside_the_target(world, guard, run, tmp_path):
    guard(world)
    target = str(tmp_path / 't')
    os.makedirs(os.path.join(target, 'alice'))
    outside = str(tmp_path / 'outside.txt')
    with open(outside, 'w') as handle:
        handle.write('next to the target\n')
    with open(os.path.join(target, 'alice', 'stale.txt'), 'w') as handle:
        handle.write('stale\n')
    os.symlink(world.victimdir, os.path.join(target, 'carol'))   # not in the snapshot
    os.symlink(world.victim, os.path.join(target, 'stray-link'))
    res = ok(run('restic_restore', world.args(target, delete=True)))
    assert res['changed'] is True
    assert tree_digest(target) == world.expected_homes
    assert open(outside).read() == 'next to the target\n'
    # delete with include only touches the selection: bob's extra file stays
    with open(os.path.join(target, 'bob', 'mine.txt'), 'w') as handle:
        handle.write('not selected\n')
    ok(run('restic_restore', world.args(target, delete=True, include=['/alice'])))
    assert os.path.exists(os.path.join(target, 'bob', 'mine.txt'))


# ------------------------------------------------------------ include / verify (item 10)

def test_unanchored_include_with_verify(world, guard, run, tmp_path):
    guard(world)
    target = str(tmp_path / 't')
    args = world.args(target, include=['notes.txt'], verify=True)
    res = ok(run('restic_restore', args))
    assert res['changed'] is True and res['verified'] is True
    got = dict((k, v) for k, v in tree_digest(target).items() if v[0] != 'dir')
    assert sorted(got) == ['alice/notes.txt', 'alice/sub/notes.txt']
    assert not os.path.exists(os.path.join(target, 'bob'))
    assert ok(run('restic_restore', args))['changed'] is False


def test_include_and_exclude_with_verify(w14, guard, run, tmp_path):
    guard(w14)
    target = str(tmp_path / 't')
    args = w14.args(target, include=['/alice'], exclude=['notes.txt'], verify=True)
    res = ok(run('restic_restore', args))
    assert res['verified'] is True and res['method'] == 'staging'
    got = dict((k, v) for k, v in tree_digest(target).items() if v[0] != 'dir')
    assert sorted(got) == ['alice/evil', 'alice/sub/passwd']
    assert ok(run('restic_restore', args))['changed'] is False


def test_failure_after_writing_reports_changed(w14, guard, run, tmp_path):
    """A run that wrote anything says changed: true, also when it fails (item 10): the state
    record cannot be written because its directory is a symlink planted in the target."""
    guard(w14)
    target = str(tmp_path / 't')
    os.makedirs(target)
    os.symlink(w14.victimdir, os.path.join(target, 'meta'))
    res = run('restic_restore', w14.args(target, state_file='meta/state.json'))
    assert res.failed and res['changed'] is True
    assert res['target_state'] == 'restored-unrecorded'
    says(res, 'state record', 'meta', 'restores again')
    assert sorted(os.listdir(w14.victimdir)) == ['keep']


def test_partial_merge_says_so_and_rerun_finishes(w14, guard, run, tmp_path):
    """bob/ cannot take new entries (immutable): alice is merged, then the merge fails."""
    guard(w14)
    target = str(tmp_path / 't')
    os.makedirs(os.path.join(target, 'bob'))
    sh('chattr', '+i', os.path.join(target, 'bob'))
    try:
        res = run('restic_restore', w14.args(target))
        assert res.failed and res['changed'] is True
        assert res['target_state'] == 'partial'
        says(res, 'partly restored', 'no state record', 're-run', 'staging directory')
        assert res['staging_dir'] is None
        assert not os.path.lexists(os.path.join(target, '.restic-restore-staging'))
        assert os.path.exists(os.path.join(target, 'alice', 'notes.txt'))
        assert not os.path.exists(os.path.join(target, '.restic-restore.json'))
    finally:
        sh('chattr', '-i', os.path.join(target, 'bob'))
    ok(run('restic_restore', w14.args(target)))
    assert tree_digest(target) == w14.expected_homes


# ------------------------------------------------------------ hostile names

def test_hostile_file_names(world, guard, run, tmp_path):
    guard(world)
    target = str(tmp_path / 't')
    # delete=true: a name restic's JSON shows lossily (non-UTF-8) must not look "extra"
    args = world.args(target, source_path='*/srv/names', verify=True, delete=True)
    res = ok(run('restic_restore', args))
    assert res['files'] == len(HOSTILE_NAMES)
    assert tree_digest(target) == world.expected_names
    again = ok(run('restic_restore', args))
    assert again['changed'] is False, again.get('comparison')
    assert tree_digest(target) == world.expected_names


# ------------------------------------------------------------ repository failures

def test_wrong_password(w14, guard, run, tmp_path):
    guard(w14)
    target = str(tmp_path / 't')
    res = run('restic_restore', w14.args(target, password='not-the-password'))
    assert res.failed and res['error_kind'] == 'wrong_password' and res['changed'] is False
    says(res, 'wrong password', 'password_file')
    assert not os.path.exists(target)


def test_missing_password_file_names_the_path(w14, guard, run, tmp_path):
    guard(w14)
    target = str(tmp_path / 't')
    pw_file = str(tmp_path / 'no-such-password-file')
    args = w14.args(target, password_file=pw_file)
    del args['password']
    res = run('restic_restore', args)
    assert res.failed and res['option'] == 'password_file'
    says(res, pw_file, 'does not exist', 'password_file')
    assert not os.path.exists(target)


def test_missing_repository(w14, guard, run, tmp_path):
    guard(w14)
    target = str(tmp_path / 't')
    res = run('restic_restore', w14.args(target, repository=str(tmp_path / 'no-repo')))
    assert res.failed and res['error_kind'] == 'repository_missing'
    says(res, 'repository', 'restic -r')
    assert not os.path.exists(target)


def test_locked_repository(w14, guard, run, tmp_path):
    guard(w14)
    target = str(tmp_path / 't')
    fifo = str(tmp_path / 'fifo')
    os.mkfifo(fifo)
    holder = subprocess.Popen(
        ['sh', '-c', 'exec "$0" key passwd < "$1"', w14.binary, fifo],
        env=dict(os.environ, RESTIC_PASSWORD=PASSWORD, RESTIC_REPOSITORY=w14.repo),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    writer = os.open(fifo, os.O_WRONLY)
    try:
        deadline = time.time() + 20
        while not os.listdir(os.path.join(w14.repo, 'locks')) and time.time() < deadline:
            time.sleep(0.2)
        res = run('restic_restore', w14.args(target, retries=0))
        assert res.failed and res['error_kind'] == 'locked' and res['changed'] is False
        says(res, 'lock', 'unlock_stale')
        assert not os.path.exists(target)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        os.close(writer)
    # the lock is stale now; remove it so that other cases see a clean repository
    restic(w14.binary, w14.repo, 'unlock')


def test_unknown_snapshot_id(w14, guard, run, tmp_path):
    guard(w14)
    target = str(tmp_path / 't')
    res = run('restic_restore', w14.args(target, snapshot='deadbeef'))
    assert res.failed and res['option'] == 'snapshot'
    says(res, 'deadbeef', 'not among', 'restic_snapshot_info', w14.snapshot['short_id'])
    assert not os.path.exists(target)


def test_source_path_matching_nothing(w14, guard, run, tmp_path):
    guard(w14)
    target = str(tmp_path / 't')
    res = run('restic_restore', w14.args(target, source_path='*/srv/nothing'))
    assert res.failed and res['option'] == 'source_path'
    says(res, 'matches 0 directories', 'restic ls', 'source_path', w14.homes)
    assert not os.path.exists(target)


def test_corrupt_pack(world, guard, run, tmp_path):
    """Damaged data: the message says so and what to run; the target state is the truth."""
    guard(world)
    repo = str(tmp_path / 'repo')
    shutil.copytree(world.repo, repo)
    packs = [os.path.join(d, n) for d, _unused, files in os.walk(os.path.join(repo, 'data'))
             for n in files]
    biggest = max(packs, key=os.path.getsize)  # the bulk data, not the trees
    os.chmod(biggest, 0o644)
    with open(biggest, 'r+b') as handle:
        handle.seek(4096)
        byte = handle.read(1)
        handle.seek(4096)
        handle.write(bytes([byte[0] ^ 0xff]))
    target = str(tmp_path / 't')
    res = run('restic_restore', world.args(target, repository=repo, source_path='*/srv/bulk',
                                           retries=0))
    assert res.failed, 'a restore from damaged packs must fail'
    assert res['error_kind'] == 'corrupt', res.get('msg')
    says(res, 'damaged', 'restic check --read-data', 'target state')
    assert 'nothing was written to the target' not in res['msg'] or res['changed'] is False
    if world.native:
        assert res['changed'] is True and res['target_state'] == 'partial'
        says(res, 're-run')
    else:
        assert res['changed'] is False and res['target_state'] == 'unchanged'
        assert not os.path.exists(target), 'the staging method must not leave anything'


# ------------------------------------------------------------ full and read-only filesystems

def test_full_disk(world, guard, run, tmp_path):
    guard(world)
    with tmpfs(str(tmp_path / 'small'), '3m') as mnt:
        target = os.path.join(mnt, 't')
        res = run('restic_restore', world.args(target, source_path='*/srv/bulk', retries=0))
        assert res.failed and res['error_kind'] == 'no_space', res.get('msg')
        says(res, 'free space', 'target state')
        if world.native:
            says(res, 're-run')
            assert res['changed'] is True
        else:
            says(res, 'staging directory', 'second copy', 'restic >= 0.17', 'was removed')
            assert res['changed'] is False and res['target_state'] == 'unchanged'
            assert not os.path.exists(target)
            # the staged data is gone again: the filesystem is as empty as before
            assert du_bytes(mnt) == 0


def test_full_disk_predicted_in_check_mode(w14, guard, run, tmp_path):
    """Staging (restic < 0.17) needs room for a second copy; check mode knows the size."""
    guard(w14)
    with tmpfs(str(tmp_path / 'small'), '3m') as mnt:
        target = os.path.join(mnt, 't')
        res = run('restic_restore', w14.args(target, source_path='*/srv/bulk'), check=True)
        assert res.failed and res['option'] == 'target'
        says(res, 'not enough space', 'staging', 'restic >= 0.17', 'nothing was written')
        assert not os.path.exists(target)


@pytest.mark.parametrize('check', [True, False], ids=['check-mode', 'run'])
def test_read_only_target(w14, guard, run, tmp_path, check):
    guard(w14)
    with tmpfs(str(tmp_path / 'ro'), '1m', read_only=True) as mnt:
        target = os.path.join(mnt, 'target')
        before = tree_digest(target, skip=())
        res = run('restic_restore', w14.args(target), check=check)
        assert res.failed and res['option'] == 'target' and res.get('changed') is False
        says(res, 'read-only', 'remount', 'nothing was written')
        assert tree_digest(target, skip=()) == before


# ------------------------------------------------------------ SIGKILL

def test_sigkill_mid_restore_then_rerun_finishes(w14, guard, run, tmp_path):
    guard(w14)
    target = str(tmp_path / 't')
    args = w14.args(target, source_path='*/srv/bulk', limit_download=512)
    proc = subprocess.Popen(ansible_argv('restic_restore', args), env=ansible_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and du_bytes(target) < 1024 * 1024:
        time.sleep(0.1)
    assert proc.poll() is None, 'the restore finished before it could be interrupted'
    kill_tree(proc.pid)
    proc.wait()
    assert not os.path.exists(os.path.join(target, '.restic-restore.json'))
    res = ok(run('restic_restore', dict(args, limit_download=None)))
    assert res['changed'] is True
    assert tree_digest(target) == w14.expected_bulk
    assert not os.path.lexists(os.path.join(target, '.restic-restore-staging'))
    assert run('restic_restore', dict(args, limit_download=None))['changed'] is False


# ------------------------------------------------------------ credentials inside the URL

@pytest.mark.parametrize('module', ['restic_restore', 'restic_snapshot_info'])
def test_url_credentials_never_shown(w14, guard, run, tmp_path, module):
    """Issue 10 item 6: rest:http://user:secret@host/ showed the secret in invocation."""
    guard(w14)
    secret = 'UrlS3cret-4e1f-adversarial'
    root = os.path.dirname(w14.repo)
    with rest_with_auth(root, 'drill', secret) as port:
        repo = 'rest:http://drill:%s@127.0.0.1:%d/repo' % (secret, port)
        args = w14.args(str(tmp_path / 't'), repository=repo)
        if module == 'restic_snapshot_info':
            args = dict((k, v) for k, v in args.items()
                        if k in ('repository', 'password', 'executable', 'retry_delay'))
        res = ok(run(module, args))
        bad = run(module, dict(args, password='wrong-password-here'))
    assert bad.failed and bad['error_kind'] == 'wrong_password'
    for result in (res, bad):
        assert secret not in result['_stdout'] and secret not in result['_stderr']
        assert result['invocation']['module_args']['repository'].startswith('rest:http://drill:')
    assert res['repository'] == 'rest:http://drill:***@127.0.0.1:%d/repo' % port
