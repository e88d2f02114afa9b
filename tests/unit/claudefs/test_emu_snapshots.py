"""Metadata snapshot archives: manifest, checksums, refusal of damaged or hostile archives."""

import gzip
import io
import tarfile

import pytest

from cfsemu import snapshots
from cfsemu.errors import ApiError
from cfsemu.statemachine import empty_state


def states():
    out = {}
    for shard in range(2):
        state = empty_state()
        state['files'] = {'f%d' % shard: {'path': 'f%d' % shard, 'inode': shard, 'seq': 1}}
        state['seq'] = 1
        state['ops'] = [{'seq': 1, 'op': 'put', 'record': state['files']['f%d' % shard]}]
        out[shard] = state
    return out


def test_a_snapshot_round_trips_with_its_manifest():
    data, manifest = snapshots.build('c1', 'site-a', states())
    assert manifest['files'] == 2 and manifest['last_seq'] == {'0': 1, '1': 1}
    read_manifest, read_states = snapshots.read(data)
    assert read_manifest == manifest
    assert read_states[1]['files']['f1']['inode'] == 1


def test_a_member_that_does_not_match_the_manifest_is_refused():
    data, _manifest = snapshots.build('c1', 'site-a', states())
    raw = io.BytesIO(gzip.decompress(data))
    out = io.BytesIO()
    with tarfile.open(fileobj=raw) as src, tarfile.open(fileobj=out, mode='w') as dst:
        for info in src.getmembers():
            body = src.extractfile(info).read()
            if info.name == 'shards/1.json':
                body = body.replace(b'"f1"', b'"f9"')
                info.size = len(body)
            dst.addfile(info, io.BytesIO(body))
    with pytest.raises(ApiError, match='does not match its sha256'):
        snapshots.read(gzip.compress(out.getvalue()))


def test_path_traversal_members_are_refused():
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode='w') as tar:
        info = tarfile.TarInfo('../evil')
        info.size = 1
        tar.addfile(info, io.BytesIO(b'x'))
    with pytest.raises(ApiError, match='unexpected member'):
        snapshots.read(gzip.compress(out.getvalue()))


def test_garbage_is_a_bad_request():
    with pytest.raises(ApiError) as err:
        snapshots.read(b'not a tarball')
    assert err.value.code == 'bad_request'
