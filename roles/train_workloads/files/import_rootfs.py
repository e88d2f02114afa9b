#!/usr/bin/env python
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build the workspace image without a registry and without the docker CLI.

A rootfs made of the host's static busybox (plus applet links, /tmp and the mount points) is
streamed as a tar into the Docker Engine API's image import (``POST /images/create?fromSrc=-``,
what ``docker import`` does), with ``CMD ["/bin/sleep", "infinity"]``.  Debian 13 ships the
CLI in a separate ``docker-cli`` package, so the role does not rely on it.

usage: import_rootfs.py BUSYBOX REPOSITORY:TAG [DOCKER_SOCKET]
"""

import http.client
import io
import json
import socket
import sys
import tarfile
import urllib.parse

APPLETS = ('sh', 'sleep', 'ls', 'cat', 'id', 'env', 'ps', 'mkdir', 'rm', 'cp', 'mv', 'echo')
DIRS = (('bin', 0o755), ('tmp', 0o1777), ('workspace', 0o755), ('state', 0o755),
        ('shared', 0o755), ('home', 0o755))


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        http.client.HTTPConnection.__init__(self, 'localhost', timeout=600)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(600)
        self.sock.connect(self.path)


def rootfs(busybox):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w') as tar:
        for name, mode in DIRS:
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, mode
            tar.addfile(info)
        with open(busybox, 'rb') as handle:
            data = handle.read()
        info = tarfile.TarInfo('bin/busybox')
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))
        for applet in APPLETS:
            info = tarfile.TarInfo('bin/' + applet)
            info.type, info.linkname, info.mode = tarfile.SYMTYPE, 'busybox', 0o777
            tar.addfile(info)
    return buf.getvalue()


def main(argv):
    busybox, image = argv[1], argv[2]
    sock = argv[3] if len(argv) > 3 else '/var/run/docker.sock'
    repo, _unused, tag = image.rpartition(':')
    if not repo or '/' in tag:
        repo, tag = image, 'latest'
    query = urllib.parse.urlencode({'fromSrc': '-', 'repo': repo, 'tag': tag,
                                    'changes': 'CMD ["/bin/sleep", "infinity"]'})
    body = rootfs(busybox)
    conn = UnixConnection(sock)
    conn.request('POST', '/images/create?' + query, body=body,
                 headers={'Content-Type': 'application/x-tar'})
    resp = conn.getresponse()
    text = resp.read().decode('utf-8', 'replace')
    errors = []
    for line in text.splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if doc.get('error'):
            errors.append(doc['error'])
    if resp.status != 200 or errors:
        sys.stderr.write('docker import of %s failed (HTTP %s): %s\n'
                         % (image, resp.status, '; '.join(errors) or text[-500:]))
        return 1
    print('imported %s from %s (%d bytes of rootfs)' % (image, busybox, len(body)))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
