"""The contract validator on a small OpenAPI 3.1 document (shared responses, path params)."""

import pytest

from cfscheck.contract import Contract, ContractViolation, Coverage

DOC = {
    'openapi': '3.1.0', 'info': {'title': 't', 'version': '1'},
    'paths': {
        '/v1/raft/shards': {'get': {'operationId': 'raftStatus', 'responses': {
            '200': {'description': 'ok', 'content': {'application/json': {'schema': {
                'type': 'object', 'required': ['shards'], 'properties': {'shards': {
                    'type': 'array', 'items': {'$ref': '#/components/schemas/Shard'}}}}}}},
            '401': {'$ref': '#/components/responses/Error'}}}},
        '/v1/raft/shards/{shard}': {'get': {'operationId': 'raftShardStatus', 'responses': {
            '200': {'description': 'ok', 'content': {'application/json': {'schema': {
                '$ref': '#/components/schemas/Shard'}}}},
            '4XX': {'$ref': '#/components/responses/Error'}}}},
        '/v1/raft/shards/{shard}/debug': {'get': {'operationId': 'raftDebug', 'responses': {
            '200': {'description': 'ok'}}}},
    },
    'components': {
        'schemas': {
            'Shard': {'type': 'object', 'required': ['shard', 'leader'], 'properties': {
                'shard': {'type': 'integer'}, 'leader': {'type': ['string', 'null']}}},
            'Error': {'type': 'object', 'required': ['error'], 'properties': {'error': {
                'type': 'object', 'required': ['code'], 'properties': {
                    'code': {'enum': ['unauthorized', 'not_found']}}}}}},
        'responses': {'Error': {'description': 'error', 'content': {'application/json': {
            'schema': {'$ref': '#/components/schemas/Error'}}}}},
    },
}


def test_match_prefers_the_most_literal_template():
    contract = Contract(DOC)
    assert contract.match('GET', '/v1/raft/shards').id == 'raftStatus'
    assert contract.match('GET', '/v1/raft/shards/3').id == 'raftShardStatus'
    assert contract.match('GET', '/v1/raft/shards/3/debug?x=1').id == 'raftDebug'
    with pytest.raises(ContractViolation, match='no operation'):
        contract.match('DELETE', '/v1/raft/shards')


def test_valid_and_invalid_answers():
    contract = Contract(DOC)
    contract.validate('raftStatus', 200, {'shards': [{'shard': 1, 'leader': None}]})
    with pytest.raises(ContractViolation, match='shards/0/leader'):
        contract.validate('raftStatus', 200, {'shards': [{'shard': 1, 'leader': 3}]})
    contract.validate('raftStatus', 401, {'error': {'code': 'unauthorized'}})
    with pytest.raises(ContractViolation, match='is not one of'):
        contract.validate('raftStatus', 401, {'error': {'code': 'nope'}})
    # a range key (4XX) covers 404; an undocumented status is a violation
    contract.validate('raftShardStatus', 404, {'error': {'code': 'not_found'}})
    with pytest.raises(ContractViolation, match='does not document'):
        contract.validate('raftStatus', 500, {})
    # no JSON body documented: nothing to validate
    contract.validate('raftDebug', 200, None)


def test_coverage_lists_operations_never_called():
    coverage = Coverage(Contract(DOC))
    coverage.record('raftStatus', 200)
    assert coverage.missing() == ['raftDebug', 'raftShardStatus']


def test_a_trailing_path_parameter_may_hold_slashes():
    doc = dict(DOC, paths=dict(DOC['paths'], **{'/v1/files/{path}': {'put': {
        'operationId': 'fileWrite', 'responses': {'200': {'description': 'ok'}}}}}))
    contract = Contract(doc)
    assert contract.match('PUT', '/v1/files/a/b/c.txt').id == 'fileWrite'
    # ... but never where a more literal template matches
    assert contract.match('GET', '/v1/raft/shards/3/debug').id == 'raftDebug'
