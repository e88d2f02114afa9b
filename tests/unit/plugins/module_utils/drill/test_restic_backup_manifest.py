# -*- coding: utf-8 -*-
"""The backup manifest (module_utils/restic/manifest.py): parsing, the same-snapshot check, and
a restored tree verified without following symlinks; restic stats parsing over captured output."""

import hashlib
import json
import os

import pytest

from ansible_collections.resilience.dr.plugins.module_utils.restic import manifest, parsers

FIX = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..',
                                    'fixtures', 'restic'))
ROOT = '/mnt/storage/snapshots/backup_20260101_020000'


def manifest_text(files, root=ROOT, paths=('homes',), count=None):
    header = {'format': manifest.MANIFEST_FORMAT, 'root': root, 'paths': list(paths),
              'files': len(files) if count is None else count, 'algorithm': 'sha256'}
    lines = [json.dumps(header)]
    for path, data in sorted(files.items()):
        lines.append(json.dumps({'path': path, 'size': len(data),
                                 'sha256': hashlib.sha256(data).hexdigest()}))
    return '\n'.join(lines) + '\n'


def restored(tmp_path, files, root=ROOT):
    target = tmp_path / 'restore'
    for path, data in files.items():
        full = target / root.lstrip('/') / path
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_bytes(data)
    return str(target)


FILES = {'homes/alice/a.txt': b'alpha\n', 'homes/bob/b.bin': b'\x00' * 1000,
         'homes/bob/deep/c': b'c'}


def test_parse_and_check_header():
    header, entries = manifest.parse_manifest(manifest_text(FILES))
    assert entries['homes/alice/a.txt'] == (6, hashlib.sha256(b'alpha\n').hexdigest())
    assert manifest.check_header(header, [ROOT + '/homes', '/etc/x']) == ROOT
    with pytest.raises(manifest.ManifestError) as err:
        manifest.check_header(header, ['/mnt/storage/snapshots/backup_20251231_020000/homes'])
    assert 'not the manifest of this snapshot' in str(err.value)


@pytest.mark.parametrize('text,message', [
    ('', 'empty'), ('nope', 'not JSON'), ('{"format": "other"}', 'not a'),
    (manifest_text(FILES, count=5), 'truncated'),
    (manifest_text(FILES) + '{"path": "x"}\n', 'not a file entry'),
])
def test_bad_manifests(text, message):
    with pytest.raises(manifest.ManifestError) as err:
        manifest.parse_manifest(text)
    assert message in str(err.value)


def test_everything_matches(tmp_path):
    target = restored(tmp_path, FILES)
    header, entries = manifest.parse_manifest(manifest_text(FILES))
    out = manifest.verify_tree(target, header, entries)
    assert out['ok'] is True and out['files_compared'] == 3 and out['bytes_hashed'] == 1007
    assert 'match the manifest' in manifest.describe(out)


def test_differences_and_symlinks_are_found_never_followed(tmp_path):
    target = restored(tmp_path, dict(FILES, **{'homes/new': b'n'}))
    base = os.path.join(target, ROOT.lstrip('/'), 'homes')
    with open(os.path.join(base, 'alice', 'a.txt'), 'ab') as handle:
        handle.write(b'x')
    os.unlink(os.path.join(base, 'bob', 'b.bin'))
    os.symlink('/etc/passwd', os.path.join(base, 'bob', 'b.bin'))      # planted
    os.unlink(os.path.join(base, 'bob', 'deep', 'c'))
    os.rmdir(os.path.join(base, 'bob', 'deep'))
    os.symlink('/etc', os.path.join(base, 'bob', 'deep'))              # a directory symlink
    header, entries = manifest.parse_manifest(manifest_text(FILES))
    out = manifest.verify_tree(target, header, entries)
    assert out['ok'] is False
    assert (out['mismatched'], out['missing'], out['extra'], out['unsafe']) == (1, 1, 1, 1)
    assert out['examples']['mismatched'] == ['homes/alice/a.txt']
    assert out['examples']['unsafe'] == ['homes/bob/b.bin']
    assert out['examples']['missing'] == ['homes/bob/deep/c']
    assert out['examples']['extra'] == ['homes/new']
    assert '1 mismatched (homes/alice/a.txt)' in manifest.describe(out)


def test_read_manifest_never_through_a_symlink(tmp_path):
    target = tmp_path / 'restore'
    (target / 'var' / 'lib').mkdir(parents=True)
    (tmp_path / 'real').mkdir()
    (tmp_path / 'real' / 'manifest.jsonl').write_text(manifest_text(FILES))
    os.symlink(str(tmp_path / 'real'), str(target / 'var' / 'lib' / 'resilience-dr'))
    with pytest.raises(manifest.ManifestError) as err:
        manifest.read_manifest(str(target), '/var/lib/resilience-dr/manifest.jsonl')
    assert 'no manifest' in str(err.value)


@pytest.mark.parametrize('version', ['0.14', '0.18'])
def test_parse_stats(version):
    with open(os.path.join(FIX, 'stats_raw_data_%s.json' % version)) as handle:
        raw = parsers.parse_stats(handle.read())
    with open(os.path.join(FIX, 'stats_restore_size_%s.json' % version)) as handle:
        size = parsers.parse_stats(handle.read())
    assert raw['total_size'] > 0 and raw['total_blob_count'] > 0
    assert size['total_size'] > 0 and size['total_file_count'] > 0
    assert parsers.parse_stats('nothing') is None
