"""Labs and their VMs: boot, SSH, inventories, hardware faults, and cleanup of stale labs.

A lab is a directory under ``paths.labs_root()`` holding an SSH key pair, each VM's disks and
console log, and ``state.json``.  The state records every qemu pid together with the lab
directory that appears on its command line, so that cleanup stops only this lab's own
processes, even after a pid has been reused.  It also records the owner pid (the test run or
demo that created the lab): a lab whose owner is gone is stale and ``gc_stale`` removes it.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import time

from . import image, paths

SSH_OPTS = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
            '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10',
            '-o', 'ServerAliveInterval=15']


class LabError(RuntimeError):
    """A lab operation failed; the message carries what to look at (console tail, log)."""


class BootStalled(LabError):
    """A boot went silent on the console without reaching SSH (a hung TCG guest)."""


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _cmdline(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as handle:
            return handle.read().replace(b'\0', b' ').decode(errors='replace')
    except OSError:
        return ''


def free_port():
    """A free TCP port on 127.0.0.1 (the VMs' SSH forwards, the lab's restic server)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def kvm_usable():
    """True when /dev/kvm opens and the CPU advertises vmx/svm (it hangs otherwise)."""
    if not os.access('/dev/kvm', os.R_OK | os.W_OK):
        return False
    try:
        with open('/proc/cpuinfo') as handle:
            flags = handle.read()
    except OSError:
        return False
    return ' vmx' in flags or ' svm' in flags


def _owner_from_env():
    value = os.environ.get('RESILIENCE_LAB_OWNER')
    return int(value) if value and value.isdigit() else None


class Lab:
    """A set of VMs sharing a key, a directory and an owner."""

    def __init__(self, directory):
        self.directory = directory
        self.name = os.path.basename(directory)
        self.state_file = os.path.join(directory, 'state.json')
        with open(self.state_file) as handle:
            self.state = json.load(handle)
        self.key = os.path.join(directory, 'id_ed25519')
        self.release = self.state['release']

    # -- life cycle -------------------------------------------------------------------
    @classmethod
    def create(cls, name, release=image.DEFAULT_RELEASE, owner=None, replace=True):
        """Create (or, with ``replace``, recreate) the lab ``name``; build the image if needed."""
        gc_stale()
        directory = os.path.join(paths.labs_root(), name)
        if os.path.exists(directory):
            if not replace:
                raise LabError('lab %s already exists; destroy it first (labctl down %s)'
                               % (name, name))
            cls(directory).destroy()
        base = image.ensure_image(release)
        os.makedirs(directory)
        subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'lab-' + name,
                        '-f', os.path.join(directory, 'id_ed25519')], check=True)
        owner = owner if owner is not None else _owner_from_env()
        state = {'name': name, 'release': release, 'image': base.directory,
                 'owner': owner, 'created': time.time(), 'vms': {}}
        with open(os.path.join(directory, 'state.json'), 'w') as handle:
            json.dump(state, handle, indent=2)
        return cls(directory)

    @classmethod
    def open(cls, name):
        directory = os.path.join(paths.labs_root(), name)
        if not os.path.exists(os.path.join(directory, 'state.json')):
            raise LabError('no lab named %s under %s' % (name, paths.labs_root()))
        return cls(directory)

    def save(self):
        tmp = self.state_file + '.tmp'
        with open(tmp, 'w') as handle:
            json.dump(self.state, handle, indent=2)
        os.rename(tmp, self.state_file)

    def destroy(self):
        """Stop this lab's own qemu processes (by recorded pid) and remove its files."""
        for vm_name in list(self.state.get('vms', {})):
            self.vm(vm_name).stop(hard=True)
        # Helper processes of the lab (a restic REST server, say), by pid and marker.
        for helper in self.state.get('helpers', []):
            pid = helper.get('pid')
            if pid and _alive(pid) and helper.get('marker', self.directory) in _cmdline(pid):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.directory, ignore_errors=True)

    @property
    def base(self):
        return image.BaseImage(self.state['image'])

    # -- VMs ----------------------------------------------------------------------------
    def vm(self, name):
        if name not in self.state['vms']:
            raise LabError('lab %s has no VM %s' % (self.name, name))
        return VM(self, name)

    def boot(self, name, data_disks_mb=(), nvme_mb=None, nvme_os_partition_mb=None,
             memory_mb=2048, cpus=2, wait=True, timeout=600, hdd_write_mb_per_s=None,
             seed=None):
        """Define VM ``name`` with fresh disks and boot it.

        ``nvme_os_partition_mb`` lays a GPT with one partition (the "OS partition" of the
        reference layout, where the installer would put the OS) on the NVMe, leaving the
        rest free for the ``ml-bcache`` partition.  ``hdd_write_mb_per_s`` throttles writes to
        each data disk (qemu block throttling), like a slow HDD behind a fast cache: a flush
        then takes a time the test can rely on, whatever the host's disks do.  ``seed(vm)``
        runs after the disks are made and before the first start (a cached provisioned
        server's disks copied in: labvm.provisioned).
        """
        vm_dir = os.path.join(self.directory, name)
        os.makedirs(vm_dir, exist_ok=True)
        spec = {'memory_mb': memory_mb, 'cpus': cpus, 'data_disks_mb': list(data_disks_mb),
                'nvme_mb': nvme_mb, 'nvme_os_partition_mb': nvme_os_partition_mb,
                'ssh_port': free_port(), 'pid': None, 'removed_disks': [],
                'hdd_write_mb_per_s': hdd_write_mb_per_s}
        self.state['vms'][name] = spec
        self.save()
        vm = VM(self, name)
        vm.new_os_disk()
        for index in range(len(spec['data_disks_mb'])):
            vm.blank_disk(index, start=False)
        if nvme_mb:
            vm.replace_nvme(start=False)
        if seed:
            seed(vm)
        vm.start(wait=wait, timeout=timeout)
        return vm

    def write_inventory(self, path=None, extra_vars=None):
        """A YAML inventory with every VM of the lab; returns its path."""
        path = path or os.path.join(self.directory, 'inventory.yml')
        hosts = {}
        for vm_name in self.state['vms']:
            hosts[vm_name] = VM(self, vm_name).host_vars()
            hosts[vm_name].update(extra_vars or {})
        doc = {'all': {'children': {'lab': {'hosts': hosts}}}}
        tmp = path + '.tmp'
        with open(tmp, 'w') as handle:
            json.dump(doc, handle, indent=2)  # JSON is YAML; no PyYAML needed here
        os.rename(tmp, path)
        return path


class VM:
    """One qemu guest of a lab."""

    def __init__(self, lab, name):
        self.lab = lab
        self.name = name
        self.dir = os.path.join(lab.directory, name)

    @property
    def spec(self):
        return self.lab.state['vms'][self.name]

    @property
    def port(self):
        return self.spec['ssh_port']

    @property
    def console_log(self):
        return os.path.join(self.dir, 'console.log')

    @property
    def inventory(self):
        return self.lab.write_inventory()

    def disk_path(self, index):
        return os.path.join(self.dir, 'data%d.raw' % index)

    @property
    def nvme_path(self):
        return os.path.join(self.dir, 'nvme.raw')

    @property
    def os_disk_path(self):
        return os.path.join(self.dir, 'os.qcow2')

    def host_vars(self):
        return {
            'ansible_host': '127.0.0.1', 'ansible_port': self.port, 'ansible_user': 'root',
            'ansible_ssh_private_key_file': self.lab.key,
            'ansible_ssh_common_args': ' '.join(SSH_OPTS[:6]),
            'ansible_python_interpreter': '/usr/bin/python3',
        }

    # -- disks ----------------------------------------------------------------------------
    def _require_stopped(self, start):
        was_running = self.running()
        if was_running:
            self.stop(hard=True)
        return start if start is not None else was_running

    def new_os_disk(self):
        if os.path.exists(self.os_disk_path):
            os.unlink(self.os_disk_path)
        subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-F', 'raw',
                        '-b', self.lab.base.rootfs, self.os_disk_path], check=True)

    def replace_os_disk(self, start=None):
        """OS disk failure and reinstall: a fresh OS disk from the base image; data disks stay."""
        start = self._require_stopped(start)
        self.new_os_disk()
        if start:
            self.start()

    def blank_disk(self, index, start=None):
        """A data disk replaced by a blank one of the same size."""
        start = self._require_stopped(start)
        path = self.disk_path(index)
        if os.path.exists(path):
            os.unlink(path)
        with open(path, 'wb') as handle:
            handle.truncate(self.spec['data_disks_mb'][index] * 1024 * 1024)
        if index in self.spec['removed_disks']:
            self.spec['removed_disks'].remove(index)
            self.lab.save()
        if start:
            self.start()

    def remove_disk(self, index, start=None):
        """A data disk that is gone: the VM boots without it (its file is kept)."""
        start = self._require_stopped(start)
        if index not in self.spec['removed_disks']:
            self.spec['removed_disks'].append(index)
            self.lab.save()
        if start:
            self.start()

    def restore_disk(self, index, start=None):
        """Put a removed disk back, with its content."""
        start = self._require_stopped(start)
        if index in self.spec['removed_disks']:
            self.spec['removed_disks'].remove(index)
            self.lab.save()
        if start:
            self.start()

    def replace_nvme(self, start=None):
        """A failed SSD replaced by a blank one (with the installer's OS partition if the
        reference layout is modelled)."""
        start = self._require_stopped(start)
        if os.path.exists(self.nvme_path):
            os.unlink(self.nvme_path)
        with open(self.nvme_path, 'wb') as handle:
            handle.truncate(self.spec['nvme_mb'] * 1024 * 1024)
        os_part = self.spec.get('nvme_os_partition_mb')
        if os_part:
            # On a blank file sgdisk needs -o (a new GPT), else it exits 0 and writes nothing.
            subprocess.run(['sgdisk', '-o', '-n', '1:2048:+%dM' % os_part, '-c', '1:os',
                            self.nvme_path], check=True, stdout=subprocess.DEVNULL)
        if start:
            self.start()

    # -- power ----------------------------------------------------------------------------
    def running(self):
        pid = self.spec.get('pid')
        return bool(pid) and _alive(pid) and self.dir in _cmdline(pid)

    def qemu_argv(self):
        base = self.lab.base
        spec = self.spec
        accel = 'kvm' if kvm_usable() else 'tcg'
        argv = ['qemu-system-x86_64', '-name', 'lab-%s-%s' % (self.lab.name, self.name),
                '-machine', 'pc', '-accel', accel, '-m', str(spec['memory_mb']),
                '-smp', str(spec['cpus']), '-nographic', '-nodefaults',
                '-serial', 'file:' + self.console_log,
                '-kernel', base.kernel, '-initrd', base.initrd,
                '-append', 'console=ttyS0 root=/dev/vda rw net.ifnames=0 '
                           'systemd.hostname=%s' % self.name,
                '-fw_cfg', 'name=opt/lab/authorized_key,file=%s.pub' % self.lab.key,
                # The OS disk is the first virtio device, so it is vda; if=virtio drives
                # would be enumerated after the -device ones and a data disk would take vda.
                '-drive', 'file=%s,if=none,id=osdisk,format=qcow2,cache=unsafe' % self.os_disk_path,
                '-device', 'virtio-blk-pci,drive=osdisk,serial=os',
                '-netdev', 'user,id=n0,hostfwd=tcp:127.0.0.1:%d-:22' % spec['ssh_port'],
                '-device', 'virtio-net-pci,netdev=n0']
        if accel == 'tcg':
            argv[argv.index('-accel') + 1] = 'tcg,thread=multi'
        for index in range(len(spec['data_disks_mb'])):
            if index in spec['removed_disks']:
                continue
            # A serial gives each disk a stable /dev/disk/by-id/virtio-hddN name, like the
            # by-id names a real inventory should use; vdX letters shift when a disk is gone.
            throttle = ''
            if spec.get('hdd_write_mb_per_s'):
                throttle = ',throttling.bps-write=%d' % (spec['hdd_write_mb_per_s'] * 1024 * 1024)
            argv += ['-drive', 'file=%s,if=none,id=hdd%d,format=raw,cache=unsafe%s'
                     % (self.disk_path(index), index, throttle),
                     '-device', 'virtio-blk-pci,drive=hdd%d,serial=hdd%d' % (index, index)]
        if spec.get('nvme_mb'):
            argv += ['-drive', 'file=%s,if=none,id=nvm,format=raw,cache=unsafe' % self.nvme_path,
                     '-device', 'nvme,drive=nvm,serial=labnvme0']
        return argv

    # Under TCG on an overloaded host a guest now and then hangs early in boot ("rcu_preempt
    # kthread timer wakeup didn't happen"): its console falls silent and SSH never comes.  A
    # boot whose console is silent this long without SSH is power-cycled, once.
    BOOT_STALL_SECONDS = 240

    def start(self, wait=True, timeout=600):
        if self.running():
            return
        self._launch()
        if not wait:
            return
        try:
            self.wait_ssh(timeout)
        except BootStalled as stalled:
            self.spec['boot_retries'] = self.spec.get('boot_retries', 0) + 1
            self.lab.save()
            print('lab: %s; power-cycling it once' % stalled, flush=True)
            self.stop(hard=True)
            self._launch()
            self.wait_ssh(timeout)

    def _launch(self):
        # Keep the console of earlier boots for post-mortems; start a new one per boot.
        if os.path.exists(self.console_log):
            os.replace(self.console_log, self.console_log + '.prev')
        with open(os.path.join(self.dir, 'qemu.log'), 'ab') as log:
            proc = subprocess.Popen(self.qemu_argv(), stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        self.spec['pid'] = proc.pid
        self.spec['booted'] = time.time()
        self.lab.save()
        # Until the child has exec'd qemu its cmdline is Python's, and running() says no.
        deadline = time.time() + 10
        while time.time() < deadline and proc.poll() is None and self.dir not in _cmdline(proc.pid):
            time.sleep(0.05)

    def stop(self, hard=False, timeout=60):
        """Shut down (``hard``: kill qemu at once, a power cut)."""
        pid = self.spec.get('pid')
        if not pid or not self.running():
            self.spec['pid'] = None
            self.lab.save()
            return
        if not hard:
            self.ssh('systemctl poweroff', check=False, timeout=20)
            deadline = time.time() + timeout
            while time.time() < deadline and _alive(pid):
                time.sleep(1)
        if _alive(pid) and self.dir in _cmdline(pid):
            os.kill(pid, signal.SIGKILL)
            deadline = time.time() + 10
            while time.time() < deadline and _alive(pid):
                time.sleep(0.2)
        self.spec['pid'] = None
        self.lab.save()

    def power_cut(self, start=False):
        """Kill qemu with no shutdown; optionally power back on."""
        self.stop(hard=True)
        if start:
            self.start()

    def reboot(self, timeout=600):
        """A clean reboot: shutdown, then boot and wait for SSH."""
        self.stop(hard=False)
        self.start(timeout=timeout)

    # -- access ----------------------------------------------------------------------------
    def ssh_argv(self, command):
        return (['ssh', '-i', self.lab.key, '-p', str(self.port)] + SSH_OPTS
                + ['root@127.0.0.1', command])

    def ssh(self, command, check=True, timeout=600, input=None):
        # ssh sets O_NONBLOCK on the stdin it inherits and a killed ssh never resets it; the
        # next ansible-playbook would then refuse to start.  Never hand it ours.
        stdin = {'input': input} if input is not None else {'stdin': subprocess.DEVNULL}
        proc = subprocess.run(self.ssh_argv(command), capture_output=True, text=True,
                              timeout=timeout, **stdin)
        if check and proc.returncode != 0:
            raise LabError('ssh %s: %r failed (rc=%d)\nstdout: %s\nstderr: %s'
                           % (self.name, command, proc.returncode, proc.stdout[-2000:],
                              proc.stderr[-2000:]))
        return proc

    def console_tail(self, lines=40):
        try:
            with open(self.console_log, errors='replace') as handle:
                return ''.join(handle.readlines()[-lines:])
        except OSError:
            return '(no console log)'

    def _console_size(self):
        try:
            return os.path.getsize(self.console_log)
        except OSError:
            return 0

    def wait_ssh(self, timeout=600):
        deadline = time.time() + timeout
        size, quiet_since = self._console_size(), time.time()
        while time.time() < deadline:
            if not self.running():
                raise LabError('qemu for %s exited during boot; console tail:\n%s'
                               % (self.name, self.console_tail()))
            if self._console_size() != size:
                size, quiet_since = self._console_size(), time.time()
            elif time.time() - quiet_since > self.BOOT_STALL_SECONDS:
                raise BootStalled('boot of %s stalled: no console output for %ds and no SSH; '
                                  'console tail:\n%s' % (self.name, self.BOOT_STALL_SECONDS,
                                                         self.console_tail(15)))
            try:
                proc = subprocess.run(self.ssh_argv('true'), capture_output=True, timeout=30,
                                      stdin=subprocess.DEVNULL)
                if proc.returncode == 0:
                    self.spec['ssh_ready_seconds'] = round(time.time() - self.spec['booted'], 1)
                    self.lab.save()
                    return self.spec['ssh_ready_seconds']
            except subprocess.TimeoutExpired:
                pass
            time.sleep(2)
        raise LabError('no SSH on %s (port %d) after %ds; console tail:\n%s'
                       % (self.name, self.port, timeout, self.console_tail()))


def gc_stale(everything=False):
    """Destroy labs whose owner process is gone (or all labs); return their names.

    Labs without an owner (made by hand, for a Molecule session) are kept unless
    ``everything`` is set.  Interrupted image builds are removed too.
    """
    image.prune_partial_builds()
    top = paths.labs_root()
    removed = []
    if not os.path.isdir(top):
        return removed
    for name in sorted(os.listdir(top)):
        directory = os.path.join(top, name)
        try:
            lab = Lab(directory)
        except (OSError, ValueError, KeyError):
            shutil.rmtree(directory, ignore_errors=True)  # a lab that never finished creating
            removed.append(name)
            continue
        owner = lab.state.get('owner')
        if everything or (owner and not _alive(owner)):
            lab.destroy()
            removed.append(name)
    return removed
