"""The admin contract (docs/claudefs/admin-api.yaml) is valid OpenAPI 3.1 and complete."""

import os

import pytest
import yaml
from openapi_spec_validator import validate

from cfsemu.errors import CODES

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
SPEC = os.path.join(REPO, 'docs', 'claudefs', 'admin-api.yaml')
CONTRACT_MD = os.path.join(REPO, 'docs', 'claudefs', 'contract.md')

# operationId -> (method, path) from the shared interface brief
OPERATIONS = {
    'health': ('get', '/v1/health'),
    'status': ('get', '/v1/status'),
    'raftStatus': ('get', '/v1/raft/shards'),
    'raftShardStatus': ('get', '/v1/raft/shards/{shard}'),
    'raftDebug': ('get', '/v1/raft/shards/{shard}/debug'),
    'raftForceElection': ('post', '/v1/raft/shards/{shard}/election'),
    'raftTransferLeader': ('post', '/v1/raft/shards/{shard}/transfer-leader'),
    'raftForceLeaderPlan': ('post', '/v1/raft/force-leader/plan'),
    'raftForceLeader': ('post', '/v1/raft/force-leader'),
    'nodeList': ('get', '/v1/nodes'),
    'nodeAdd': ('post', '/v1/nodes'),
    'nodeDrain': ('post', '/v1/nodes/{node}/drain'),
    'nodeRemove': ('delete', '/v1/nodes/{node}'),
    'clusterInit': ('post', '/v1/cluster/init'),
    'metadataSnapshot': ('post', '/v1/metadata/snapshots'),
    'metadataSnapshotList': ('get', '/v1/metadata/snapshots'),
    'metadataRestore': ('post', '/v1/metadata/restore'),
    'metadataConsistencyCheck': ('post', '/v1/metadata/consistency-check'),
    'metadataRepair': ('post', '/v1/metadata/repair'),
    'journalReplay': ('post', '/v1/metadata/replay-journal'),
    'replicationStatus': ('get', '/v1/replication'),
    'replicationSync': ('post', '/v1/replication/sync'),
    'failoverPrepare': ('post', '/v1/replication/failover/prepare'),
    'failoverTest': ('post', '/v1/replication/failover/test'),
    'failover': ('post', '/v1/replication/failover'),
    'failback': ('post', '/v1/replication/failback'),
    'conflictsList': ('get', '/v1/conflicts'),
    'conflictsResolve': ('post', '/v1/conflicts/resolve'),
    's3Health': ('get', '/v1/s3/health'),
    's3Failover': ('post', '/v1/s3/failover'),
    's3QueueStatus': ('get', '/v1/s3/queue'),
    'configExport': ('get', '/v1/config/export'),
    'fileWrite': ('put', '/v1/files/{path}'),
    'fileRead': ('get', '/v1/files/{path}'),
    'fileList': ('get', '/v1/files'),
    'fileDelete': ('delete', '/v1/files/{path}'),
}
DESTRUCTIVE = {'raftForceLeader': 'confirm_data_loss', 'failover': 'confirm_data_loss',
               'metadataRestore': 'confirm_live_restore', 'metadataRepair': 'confirm_repair',
               'nodeRemove': 'confirm_last_replica'}
STATUS_OF = {'unauthorized': '401', 'not_found': '404', 'bad_request': '400',
             'no_quorum': '503', 'not_leader': '503', 'refused_needs_confirmation': '409',
             'node_unreachable': '502', 'conflict': '409', 'lag_not_zero': '409',
             'plan_stale': '409', 'enospc': '507', 's3_unavailable': '503', 'timeout': '504'}


@pytest.fixture(scope='module')
def spec():
    with open(SPEC, encoding='utf-8') as handle:
        return yaml.safe_load(handle)


def operations(spec):
    for path, item in spec['paths'].items():
        for method, op in item.items():
            if method in ('get', 'put', 'post', 'delete'):
                yield method, path, op


def test_document_is_valid_openapi_31(spec):
    assert spec['openapi'].startswith('3.1')
    validate(spec)


def test_every_operation_of_the_brief_is_present_where_the_brief_puts_it(spec):
    found = {op['operationId']: (method, path) for method, path, op in operations(spec)}
    assert found == OPERATIONS


def test_every_operation_says_whether_a_retry_is_safe_and_which_codes_it_returns(spec):
    enum = set(spec['components']['schemas']['Error']['properties']['error']['properties']
               ['code']['enum'])
    assert enum == set(CODES)
    for _method, _path, op in operations(spec):
        assert isinstance(op.get('x-retry-safe'), bool), op['operationId']
        assert set(op['x-error-codes']) <= enum, op['operationId']
        for code in op['x-error-codes']:
            assert STATUS_OF[code] in op['responses'], (op['operationId'], code)


def test_error_statuses_match_the_emulator(spec):
    for code, status in STATUS_OF.items():
        assert str(CODES[code][0]) == status, code


def test_destructive_operations_name_their_confirmation_field(spec):
    by_id = {op['operationId']: op for _m, _p, op in operations(spec)}
    schemas = spec['components']['schemas']
    for op_id, field in DESTRUCTIVE.items():
        op = by_id[op_id]
        assert op['x-destructive'] == field
        assert 'refused_needs_confirmation' in op['x-error-codes']
        if 'requestBody' in op:
            ref = op['requestBody']['content']['application/json']['schema']['$ref']
            assert field in schemas[ref.rsplit('/', 1)[1]]['properties'], op_id
        else:
            assert field in [p['name'] for p in op['parameters'] if 'name' in p], op_id


def test_contract_prose_maps_every_operation():
    with open(CONTRACT_MD, encoding='utf-8') as handle:
        prose = handle.read()
    for op_id in OPERATIONS:
        assert '`%s`' % op_id in prose, op_id
