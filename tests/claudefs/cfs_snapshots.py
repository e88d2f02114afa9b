"""Snapshots and the journal archive in the emulator's S3 bucket, for the restore tests.

The bucket is a directory served by ``rclone serve s3``; a test plants damaged snapshots there
as a bad upload or a bit rot would leave them, and waits until the journal archive holds what
the cluster acknowledged (a replay can only bring back what was archived).
"""

import glob
import gzip
import hashlib
import io
import json
import os
import tarfile
import time

from cfs_helpers import shard_table, wait_for


def bucket_dir(em, role='primary'):
    spec = em.doc['s3'][role]
    return os.path.join(spec['dir'], spec.get('bucket', 'claudefs'))


def key_path(em, location):
    """s3://claudefs/metadata/x.tar.gz -> the file rclone serves it from."""
    assert location.startswith('s3://'), location
    return os.path.join(bucket_dir(em), location[5:].split('/', 1)[1])


def s3_put(em, key, data):
    """Through the S3 API (rclone caches its listing: a file dropped in its directory is not
    listed for minutes)."""
    from cfsemu import s3
    s3.client(em.doc['s3']['primary'], timeout=10.0).put(key, data)


def plant_bad_snapshots(em, good_location):
    """Two snapshots newer than ``good_location`` that must not verify:

    - ``bitrot``: one byte of the archive flipped after upload (its ``.sha256`` is the good
      one's, so the archive fails its sidecar);
    - ``badmember``: a consistent archive and sidecar whose shard member no longer matches the
      sha256 the manifest gives it (a snapshot built from a damaged state).
    Returns {name: location}; badmember is the newest.
    """
    good = key_path(em, good_location)
    with open(good, 'rb') as f:
        data = f.read()
    with open(good + '.sha256') as f:
        sidecar = f.read()
    bucket = em.doc['s3']['primary'].get('bucket', 'claudefs')
    now = time.time()
    planted = {}
    key = 'metadata/metadata-%s.tar.gz' % time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(now + 3600))
    flipped = bytearray(data)
    flipped[len(flipped) // 2] ^= 0xFF
    s3_put(em, key, bytes(flipped))
    s3_put(em, key + '.sha256', sidecar.encode())
    planted['bitrot'] = 's3://%s/%s' % (bucket, key)

    with tarfile.open(fileobj=io.BytesIO(data), mode='r:gz') as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode='w') as tar:
        for info, body in members:
            if info.name == 'shards/0.json':
                # always a different member: emptying 'files' alone left it byte-identical
                # when shard 0 held no file (the snapshot then verified: a flaky test)
                state = json.loads(body)
                state['files'] = {}
                state['tampered'] = True
                body = json.dumps(state, sort_keys=True).encode()
                info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    archive = gzip.compress(raw.getvalue(), mtime=0)
    key = 'metadata/metadata-%s.tar.gz' % time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(now + 7200))
    s3_put(em, key, archive)
    s3_put(em, key + '.sha256', ('%s  %s\n' % (hashlib.sha256(archive).hexdigest(),
                                               os.path.basename(key))).encode())
    planted['badmember'] = 's3://%s/%s' % (bucket, key)
    return planted


def archived_last_seq(em, site, shard):
    last = 0
    for path in glob.glob(os.path.join(bucket_dir(em), 'journal', site, str(shard), '*.json')):
        try:
            last = max(last, int(os.path.basename(path).split('-')[1].split('.')[0]))
        except (IndexError, ValueError):
            continue
    return last


def wait_journal_archived(em, site='site-a', timeout=30):
    """Until every shard's archive reaches the shard's last sequence number."""
    def done():
        table = shard_table(em.client(em.nodes(site)[0]), site)
        return all(archived_last_seq(em, s_site, shard) >= (s.get('last_seq') or 0)
                   for (s_site, shard), s in table.items() if s_site == site)
    wait_for(done, timeout, 0.5, 'journal archive caught up')


def keys_under(em, prefix):
    return sorted(os.path.relpath(p, bucket_dir(em)) for p in glob.glob(
        os.path.join(bucket_dir(em), prefix, '*')) if not p.endswith('.sha256'))
