# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which snapshot a restore uses when asked for "the newest that verifies".

The runbook's scenario 5: the newest snapshot may itself be damaged ("corrupt snapshot! use
the one a day older").  The candidates are the cluster's listed snapshots, newest first.  Each
is verified before anything is replaced: a local archive here (its ``.sha256`` sidecar, then
``manifest.json``), an S3 one by the cluster, whose restore checks the archive against its
sidecar and every member against the manifest before it installs anything (contract:
metadataRestore answers ``bad_request`` for a damaged archive and changes nothing).  A
candidate that fails is skipped, with the reason, and the next older one is tried.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tarfile
import time

from ansible_collections.resilience.dr.plugins.module_utils.cfs.archive import (
    epoch_of, local_path, verify_archive)
from ansible_collections.resilience.dr.plugins.module_utils.cfs.raft import PlanningError

NEWEST_VERIFIED = 'newest-verified'
# the error codes of a restore that mean "this archive did not verify" (nothing was changed)
NOT_VERIFIED = ('bad_request', 'not_found')


def candidates(listing):
    """Listed snapshots, newest first (modified time, then name: names carry a UTC stamp)."""
    snaps = [s for s in (listing or {}).get('snapshots', []) if s.get('location')]
    return sorted(snaps, key=lambda s: (epoch_of(s.get('modified')) or 0.0, s['location']),
                  reverse=True)


def pre_restore_location(newest, clock=time.time):
    """Where the pre-restore snapshot goes when nobody said: beside the candidates but outside
    ``metadata/``, so that it never becomes "the newest snapshot" of a later restore."""
    location = (newest or {}).get('location') or ''
    stamp = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(clock()))
    if location.startswith('s3://'):
        bucket = location[5:].split('/', 1)[0]
        return 's3://%s/pre-restore/metadata-pre-restore-%s.tar.gz' % (bucket, stamp)
    path = local_path(location)
    if path:
        return 'file://%s' % os.path.join(os.path.dirname(os.path.dirname(path)) or '/',
                                          'pre-restore', 'metadata-pre-restore-%s.tar.gz' % stamp)
    return None


def verify_local(location):
    """A local candidate verified here: (manifest, None) or (None, why it does not count)."""
    path = local_path(location)
    sidecar = path + '.sha256'
    expected = None
    try:
        if os.path.exists(sidecar):
            with open(sidecar) as f:
                expected = (f.read().split() or [None])[0]
        if not expected:
            return None, 'no .sha256 beside it: its integrity cannot be proven'
        return verify_archive(path, expected), None
    except PlanningError as exc:
        return None, str(exc)
    except (OSError, ValueError, EOFError, tarfile.TarError) as exc:
        return None, 'not a readable snapshot archive: %s' % exc
