# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backup job's checksum manifest, and a restored tree verified against it.

The train server's backup job (``roles/train_backups/files/resilience-dr-backup``) hashes the
read-only btrfs snapshot it is about to back up and writes ``manifest.jsonl`` (a header line,
then one ``{"path", "size", "sha256"}`` line per regular file, paths relative to the snapshot
root) into a directory that the SAME ``restic backup`` stores.  A restore of one restic
snapshot therefore carries the checksums of exactly that snapshot's data;
:func:`check_header` refuses a manifest whose root is not a path of the restored snapshot.

:func:`parse_manifest` is pure.  :func:`verify_tree` reads the restored tree, which is backup
content and so attacker-controlled, only through directory descriptors (``safe_fs``): it never
follows a symlink, reads only regular files (a FIFO or a device is never opened for reading)
and writes nothing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import hashlib
import json
import os
import stat
import time

from ansible_collections.resilience.dr.plugins.module_utils import safe_fs
from ansible_collections.resilience.dr.plugins.module_utils.runner import ModuleFailure

MANIFEST_FORMAT = 'resilience.dr/backup-manifest/v1'
DEFAULT_MANIFEST = '/var/lib/resilience-dr/backup-manifest/manifest.jsonl'
READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | getattr(os, 'O_NONBLOCK', 0) | safe_fs.O_CLOEXEC
MANIFEST_LIMIT = 1 << 30
SHOWN = 20


class ManifestError(ModuleFailure):
    """The manifest is missing, unreadable or does not belong to the restored snapshot."""


def printable(name):
    """A path as text that JSON can carry (undecodable bytes shown as U+FFFD)."""
    return name.encode('utf-8', 'surrogateescape').decode('utf-8', 'replace')


def parse_manifest(text):
    """``manifest.jsonl`` text -> (header, {relpath: (size, sha256)}); ManifestError when it is
    not one."""
    lines = [line for line in (text or '').splitlines() if line.strip()]
    if not lines:
        raise ManifestError('the manifest is empty')
    try:
        header = json.loads(lines[0])
    except ValueError as exc:
        raise ManifestError('the manifest header is not JSON: %s' % exc)
    if not isinstance(header, dict) or header.get('format') != MANIFEST_FORMAT:
        raise ManifestError('not a %s manifest (header %r)' % (MANIFEST_FORMAT, lines[0][:200]))
    entries = {}
    for number, line in enumerate(lines[1:], 2):
        try:
            doc = json.loads(line)
            entries[doc['path']] = (int(doc['size']), str(doc['sha256']))
        except (ValueError, KeyError, TypeError) as exc:
            raise ManifestError('manifest line %d is not a file entry: %s' % (number, exc))
    if header.get('files') is not None and int(header['files']) != len(entries):
        raise ManifestError('the manifest header announces %s files but lists %d: it is truncated'
                            % (header['files'], len(entries)))
    return header, entries


def check_header(header, snapshot_paths):
    """Refuse a manifest that does not describe the restored snapshot: its root joined with each
    of its paths must be a path the snapshot backed up."""
    root = header.get('root') or ''
    if not root.startswith('/') or '..' in root.split('/'):
        raise ManifestError('the manifest root %r is not an absolute path' % root)
    wanted = [os.path.join(root, p) for p in header.get('paths') or []]
    missing = [p for p in wanted if p not in (snapshot_paths or [])]
    if not wanted or missing:
        raise ManifestError(
            'the manifest describes %s, which the restored snapshot did not back up (its paths: '
            '%s): it is not the manifest of this snapshot' % (wanted or root, snapshot_paths),
            hint='the manifest and its data must come from one restic snapshot; take a new '
                 'backup with the resilience.dr.train_backups job (manifest enabled)')
    return root


def read_manifest(target, path):
    """The manifest restored below ``target`` at its absolute backed-up ``path``, read without
    following symlinks."""
    rel = path.lstrip('/')
    root_fd = safe_fs.open_dir(target)
    try:
        try:
            dir_fd = safe_fs.open_beneath(root_fd, os.path.dirname(rel))
        except OSError:
            dir_fd = None
        if dir_fd is None:
            data = None
        else:
            try:
                data = safe_fs.read_at(dir_fd, os.path.basename(rel), limit=MANIFEST_LIMIT)
            finally:
                os.close(dir_fd)
    finally:
        os.close(root_fd)
    if data is None:
        raise ManifestError('no manifest at %s in the restored snapshot (%s)' % (path, target),
                            hint='the snapshot was taken without the checksum manifest: enable '
                                 'train_backups_manifest and take a backup')
    return data.decode('utf-8', 'surrogateescape')


def hash_fd(fd, chunk=1 << 20):
    digest, size = hashlib.sha256(), 0
    while True:
        block = os.read(fd, chunk)
        if not block:
            return size, digest.hexdigest()
        size += len(block)
        digest.update(block)


class TreeCheck:
    """One pass over the restored tree below ``<target>/<root>/<path>`` for each manifest path."""

    def __init__(self, entries):
        self.entries = entries
        self.seen = set()
        self.mismatched, self.extra, self.unsafe = [], [], []
        self.bytes = 0

    def walk(self, dir_fd, rel):
        for entry in sorted(os.scandir(dir_fd), key=lambda e: e.name):
            path = rel + '/' + entry.name if rel else entry.name
            st = os.stat(entry.name, dir_fd=dir_fd, follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                sub = safe_fs.open_subdir(dir_fd, entry.name)
                try:
                    self.walk(sub, path)
                finally:
                    os.close(sub)
            elif stat.S_ISREG(st.st_mode):
                self.file(dir_fd, entry.name, path)
            elif path in self.entries:
                self.unsafe.append(path)    # a symlink or special file where a file was

    def file(self, dir_fd, name, path):
        try:
            fd = os.open(name, READ_FLAGS, dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOENT):
                self.unsafe.append(path)
                return
            raise
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                self.unsafe.append(path)
                return
            size, digest = hash_fd(fd)
        finally:
            os.close(fd)
        self.bytes += size
        if path not in self.entries:
            self.extra.append(path)
            return
        self.seen.add(path)
        if self.entries[path] != (size, digest):
            self.mismatched.append(path)


def verify_tree(target, header, entries, clock=time.time):
    """Hash every regular file restored below ``target`` for the manifest's paths and compare.

    Returns ``ok`` (every manifest file present with its size and sha256, nothing unexpected),
    the counts, the first :data:`SHOWN` paths of each kind of difference, and the hashing rate.
    """
    started = clock()
    check = TreeCheck(entries)
    root = header['root'].strip('/')
    root_fd = safe_fs.open_dir(target)
    try:
        for top in header.get('paths') or []:
            rel = os.path.join(root, top)
            try:
                fd = safe_fs.open_beneath(root_fd, rel)
            except OSError as exc:
                if exc.errno not in (errno.ENOENT, errno.ELOOP, errno.ENOTDIR):
                    raise
                continue    # counted as missing below
            try:
                check.walk(fd, top)
            finally:
                os.close(fd)
    finally:
        os.close(root_fd)
    seconds = max(clock() - started, 1e-6)
    missing = sorted(p for p in entries if p not in check.seen and p not in check.unsafe)
    ok = not (missing or check.mismatched or check.extra or check.unsafe)
    return {
        'ok': ok,
        'root': header['root'],
        'manifest_files': len(entries),
        'manifest_bytes': sum(entry[0] for entry in entries.values()),
        'files_compared': len(check.seen),
        'bytes_hashed': check.bytes,
        'matched': len(check.seen) - len(check.mismatched),
        'mismatched': len(check.mismatched),
        'missing': len(missing),
        'extra': len(check.extra),
        'unsafe': len(check.unsafe),
        'examples': {
            'mismatched': [printable(p) for p in check.mismatched[:SHOWN]],
            'missing': [printable(p) for p in missing[:SHOWN]],
            'extra': [printable(p) for p in check.extra[:SHOWN]],
            'unsafe': [printable(p) for p in check.unsafe[:SHOWN]],
        },
        'seconds': round(seconds, 3),
        'hash_bytes_per_second': round(check.bytes / seconds, 1),
    }


def describe(result):
    """One line for a report: what matched and the first differences."""
    if result['ok']:
        return ('%(files_compared)d files, %(bytes_hashed)d bytes match the manifest (sha256)'
                % result)
    parts = []
    for kind in ('mismatched', 'missing', 'extra', 'unsafe'):
        if result[kind]:
            parts.append('%d %s (%s)' % (result[kind], kind,
                                         ', '.join(result['examples'][kind][:3])))
    return '%d of %d files match the manifest; %s' % (result['matched'], result['manifest_files'],
                                                      '; '.join(parts))
