"""A provisioned lab train server, cached by a hash of what built it (the demo's warm start).

Provisioning the lab train server (``setup-train-server.yml`` in create mode, sample data, a
backup, a cache flush) takes most of ``make demo`` under TCG.  Its result is a set of disks
and an off-host restic repository.  This module keeps that result after the demo's power cut
- the four HDDs, the NVMe and the repository, the exact state the OS-disk failure leaves - in
``<cache_root>/provisioned/<layout>-<key>/``, and a later demo boots a fresh OS on copies of
them instead of provisioning again.  The OS disk is not kept: the failure replaces it.

The key is a hash of everything that decides what those disks hold: the base image (its recipe
hash), the roles, playbooks and plugins that provisioned it, ansible.cfg, the pinned
requirements, the lab code that wrote the data and broke the server (labvm/*.py), the layout
and this file's version.  Any change to them is another key, so a stale entry is never used:
the demo provisions for real and stores a new one.  Entries are written to a temporary
directory and renamed into place complete; the newest ``KEEP`` per layout are kept.
"""

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time

from . import image, paths

CACHE_VERSION = '1'
KEEP = 3
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
# What provisioned the server, relative to the checkout (directories are walked).
KEY_INPUTS = ['roles', 'plugins', 'playbooks/setup-train-server.yml', 'ansible.cfg',
              'requirements.txt', 'meta/runtime.yml', 'tests/lab/labvm']
# Inside those, what cannot change the provisioned disks.
SKIP_DIRS = {'molecule', '__pycache__'}
SKIP_SUFFIXES = ('.md', '.pyc')


def _input_files(repo=REPO):
    for rel in KEY_INPUTS:
        top = os.path.join(repo, rel)
        if os.path.isfile(top):
            yield rel
            continue
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
            for name in sorted(filenames):
                if not name.endswith(SKIP_SUFFIXES):
                    yield os.path.relpath(os.path.join(dirpath, name), repo)


def cache_key(layout, release=image.DEFAULT_RELEASE, repo=REPO, extra=None):
    """The hash of what built a provisioned server of ``layout`` (16 hex digits)."""
    digest = hashlib.sha256()
    head = {'version': CACHE_VERSION, 'layout': layout, 'release': release,
            'image': image.recipe_hash(release), 'extra': extra or {}}
    digest.update(json.dumps(head, sort_keys=True).encode())
    for rel in _input_files(repo):
        digest.update(b'\0' + rel.encode() + b'\0')
        with open(os.path.join(repo, rel), 'rb') as handle:
            digest.update(hashlib.sha256(handle.read()).digest())
    return digest.hexdigest()[:16]


def root():
    return os.path.join(paths.cache_root(), 'provisioned')


def _copy_file(src, dst):
    # Sparse copies: the images are mostly holes (1-2 GiB each, some MiB of data).
    subprocess.run(['cp', '--sparse=always', '--reflink=auto', src, dst], check=True)


class ProvisionedCache:
    """The cache entry of one layout and key: ``hit()``, ``seed(vm)`` and ``store(train)``."""

    def __init__(self, layout, release=image.DEFAULT_RELEASE, key=None):
        self.layout = layout
        self.release = release
        self.key = key or cache_key(layout, release)
        self.directory = os.path.join(root(), '%s-%s' % (layout, self.key))

    @property
    def meta_path(self):
        return os.path.join(self.directory, 'meta.json')

    def hit(self):
        return os.path.exists(self.meta_path)

    def meta(self):
        with open(self.meta_path) as handle:
            return json.load(handle)

    # -- using an entry ----------------------------------------------------------------------
    def seed(self, vm):
        """Copy the cached disks into ``vm`` (defined, not started) and the repository into
        its lab.  In the shared layout the NVMe died with the OS disk: the VM keeps the new
        blank one that Lab.boot made; with a separate cache NVMe the cached one survives."""
        meta = self.meta()
        for index in range(meta['data_disks']):
            _copy_file(os.path.join(self.directory, 'data%d.raw' % index), vm.disk_path(index))
        if self.layout != 'shared':
            _copy_file(os.path.join(self.directory, 'nvme.raw'), vm.nvme_path)
        target = os.path.join(vm.lab.directory, 'restic-remote')
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(os.path.join(self.directory, 'restic-remote'), target, symlinks=True)
        os.utime(self.meta_path)  # recently used: kept by the pruning
        return meta

    def discard(self):
        """Remove this entry (a forced re-provisioning replaces it)."""
        if os.path.isdir(self.directory):
            doomed = tempfile.mkdtemp(prefix='.store-discard-', dir=root())
            os.rename(self.directory, os.path.join(doomed, 'entry'))
            shutil.rmtree(doomed, ignore_errors=True)

    # -- filling an entry --------------------------------------------------------------------
    def store(self, vm, extra_meta):
        """Keep ``vm``'s disks (qemu must be stopped: the power cut) and its lab's repository.

        Returns the entry's directory, or None when another run stored the same key first.
        """
        if vm.running():
            raise RuntimeError('store() needs the VM stopped (after the power cut)')
        if self.hit():
            return None
        os.makedirs(root(), exist_ok=True)
        work = tempfile.mkdtemp(prefix='.store-%s-' % self.layout, dir=root())
        try:
            count = len(vm.spec['data_disks_mb'])
            for index in range(count):
                _copy_file(vm.disk_path(index), os.path.join(work, 'data%d.raw' % index))
            _copy_file(vm.nvme_path, os.path.join(work, 'nvme.raw'))
            shutil.copytree(os.path.join(vm.lab.directory, 'restic-remote'),
                            os.path.join(work, 'restic-remote'), symlinks=True)
            meta = dict(extra_meta, key=self.key, layout=self.layout, release=self.release,
                        data_disks=count, created=time.time(),
                        inputs=sorted(KEY_INPUTS), cache_version=CACHE_VERSION)
            with open(os.path.join(work, 'meta.json'), 'w') as handle:
                json.dump(meta, handle, indent=2)
            try:
                os.rename(work, self.directory)
            except OSError:
                return None  # stored by a concurrent run in the meantime: theirs is as good
            work = None
        finally:
            if work:
                shutil.rmtree(work, ignore_errors=True)
        prune(self.layout, keep=KEEP)
        return self.directory


def prune(layout, keep=KEEP):
    """Remove all but the ``keep`` most recently used entries of ``layout`` (and leftovers of
    interrupted stores older than a day)."""
    top = root()
    if not os.path.isdir(top):
        return []
    entries, removed = [], []
    for name in os.listdir(top):
        path = os.path.join(top, name)
        if name.startswith('.store-'):
            if time.time() - os.path.getmtime(path) > 86400:
                shutil.rmtree(path, ignore_errors=True)
                removed.append(name)
        elif name.startswith(layout + '-') and os.path.exists(os.path.join(path, 'meta.json')):
            entries.append((os.path.getmtime(os.path.join(path, 'meta.json')), path))
    for _mtime, path in sorted(entries, reverse=True)[keep:]:
        shutil.rmtree(path, ignore_errors=True)
        removed.append(os.path.basename(path))
    return removed
