# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prove that files are back: a manifest of SHA-256 checksums against what ClaudeFS serves.

Files are read either through the contract's data path (``GET /v1/files/{path}``) or from a
ClaudeFS mount.  A mount is user data: paths from the manifest are confined to the mount
point and opened without following symlinks.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import hashlib
import json
import os
import random

from ansible_collections.resilience.dr.plugins.module_utils.cfs.client import CfsApiError

CHUNK = 1 << 20


class Missing(Exception):
    """The file does not exist where the manifest says."""


def parse_manifest(text):
    """``{path: sha256}`` from JSON (a mapping, or a list of ``{path, sha256}``) or from
    ``sha256sum`` output (``<hex>  <path>``)."""
    text = text.strip()
    if not text:
        return {}
    if text[0] in '{[':
        data = json.loads(text)
        if isinstance(data, dict) and 'files' in data and isinstance(data['files'], list):
            data = data['files']
        if isinstance(data, list):
            return dict((e['path'], e['sha256'].lower()) for e in data)
        return dict((k, v.lower()) for k, v in data.items())
    out = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(None, 1)
        if len(parts) != 2 or len(parts[0]) != 64:
            raise ValueError('manifest line %d is neither JSON nor "<sha256>  <path>": %r'
                             % (number, line[:80]))
        out[parts[1].lstrip('*').strip()] = parts[0].lower()
    return out


def sample(manifest, size=0, seed=0):
    """The paths to check: all of them (``size`` 0) or a repeatable random sample."""
    paths = sorted(manifest)
    if not size or size >= len(paths):
        return paths
    return sorted(random.Random(seed).sample(paths, size))


def rotating_sample(manifest, size, rotation):
    """A deterministic sample that moves on with ``rotation`` (a drill's run number).

    The paths are ordered by the SHA-256 of their name (spread over directories, independent
    of the order they were written in) and cut into ``ceil(n / size)`` slices of ``size``;
    rotation ``r`` reads slice ``r mod slices`` (the last one topped up from the first), so
    successive rotations read every file once before any is read again, like restic's
    ``--read-data-subset n/t``.  Returns ``(sorted paths, (slice number from 1, slices))``.
    """
    ordered = sorted(manifest, key=lambda p: (hashlib.sha256(p.encode('utf-8')).hexdigest(), p))
    if not size or size >= len(ordered):
        return sorted(ordered), (1, 1)
    slices = -(-len(ordered) // size)
    index = int(rotation) % slices
    chosen = ordered[index * size:(index + 1) * size]
    chosen += ordered[:size - len(chosen)]
    return sorted(chosen), (index + 1, slices)


def api_reader(client):
    """Read a file through the data path; its content, never the header's claim, is hashed."""
    def read(path):
        try:
            body, _headers = client.call('fileRead', raw=True, path=path.lstrip('/'))
        except CfsApiError as exc:
            if exc.code == 'not_found':
                raise Missing(path)
            raise
        return [body]
    return read


def mount_reader(root):
    """Read a file under ``root`` without following symlinks or leaving ``root``."""
    root = os.path.realpath(root)

    def read(path):
        parts = [p for p in path.split('/') if p not in ('', '.')]
        if not parts or '..' in parts:
            raise ValueError('manifest path %r leaves the mount' % path)
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for part in parts[:-1]:
                nxt = _open_at(fd, part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, path)
                os.close(fd)
                fd = nxt
            leaf = _open_at(fd, parts[-1], os.O_RDONLY | os.O_NOFOLLOW, path)
        finally:
            os.close(fd)
        with os.fdopen(leaf, 'rb') as f:
            while True:
                block = f.read(CHUNK)
                if not block:
                    break
                yield block
    return read


def _open_at(dir_fd, name, flags, path):
    try:
        return os.open(name, flags, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise Missing(path)
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise ValueError('%s: a symlink or not a directory on the way; not followed' % path)
        raise


def verify(manifest, paths, read):
    """Hash each path with ``read(path) -> iterable of bytes``; the verdict per file."""
    ok, missing, mismatched, errors = [], [], [], []
    total = 0
    for path in paths:
        digest = hashlib.sha256()
        try:
            for block in read(path):
                digest.update(block)
                total += len(block)
        except Missing:
            missing.append(path)
            continue
        except (ValueError, OSError, CfsApiError) as exc:
            errors.append({'path': path, 'error': str(exc)})
            continue
        actual = digest.hexdigest()
        if actual == manifest[path]:
            ok.append(path)
        else:
            mismatched.append({'path': path, 'expected': manifest[path], 'actual': actual})
    return {'checked': len(paths), 'ok': len(ok), 'missing': missing,
            'mismatched': mismatched, 'errors': errors, 'bytes': total,
            'all_ok': not (missing or mismatched or errors)}


def _named(paths, limit=5):
    shown = ', '.join(paths[:limit])
    return shown + (' and %d more' % (len(paths) - limit) if len(paths) > limit else '')


def verdict_detail(verdict, manifest_size):
    """One line for the report and the failure message: the counts, and which files (the first
    few of each kind), so that an operator knows where to look without the full result."""
    detail = '%d of %d files match (%d in the manifest)' % (
        verdict['ok'], verdict['checked'], manifest_size)
    problems = []
    if verdict['missing']:
        problems.append('missing %d (%s)' % (len(verdict['missing']), _named(verdict['missing'])))
    if verdict['mismatched']:
        problems.append('differ %d (%s)' % (len(verdict['mismatched']),
                                            _named([m['path'] for m in verdict['mismatched']])))
    if verdict['errors']:
        problems.append('unreadable %d (%s)' % (len(verdict['errors']),
                                                _named([e['path'] for e in verdict['errors']])))
    return detail + ('; ' + '; '.join(problems) if problems else '')
