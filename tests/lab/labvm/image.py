"""Build (once) and cache the Debian base image the lab VMs boot from.

The cache key is a hash of the recipe: the release, the package list, the first-boot files
and this file's version string.  A build happens in a temporary directory beside the final
one and is renamed into place only when complete, so an interrupted build never leaves an
image that a later run would pick up.
"""

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time

from . import paths

# Bump when the build procedure changes in a way the recipe below does not show.
RECIPE_VERSION = '3'

RELEASES = {
    'trixie': {'version': '13'},
    'bookworm': {'version': '12'},
}
DEFAULT_RELEASE = 'trixie'
MIRROR = os.environ.get('RESILIENCE_LAB_MIRROR', 'http://deb.debian.org/debian')

PACKAGES = [
    'systemd-sysv', 'udev', 'dbus', 'kmod', 'openssh-server', 'python3', 'python3-apt',
    'linux-image-amd64', 'initramfs-tools', 'btrfs-progs', 'bcache-tools', 'restic', 'rclone',
    'rsync', 'parted', 'gdisk', 'e2fsprogs', 'util-linux', 'procps', 'iproute2', 'sudo',
    'ca-certificates', 'less', 'kbd',
    # Pre-seeded so the workloads role's "apt: docker.io present" is a no-op under TCG,
    # where installing Docker would cost minutes; a real server installs it on first run.
    'docker.io', 'busybox-static', 'python3-requests',  # community.docker needs requests
]

# Files laid into the image.  The SSH key is not baked in: each lab passes its own public
# key through qemu's fw_cfg, and lab-authorized-key.service installs it at boot.  A fresh
# "reinstalled" OS disk therefore still accepts the lab key, as an installer would.
FILES = {
    'etc/fstab': '/dev/vda / ext4 rw,errors=remount-ro 0 1\n',
    'etc/hostname': 'lab\n',
    'etc/resolv.conf': 'nameserver 10.0.2.3\n',
    'etc/systemd/network/20-eth0.network': '[Match]\nName=eth0\n\n[Network]\nDHCP=ipv4\n',
    'etc/modules-load.d/lab.conf': 'qemu_fw_cfg\nbcache\n',
    # Debian's initramfs does not pull in the virtio PCI transport by itself.
    'etc/initramfs-tools/modules': 'virtio_pci\nvirtio_blk\nvirtio_net\nnvme\next4\n',
    'etc/ssh/sshd_config.d/lab.conf': 'PermitRootLogin prohibit-password\nUseDNS no\n',
    'usr/local/sbin/lab-authorized-key': (
        '#!/bin/sh\n'
        'src=/sys/firmware/qemu_fw_cfg/by_name/opt/lab/authorized_key/raw\n'
        'modprobe qemu_fw_cfg 2>/dev/null\n'
        '[ -r "$src" ] || exit 0\n'
        'install -d -m 700 /root/.ssh\n'
        'cat "$src" > /root/.ssh/authorized_keys\n'
        'chmod 600 /root/.ssh/authorized_keys\n'),
    'etc/systemd/system/lab-authorized-key.service': (
        '[Unit]\nDescription=Install the lab SSH key from fw_cfg\nBefore=ssh.service\n\n'
        '[Service]\nType=oneshot\nExecStart=/usr/local/sbin/lab-authorized-key\n\n'
        '[Install]\nWantedBy=multi-user.target\n'),
}

ENABLE_UNITS = ['systemd-networkd.service', 'lab-authorized-key.service', 'ssh.service']
# Docker starts on demand (socket), keeping boot-to-SSH short under TCG.
DISABLE_UNITS = ['docker.service', 'containerd.service', 'apt-daily.timer',
                 'apt-daily-upgrade.timer', 'e2scrub_all.timer', 'fstrim.timer']

IMAGE_SIZE = '4G'


def recipe(release):
    if release not in RELEASES:
        raise ValueError('unknown release %r; choose one of %s' % (release, ', '.join(RELEASES)))
    return {
        'version': RECIPE_VERSION, 'release': release, 'mirror': MIRROR,
        'packages': PACKAGES, 'files': FILES, 'enable': ENABLE_UNITS,
        'disable': DISABLE_UNITS, 'size': IMAGE_SIZE,
    }


def recipe_hash(release):
    blob = json.dumps(recipe(release), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def image_dir(release):
    return os.path.join(paths.cache_root(), 'images', '%s-%s' % (release, recipe_hash(release)))


class BaseImage:
    """A built base image: root filesystem, kernel and initrd."""

    def __init__(self, directory):
        self.directory = directory
        self.rootfs = os.path.join(directory, 'rootfs.img')
        self.kernel = os.path.join(directory, 'vmlinuz')
        self.initrd = os.path.join(directory, 'initrd.img')
        with open(os.path.join(directory, 'recipe.json')) as handle:
            self.recipe = json.load(handle)


def _run(argv, log, **kwargs):
    log.write('$ %s\n' % ' '.join(argv))
    log.flush()
    subprocess.run(argv, check=True, stdout=log, stderr=subprocess.STDOUT, **kwargs)


def _write_files(root):
    for rel, content in FILES.items():
        target = os.path.join(root, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if os.path.islink(target) or os.path.exists(target):
            os.unlink(target)
        with open(target, 'w') as handle:
            handle.write(content)
        if '/sbin/' in rel:
            os.chmod(target, 0o755)


def ensure_image(release=DEFAULT_RELEASE, log_path=None):
    """Return the cached BaseImage for ``release``, building it first when absent.

    Concurrent callers (parallel tests, a demo beside a test run) serialise on a lock file,
    so the image is built once and nobody boots a half-built one.
    """
    final = image_dir(release)
    if os.path.exists(os.path.join(final, 'recipe.json')):
        return BaseImage(final)
    os.makedirs(os.path.dirname(final), exist_ok=True)
    with open(final + '.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(os.path.join(final, 'recipe.json')):
            return BaseImage(final)
        return _build(release, final, log_path)


def _build(release, final, log_path):
    work = tempfile.mkdtemp(prefix='.build-%s-' % release, dir=os.path.dirname(final))
    with open(os.path.join(work, 'builder.pid'), 'w') as handle:
        handle.write(str(os.getpid()))
    log_path = log_path or os.path.join(work, 'build.log')
    started = time.time()
    try:
        with open(log_path, 'a') as log:
            root = os.path.join(work, 'root')
            _run(['debootstrap', '--variant=minbase', '--include=' + ','.join(PACKAGES),
                  release, root, MIRROR], log,
                 env=dict(os.environ, DEBIAN_FRONTEND='noninteractive'))
            _write_files(root)
            chroot = ['chroot', root]
            _run(chroot + ['systemctl', 'enable'] + ENABLE_UNITS, log)
            # Units that a package may not ship on every release are disabled one by one.
            for unit in DISABLE_UNITS:
                subprocess.run(chroot + ['systemctl', 'disable', unit], stdout=log,
                               stderr=subprocess.STDOUT, check=False)
            _run(chroot + ['passwd', '-d', 'root'], log)
            _run(chroot + ['update-initramfs', '-u', '-k', 'all'], log)
            shutil.rmtree(os.path.join(root, 'var', 'cache', 'apt', 'archives'),
                          ignore_errors=True)
            boot = os.path.join(root, 'boot')
            kernels = sorted(f for f in os.listdir(boot) if f.startswith('vmlinuz-'))
            initrds = sorted(f for f in os.listdir(boot) if f.startswith('initrd.img-'))
            if not kernels or not initrds:
                raise RuntimeError('the chroot has no kernel/initrd under /boot')
            shutil.copy(os.path.join(boot, kernels[-1]), os.path.join(work, 'vmlinuz'))
            shutil.copy(os.path.join(boot, initrds[-1]), os.path.join(work, 'initrd.img'))
            _run(['mkfs.ext4', '-q', '-F', '-L', 'labroot', '-d', root,
                  os.path.join(work, 'rootfs.img'), IMAGE_SIZE], log)
            shutil.rmtree(root)
        meta = recipe(release)
        meta['build_seconds'] = round(time.time() - started, 1)
        meta['kernel'] = kernels[-1]
        with open(os.path.join(work, 'recipe.json'), 'w') as handle:
            json.dump(meta, handle, indent=2)
        os.rename(work, final)
    except BaseException:
        _remove_build_dir(work)
        raise
    return BaseImage(final)


def _remove_build_dir(path):
    """Unmount what a killed debootstrap left mounted inside (proc, sys), then delete."""
    try:
        with open('/proc/mounts') as handle:
            mounts = [line.split()[1] for line in handle]
    except OSError:
        mounts = []
    for mount in sorted((m for m in mounts if m.startswith(path + '/')), reverse=True):
        subprocess.run(['umount', '-l', mount], check=False)
    shutil.rmtree(path, ignore_errors=True)


def prune_partial_builds():
    """Remove leftovers of interrupted builds (they were never renamed into place)."""
    top = os.path.join(paths.cache_root(), 'images')
    if not os.path.isdir(top):
        return []
    removed = []
    for name in os.listdir(top):
        if not name.startswith('.build-'):
            continue
        try:
            with open(os.path.join(top, name, 'builder.pid')) as handle:
                builder = int(handle.read().strip())
            os.kill(builder, 0)
            continue  # still being built by a live process
        except (OSError, ValueError):
            pass
        _remove_build_dir(os.path.join(top, name))
        removed.append(name)
    return removed
