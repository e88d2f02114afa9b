"""testinfra checks for resilience.dr.train_workloads in the lab VM.

The lab image (like a minimal Debian 13) has no docker CLI, so the checks talk to the Engine
API over its socket with the guest's python3."""

import json
import time

import pytest

API = r'''
import http.client, json, socket, sys
class C(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX); self.sock.connect('/var/run/docker.sock')
c = C('localhost'); body = sys.argv[3] if len(sys.argv) > 3 else None
c.request(sys.argv[1], sys.argv[2], body=body, headers={'Content-Type': 'application/json'})
r = c.getresponse(); data = r.read().decode()
print(json.dumps({'status': r.status, 'body': data}))
'''


def api(host, method, path, body=None):
    cmd = host.run('python3 -c %s %s %s %s' % (
        _q(API), method, _q(path), _q(json.dumps(body)) if body is not None else ''))
    assert cmd.rc == 0, cmd.stderr
    out = json.loads(cmd.stdout)
    assert out['status'] < 300, out
    return json.loads(out['body']) if out['body'].strip() else None


def _q(text):
    return "'" + text.replace("'", "'\"'\"'") + "'"


def test_docker_runs_with_data_root_on_the_array(host):
    assert host.service('docker').is_running
    assert host.service('docker').is_enabled
    config = json.loads(host.file('/etc/docker/daemon.json').content_string)
    assert config['data-root'] == '/mnt/storage/docker'
    assert api(host, 'GET', '/info')['DockerRootDir'] == '/mnt/storage/docker'
    dropin = host.file('/etc/systemd/system/docker.service.d/10-resilience-dr-storage.conf')
    assert 'RequiresMountsFor=/mnt/storage/docker' in dropin.content_string


def test_image_was_built_locally(host):
    image = api(host, 'GET', '/images/resilience-dr/workspace:1/json')
    assert image['Config']['Cmd'] == ['/bin/sleep', 'infinity']


@pytest.mark.parametrize('name,uid', [('alice', 1000), ('bob', 1001)])
def test_workspace_container(host, name, uid):
    info = api(host, 'GET', '/containers/workspace-%s/json' % name)
    assert info['State']['Running'] is True
    assert info['HostConfig']['RestartPolicy']['Name'] == 'unless-stopped'
    assert info['Config']['User'] == '%d:%d' % (uid, uid)
    # community.docker writes binds with an explicit ":rw"
    binds = sorted(b[:-3] if b.endswith(':rw') else b for b in info['HostConfig']['Binds'])
    assert binds == sorted(['/mnt/storage/homes/%s:/home/%s' % (name, name),
                            '/mnt/storage/workspaces/%s:/workspace' % name,
                            '/mnt/storage/shared:/shared',
                            '/mnt/storage/docker-volumes/%s-state:/state' % name])
    # The bind mounts really are the array: a file written inside shows up outside.
    exe = api(host, 'POST', '/containers/workspace-%s/exec' % name,
              {'Cmd': ['sh', '-c', 'id -u > /state/probe']})
    api(host, 'POST', '/exec/%s/start' % exe['Id'], {'Detach': True})
    probe = host.file('/mnt/storage/docker-volumes/%s-state/probe' % name)
    for _unused in range(50):
        if probe.exists and probe.content_string.strip():
            break
        time.sleep(0.2)
    assert probe.content_string.strip() == str(uid)
