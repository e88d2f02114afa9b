# -*- coding: utf-8 -*-
"""playbooks/recover-btrfs-corruption.yml on the host: a raid1 over two loop devices (the
train server's raid10 takes the same code path: the scrub, the kernel's file names and the
rescue mounts do not depend on the profile), a real restic repository holding a backup made
the way the train server makes it (a read-only snapshot under snapshots/backup_<ts>), and real
damage written into the loops' backing files:

* one copy of a file's blocks      -> rung 1, the scrub repairs it from the other copy;
* damage after a clean scrub        -> rung 1 scrubs again: the clean scrub from before the
                                       damage (a nightly, recover-power-outage.yml's) never counts;
* both copies of one file          -> rung 2, that file (only) restored from the backup;
* the newest root tree node         -> rung 3, only ``rescue=usebackuproot`` mounts; copy-out;
* the root and every backup root    -> rungs 4-6: repair refused without its variable, and
                                       without a safeguard even with it; nothing changes;
                                       allowed with a fresh backup it runs, cannot fix this,
                                       and the ladder says so and names the full restore.

Each run writes a recovery report; a second run changes nothing.
"""

import json
import os
import re
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from btrfs_helpers import (free_loops, have_root_and_loops, loop_pool, sh,  # noqa: E402
                           sha256_file, tree_checksums)
from recovery_playbook import changed_count, run_playbook  # noqa: E402

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not have_root_and_loops(), reason='needs root and loop devices'),
]

# No compression here: the test finds the files' blocks in the backing images by content.
OPTIONS = 'space_cache=v2,relatime'
PASSWORD = 'integration-only-password'


def marker(name):
    return ('resilience.dr corruption marker for %s -- ' % name).encode()


def write_file(path, name, size=256 * 1024):
    mark = marker(name)
    data = (mark * (size // len(mark) + 1))[:size]
    with open(path, 'wb') as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def find(image, needle, chunk=8 * 1024 * 1024):
    with open(image, 'rb') as f:
        pos, tail = 0, b''
        while True:
            block = f.read(chunk)
            if not block:
                return None
            buf = tail + block
            i = buf.find(needle)
            if i >= 0:
                return pos - len(tail) + i
            tail = buf[-len(needle):]
            pos += len(block)


def clobber(path, offset, length=16384):
    with open(path, 'r+b') as f:
        f.seek(offset)
        f.write(b'\xde\xad\xbe\xef' * (length // 4))
        f.flush()
        os.fsync(f.fileno())


class Array:
    """A raid1 on two loops, laid out like the train server, with one restic backup."""

    def __init__(self, pool, work):
        self.pool, self.work = pool, work
        self.loops = pool.new(2)
        self.devices = [lp.device for lp in self.loops]
        self.label = 'it-corrupt-%d' % os.getpid()
        sh('mkfs.btrfs', '-f', '-L', self.label, '-d', 'raid1', '-m', 'raid1', *self.devices)
        sh('btrfs', 'device', 'scan', *self.devices)
        self.mnt = os.path.join(work, 'storage')
        os.mkdir(self.mnt)
        self.mount()
        for d in ('homes/alice/data', 'homes/bob', 'docker-volumes/alice-state', 'snapshots'):
            os.makedirs(os.path.join(self.mnt, d))
        for rel in ('homes/alice/data/one-copy.bin', 'homes/alice/data/both-copies.bin',
                    'homes/bob/untouched.bin', 'docker-volumes/alice-state/state.bin'):
            write_file(os.path.join(self.mnt, rel), rel)
        self.sums = tree_checksums(self.mnt)
        self.repo = os.path.join(work, 'restic')
        self.password = os.path.join(work, 'restic-password')
        with open(self.password, 'w') as f:
            f.write(PASSWORD + '\n')
        self.env = dict(os.environ, RESTIC_PASSWORD_FILE=self.password,
                        RESTIC_CACHE_DIR=os.path.join(work, 'cache'))
        sh('restic', '-r', self.repo, 'init', env=self.env)
        # The train server's backup: a read-only snapshot, its top directories, then it goes.
        snap = os.path.join(self.mnt, 'snapshots', 'backup_20261201_020000')
        sh('btrfs', 'subvolume', 'snapshot', '-r', self.mnt, snap)
        sh('restic', '-r', self.repo, 'backup', '--host', 'train',
           os.path.join(snap, 'homes'), os.path.join(snap, 'docker-volumes'), env=self.env)
        sh('btrfs', 'subvolume', 'delete', snap)
        sh('btrfs', 'filesystem', 'sync', self.mnt)

    def mount(self, options=OPTIONS):
        sh('mount', '-t', 'btrfs', '-o', options, self.devices[0], self.mnt)
        self.pool.mounts.append(self.mnt)

    def umount(self):
        sh('umount', self.mnt)
        self.pool.mounts.remove(self.mnt) if self.mnt in self.pool.mounts else None
        sh('sync')

    def images(self):
        return [lp.image for lp in self.loops]

    def damage_every_copy(self, rel):
        """Unmounted, ``rel``'s first blocks overwritten in every loop's image; mounted again."""
        self.umount()
        for image in self.images():
            offset = find(image, marker(rel))
            assert offset is not None
            clobber(image, offset)
        self.mount()

    def run(self, report_dir, expect_rc=0, **override):
        extra = {
            'train_btrfs_repair_devices': self.devices,
            'train_btrfs_repair_mountpoint': self.mnt,
            'train_btrfs_repair_mount_options': OPTIONS,
            'train_btrfs_repair_repository': self.repo,
            'train_btrfs_repair_password_file': self.password,
            'train_btrfs_repair_restic_environment': {'RESTIC_CACHE_DIR':
                                                      os.path.join(self.work, 'cache')},
            'train_btrfs_repair_verify': False,
            # The ladder's episode record, this test's own (never the host's).
            'train_btrfs_repair_record': os.path.join(self.work, 'btrfs-ladder.json'),
            'ansible_python_interpreter': sys.executable,
        }
        extra.update(override)
        rc, out, report, seconds = run_playbook('recover-btrfs-corruption.yml', 'btrfs-corruption',
                                                extra, report_dir, label=self.label)
        if expect_rc is not None:
            assert (rc == 0) == (expect_rc == 0), out[-6000:]
        return rc, out, report, seconds


def rungs(report):
    return dict((v['check'], v) for v in report['verified'] if 'ladder rung' in v['check'])


@pytest.fixture
def array(tmp_path):
    if free_loops() < 2:
        pytest.skip('needs 2 free loop devices')
    with loop_pool(prefix='corrupt-') as pool:
        yield Array(pool, str(tmp_path))


def test_rung1_one_copy_repaired_by_scrub_second_run_changes_nothing(array, tmp_path):
    array.umount()
    rel = 'homes/alice/data/one-copy.bin'
    offset = find(array.images()[0], marker(rel))
    assert offset is not None and find(array.images()[1], marker(rel)) is not None
    clobber(array.images()[0], offset)
    array.mount()
    reports = str(tmp_path / 'reports')

    rc, out, report, _s = array.run(reports)
    steps = rungs(report)
    assert list(steps) == ['btrfs ladder rung 1: scrub-repair'], steps
    assert steps['btrfs ladder rung 1: scrub-repair']['ok']
    assert 'repaired' in steps['btrfs ladder rung 1: scrub-repair']['detail']
    assert find(array.images()[0], marker(rel)) == offset      # rewritten from the good copy
    assert tree_checksums(array.mnt) == array.sums
    assert report['outcome'] in ('recovered', 'recovered_with_warnings')
    # The counters of the repaired damage are in the report and reset: only new errors show.
    reset = dict((v['check'], v) for v in report['verified'])[
        'BTRFS device error counters reset after the ladder']
    assert 'corruption_errs' in reset['detail'], reset
    assert 'write_io_errs' not in reset['detail'], reset          # only the counters that counted
    assert sh('btrfs', 'device', 'stats', '--check', array.mnt, check=False).returncode == 0

    rc, out, report, _s = array.run(reports)
    assert changed_count(out) == 0, out[-4000:]


def test_a_clean_scrub_from_before_the_damage_is_not_reused(array, tmp_path):
    """A read-only scrub found the array clean (the nightly one, or recover-power-outage.yml's),
    then a file was damaged on both copies: the ladder must scrub again, find it and restore it,
    not call the array clean because a scrub finished within the last day."""
    sh('btrfs', 'scrub', 'start', '-B', '-r', array.mnt)
    rel = 'homes/alice/data/both-copies.bin'
    array.damage_every_copy(rel)
    reports = str(tmp_path / 'reports')

    rc, out, report, _s = array.run(reports)
    steps = rungs(report)
    assert steps['btrfs ladder rung 1: scrub-repair']['detail'].startswith('not-enough'), steps
    assert steps['btrfs ladder rung 2: surgical-restore']['ok'], steps
    assert sha256_file(os.path.join(array.mnt, rel)) == array.sums[rel]
    with open(os.path.join(array.work, 'btrfs-ladder.json')) as f:
        record = json.load(f)
    assert record['baseline_scrub_finished'], record     # the clean scrub, named and not used

    rc, out, report, _s = array.run(reports)
    assert changed_count(out) == 0, out[-4000:]


def test_rung2_both_copies_restored_from_backup_only_that_file(array, tmp_path):
    rel = 'homes/alice/data/both-copies.bin'
    untouched = os.path.join(array.mnt, 'homes/bob/untouched.bin')
    mtime = os.stat(untouched).st_mtime_ns
    array.damage_every_copy(rel)
    reports = str(tmp_path / 'reports')

    rc, out, report, _s = array.run(reports, expect_rc=None)
    steps = rungs(report)
    assert steps['btrfs ladder rung 1: scrub-repair']['detail'].startswith('not-enough')
    assert steps['btrfs ladder rung 2: surgical-restore']['ok'], steps
    assert rel in steps['btrfs ladder rung 2: surgical-restore']['detail']
    assert rc == 0, out[-5000:]
    assert sha256_file(os.path.join(array.mnt, rel)) == array.sums[rel]
    assert tree_checksums(os.path.join(array.mnt, 'homes')) == dict(
        (k[len('homes/'):], v) for k, v in array.sums.items() if k.startswith('homes/'))
    assert os.stat(untouched).st_mtime_ns == mtime                # others untouched
    moved = os.path.join(array.mnt, '.resilience-dr', 'damaged', rel)
    assert os.path.isfile(moved) and not os.path.islink(moved)   # aside, never deleted
    with open(os.path.join(array.mnt, '.resilience-dr', 'damaged', 'MANIFEST.json')) as f:
        assert [e['path'] for e in json.load(f)] == [rel]
    warnings = ' '.join(w['message'] for w in report['warnings'])
    assert 'moved aside' in warnings

    rc, out, report, _s = array.run(reports)
    assert changed_count(out) == 0, out[-4000:]


def mirrors(devices, logical):
    """The (physical offset, device) of every copy of a raid1 metadata block, from the chunk
    tree (btrfs-map-logical only maps allocated extents, and old backup roots are freed).
    ``devices`` are in mkfs order: devid 1, 2, ..."""
    text = sh('btrfs', 'inspect-internal', 'dump-tree', '-t', 'chunk', devices[0]).stdout
    chunks = re.findall(r'CHUNK_ITEM (\d+)\).*?\n\s+length (\d+) .*?type (\S+)(.*?)(?=\n\s+item |\Z)',
                        text, re.S)
    for start, length, kind, body in chunks:
        start, length = int(start), int(length)
        if start <= logical < start + length:
            assert 'RAID1' in kind, kind
            return [(int(off) + logical - start, devices[int(devid) - 1])
                    for devid, off in re.findall(r'stripe \d+ devid (\d+) offset (\d+)', body)]
    raise AssertionError('no chunk holds %d' % logical)


def damage_root(devices, roots):
    """Overwrite the tree root blocks at ``roots`` (logical bytenrs) on every mirror."""
    places = []
    for bytenr in roots:
        found = mirrors(devices, bytenr)
        assert len(found) == 2, found          # raid1 metadata: two mirrors
        places.extend(found)
    for physical, device in places:
        with open(device, 'r+b') as f:
            f.seek(physical)
            f.write(b'\0' * 16384)
            f.flush()
            os.fsync(f.fileno())


def super_roots(device):
    text = sh('btrfs', 'inspect-internal', 'dump-super', '-f', device).stdout
    root = int(re.search(r'^root\s+(\d+)', text, re.M).group(1))
    backups = [int(b) for b in re.findall(r'backup_tree_root:\s+(\d+)', text)]
    return root, backups


def test_rung3_only_usebackuproot_mounts_read_only_and_copy_out(array, tmp_path):
    # One more commit after the data, so that the backup root (one generation back) has it all.
    with open(os.path.join(array.mnt, 'last-commit'), 'w') as f:
        f.write('x')
    sh('btrfs', 'filesystem', 'sync', array.mnt)
    array.umount()
    root, _backups = super_roots(array.devices[0])
    damage_root(array.devices, [root])
    sh('sh', '-c', 'echo 3 > /proc/sys/vm/drop_caches')
    plain = sh('mount', '-t', 'btrfs', array.devices[0], array.mnt, check=False)
    assert plain.returncode != 0, 'the damaged root must not mount normally'
    reports = str(tmp_path / 'reports')
    copy_to = str(tmp_path / 'rescue-copy')

    rc, out, report, _s = array.run(reports, train_btrfs_repair_copy_to=copy_to,
                                    train_btrfs_repair_copy_paths=['homes', 'docker-volumes'])
    array.pool.mounts.append(array.mnt)
    steps = rungs(report)
    assert steps['btrfs ladder rung 3: rescue-mount']['ok'], steps
    assert 'usebackuproot' in steps['btrfs ladder rung 3: rescue-mount']['detail']
    options = sh('findmnt', '-n', '-o', 'OPTIONS', array.mnt).stdout
    # The kernel drops usebackuproot from the options once mounted: read-only is what stays.
    assert 'ro' in options.split(','), options
    copied = tree_checksums(copy_to)
    assert copied == dict((k, v) for k, v in array.sums.items()
                          if k.startswith(('homes/', 'docker-volumes/'))), copied
    assert report['outcome'] == 'recovered_with_warnings'
    assert 'read-only' in ' '.join(w['message'] for w in report['warnings'])

    rc, out, report, _s = array.run(reports, train_btrfs_repair_copy_to=copy_to,
                                    train_btrfs_repair_copy_paths=['homes', 'docker-volumes'])
    assert changed_count(out) == 0, out[-4000:]


def test_nothing_mounts_repair_refused_without_variable_and_without_safeguard(array, tmp_path):
    array.umount()
    root, backups = super_roots(array.devices[0])
    damage_root(array.devices, sorted(set([root] + backups)))
    images = dict((p, sha256_file(p)) for p in array.images())
    reports = str(tmp_path / 'reports')

    rc, out, report, _s = array.run(reports, expect_rc=1)
    steps = rungs(report)
    assert not steps['btrfs ladder rung 3: rescue-mount']['ok']
    assert 'btrfs ladder rung 4: check-readonly' in steps
    assert steps['btrfs ladder rung 5: check-repair']['detail'].startswith('refused')
    assert 'train_btrfs_repair_allow_check_repair=true' in out
    assert 'recover-full-restore.yml' in out
    assert report['outcome'] == 'failed'

    # With the variable but no rescue copy and no fresh backup: still refused.
    os.rename(array.repo, array.repo + '.gone')
    rc, out, report, _s = array.run(reports, expect_rc=1,
                                    train_btrfs_repair_allow_check_repair=True)
    assert 'needs a rescue copy' in rungs(report)['btrfs ladder rung 5: check-repair']['detail']
    assert not any('check --repair' in line for line in out.splitlines()
                   if line.startswith('changed:'))
    assert dict((p, sha256_file(p)) for p in array.images()) == images   # nothing written


def test_repair_allowed_with_a_fresh_backup_runs_and_says_truthfully_that_it_failed(array, tmp_path):
    """Rung 5 really runs: allowed, with the array's backup minutes old as the safeguard.
    ``btrfs check --repair`` cannot rebuild a root tree lost with every backup root, the
    filesystem still does not mount, and the ladder says so and names the full restore."""
    array.umount()
    root, backups = super_roots(array.devices[0])
    damage_root(array.devices, sorted(set([root] + backups)))
    reports = str(tmp_path / 'reports')

    rc, out, report, _s = array.run(reports, expect_rc=1,
                                    train_btrfs_repair_allow_check_repair=True)
    steps = rungs(report)
    assert 'btrfs ladder rung 4: check-readonly' in steps
    repair = steps['btrfs ladder rung 5: check-repair']
    assert repair['detail'] == ('failed: btrfs check --repair ran; the filesystem still does not '
                                'mount'), steps
    assert not repair['ok']
    task = [block for block in out.split('TASK [')
            if block.startswith('resilience.dr.train_btrfs_repair : Btrfs check --repair')]
    assert task and 'changed:' in task[0], out[-4000:]          # it ran, it was not skipped
    assert 'recover-full-restore.yml' in out
    assert report['outcome'] == 'failed'
    assert sh('mount', '-t', 'btrfs', array.devices[0], array.mnt, check=False).returncode != 0
