# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Snapshot archives seen from the admin host: verify one, read S3 times, local locations."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import hashlib
import json
import os
import tarfile
import time

from ansible_collections.resilience.dr.plugins.module_utils.cfs.raft import PlanningError


def verify_archive(path, expected_sha256):
    """Check a snapshot archive on this host: its SHA-256 and a readable manifest.json.

    Returns the manifest.  Members are only listed and the manifest read into memory;
    nothing is extracted, so hostile member names cannot write anywhere.
    """
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    if expected_sha256 and digest.hexdigest() != expected_sha256:
        raise PlanningError('snapshot %s has SHA-256 %s, the cluster reported %s: it does not '
                            'count as a backup' % (path, digest.hexdigest(), expected_sha256))
    with tarfile.open(path, 'r:gz') as tar:
        names = [m for m in tar.getmembers() if os.path.basename(m.name) == 'manifest.json'
                 and m.isfile()]
        if not names:
            raise PlanningError('snapshot %s has no manifest.json' % path)
        manifest = json.loads(tar.extractfile(names[0]).read().decode('utf-8'))
    for key in ('created', 'files', 'records'):
        if key not in manifest:
            raise PlanningError('the manifest of %s lacks %s' % (path, key))
    return manifest


def epoch_of(stamp):
    """Seconds since the epoch of an S3 LastModified (``2026-11-30T23:00:00.000Z``), or None."""
    if not stamp:
        return None
    if isinstance(stamp, (int, float)):
        return float(stamp)
    try:
        return calendar.timegm(time.strptime(stamp.split('.')[0].rstrip('Z'), '%Y-%m-%dT%H:%M:%S'))
    except ValueError:
        return None


def local_path(location):
    """The local path of a ``file://`` location (None for S3)."""
    if location and location.startswith('file://'):
        return location[len('file://'):]
    if location and location.startswith('/'):
        return location
    return None
