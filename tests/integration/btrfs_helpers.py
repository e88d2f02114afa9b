# -*- coding: utf-8 -*-
"""Loop-device and checksum helpers for host integration tests (reusable by any subsystem).

The host has only /dev/loop0..7 and shares them with other test suites, so:

* every loop is attached with ``losetup -f --show`` on a sparse file in a private tmpdir;
* :class:`LoopPool` remembers what it attached and, in ``close()``, unmounts anything mounted
  from its loops, makes the btrfs kernel module forget them and detaches them (only its own);
* :func:`loop_pool` is a context manager; use it from a pytest fixture with ``yield``.

Checksum helpers prove that a refused operation changed nothing (``sha256_file`` of a loop's
backing file, or ``sha256_regions`` over the start of a device and the btrfs superblock copies).
"""

import contextlib
import hashlib
import os
import shutil
import subprocess
import tempfile
import time

# Primary and mirror btrfs superblocks; the first MiB holds partition tables and most other
# signatures (ext4 at 0x438, bcache at 4 KiB).
SUPERBLOCKS = (64 * 1024, 64 * 1024 * 1024, 256 * 1024 * 1024 * 1024)


def sh(*argv, check=True, **kw):
    return subprocess.run([str(a) for a in argv], check=check, capture_output=True, text=True,
                          **kw)


def have_root_and_loops():
    return os.geteuid() == 0 and os.path.exists('/dev/loop-control')


def free_loops():
    used = sh('losetup', '-a').stdout.count('\n')
    total = len([n for n in os.listdir('/dev') if n.startswith('loop') and n[4:].isdigit()])
    return total - used


class Loop:
    def __init__(self, image, device):
        self.image = image
        self.device = device

    def __repr__(self):
        return 'Loop(%s on %s)' % (self.device, self.image)


class LoopPool:
    """Loop devices over sparse files in one tmpdir, always cleaned up by ``close()``."""

    def __init__(self, size_mb=320, tmpdir=None, prefix='loops-'):
        self.size_mb = size_mb
        self.dir = tmpdir or tempfile.mkdtemp(prefix=prefix)
        self.loops = []
        self.images = []
        self.mounts = []

    def image(self, name=None, size_mb=None):
        path = os.path.join(self.dir, name or 'disk%d.img' % len(self.images))
        with open(path, 'wb') as f:
            f.truncate((size_mb or self.size_mb) * 1024 * 1024)
        self.images.append(path)
        return path

    def attach(self, image=None, size_mb=None):
        image = image or self.image(size_mb=size_mb)
        last = None
        for dummy in range(10):     # another suite may grab the same free loop between -f and attach
            proc = sh('losetup', '-f', '--show', image, check=False)
            if proc.returncode == 0:
                loop = Loop(image, proc.stdout.strip())
                self.loops.append(loop)
                return loop
            last = proc.stderr
            time.sleep(0.5)
        raise RuntimeError('no free loop device: %s' % last)

    def add_partition(self, loop, number, start_sector, sectors):
        """A partition on ``loop`` through BLKPG (``addpart``), also on kernels that cannot read
        partition tables; :meth:`close` deletes it again (``losetup -d`` does not)."""
        sh('addpart', loop.device, number, start_sector, sectors)
        part = '%sp%d' % (loop.device, number)
        for dummy in range(50):
            if os.path.exists(part):
                break
            time.sleep(0.1)
        return part

    def _drop_partitions(self, loop):
        # A whole disk with a (stale) partition is skipped by libblkid's probe-all, so btrfs
        # would later see a member of someone else's filesystem on this loop as missing.
        name = os.path.basename(loop.device)
        for entry in sorted(os.listdir('/sys/block/%s' % name)) if os.path.isdir(
                '/sys/block/%s' % name) else []:
            if entry.startswith(name + 'p') and entry[len(name) + 1:].isdigit():
                sh('delpart', loop.device, entry[len(name) + 1:], check=False)

    def new(self, count, size_mb=None):
        return [self.attach(size_mb=size_mb) for dummy in range(count)]

    def detach(self, loop):
        """Detach one loop (simulates pulling the disk); its image stays for re-attaching."""
        self._unmount_users(loop.device)
        sh('btrfs', 'device', 'scan', '--forget', loop.device, check=False)
        self._drop_partitions(loop)
        sh('losetup', '-d', loop.device, check=False)
        if loop in self.loops:
            self.loops.remove(loop)
        # losetup -d is asynchronous with respect to the kernel's autoclear
        for dummy in range(50):
            if not sh('losetup', '-j', loop.image).stdout.strip():
                break
            time.sleep(0.1)

    def mount(self, device, options=None, target=None):
        target = target or tempfile.mkdtemp(prefix='mnt-', dir=self.dir)
        argv = ['mount', '-t', 'btrfs']
        if options:
            argv += ['-o', options]
        sh(*(argv + [device, target]))
        self.mounts.append(target)
        return target

    def umount(self, target):
        sh('umount', target, check=False)
        if target in self.mounts:
            self.mounts.remove(target)

    def _unmount_users(self, device):
        """Unmount every mount whose source is ``device`` (or that sits on our tmpdir)."""
        try:
            rdev = os.stat(device).st_rdev
        except OSError:
            return
        with open('/proc/self/mountinfo') as f:
            lines = f.readlines()
        for line in reversed(lines):
            fields = line.split()
            sep = fields.index('-')
            source = fields[sep + 2]
            target = fields[4].replace('\\040', ' ')
            try:
                if source.startswith('/dev/') and os.stat(source).st_rdev == rdev:
                    sh('umount', target, check=False)
            except OSError:
                continue

    def close(self):
        for target in list(reversed(self.mounts)):
            sh('umount', target, check=False)
        self.mounts = []
        # a module under test may have mounted one of our loops elsewhere
        for loop in list(self.loops):
            self._unmount_users(loop.device)
        for loop in list(self.loops):
            sh('btrfs', 'device', 'scan', '--forget', loop.device, check=False)
            self._drop_partitions(loop)
            sh('losetup', '-d', loop.device, check=False)
        self.loops = []
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def loop_pool(size_mb=320, prefix='loops-'):
    pool = LoopPool(size_mb=size_mb, prefix=prefix)
    try:
        yield pool
    finally:
        pool.close()


# --------------------------------------------------------------------------------------------
# checksums and signatures
# --------------------------------------------------------------------------------------------

def sha256_file(path, chunk=4 * 1024 * 1024):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        while True:
            block = f.read(chunk)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


def sha256_regions(device, first_mib=4, offsets=SUPERBLOCKS, length=4096):
    """Hash of the first MiBs and of the superblock copies that fit on ``device``."""
    h = hashlib.sha256()
    with open(device, 'rb') as f:
        h.update(f.read(first_mib * 1024 * 1024))
        size = f.seek(0, os.SEEK_END)
        for off in offsets:
            if off + length <= size:
                f.seek(off)
                h.update(f.read(length))
    return h.hexdigest()


def blkid(device):
    """``blkid -p -o export`` as a dict; empty when the device carries no signature."""
    proc = sh('blkid', '-p', '-o', 'export', device, check=False)
    out = {}
    for line in proc.stdout.splitlines():
        if '=' in line:
            k, dummy, v = line.partition('=')
            out[k] = v
    return out


def tree_checksums(root):
    """``{relative path: sha256}`` of every regular file under ``root``."""
    sums = {}
    for dirpath, dummy, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            if os.path.isfile(path) and not os.path.islink(path):
                sums[os.path.relpath(path, root)] = sha256_file(path)
    return sums


def write_random_files(root, count=3, size_mb=4, prefix='data'):
    for i in range(count):
        with open(os.path.join(root, '%s%d.bin' % (prefix, i)), 'wb') as f:
            f.write(os.urandom(size_mb * 1024 * 1024))
    sh('sync')
    return tree_checksums(root)


# tests/conftest.py sets ANSIBLE_CALLBACKS_ENABLED to '' which ansible-core 2.19 rejects
# ("A non-empty plugin name is required"); naming the stdout callback again is harmless.
# Drop this once conftest is fixed.
ANSIBLE_ENV_FIX = {'ANSIBLE_CALLBACKS_ENABLED': 'ansible.posix.json'}


def module_runner(run_module):
    """Wrap the conftest ``run_module`` so that it works with the callback fix above."""
    def run(name, args=None, **kw):
        env = dict(ANSIBLE_ENV_FIX)
        env.update(kw.pop('env', None) or {})
        return run_module(name, args, env=env, **kw)
    return run


def mutating_commands(result):
    """Commands in a module result that change something (see btrfs.discovery.MUTATING)."""
    from ansible_collections.resilience.dr.plugins.module_utils.btrfs.discovery import is_mutating
    return [c['cmd'] for c in result.get('commands', []) if is_mutating(c['cmd'])]
