# -*- coding: utf-8 -*-
"""resilience.dr.restic_restore against real restic repositories on three backends."""

import fnmatch
import os
import shutil
import signal
import stat
import subprocess
import time

import pytest

from restic_helpers import (
    ANSIBLE_ENV_FIX, PASSWORD, Dataset, ansible_argv, ansible_env, du_bytes, kill_tree, module_args,
    rest_server, restic, restic_binaries, restic_flagging_failures, tree_digest)

pytestmark = pytest.mark.integration


@pytest.fixture(scope='module', params=restic_binaries())
def world(request, tmp_path_factory):
    """One data set and one repository per restic version, with two timestamped backups."""
    binary = request.param
    base = str(tmp_path_factory.mktemp('restic-%s' % request.node.name.split('[')[-1].strip(']')))
    data = Dataset(os.path.join(base, 'data'))
    repo_root = os.path.join(base, 'repos')
    os.makedirs(repo_root)
    repo = os.path.join(repo_root, 'train')
    ids = data.backup(binary, repo)
    version = restic(binary, repo, 'version').stdout.split()[1]
    return {'binary': binary, 'base': base, 'data': data, 'repo_root': repo_root,
            'repo': repo, 'ids': ids, 'version': version}


@pytest.fixture(name='run')
def run_fixture(run_module):
    def run(name, args, **kw):
        kw.setdefault('env', dict(ANSIBLE_ENV_FIX))
        result = run_module(name, args, **kw)
        # secrets never show up anywhere in what ansible printed
        assert PASSWORD not in result['_stdout']
        assert PASSWORD not in result['_stderr']
        return result
    return run


def native(world):
    return tuple(int(x) for x in world['version'].split('.')) >= (0, 17, 0)


def same_mode_owner(path, reference):
    got, want = os.lstat(path), os.lstat(reference)
    return (stat.S_IMODE(got.st_mode), got.st_uid, got.st_gid) == \
        (stat.S_IMODE(want.st_mode), want.st_uid, want.st_gid)


def counts(expected, only=lambda rel: True):
    """(files, bytes) of the regular files in a tree_digest() result."""
    files = [v for k, v in expected.items() if v[0] == 'file' and only(k)]
    return len(files), sum(v[2] for v in files)


@pytest.fixture(params=['local', 'rclone-env', 'rclone-alias', 'rest'])
def backend(request, world, tmp_path):
    """(repository string, environment for the module) for each backend over the same repo."""
    kind = request.param
    if kind == 'local':
        yield world['repo'], {}
    elif kind == 'rclone-env':
        # a remote defined only by environment variables
        yield 'rclone:trainlocal:%s' % world['repo'], {'RCLONE_CONFIG_TRAINLOCAL_TYPE': 'local'}
    elif kind == 'rclone-alias':
        conf = tmp_path / 'rclone.conf'
        conf.write_text('[gdrive]\ntype = alias\nremote = %s\n' % world['repo_root'])
        yield 'rclone:gdrive:train', {'RCLONE_CONFIG': str(conf)}
    else:
        with rest_server(world['repo_root']) as (url, _unused):
            yield url + 'train', {}


def test_restore_subtree_from_each_backend(world, backend, run, tmp_path):
    repo, env = backend
    target = str(tmp_path / 'homes')
    args = module_args(world['binary'], repo, target, environment=env)

    first = run('restic_restore', args)
    assert not first.failed, first.get('msg')
    assert first['changed'] is True
    assert tree_digest(target) == world['data'].expected[2]
    assert first['snapshot']['id'] == world['ids'][1] or first['snapshot']['short_id'] == world['ids'][1][:8]
    assert first['snapshot']['host'] == 'train' and first['snapshot']['tags'] == ['train-backups']
    assert first['source'] == world['data'].homes(2)
    assert first['mapping'] == {world['data'].homes(2): target}
    assert first['method'] == ('native' if native(world) else 'staging')
    assert first['files'] == sum(1 for v in world['data'].expected[2].values() if v[0] == 'file')
    assert first['bytes'] == sum(v[2] for v in world['data'].expected[2].values() if v[0] == 'file')
    assert first['rpo_seconds'] >= 0 and first['mb_per_s'] >= 0
    assert not os.path.exists(os.path.join(target, '.restic-restore-staging'))
    # the target itself gets the source directory's mode and owner
    assert same_mode_owner(target, world['data'].homes(2))

    second = run('restic_restore', args)
    assert second['changed'] is False, second.get('msg')
    third = run('restic_restore', dict(args, verify=True))
    assert third['changed'] is False and third['verified'] is True
    assert tree_digest(target) == world['data'].expected[2]


def test_older_snapshot_by_id_then_latest(world, run, tmp_path):
    target = str(tmp_path / 'homes')
    old = run('restic_restore', module_args(world['binary'], world['repo'], target,
                                            snapshot=world['ids'][0][:8], verify=True))
    assert old['changed'] and old['verified']
    assert tree_digest(target) == world['data'].expected[1]
    # the newer snapshot over the older one: changed, and without delete the removed file stays
    new = run('restic_restore', module_args(world['binary'], world['repo'], target), diff=True)
    assert new['changed']
    assert new['comparison']['new'] >= 1 and new['comparison']['extra'] == 1
    digest = tree_digest(target)
    assert 'alice/proj0/f000.bin' in digest
    del digest['alice/proj0/f000.bin']
    assert digest == world['data'].expected[2]
    # delete=true removes what the snapshot lacks
    dele = run('restic_restore', module_args(world['binary'], world['repo'], target, delete=True))
    assert dele['changed']
    assert tree_digest(target) == world['data'].expected[2]


def test_check_mode_writes_nothing(world, run, tmp_path):
    target = str(tmp_path / 'absent')
    res = run('restic_restore', module_args(world['binary'], world['repo'], target), check=True,
              diff=True)
    assert not res.failed, res.get('msg')
    assert res['changed'] is True
    files = sum(1 for v in world['data'].expected[2].values() if v[0] == 'file')
    nbytes = sum(v[2] for v in world['data'].expected[2].values() if v[0] == 'file')
    assert res['would_restore']['files'] == files
    assert res['would_restore']['bytes'] == nbytes
    assert res['plan'] and any('restic' in (s['command'] or '') for s in res['plan'])
    assert 'diff' in res or 'comparison' in res
    assert not os.path.exists(target)

    # an existing, partly different target is left exactly as it was
    shutil.copytree(world['data'].homes(1), target, symlinks=True)
    before = tree_digest(target)
    res = run('restic_restore', module_args(world['binary'], world['repo'], target, delete=True),
              check=True, diff=True)
    assert res['changed'] is True
    assert res['would_restore']['would_delete'] == 1
    assert res['comparison']['changed'] >= 1
    assert tree_digest(target) == before


def test_verify_repairs_a_damaged_target(world, run, tmp_path):
    target = str(tmp_path / 'homes')
    args = module_args(world['binary'], world['repo'], target)
    assert run('restic_restore', args)['changed']
    victim = os.path.join(target, 'alice', 'proj1', 'f001.bin')
    with open(victim, 'r+b') as handle:
        handle.write(b'XX')
    os.utime(victim, (1, 1))
    # the cheap check trusts the state file ...
    assert run('restic_restore', args)['changed'] is False
    # ... verify does the full comparison and repairs
    res = run('restic_restore', dict(args, verify=True))
    assert res['changed'] is True and res['verified'] is True
    assert tree_digest(target) == world['data'].expected[2]


def test_source_path_must_match_one_directory(world, run, tmp_path):
    target = str(tmp_path / 't')
    none = run('restic_restore', module_args(world['binary'], world['repo'], target,
                                             source_path='*/snapshots/backup_*/nothing'))
    assert none.failed and 'matches 0 directories' in none['msg']
    assert 'Snapshot paths' in none['msg']
    many = run('restic_restore', module_args(world['binary'], world['repo'], target,
                                             source_path='*/snapshots/backup_*/*'))
    assert many.failed and 'matches 2 directories' in many['msg']
    assert 'homes' in many['msg'] and 'docker-volumes' in many['msg']
    # absolute globs work too, and directories deeper than the backed-up paths are found
    alice = run('restic_restore', module_args(
        world['binary'], world['repo'], target,
        source_path=os.path.join(os.path.dirname(world['data'].snap2), 'backup_*', 'homes', 'alice')))
    assert not alice.failed, alice.get('msg')
    expected = dict((k[len('alice/'):], v) for k, v in world['data'].expected[2].items()
                    if k.startswith('alice/'))
    got = tree_digest(target)
    assert got == expected
    assert (alice['files'], alice['bytes']) == counts(expected)
    assert same_mode_owner(target, os.path.join(world['data'].homes(2), 'alice'))


@pytest.mark.parametrize('pattern', ['f00*.bin', 'day2.txt'])
def test_include_only_counts_and_idempotence(world, run, tmp_path, pattern):
    """Counts come from what restic restored; the next run finds everything in place (also
    when only some top-level directories hold a match: day2.txt is only in alice)."""
    target = str(tmp_path / 't')
    args = module_args(world['binary'], world['repo'], target, include=[pattern])
    res = run('restic_restore', args)
    assert not res.failed, res.get('msg')
    want = dict((k, v) for k, v in world['data'].expected[2].items()
                if fnmatch.fnmatchcase(os.path.basename(k), pattern))
    assert want
    got = dict((k, v) for k, v in tree_digest(target).items() if v[0] != 'dir')
    assert got == want
    assert (res['files'], res['bytes']) == counts(want)
    again = run('restic_restore', args)
    assert again['changed'] is False, again.get('msg')
    assert (again['files'], again['bytes']) == counts(want)


def test_include_exclude(world, run, tmp_path):
    target = str(tmp_path / 't')
    res = run('restic_restore', module_args(world['binary'], world['repo'], target,
                                            include=['/bob'], exclude=['*.bin'], verify=True))
    assert not res.failed, res.get('msg')
    got = tree_digest(target)
    want = dict((k, v) for k, v in world['data'].expected[2].items()
                if (k == 'bob' or k.startswith('bob/')) and not k.endswith('.bin'))
    # directories that only held excluded files are still created by restic
    assert dict((k, v) for k, v in got.items() if v[0] != 'dir') == \
        dict((k, v) for k, v in want.items() if v[0] != 'dir')
    assert run('restic_restore', module_args(world['binary'], world['repo'], target,
                                             include=['/bob'], exclude=['*.bin']))['changed'] is False


def _assert_failed_cleanly(res, kind, target, words):
    assert res.failed
    assert res['error_kind'] == kind, res.get('msg')
    assert res['hint']
    for word in words:
        assert word in res['msg'].lower() or word in res['hint'].lower()
    assert not os.path.exists(target), 'something was written to the target'


def test_errors_are_clear_and_write_nothing(world, run, tmp_path):
    target = str(tmp_path / 'never')
    wrong = run('restic_restore', dict(module_args(world['binary'], world['repo'], target),
                                       password='not-the-password'))
    _assert_failed_cleanly(wrong, 'wrong_password', target, ['wrong password', 'password_file'])

    missing = run('restic_restore', module_args(world['binary'], str(tmp_path / 'no-repo'), target))
    _assert_failed_cleanly(missing, 'repository_missing', target, ['rclone:'])

    # A live exclusive lock: "restic key passwd" holds it while it waits for a new password.
    fifo = str(tmp_path / 'fifo')
    os.mkfifo(fifo)
    holder = subprocess.Popen(
        ['sh', '-c', 'exec "$0" key passwd < "$1"', world['binary'], fifo],
        env=dict(os.environ, RESTIC_PASSWORD=PASSWORD, RESTIC_REPOSITORY=world['repo']),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    writer = os.open(fifo, os.O_WRONLY)
    try:
        deadline = time.time() + 20
        while not os.listdir(os.path.join(world['repo'], 'locks')) and time.time() < deadline:
            time.sleep(0.2)
        locked = run('restic_restore', module_args(world['binary'], world['repo'], target,
                                                   retries=0))
        _assert_failed_cleanly(locked, 'locked', target, ['unlock_stale'])
        # unlock_stale never removes a live lock
        still = run('restic_restore', module_args(world['binary'], world['repo'], target,
                                                  unlock_stale=True, retries=0))
        _assert_failed_cleanly(still, 'locked', target, ['live'])
        assert os.listdir(os.path.join(world['repo'], 'locks'))
    finally:
        holder.send_signal(signal.SIGKILL)  # the lock is now stale (dead PID on this host)
        holder.wait()
        os.close(writer)
    assert os.listdir(os.path.join(world['repo'], 'locks'))
    ok = run('restic_restore', module_args(world['binary'], world['repo'], target,
                                           unlock_stale=True))
    assert not ok.failed, ok.get('msg')
    assert ok['unlocked_stale_locks'] is True
    assert tree_digest(target) == world['data'].expected[2]


def test_password_never_in_output(world, run, tmp_path):
    target = str(tmp_path / 't')
    pw_file = tmp_path / 'pw'
    pw_file.write_text(PASSWORD + '\n')
    args = module_args(world['binary'], world['repo'], target)
    del args['password']
    args['password_file'] = str(pw_file)
    for check in (True, False):
        res = run('restic_restore', args, check=check, diff=True)  # run() asserts absence
        assert not res.failed, res.get('msg')
    with open(os.path.join(target, '.restic-restore.json')) as handle:
        assert PASSWORD not in handle.read()


def test_transient_backend_failure_is_retried(world, run, tmp_path):
    if native(world):
        pytest.skip('restic >= 0.17 retries backend errors itself for minutes')
    # The backend comes up only after a restic call has failed against it: the module must
    # retry (not give up, not report success without data), however slow the machine is.
    flag = str(tmp_path / 'first-attempt-failed')
    binary = restic_flagging_failures(world['binary'], str(tmp_path), flag)
    with rest_server(world['repo_root'], start_when=flag) as (url, _unused):
        res = run('restic_restore', module_args(binary, url + 'train',
                                                str(tmp_path / 't'), retries=5, retry_delay=1))
        assert not res.failed, res.get('msg')
        assert tree_digest(str(tmp_path / 't')) == world['data'].expected[2]
        assert any(c['rc'] != 0 for c in res['commands'])
    dead = run('restic_restore', module_args(world['binary'], 'rest:http://127.0.0.1:9/train',
                                             str(tmp_path / 'u'), retries=1, retry_delay=0.2))
    assert dead.failed and dead['error_kind'] == 'transient' and dead['attempts'] == 2
    assert 'reachable' in dead['hint']
    assert not os.path.exists(tmp_path / 'u')


def alive(pid):
    try:
        with open('/proc/%d/stat' % pid) as handle:
            return handle.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


@pytest.fixture(scope='module')
def big_world(world, tmp_path_factory):
    """~300 MiB of incompressible data, for killing a restore half-way."""
    base = str(tmp_path_factory.mktemp('restic-big'))
    data = Dataset(os.path.join(base, 'data'), big=[24] * 12)
    repo = os.path.join(base, 'repo')
    ids = data.backup(world['binary'], repo)
    yield {'data': data, 'repo': repo, 'ids': ids}
    shutil.rmtree(base, ignore_errors=True)


def test_interrupted_restore_finishes_on_rerun(world, big_world, run, tmp_path):
    target = str(tmp_path / 'homes')
    args = module_args(world['binary'], big_world['repo'], target, limit_download=40 * 1024)
    proc = subprocess.Popen(ansible_argv('restic_restore', args), env=ansible_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and du_bytes(target) < 60 * 2 ** 20:
        time.sleep(0.2)
    assert proc.poll() is None, 'the restore finished before it could be interrupted'
    killed = kill_tree(proc.pid)  # ansible, the module and restic, mid-write
    proc.wait()
    time.sleep(0.5)
    assert len(killed) > 2 and not [p for p in killed[1:] if alive(p)]
    assert not os.path.exists(os.path.join(target, '.restic-restore.json'))
    assert tree_digest(target) != big_world['data'].expected[2]

    res = run('restic_restore', dict(args, limit_download=None))
    assert not res.failed, res.get('msg')
    assert res['changed'] is True
    assert tree_digest(target) == big_world['data'].expected[2]
    # the target already held files: the counts still cover exactly the snapshot's subtree
    assert (res['files'], res['bytes']) == counts(big_world['data'].expected[2])
    assert run('restic_restore', dict(args, limit_download=None, verify=True))['changed'] is False
