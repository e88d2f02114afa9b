"""A drill's scratch cluster (cfsemu up --s3-from): another instance's S3, read-only."""

import pytest

from cfsemu import s3, topology


def test_scratch_borrows_the_other_instances_s3_read_only(tmp_path):
    live = topology.build(str(tmp_path / 'live'), net=201)
    topology.write(live)
    scratch = topology.build(str(tmp_path / 'scratch'), net=202, sites=1,
                             s3_from=str(tmp_path / 'live'))
    assert scratch['s3_from'] == str(tmp_path / 'live')
    for role in ('primary', 'backup'):
        spec = scratch['s3'][role]
        assert spec['endpoint'] == live['s3'][role]['endpoint']
        assert (spec['access_key'], spec['bucket']) == (live['s3'][role]['access_key'],
                                                        live['s3'][role]['bucket'])
        assert spec['read_only'] is True and spec['external'] is True
        assert 'read_only' not in live['s3'][role]
    assert scratch['s3']['active'] == live['s3']['active']
    assert list(scratch['sites']) == ['site-a'] and scratch['nodes']['a1']['address'] == \
        '127.202.1.1'


def test_read_only_credentials_refuse_writes_before_sending_them():
    client = s3.client({'endpoint': 'http://127.0.0.1:9', 'bucket': 'b', 'read_only': True})
    for call in (lambda: client.put('journal/x', b'1'), lambda: client.delete('blobs/y')):
        with pytest.raises(s3.S3Error) as err:
            call()
        assert err.value.status == 403 and 'read-only credentials' in str(err.value)
    with pytest.raises(s3.S3Error) as err:   # reads are sent (and here find nobody)
        client.get('metadata/x')
    assert err.value.unreachable
