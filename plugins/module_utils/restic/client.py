# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The restic client: one repository, its environment, retries, and what a failure means.

:class:`Restic` runs restic through :class:`runner.Runner` (argv lists, ``LC_ALL=C``) with the
repository and password in the environment, never on the command line.  Transient backend
failures are retried with exponential backoff; every other failure becomes a
:class:`ResticError` whose ``kind`` (:func:`classify_error`) and hint say what to do next.
The version is detected (``restic version``), never assumed: :data:`FEATURES` says what it
allows.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.resilience.dr.plugins.module_utils.redact import redact_url
from ansible_collections.resilience.dr.plugins.module_utils.runner import (
    CommandError, ModuleFailure)
from ansible_collections.resilience.dr.plugins.module_utils.restic.parsers import (
    parse_check, parse_json_lines, parse_stats, parse_version, tool_message)

# Features by the first restic version that has them.
FEATURES = {
    'subfolder': (0, 17, 0),       # restore <snapshot>:<subfolder>
    'dry_run': (0, 17, 0),         # restore --dry-run
    'overwrite': (0, 17, 0),       # restore --overwrite
    'delete': (0, 17, 0),          # restore --delete
    'exit_codes': (0, 17, 0),      # 10 missing repo, 11 locked, 12 wrong password
    'restore_json': (0, 16, 0),    # restore --json progress and summary
}

# Error kinds, their restic exit codes (>= 0.17) and the message text older versions print.
ERROR_KINDS = {
    'repository_missing': {
        'code': 10,
        'patterns': ['repository does not exist', 'Is there a repository at the following location'],
        'hint': 'check the repository string (an rclone remote needs the "rclone:" prefix, '
                'e.g. rclone:gdrive:backups/ml-train-server) and that the remote is reachable; '
                'list it with "restic -r <repo> snapshots"',
    },
    'locked': {
        'code': 11,
        'patterns': ['repository is already locked', 'unable to create lock'],
        'hint': 'another restic process holds a lock on the repository. If that process is '
                'dead, set unlock_stale=true to remove stale locks (restic unlock); a live '
                'lock is never removed: wait for that process to finish',
    },
    'wrong_password': {
        'code': 12,
        'patterns': ['wrong password or no key found'],
        'hint': 'the repository password is wrong: check password/password_file '
                '(on the train server /root/.restic-password, from the vault)',
    },
    # No exit code of their own (restic exits 1): recognised by the message only.
    'corrupt': {
        'code': None,
        'patterns': ['ciphertext verification failed', 'checksum mismatch', 'hash mismatch',
                     'invalid data returned', 'blob not found', 'pack file cannot be listed',
                     'loadblob', 'is damaged', 'tree not found'],
        'hint': 'the repository holds damaged data: run "restic check --read-data" '
                '(resilience.dr.restic_snapshot_info with check: true and read_data_subset: '
                '100%) and repair it ("restic repair packs"/"restic repair snapshots"), or '
                'restore an older snapshot (option snapshot)',
    },
    'no_space': {
        'code': None,
        'patterns': ['no space left on device', 'disk quota exceeded'],
        'hint': 'the filesystem of the target (or of cache_dir) is full: free space there, '
                'or restore into a target on a bigger filesystem',
    },
}

TRANSIENT_PATTERNS = [
    'connection refused', 'connection reset', 'i/o timeout', 'timeout awaiting',
    'tls handshake timeout', 'no route to host', 'network is unreachable',
    'temporary failure in name resolution', 'server misbehaving', 'unexpected eof',
    '502 bad gateway', '503 service unavailable', '504 gateway timeout',
    '500 internal server error', 'too many requests', 'context deadline exceeded',
    'error talking http to rclone', 'rclone stdio connection already closed',
    'unexpected http response',
]


class ResticError(CommandError):
    """A restic command failed; ``kind`` classifies it (see ERROR_KINDS, 'transient')."""

    def __init__(self, argv, rc, stdout='', stderr='', hint=None, kind=None, attempts=1):
        self.kind = kind
        self.attempts = attempts
        super(ResticError, self).__init__(argv, rc, stdout, stderr, hint)

    def as_result(self):
        result = super(ResticError, self).as_result()
        result['error_kind'] = self.kind
        result['attempts'] = self.attempts
        return result


def features_for(version):
    """{feature: bool} for a version tuple (see FEATURES)."""
    return dict((name, tuple(version) >= first) for name, first in FEATURES.items())


def classify_error(rc, stderr, stdout=''):
    """Which kind of failure this is: an ERROR_KINDS key, 'transient' or None."""
    text = tool_message(stderr, stdout)
    lower = (text + '\n' + (stderr or '')).lower()
    for kind, info in ERROR_KINDS.items():
        if info['code'] is not None and rc == info['code']:
            return kind
    # A full disk or damaged data is never worth a retry, whatever else the output says.
    for kind in ('no_space', 'corrupt'):
        if any(p.lower() in lower for p in ERROR_KINDS[kind]['patterns']):
            return kind
    # restic < 0.17 exits 1 for everything: read the message.  A refused connection also
    # prints "Is there a repository ...", so transient network errors are checked first.
    if any(p in lower for p in TRANSIENT_PATTERNS):
        return 'transient'
    for kind in ('locked', 'wrong_password', 'repository_missing'):
        if any(p.lower() in lower for p in ERROR_KINDS[kind]['patterns']):
            return kind
    return None


def redact_repository(repository):
    """Hide credentials in URLs such as rest:https://user:secret@host/repo."""
    return redact_url(repository or '')


# ---------------------------------------------------------------- the restic client

class Restic:
    """restic with one repository: environment, retries with backoff, error classification."""

    def __init__(self, runner, executable='restic', repository=None, password=None,
                 password_file=None, environment=None, cache_dir=None, limit_download=None,
                 retries=3, backoff=2.0, sleep=time.sleep, no_lock=False):
        self.runner = runner
        self.executable = executable
        self.repository = repository
        self.env = {}
        self.env.update(environment or {})
        if repository:
            self.env['RESTIC_REPOSITORY'] = repository
        if password is not None:
            self.env['RESTIC_PASSWORD'] = password
        elif password_file:
            self.env['RESTIC_PASSWORD_FILE'] = password_file
        self.cache_dir = cache_dir
        self.limit_download = limit_download
        self.retries = max(0, int(retries))
        self.backoff = float(backoff)
        self.sleep = sleep
        self.no_lock = no_lock
        self._version = None

    def global_args(self, no_lock=None):
        args = []
        if self.cache_dir:
            args += ['--cache-dir', self.cache_dir]
        if self.limit_download:
            args += ['--limit-download', str(self.limit_download)]
        if self.no_lock if no_lock is None else no_lock:
            args.append('--no-lock')
        return args

    @property
    def version(self):
        if self._version is None:
            rc, out, err = self.runner.run([self.executable, 'version'], check_rc=False,
                                           env=self.env)
            if rc != 0:
                raise ResticError([self.executable, 'version'], rc, out, err,
                                  hint='install restic (apt install restic) or set executable')
            try:
                self._version = parse_version(out)
            except ValueError:
                raise ModuleFailure('%s version printed %r, which is no restic version'
                                    % (self.executable, (out or '').strip()[:200]),
                                    hint='point executable at a restic binary')
        return self._version

    @property
    def version_string(self):
        return '.'.join(str(x) for x in self.version)

    @property
    def features(self):
        return features_for(self.version)

    def argv(self, args, no_lock=None):
        return [self.executable] + self.global_args(no_lock) + list(args)

    def run(self, args, no_lock=None):
        """Run restic; retry transient backend failures with exponential backoff."""
        argv = self.argv(args, no_lock)
        attempt = 0
        while True:
            attempt += 1
            rc, out, err = self.runner.run(argv, check_rc=False, env=self.env)
            if rc == 0:
                return out, err
            kind = classify_error(rc, err, out)
            if kind == 'transient' and attempt <= self.retries:
                self.sleep(self.backoff * (2 ** (attempt - 1)))
                continue
            if kind == 'transient':
                hint = ('the backend failed %d time(s) with a network/backend error; check that '
                        'the repository server or rclone remote is up and reachable, then re-run '
                        '(raise retries to wait longer)' % attempt)
            else:
                hint = ERROR_KINDS.get(kind, {}).get('hint', 'read the restic message above')
            raise ResticError(argv, rc, out, err, hint=hint, kind=kind, attempts=attempt)

    def snapshots(self, host=None, tags=None, paths=None, no_lock=None):
        """``restic snapshots --json`` with host/tag/path filters -> the snapshot documents."""
        args = ['snapshots', '--json']
        for h in host or []:
            args += ['--host', h]
        for t in tags or []:
            args += ['--tag', t]
        for p in paths or []:
            args += ['--path', p]
        docs = parse_json_lines(self.run(args, no_lock=no_lock)[0])
        # restic prints a JSON list; parse_json_lines flattens it.
        return [d for d in docs if isinstance(d, dict) and 'time' in d]

    def ls(self, snapshot_id, path=None, no_lock=None, recursive=True):
        """``restic ls --json``; without ``recursive`` only ``path`` and its direct children."""
        args = ['ls', '--json'] + (['--recursive'] if recursive else []) + [snapshot_id]
        if path and path != '/':
            args.append(path)
        return self.run(args, no_lock=no_lock)[0]

    def stats(self, snapshot_id=None, mode='restore-size', no_lock=None):
        """``restic stats --json --mode <mode> [<snapshot>]`` -> :func:`parsers.parse_stats`."""
        args = ['stats', '--json', '--mode', mode] + ([snapshot_id] if snapshot_id else [])
        out = self.run(args, no_lock=no_lock)[0]
        stats = parse_stats(out)
        if stats is None:
            raise ModuleFailure('restic stats --mode %s printed no statistics: %r'
                                % (mode, (out or '').strip()[:200]))
        return stats

    def unlock(self):
        """Remove stale locks only (restic's default; never --remove-all)."""
        return self.run(['unlock'])

    def check(self, read_data_subset=None):
        """``restic check`` (with ``--read-data-subset``) -> :func:`parsers.parse_check`.

        It takes the repository lock (never ``--no-lock``) and is not retried; any exit code is
        an outcome to report, not a failure of the module.
        """
        args = ['check']
        if read_data_subset:
            args += ['--read-data-subset', str(read_data_subset)]
        rc, out, err = self.runner.run(self.argv(args, no_lock=False), check_rc=False,
                                       env=self.env)
        return parse_check(out, err, rc)
