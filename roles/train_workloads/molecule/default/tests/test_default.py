"""testinfra checks for resilience.dr.train_workloads in the lab VM."""

import json

import pytest


def test_docker_runs_with_data_root_on_the_array(host):
    assert host.service('docker').is_running
    assert host.service('docker').is_enabled
    config = json.loads(host.file('/etc/docker/daemon.json').content_string)
    assert config['data-root'] == '/mnt/storage/docker'
    info = host.run("docker info --format '{{.DockerRootDir}}'")
    assert info.stdout.strip() == '/mnt/storage/docker'
    dropin = host.file('/etc/systemd/system/docker.service.d/10-resilience-dr-storage.conf')
    assert 'RequiresMountsFor=/mnt/storage/docker' in dropin.content_string


def test_image_was_built_locally(host):
    out = host.run("docker image inspect resilience-dr/workspace:1 --format '{{json .Config.Cmd}}'")
    assert out.rc == 0, out.stderr
    assert json.loads(out.stdout) == ['/bin/sleep', 'infinity']


@pytest.mark.parametrize('name,uid', [('alice', 1000), ('bob', 1001)])
def test_workspace_container(host, name, uid):
    out = host.run('docker container inspect workspace-%s' % name)
    assert out.rc == 0, out.stderr
    info = json.loads(out.stdout)[0]
    assert info['State']['Running'] is True
    assert info['HostConfig']['RestartPolicy']['Name'] == 'unless-stopped'
    assert info['Config']['User'] == '%d:%d' % (uid, uid)
    binds = sorted(info['HostConfig']['Binds'])
    assert binds == sorted(['/mnt/storage/homes/%s:/home/%s' % (name, name),
                            '/mnt/storage/workspaces/%s:/workspace' % name,
                            '/mnt/storage/shared:/shared',
                            '/mnt/storage/docker-volumes/%s-state:/state' % name])
    # The bind mounts really are the array: a file written inside shows up outside.
    write = host.run('docker exec workspace-%s sh -c "id -u > /state/probe"' % name)
    assert write.rc == 0, write.stderr
    assert host.file('/mnt/storage/docker-volumes/%s-state/probe' % name).content_string.strip() == str(uid)
