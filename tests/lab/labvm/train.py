"""The lab train server: a VM with 4 HDDs and an NVMe, its inventory, an off-host restic
repository, and the break-then-recover flow used by the demo and the end-to-end tests.

The restic repository lives on the lab host, served by ``rclone serve restic`` on
127.0.0.1; the guest reaches it through qemu's user network at 10.0.2.2.  It therefore
survives the loss of the VM's OS disk and NVMe, as a real off-site repository would.
"""

import json
import os
import shutil
import subprocess
import sys
import time

from .lab import Lab, free_port

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
VENV_BIN = os.path.join(REPO, '.venv', 'bin')
COLLECTIONS = os.path.join(REPO, '.build', 'collections')

USERS = [{'name': 'alice', 'uid': 1000}, {'name': 'bob', 'uid': 1001}]
HDD_IDS = ['/dev/disk/by-id/virtio-hdd%d' % i for i in range(4)]
NVME = '/dev/disk/by-id/nvme-QEMU_NVMe_Ctrl_labnvme0'
RESTIC_PASSWORD = 'lab-only-restic-password'
SERVER_CONFIG_DIR = '/root/train-server'


def _tool(name):
    candidate = os.path.join(VENV_BIN, name)
    return candidate if os.path.exists(candidate) else shutil.which(name)


class TrainLab:
    """A lab train server in the reference layout (OS partition and cache on one NVMe) or
    with the cache NVMe separate from the OS disk (``layout='separate'``)."""

    def __init__(self, name, layout='shared', release=None, owner=None, log=print):
        self.name = name
        self.layout = layout
        self.log = log
        kwargs = {'owner': owner}
        if release:
            kwargs['release'] = release
        self.lab = Lab.create(name, **kwargs)
        self.rest = None
        self.rest_port = None
        self.vm = None
        self.inventory_dir = os.path.join(self.lab.directory, 'inventory')
        self.timings = {}

    # -- setup ---------------------------------------------------------------------------
    def boot(self, seed=None):
        """Boot the train server on blank disks (``seed(vm)``: copy disks in before the start)."""
        started = time.time()
        self.vm = self.lab.boot('train', data_disks_mb=[1024] * 4, nvme_mb=2048,
                                nvme_os_partition_mb=256 if self.layout == 'shared' else None,
                                seed=seed)
        self.timings['boot'] = round(time.time() - started, 1)
        self.start_repository()
        self.write_inventory()
        return self.vm

    def start_repository(self):
        """``rclone serve restic`` on 127.0.0.1, owned by the lab (its pid is recorded)."""
        root = os.path.join(self.lab.directory, 'restic-remote')
        os.makedirs(root, exist_ok=True)
        self.rest_port = free_port()
        with open(os.path.join(self.lab.directory, 'rest.log'), 'ab') as log:
            self.rest = subprocess.Popen(
                [_tool('rclone'), 'serve', 'restic', '--addr', '127.0.0.1:%d' % self.rest_port,
                 root], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        self.lab.state['helpers'] = [{'pid': self.rest.pid, 'marker': root}]
        self.lab.save()

    def lab_vars(self):
        return {
            'dr_hosts': 'train_servers',
            'train_storage_backing_devices': HDD_IDS,
            'train_storage_cache_disk': NVME if self.layout == 'shared' else '',
            'train_storage_cache_partlabel': 'ml-bcache',
            'train_users_accounts': USERS,
            'train_backups_repository': 'rest:http://10.0.2.2:%d/ml-train-server' % self.rest_port,
            'train_backups_password': RESTIC_PASSWORD,
            'train_backups_snapshot_tiers_enabled': False,
            'train_backups_check_subset': '1%',
            'train_workloads_apt_update_cache': False,
            'train_verify_restic_max_age_seconds': 86400,
            # The setup scripts' config.sh: backed up, and brought back by recover-os-disk.yml.
            'train_backups_extra_config_paths': [SERVER_CONFIG_DIR],
        }

    def write_inventory(self):
        os.makedirs(os.path.join(self.inventory_dir, 'group_vars'), exist_ok=True)
        host = self.vm.host_vars()
        doc = {'all': {'children': {'train_servers': {'hosts': {'train': host}}}}}
        with open(os.path.join(self.inventory_dir, 'hosts.yml'), 'w') as handle:
            json.dump(doc, handle, indent=2)
        with open(os.path.join(self.inventory_dir, 'group_vars', 'train_servers.yml'), 'w') as h:
            json.dump(self.lab_vars(), h, indent=2)
        return self.inventory_dir

    # -- running Ansible ---------------------------------------------------------------------
    def playbook(self, name, extra_vars=None, check=False, expect_rc=0):
        """Run a playbook of the collection against the lab; return (rc, output, seconds)."""
        argv = [_tool('ansible-playbook'), os.path.join(REPO, 'playbooks', name),
                '-i', self.inventory_dir]
        for key, value in (extra_vars or {}).items():
            argv += ['-e', json.dumps({key: value})]
        if check:
            argv.append('--check')
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'),
                   ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR='1',
                   ANSIBLE_FORCE_COLOR='0',
                   RESILIENCE_DR_REPORT_DIR=os.path.join(self.lab.directory, 'reports'))
        started = time.time()
        log_path = os.path.join(self.lab.directory, '%s-%d.log' % (name, int(started)))
        self.log('%s: running, live log in %s' % (name, log_path))
        # Written as it runs, so that a slow run under TCG can be followed with tail -f.
        with open(log_path, 'w') as handle:
            proc = subprocess.run(argv, cwd=REPO, env=env, stdout=handle,
                                  stderr=subprocess.STDOUT, text=True)
        seconds = round(time.time() - started, 1)
        with open(log_path) as handle:
            output = handle.read()
        self.log('%s: rc=%d in %.0fs (log %s)' % (name, proc.returncode, seconds, log_path))
        if expect_rc is not None and proc.returncode != expect_rc:
            raise AssertionError('%s exited %d, expected %d; tail:\n%s' % (
                name, proc.returncode, expect_rc, output[-6000:]))
        return proc.returncode, output, seconds

    def latest_report(self, scenario):
        reports = os.path.join(self.lab.directory, 'reports')
        names = sorted(n for n in os.listdir(reports)
                       if n.startswith(scenario + '-') and n.endswith('.json'))
        with open(os.path.join(reports, names[-1])) as handle:
            report = json.load(handle)
        with open(os.path.join(reports, names[-1][:-5] + '.md')) as handle:
            markdown = handle.read()
        return report, markdown

    # -- data --------------------------------------------------------------------------------
    def write_sample_data(self, megabytes=24):
        """Mixed files in every home, owned by their user; returns the manifest text."""
        script = ['set -e', 'cd /mnt/storage']
        for user in USERS:
            home = 'homes/%s' % user['name']
            script += [
                'mkdir -p %s/data/small' % home,
                'head -c %dM /dev/urandom > %s/data/model.bin' % (megabytes // 2, home),
                'for i in $(seq 1 40); do head -c $((i * 1037)) /dev/urandom > %s/data/small/f$i; done'
                % home,
                'echo "notes of %s" > %s/notes.txt' % (user['name'], home),
                'chown -R %d:%d %s/data %s/notes.txt' % (user['uid'], user['uid'], home, home),
            ]
        script += ['sync', "find homes -type f ! -path '*/.ssh/*' -print0 | sort -z "
                           "| xargs -0 sha256sum"]
        return self.vm.ssh('\n'.join(script)).stdout

    def write_server_config(self):
        """The setup scripts' config.sh, server-local configuration the backups must hold."""
        text = 'USERS="%s"\nFIRST_UID=1000\nBTRFS_RAID_LEVEL=raid10\n' % ' '.join(
            u['name'] for u in USERS)
        self.vm.ssh('install -d -m 700 %s && cat > %s/config.sh' % (SERVER_CONFIG_DIR,
                                                                 SERVER_CONFIG_DIR), input=text)
        return text

    def lose_os_disk(self, nvme=None, remove_hdd=None, restore_hdd=None):
        """Power cut, then the operator's fresh OS on a new disk.  ``nvme`` (default: the
        reference layout) replaces the NVMe too, taking the cache with it."""
        nvme = self.layout == 'shared' if nvme is None else nvme
        self.vm.power_cut()
        self.vm.replace_os_disk(start=False)
        if nvme:
            self.vm.replace_nvme(start=False)
        if remove_hdd is not None:
            self.vm.remove_disk(remove_hdd, start=False)
        if restore_hdd is not None:
            self.vm.restore_disk(restore_hdd, start=False)
        self.vm.start()

    def lose_everything(self):
        """Complete data loss: power cut, then a fresh OS on a new disk, a blank NVMe (with the
        installer's OS partition in the reference layout) and every HDD replaced by a blank one."""
        self.vm.power_cut()
        self.vm.replace_os_disk(start=False)
        self.vm.replace_nvme(start=False)
        for index in range(len(HDD_IDS)):
            self.vm.blank_disk(index, start=False)
        self.vm.start()

    def flush_cache(self, timeout=300):
        """Write back every dirty block (the 'clean cache' case of the reference layout)."""
        self.vm.ssh(
            'for d in /sys/block/bcache*/bcache; do echo 0 > $d/writeback_percent; done; '
            'for i in $(seq 1 %d); do s=$(cat /sys/block/bcache*/bcache/state | sort -u); '
            '[ "$s" = clean ] && exit 0; sleep 1; done; exit 1' % timeout, timeout=timeout + 30)

    def install_manifest(self, manifest):
        """The operator brings the checksum manifest made before the failure."""
        self.vm.ssh('cat > /root/dr-manifest.sha256', input=manifest)
        return '/root/dr-manifest.sha256'

    # -- teardown -----------------------------------------------------------------------------
    def destroy(self):
        # Keep the recovery reports and playbook logs (tests/output is CI's artifact folder).
        keep = os.path.join(REPO, 'tests', 'output', 'lab-%s' % self.name)
        shutil.rmtree(keep, ignore_errors=True)
        os.makedirs(keep)
        reports = os.path.join(self.lab.directory, 'reports')
        if os.path.isdir(reports):
            shutil.copytree(reports, os.path.join(keep, 'reports'))
        for name in os.listdir(self.lab.directory):
            if name.endswith('.log'):
                shutil.copy2(os.path.join(self.lab.directory, name), keep)
        if self.rest and self.rest.poll() is None:
            self.rest.kill()
            self.rest.wait()
        self.lab.destroy()


def provision_and_break(train, say, cache=None):
    """Provision for real, write data and config.sh, back up, flush, then the power cut that
    kills the OS disk; the broken server's disks go into ``cache`` (a ProvisionedCache).
    Returns the checksum manifest of the data."""
    say('booting the lab train server (NVMe + 4 HDDs); under TCG this takes a minute or two')
    train.boot()
    say('provisioning: bcache + BTRFS raid10 (create mode), users, backups, workloads')
    train.playbook('setup-train-server.yml', {'train_storage_mode': 'create',
                                              'train_backups_init_repository': True})
    say('writing sample data into the homes and recording checksums')
    manifest = train.write_sample_data()
    config_text = train.write_server_config()
    say('taking a backup, then flushing the cache (it is clean when the disk dies)')
    train.vm.ssh('systemctl start resilience-dr-backup.service')
    train.flush_cache()
    say('FAILURE: the OS disk dies; in the reference layout the NVMe (OS + ml-bcache) goes '
        'too. The operator installs a fresh OS (a blank base image) and boots it')
    train.vm.power_cut()
    if cache is not None:
        started = time.time()
        stored = cache.store(train.vm, {'manifest': manifest, 'config_text': config_text,
                                        'timings': dict(train.timings)})
        if stored:
            say('kept the provisioned server for the next demo in %s (%.0fs); it is reused '
                'while the roles, playbooks, plugins and lab code are unchanged'
                % (stored, time.time() - started))
    train.lose_os_disk()
    return manifest


def boot_broken_from_cache(train, say, cache):
    """The state provision_and_break leaves, from the cache: a fresh OS booted on copies of
    the provisioned server's disks (in the shared layout with a new blank NVMe), the same
    off-host repository.  Returns the checksum manifest recorded when it was built."""
    meta = cache.meta()
    say('reusing the provisioned train server cached in %s (built %s from the same roles, '
        'playbooks, plugins, lab code and image: key %s; RESILIENCE_DEMO_CACHE=0 provisions '
        'for real)' % (cache.directory, time.strftime('%Y-%m-%d %H:%M UTC',
                                                       time.gmtime(meta['created'])), cache.key))
    say('FAILURE, as in the first run: the OS disk is dead%s; a fresh OS boots on the '
        'surviving disks' % (' and the NVMe with it' if train.layout == 'shared' else ''))
    train.boot(seed=cache.seed)
    return meta['manifest']


def demo(name='demo', layout='shared', keep=False, use_cache=None):
    """The README's demo: build, break the OS disk, recover with one playbook, print the report.

    The provisioned and broken server is cached (labvm.provisioned): a second demo with the
    same roles, playbooks, plugins and lab code boots from it instead of provisioning again.
    ``use_cache=False`` (or RESILIENCE_DEMO_CACHE=0) provisions for real and refreshes it.
    """
    from .provisioned import ProvisionedCache
    say = lambda text: print('==> %s' % text, flush=True)  # noqa: E731
    if use_cache is None:
        use_cache = os.environ.get('RESILIENCE_DEMO_CACHE', '1') != '0'
    started = time.time()
    train = TrainLab(name, layout=layout, owner=os.getpid(), log=say)
    cache = ProvisionedCache(layout, release=train.lab.release)
    try:
        if use_cache and cache.hit():
            manifest = boot_broken_from_cache(train, say, cache)
        else:
            if not use_cache:
                cache.discard()
            manifest = provision_and_break(train, say, cache)
        train.install_manifest(manifest)
        say('RECOVERY: ansible-playbook playbooks/recover-os-disk.yml -i <lab inventory>')
        rc, output, seconds = train.playbook(
            'recover-os-disk.yml', {'train_verify_manifest': '/root/dr-manifest.sha256'},
            expect_rc=None)
        _report, markdown = train.latest_report('os-disk')
        print(markdown)
        say('recover-os-disk.yml finished with rc=%d in %.0fs; the whole demo took %.0fs'
            % (rc, seconds, time.time() - started))
        return rc
    finally:
        if not keep:
            train.destroy()


if __name__ == '__main__':
    sys.exit(demo())
