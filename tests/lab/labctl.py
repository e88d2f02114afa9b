#!/usr/bin/env python3
"""labctl: the lab's command line (used by Molecule's create/destroy, the demo and people).

  labctl image [--release R]                      build (or find) the cached base image
  labctl up NAME [--vm train] [--data-disks 4x1024] [--nvme 2048] [--nvme-os-partition 256]
                 [--release R] [--memory 2048] [--inventory PATH]
  labctl fault NAME VM power-cut|power-on|reboot|replace-os-disk|replace-nvme|blank-disk N|remove-disk N|restore-disk N
  labctl ssh NAME VM COMMAND...
  labctl status [NAME]
  labctl down NAME
  labctl instances --prefix P --out FILE           Molecule's instance config
  labctl gc [--all]                               destroy stale labs (owner gone) or all labs
  labctl demo [shared|separate] [--no-cache]      the README's demo (scripts/demo.sh); a second
                                                  run reuses the provisioned server (labvm.provisioned)
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from labvm import Lab, LabError, gc_stale  # noqa: E402
from labvm import image  # noqa: E402


def parse_disks(text):
    if not text:
        return []
    count, _, size = text.partition('x')
    return [int(size)] * int(count)


def main(argv=None):
    parser = argparse.ArgumentParser(prog='labctl', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='cmd', required=True)
    p_image = sub.add_parser('image')
    p_image.add_argument('--release', default=image.DEFAULT_RELEASE)
    p_up = sub.add_parser('up')
    p_up.add_argument('name')
    p_up.add_argument('--vm', default='train')
    p_up.add_argument('--release', default=image.DEFAULT_RELEASE)
    p_up.add_argument('--data-disks', default='4x1024', help='COUNTxMiB')
    p_up.add_argument('--nvme', type=int, default=1024, help='MiB, 0 for none')
    p_up.add_argument('--nvme-os-partition', type=int, default=None, help='MiB')
    p_up.add_argument('--memory', type=int, default=2048)
    p_up.add_argument('--inventory', default=None)
    p_fault = sub.add_parser('fault')
    p_fault.add_argument('name')
    p_fault.add_argument('vm')
    p_fault.add_argument('fault', choices=['power-cut', 'power-on', 'reboot', 'replace-os-disk',
                                           'replace-nvme', 'blank-disk', 'remove-disk',
                                           'restore-disk'])
    p_fault.add_argument('index', nargs='?', type=int)
    p_fault.add_argument('--no-start', action='store_true', help='leave the VM off afterwards')
    p_ssh = sub.add_parser('ssh')
    p_ssh.add_argument('name')
    p_ssh.add_argument('vm')
    p_ssh.add_argument('command', nargs=argparse.REMAINDER)
    p_status = sub.add_parser('status')
    p_status.add_argument('name', nargs='?')
    p_down = sub.add_parser('down')
    p_down.add_argument('name')
    p_inst = sub.add_parser('instances', help="Molecule's instance config for labs with a prefix")
    p_inst.add_argument('--prefix', required=True)
    p_inst.add_argument('--out', required=True)
    p_gc = sub.add_parser('gc')
    p_gc.add_argument('--all', action='store_true')
    p_demo = sub.add_parser('demo', help="the README's demo: build, break the OS disk, recover, report")
    p_demo.add_argument('layout', nargs='?', default='shared', choices=['shared', 'separate'])
    p_demo.add_argument('--no-cache', action='store_true',
                        help='provision for real even when a cached provisioned server matches '
                             '(and refresh the cache); RESILIENCE_DEMO_CACHE=0 does the same')
    args = parser.parse_args(argv)

    try:
        if args.cmd == 'image':
            started = time.time()
            base = image.ensure_image(args.release)
            print(json.dumps({'image': base.directory, 'seconds': round(time.time() - started, 1),
                              'build_seconds': base.recipe.get('build_seconds')}))
        elif args.cmd == 'up':
            lab = Lab.create(args.name, release=args.release)
            vm = lab.boot(args.vm, data_disks_mb=parse_disks(args.data_disks),
                          nvme_mb=args.nvme or None, nvme_os_partition_mb=args.nvme_os_partition,
                          memory_mb=args.memory)
            inventory = lab.write_inventory(args.inventory)
            print(json.dumps({'lab': lab.directory, 'inventory': inventory, 'vm': vm.name,
                              'ssh_port': vm.port, 'key': lab.key,
                              'ssh_ready_seconds': vm.spec.get('ssh_ready_seconds')}))
        elif args.cmd == 'fault':
            vm = Lab.open(args.name).vm(args.vm)
            start = not args.no_start
            if args.fault == 'power-cut':
                vm.power_cut(start=False)
            elif args.fault == 'power-on':
                vm.start()
            elif args.fault == 'reboot':
                vm.reboot()
            elif args.fault == 'replace-os-disk':
                vm.replace_os_disk(start=start)
            elif args.fault == 'replace-nvme':
                vm.replace_nvme(start=start)
            else:
                if args.index is None:
                    parser.error('%s needs a disk index' % args.fault)
                getattr(vm, args.fault.replace('-', '_'))(args.index, start=start)
            print(json.dumps({'vm': vm.name, 'fault': args.fault, 'running': vm.running()}))
        elif args.cmd == 'ssh':
            proc = Lab.open(args.name).vm(args.vm).ssh(' '.join(args.command), check=False)
            sys.stdout.write(proc.stdout)
            sys.stderr.write(proc.stderr)
            return proc.returncode
        elif args.cmd == 'status':
            from labvm import paths
            names = [args.name] if args.name else sorted(os.listdir(paths.labs_root())) \
                if os.path.isdir(paths.labs_root()) else []
            out = []
            for name in names:
                lab = Lab.open(name)
                out.append({'lab': name, 'owner': lab.state.get('owner'),
                            'vms': {n: {'running': lab.vm(n).running(), 'port': lab.vm(n).port}
                                    for n in lab.state['vms']}})
            print(json.dumps(out, indent=2))
        elif args.cmd == 'down':
            try:
                Lab.open(args.name).destroy()
            except LabError:
                pass  # already gone: destroy is idempotent
            print(json.dumps({'destroyed': args.name}))
        elif args.cmd == 'instances':
            from labvm import paths
            instances = []
            for name in sorted(os.listdir(paths.labs_root())):
                if not name.startswith(args.prefix):
                    continue
                lab = Lab.open(name)
                for vm_name in lab.state['vms']:
                    vm = lab.vm(vm_name)
                    instances.append({'instance': vm_name, 'address': '127.0.0.1', 'user': 'root',
                                      'port': vm.port, 'identity_file': lab.key})
            with open(args.out, 'w') as handle:
                json.dump(instances, handle, indent=2)  # JSON is YAML
            print(json.dumps(instances))
        elif args.cmd == 'gc':
            print(json.dumps({'removed': gc_stale(everything=args.all)}))
        elif args.cmd == 'demo':
            from labvm.train import demo
            return demo(layout=args.layout, use_cache=False if args.no_cache else None)
    except LabError as exc:
        sys.stderr.write('labctl: %s\n' % exc)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
