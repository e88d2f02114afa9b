# -*- coding: utf-8 -*-
"""btrfs_quarantine's inspection on a plain directory tree: a symlink on the way is never
followed (the file it points to is neither read nor moved), a readable file is left alone,
a missing one is to be restored, and nothing outside the root is touched.  (A file that fails
to read needs real damage: tests/integration/test_recover_btrfs_corruption.py.)"""

import os

import pytest

from ansible_collections.resilience.dr.plugins.module_utils.btrfs.quarantine import (
    Quarantine, quarantine_files)
from ansible_collections.resilience.dr.plugins.module_utils.runner import Refusal


def test_symlinks_are_not_followed_and_readable_files_stay(tmp_path):
    root = tmp_path / 'storage'
    outside = tmp_path / 'outside'
    (root / 'homes' / 'alice').mkdir(parents=True)
    outside.mkdir()
    (outside / 'secret').write_bytes(b'not yours')
    (root / 'homes' / 'alice' / 'ok.bin').write_bytes(b'x' * 5000)
    os.symlink(str(outside), str(root / 'homes' / 'mallory'))
    os.symlink(str(outside / 'secret'), str(root / 'homes' / 'alice' / 'link'))
    q = Quarantine(str(root), '.resilience-dr/damaged')
    try:
        entries = q.run(['homes/alice/ok.bin', 'homes/mallory/secret', 'homes/alice/link',
                         'homes/alice/gone.bin', '.resilience-dr/damaged/homes/x'])
    finally:
        q.close()
    states = dict((e['path'], e['state']) for e in entries)
    assert states == {'homes/alice/ok.bin': 'readable', 'homes/mallory/secret': 'unsafe',
                      'homes/alice/link': 'not-a-file', 'homes/alice/gone.bin': 'missing',
                      '.resilience-dr/damaged/homes/x': 'in-quarantine'}
    assert (outside / 'secret').read_bytes() == b'not yours'
    assert os.path.islink(str(root / 'homes' / 'alice' / 'link'))
    assert not (root / '.resilience-dr').exists()        # nothing moved, no manifest


@pytest.mark.parametrize('bad', ['../etc/passwd', '/etc/passwd', ''])
def test_paths_must_stay_below_the_root(tmp_path, bad):
    q = Quarantine(str(tmp_path), '.q')
    try:
        with pytest.raises(Refusal):
            q.run([bad])
    finally:
        q.close()


def test_an_unmounted_root_is_refused(tmp_path):
    with pytest.raises(Refusal) as info:
        quarantine_files(str(tmp_path), ['a'], '.q')
    assert 'not a mounted filesystem' in str(info.value)
