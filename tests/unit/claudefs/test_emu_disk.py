"""The node's checksummed metadata journal and records, and the harness' disk faults."""

import os
import shutil

from cfsemu import disk


def record(inode, size=10):
    return {'inode': inode, 'path': 'f%d' % inode, 'size': size, 'sha256': 'ab' * 32,
            'seq': inode, 'site': 'site-a', 'timestamp': 1.5}


def test_journal_and_records_verify_and_are_idempotent_per_sequence(tmp_path):
    store = disk.MetaStore(str(tmp_path))
    assert store.append(0, 1, 'put', record(11))
    assert store.append(0, 2, 'put', record(12))
    assert not store.append(0, 2, 'put', record(12))      # a replayed entry is not re-journaled
    journal = store.read_journal(0)
    assert [e['seq'] for e in journal] == [1, 2] and all(e['ok'] for e in journal)
    records = store.read_records(0)
    assert records[11] == (record(11), True)
    # a fresh store (node restart) continues after the last journaled sequence
    assert disk.MetaStore(str(tmp_path)).journal_last_seq(0) == 2


def test_corrupt_metadata_is_deterministic_and_caught_by_the_checksums(tmp_path):
    store = disk.MetaStore(str(tmp_path))
    for seq in range(1, 9):
        store.append(seq % 2, seq, 'put', record(100 + seq))
    other = str(tmp_path) + '-copy'
    shutil.copytree(str(tmp_path), other)          # same content, same seed
    touched = disk.corrupt_metadata(str(tmp_path), 3, seed=42)
    assert touched == disk.corrupt_metadata(other, 3, seed=42)
    assert len(touched) == 3
    bad = [(shard, inode) for shard in (0, 1)
           for inode, (_rec, ok) in disk.MetaStore(str(tmp_path)).read_records(shard).items()
           if not ok]
    assert sorted('records/%d/%d' % b for b in bad) == sorted(touched)


def test_a_damaged_journal_line_is_reported_and_rewritten(tmp_path):
    store = disk.MetaStore(str(tmp_path))
    store.append(3, 1, 'put', record(1))
    store.append(3, 2, 'put', record(2))
    path = os.path.join(str(tmp_path), 'meta', 'journal-3.log')
    data = open(path, 'rb').read().replace(b'"size":10', b'"size":99', 1)
    open(path, 'wb').write(data)
    assert [e['ok'] for e in store.read_journal(3)] == [False, True]
    store.rewrite_journal(3, [{'seq': 1, 'op': 'put', 'record': record(1)},
                              {'seq': 2, 'op': 'put', 'record': record(2)}])
    assert [e['ok'] for e in store.read_journal(3)] == [True, True]


def test_wipe_removes_what_the_node_stored_and_nothing_else(tmp_path):
    node = tmp_path / 'a1'
    for sub in ('flash', 'meta', 'raft'):
        (node / sub).mkdir(parents=True)
        (node / sub / 'x').write_text('x')
    (node / 'control.json').write_text('{}')
    (node / 'node.log').write_text('log')
    disk.wipe(str(node))
    assert sorted(os.listdir(str(node))) == ['node.log']
