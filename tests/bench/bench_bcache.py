#!/usr/bin/env python
"""Benchmark: recovery from a bcache SSD failure in a lab VM, blank NVMe -> state clean.

    .venv/bin/python tests/bench/bench_bcache.py [--data-mib 64]

Builds the train server's stack (cache set on the NVMe partition ml-bcache, 4 HDDs in
writeback, BTRFS raid10 on /dev/bcache0..3), writes data, flushes, replaces the NVMe with a
blank one (power cut + boot), then times the recovery an operator runs:

1. lay the ml-bcache partition on the new NVMe (sgdisk, as the setup script does);
2. one ``resilience.dr.bcache_cache`` call with the new cache_device and
   ``start_without_cache: true`` (starts the 4 HDDs, new cache set, attach, tune, persist);
3. until every backing device reads ``clean`` and the BTRFS mounts with all checksums matching.

The runbook estimates 1 hour of manual work for the same recovery.  Prints JSON.
"""

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, TESTS)
sys.path.insert(0, os.path.join(TESTS, 'lab'))

from testlib import run_module  # noqa: E402
from labvm import Lab  # noqa: E402

HDDS = ['/dev/disk/by-id/virtio-hdd%d' % i for i in range(4)]
ARGS = {'cache_device': '/dev/disk/by-partlabel/ml-bcache', 'backing_devices': HDDS,
        'cache_mode': 'writeback', 'sequential_cutoff': '0', 'writeback_percent': 40,
        'persist': True}
PARTITION = ('sgdisk -n 2:0:0 -c 2:ml-bcache /dev/nvme0n1 >/dev/null && partprobe /dev/nvme0n1 '
             '&& udevadm settle && test -b /dev/disk/by-partlabel/ml-bcache')


def call(vm, args):
    result = run_module('bcache_cache', args, inventory=vm.inventory, host='train')
    if result.failed:
        raise SystemExit('bcache_cache failed: %s' % result.get('msg'))
    return result


def one_run(vm, data_mib):
    vm.ssh(PARTITION)
    built = call(vm, ARGS)
    devs = ' '.join(d['bcache_device'] for d in built['backing_devices'])
    vm.ssh('mkfs.btrfs -q -f -L ml-storage -d raid10 -m raid10 %s && mkdir -p /mnt/storage && '
           'mount LABEL=ml-storage /mnt/storage && head -c %dM /dev/urandom > /mnt/storage/data '
           '&& sha256sum /mnt/storage/data > /root/sums' % (devs, data_mib))
    sums = vm.ssh('cat /root/sums').stdout
    vm.ssh('umount /mnt/storage; for d in vdb vdc vdd vde; do '
           'echo 0 > /sys/block/$d/bcache/writeback_percent; '
           'echo 0 > /sys/block/$d/bcache/writeback_delay; done; for i in $(seq 600); do '
           '[ "$(cat /sys/block/vd[b-e]/bcache/state | grep -c -v clean)" = 0 ] && exit 0; '
           'sleep 0.5; done; exit 1')
    vm.replace_nvme(start=True)
    booted = time.time()
    vm.ssh(PARTITION)
    t_part = time.time()
    result = call(vm, dict(ARGS, start_without_cache=True))
    t_module = time.time()
    states = vm.ssh('cat /sys/block/vd[b-e]/bcache/state').stdout.split()
    assert states == ['clean'] * 4, states
    vm.ssh('btrfs device scan >/dev/null; udevadm settle; mount LABEL=ml-storage /mnt/storage')
    t_clean = time.time()
    vm.ssh('cd / && sha256sum -c --quiet - <<EOF\n%sEOF' % sums)
    verified = time.time()
    return {'partition_s': round(t_part - booted, 1),
            'bcache_cache_call_s': round(t_module - t_part, 1),
            'blank_nvme_to_clean_and_mounted_s': round(t_clean - booted, 1),
            'checksums_verified_s': round(verified - t_clean, 1),
            'steps_executed': len(result['executed']),
            'data_lost': result['data_lost']}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data-mib', type=int, default=64)
    args = parser.parse_args()
    lab = Lab.create('bench-bcache', owner=os.getpid())
    try:
        started = time.time()
        vm = lab.boot('train', data_disks_mb=[1024] * 4, nvme_mb=1024, nvme_os_partition_mb=128)
        boot_s = round(time.time() - started, 1)
        run = one_run(vm, args.data_mib)
        print(json.dumps({'accel': vm.qemu_argv()[vm.qemu_argv().index('-accel') + 1],
                          'first_boot_s': boot_s, 'recovery': run,
                          'runbook_estimate_s': 3600}, indent=2))
    finally:
        lab.destroy()


if __name__ == '__main__':
    main()
