"""The ``cfsemu`` command: bring an emulated ClaudeFS cluster up and down, inject faults.

    cfsemu up --state DIR [--net 77] [--shards 8] [--sites 2] [--nodes-per-site 3]
              [--s3-from OTHER_DIR]   (read OTHER's S3 read-only: a drill's scratch cluster)
    cfsemu reset --state DIR   (every node a new, empty machine again, running)
    cfsemu down|status|destroy|counters|heal --state DIR
    cfsemu kill|stop|start|wipe NODE --state DIR
    cfsemu add-node NAME --site SITE --state DIR   (a new machine; join it with nodeAdd)
    cfsemu partition --site site-a --state DIR      cfsemu isolate NODE --state DIR
    cfsemu corrupt NODE --records N --seed S --state DIR
    cfsemu s3 stop|start primary|backup --state DIR
    cfsemu gc [--all]

``--state`` defaults to $CFSEMU_STATE.  Output is JSON (one document) except for ``up``,
which also prints its timings.  Exit status 0 on success, 1 on a failure, 2 on bad usage.
"""

import argparse
import json
import os
import sys
import time

from cfsemu import supervisor


def _parser():
    parser = argparse.ArgumentParser(prog='cfsemu', description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)

    def cmd(name, help_text, node=False):
        p = sub.add_parser(name, help=help_text)
        p.add_argument('--state', default=os.environ.get('CFSEMU_STATE'),
                       help='the instance directory (default $CFSEMU_STATE)')
        if node:
            p.add_argument('node')
        return p

    up = cmd('up', 'write cluster.json and start S3 and every node')
    up.add_argument('--net', type=int, default=int(os.environ.get('CFSEMU_NET', 77)))
    up.add_argument('--shards', type=int, default=8)
    up.add_argument('--sites', type=int, default=2)
    up.add_argument('--nodes-per-site', type=int, default=3)
    up.add_argument('--flash-quota', type=int, default=4 * 1024 * 1024)
    up.add_argument('--timeout', type=float, default=60.0)
    up.add_argument('--s3-from', default=None,
                    help="another instance's state dir: use its S3 endpoints with read-only "
                         "credentials instead of starting our own (a DR-drill scratch cluster)")
    up.add_argument('--owner', type=int, default=None,
                    help='a pid: when it dies, "cfsemu gc" takes the instance down')
    down = cmd('down', 'stop everything, remove the firewall table')
    down.add_argument('--purge', action='store_true', help='also delete the state directory')
    cmd('status', 'processes, S3 servers and the partition in force')
    cmd('destroy', 'kill every node and delete their disks (S3 stays)')
    cmd('reset', 'every node a new, empty machine again, started (S3 stays)')
    for name, text in (('kill', 'SIGKILL a node'), ('stop', 'SIGTERM a node'),
                       ('start', 'start a stopped node'), ('wipe', "delete a stopped node's disk"),
                       ('isolate', 'drop all packets between a node and the other nodes')):
        cmd(name, text, node=True)
    add = cmd('add-node', 'start a node that is not in cluster.json yet (a new machine)',
              node=True)
    add.add_argument('--site', required=True)
    part = cmd('partition', 'drop all packets between a site and the other sites')
    part.add_argument('--site', required=True)
    cmd('heal', 'stop dropping packets (counters stay readable)')
    cmd('counters', "the firewall rules' packet counters")
    corrupt = cmd('corrupt', "corrupt a node's metadata records", node=True)
    corrupt.add_argument('--records', type=int, default=1)
    corrupt.add_argument('--seed', type=int, default=0)
    corrupt.add_argument('--replicated', action='store_true',
                         help='a faulty operation replicated to every member (not repairable '
                              'from the replicas); NODE is the node it is sent through')
    s3 = cmd('s3', 'stop or start an S3 endpoint')
    s3.add_argument('action', choices=('stop', 'start'))
    s3.add_argument('role', choices=('primary', 'backup'))
    gc = sub.add_parser('gc', help='take down instances whose owner process is gone')
    gc.add_argument('--all', action='store_true', help='every registered instance')
    return parser


def run(args):
    if args.command == 'gc':
        return {'cleaned': supervisor.gc(everything=args.all)}
    if not args.state:
        raise supervisor.ClusterError('no instance directory: pass --state DIR or set '
                                      'CFSEMU_STATE')
    if args.command == 'up':
        start = time.monotonic()
        cluster = supervisor.Cluster.create(
            args.state, owner=args.owner, net=args.net, shards=args.shards, sites=args.sites,
            nodes_per_site=args.nodes_per_site, flash_quota=args.flash_quota,
            s3_from=args.s3_from)
        try:
            timings = cluster.up(timeout=args.timeout)
        except Exception:
            cluster.down()
            raise
        total = time.monotonic() - start
        print('cfsemu: S3 up in %.2fs, nodes ready in %.2fs, every shard led in %.2fs '
              '(total %.2fs)' % (timings['s3'], timings['nodes_ready'], timings['leaders'],
                                total), file=sys.stderr)
        return dict(cluster.status(), timings=dict(timings, total=total),
                    inventory=os.path.join(cluster.state_dir, 'inventory.yml'))
    cluster = supervisor.Cluster(args.state)
    command = args.command
    if command == 'down':
        cluster.down(remove_state=args.purge)
        return {'down': cluster.state_dir, 'purged': args.purge}
    if command == 'status':
        return cluster.status()
    if command == 'destroy':
        return cluster.destroy()
    if command == 'reset':
        return cluster.reset()
    if command == 'kill':
        return {'killed': args.node, 'pid': cluster.kill(args.node)}
    if command == 'stop':
        return {'stopped': args.node, 'pid': cluster.stop(args.node)}
    if command == 'start':
        running = cluster.running(args.node)   # start is a no-op then: callers report ok
        return {'started': args.node, 'pid': cluster.start(args.node),
                'already_running': bool(running)}
    if command == 'wipe':
        return {'wiped': args.node, 'detail': cluster.wipe(args.node)}
    if command == 'add-node':
        return cluster.add_node(args.node, args.site)
    if command == 'isolate':
        return cluster.isolate(args.node)
    if command == 'partition':
        return cluster.partition(args.site)
    if command == 'heal':
        return dict(cluster.heal(), counters=cluster.counters())
    if command == 'counters':
        return cluster.counters()
    if command == 'corrupt':
        how = cluster.corrupt_replicated if args.replicated else cluster.corrupt
        return {'corrupted': args.node, 'replicated': args.replicated,
                'records': how(args.node, args.records, args.seed)}
    if command == 's3':
        if args.action == 'stop':
            return {'s3': args.role, 'stopped': cluster.s3_stop(args.role)}
        return {'s3': args.role, 'pid': cluster.s3_start(args.role)}
    raise AssertionError(command)


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        result = run(args)
    except (supervisor.ClusterError, ValueError, FileNotFoundError) as exc:
        print('cfsemu: %s' % exc, file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2, sort_keys=True, default=str))
    return 0
