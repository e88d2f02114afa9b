# -*- coding: utf-8 -*-
"""module_utils/cfs/checksums.py: manifest formats, sampling, and the mount reader's confinement."""

import hashlib
import os

import pytest

from ansible_collections.resilience.dr.plugins.module_utils.cfs import checksums


def sha(data):
    return hashlib.sha256(data).hexdigest()


def test_manifest_formats():
    h = sha(b'a')
    assert checksums.parse_manifest('{"x/a": "%s"}' % h.upper()) == {'x/a': h}
    assert checksums.parse_manifest('[{"path": "x/a", "sha256": "%s"}]' % h) == {'x/a': h}
    assert checksums.parse_manifest('{"files": [{"path": "x/a", "sha256": "%s", "size": 1}]}'
                                    % h) == {'x/a': h}
    assert checksums.parse_manifest('%s  x/a b\n%s *y\n' % (h, h)) == {'x/a b': h, 'y': h}
    with pytest.raises(ValueError, match='line 1'):
        checksums.parse_manifest('not a manifest')


def test_sample_is_repeatable_and_all_by_default():
    manifest = dict(('f%03d' % i, '0' * 64) for i in range(100))
    assert len(checksums.sample(manifest)) == 100
    first = checksums.sample(manifest, 10, seed=7)
    assert first == checksums.sample(manifest, 10, seed=7) and len(first) == 10


def test_mount_reader_verifies_and_refuses_symlinks_and_escapes(tmp_path):
    root = tmp_path / 'mnt'
    (root / 'd').mkdir(parents=True)
    (root / 'd' / 'good').write_bytes(b'hello')
    (root / 'd' / 'bad').write_bytes(b'changed')
    outside = tmp_path / 'secret'
    outside.write_bytes(b'hello')
    os.symlink(str(outside), str(root / 'd' / 'link'))
    os.symlink(str(tmp_path), str(root / 'dirlink'))
    manifest = {'d/good': sha(b'hello'), 'd/bad': sha(b'original'), 'd/gone': sha(b''),
                'd/link': sha(b'hello'), 'dirlink/secret': sha(b'hello'),
                '../secret': sha(b'hello')}
    verdict = checksums.verify(manifest, checksums.sample(manifest),
                               checksums.mount_reader(str(root)))
    assert verdict['ok'] == 1 and verdict['checked'] == 6
    assert verdict['missing'] == ['d/gone']
    assert [m['path'] for m in verdict['mismatched']] == ['d/bad']
    assert sorted(e['path'] for e in verdict['errors']) == ['../secret', 'd/link', 'dirlink/secret']
    assert all('not followed' in e['error'] or 'leaves the mount' in e['error']
               for e in verdict['errors'])
    assert verdict['all_ok'] is False and verdict['bytes'] == len(b'hello') + len(b'changed')


def test_the_detail_names_the_files_that_failed_not_only_their_count():
    manifest = dict(('/d/f%d' % i, sha(b'x%d' % i)) for i in range(9))
    content = {'/d/f0': b'x0', '/d/f1': b'changed'}
    content.update(('/d/f%d' % i, b'bad') for i in range(3, 9))

    def read(path):
        if path == '/d/f2':
            raise checksums.Missing(path)
        return [content[path]]

    verdict = checksums.verify(manifest, sorted(manifest), read)
    detail = checksums.verdict_detail(verdict, len(manifest))
    assert detail == ('1 of 9 files match (9 in the manifest); missing 1 (/d/f2); '
                      'differ 7 (/d/f1, /d/f3, /d/f4, /d/f5, /d/f6 and 2 more)')
    clean = checksums.verify({'/d/f0': sha(b'x0')}, ['/d/f0'], read)
    assert checksums.verdict_detail(clean, 1) == '1 of 1 files match (1 in the manifest)'


def test_rotating_sample_covers_every_file_before_repeating():
    manifest = dict(('dir%d/f%03d' % (i % 3, i), '0' * 64) for i in range(23))
    seen = []
    for rotation in range(5):   # 23 files in slices of 5: 5 slices
        paths, (index, slices) = checksums.rotating_sample(manifest, 5, rotation)
        assert len(paths) == 5 and paths == sorted(paths)
        assert (index, slices) == (rotation + 1, 5)
        seen += paths
    assert set(seen) == set(manifest)          # a full round reads every file
    assert len(seen) - len(set(seen)) == 2     # the short last slice is topped up from the first
    again, where = checksums.rotating_sample(manifest, 5, 7)
    assert (again, where) == (checksums.rotating_sample(manifest, 5, 2)[0], (3, 5))
    # ordered by the hash of the name, not by the name: a slice spreads over directories
    first = checksums.rotating_sample(manifest, 5, 0)[0]
    assert first != sorted(manifest)[:5]
    assert checksums.rotating_sample(manifest, 0, 3) == (sorted(manifest), (1, 1))
    assert checksums.rotating_sample(manifest, 50, 3) == (sorted(manifest), (1, 1))
    assert checksums.rotating_sample({}, 5, 1) == ([], (1, 1))
