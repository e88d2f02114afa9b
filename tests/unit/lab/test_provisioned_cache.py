# -*- coding: utf-8 -*-
"""labvm.provisioned: the key of a cached provisioned train server, and store/seed on real
(sparse) files.  No VM: the VM and lab are the few attributes the cache reads."""

import json
import os
import shutil

import pytest

from testlib import REPO  # noqa: F401  (puts tests/lab on sys.path)
from labvm import provisioned


@pytest.fixture
def checkout(tmp_path):
    """A small stand-in for the checkout: every KEY_INPUTS entry, one file each."""
    repo = tmp_path / 'repo'
    for rel in provisioned.KEY_INPUTS:
        path = repo / rel
        if '.' in os.path.basename(rel):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text('x\n')
        else:
            (path / 'sub').mkdir(parents=True)
            (path / 'sub' / 'tasks.yml').write_text('- a\n')
            (path / 'molecule').mkdir()
            (path / 'molecule' / 'converge.yml').write_text('- b\n')
            (path / 'README.md').write_text('docs\n')
    return repo


def test_key_changes_with_what_provisions_and_not_with_docs_or_molecule(checkout):
    key = provisioned.cache_key('shared', repo=str(checkout))
    assert key == provisioned.cache_key('shared', repo=str(checkout))
    assert key != provisioned.cache_key('separate', repo=str(checkout))
    (checkout / 'roles' / 'molecule' / 'converge.yml').write_text('- changed\n')
    (checkout / 'roles' / 'README.md').write_text('more docs\n')
    assert provisioned.cache_key('shared', repo=str(checkout)) == key
    for rel in ('roles/sub/tasks.yml', 'plugins/sub/tasks.yml',
                'playbooks/setup-train-server.yml', 'tests/lab/labvm/sub/tasks.yml'):
        path = checkout / rel
        old = path.read_text()
        path.write_text(old + '# changed\n')
        assert provisioned.cache_key('shared', repo=str(checkout)) != key, rel
        path.write_text(old)
    (checkout / 'roles' / 'sub' / 'new.yml').write_text('- new\n')
    assert provisioned.cache_key('shared', repo=str(checkout)) != key


def test_the_real_checkout_has_every_input():
    for rel in provisioned.KEY_INPUTS:
        assert os.path.exists(os.path.join(REPO, rel)), rel
    assert len(provisioned.cache_key('shared')) == 16


class FakeLab:
    def __init__(self, directory):
        self.directory = str(directory)


class FakeVM:
    """The attributes ProvisionedCache reads of labvm.lab.VM."""

    def __init__(self, directory, disks=4):
        self.lab = FakeLab(directory)
        self.dir = os.path.join(self.lab.directory, 'train')
        os.makedirs(self.dir, exist_ok=True)
        self.spec = {'data_disks_mb': [1] * disks}

    def running(self):
        return False

    def disk_path(self, index):
        return os.path.join(self.dir, 'data%d.raw' % index)

    @property
    def nvme_path(self):
        return os.path.join(self.dir, 'nvme.raw')


def _sparse(path, marker):
    with open(path, 'wb') as handle:
        handle.truncate(64 * 1024 * 1024)
        handle.seek(1024 * 1024)
        handle.write(marker)


@pytest.mark.parametrize('layout', ['shared', 'separate'])
def test_store_then_seed_copies_disks_and_repository(tmp_path, monkeypatch, layout):
    monkeypatch.setenv('RESILIENCE_LAB_CACHE', str(tmp_path / 'cache'))
    source = FakeVM(tmp_path / 'lab1')
    for index in range(4):
        _sparse(source.disk_path(index), b'hdd%d' % index)
    _sparse(source.nvme_path, b'old-nvme')
    repo = os.path.join(source.lab.directory, 'restic-remote', 'ml-train-server', 'data')
    os.makedirs(repo)
    with open(os.path.join(repo, 'pack'), 'w') as handle:
        handle.write('pack')
    cache = provisioned.ProvisionedCache(layout, key='k' * 16)
    assert not cache.hit()
    stored = cache.store(source, {'manifest': 'abc  homes/alice/x\n'})
    assert stored == cache.directory and cache.hit()
    assert cache.store(source, {}) is None  # already there: kept as it is
    stat = os.stat(os.path.join(stored, 'data0.raw'))
    assert stat.st_size == 64 * 1024 * 1024 and stat.st_blocks * 512 < 8 * 1024 * 1024  # sparse

    target = FakeVM(tmp_path / 'lab2')
    _sparse(target.nvme_path, b'new-blank-nvme')
    meta = cache.seed(target)
    assert meta['manifest'] == 'abc  homes/alice/x\n' and meta['data_disks'] == 4
    for index in range(4):
        with open(target.disk_path(index), 'rb') as handle:
            handle.seek(1024 * 1024)
            assert handle.read(4) == b'hdd%d' % index
    with open(target.nvme_path, 'rb') as handle:
        handle.seek(1024 * 1024)
        # shared layout: the NVMe died with the OS disk, the VM keeps its new blank one
        assert handle.read(14) == (b'new-blank-nvme' if layout == 'shared' else b'old-nvme\0\0\0\0\0\0')
    with open(os.path.join(target.lab.directory, 'restic-remote', 'ml-train-server', 'data',
                           'pack')) as handle:
        assert handle.read() == 'pack'

    cache.discard()
    assert not cache.hit() and not os.path.exists(cache.directory)


def test_store_refuses_a_running_vm(tmp_path, monkeypatch):
    monkeypatch.setenv('RESILIENCE_LAB_CACHE', str(tmp_path / 'cache'))
    vm = FakeVM(tmp_path / 'lab')
    vm.running = lambda: True
    with pytest.raises(RuntimeError):
        provisioned.ProvisionedCache('shared', key='k' * 16).store(vm, {})


def test_prune_keeps_the_newest_entries_of_a_layout(tmp_path, monkeypatch):
    monkeypatch.setenv('RESILIENCE_LAB_CACHE', str(tmp_path / 'cache'))
    top = provisioned.root()
    for number in range(5):
        entry = os.path.join(top, 'shared-%016d' % number)
        os.makedirs(entry)
        with open(os.path.join(entry, 'meta.json'), 'w') as handle:
            json.dump({}, handle)
        os.utime(os.path.join(entry, 'meta.json'), (1000 + number, 1000 + number))
    os.makedirs(os.path.join(top, 'separate-%016d' % 0))
    shutil.copy(os.path.join(top, 'shared-%016d' % 0, 'meta.json'),
                os.path.join(top, 'separate-%016d' % 0))
    removed = provisioned.prune('shared', keep=3)
    assert sorted(removed) == ['shared-%016d' % 0, 'shared-%016d' % 1]
    assert sorted(os.listdir(top)) == ['separate-%016d' % 0] + ['shared-%016d' % n for n in (2, 3, 4)]
