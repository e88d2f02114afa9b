"""The admin API contract (docs/claudefs/admin-api.yaml) as a response validator.

``Contract.load(path)`` reads the OpenAPI 3.1 document.  ``match(method, path)`` finds the
operation a concrete request path belongs to (``/v1/raft/shards/3`` -> raftShardStatus), and
``validate(operation_id, status, body)`` checks a JSON answer against the schema the document
gives for that status (``$ref`` into ``components`` resolved by jsonschema's referencing
registry; OpenAPI 3.1 schemas are JSON Schema 2020-12).  An answer whose status the operation
does not document is a contract violation too.  ``Coverage`` counts the operations called.
"""

import re

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

METHODS = ('get', 'put', 'post', 'delete', 'patch')
ROOT = 'urn:claudefs:admin-api'


class ContractViolation(AssertionError):
    pass


def _pointer_escape(token):
    return token.replace('~', '~0').replace('/', '~1')


class Operation:
    def __init__(self, method, template, spec):
        self.method = method.upper()
        self.template = template
        self.spec = spec
        self.id = spec.get('operationId')
        pattern = re.sub(r'\\\{[^}]+\\\}', '[^/]+', re.escape(template))
        self.regex = re.compile('^%s$' % pattern)
        # A trailing parameter (a file path) may hold slashes: a fallback match only.
        greedy = re.sub(r'\[\^/\]\+$', '.+', pattern)
        self.greedy = re.compile('^%s$' % greedy) if greedy != pattern else None
        self.literal = len(re.sub(r'\{[^}]+\}', '', template))

    def responses(self):
        return self.spec.get('responses', {})


class Contract:
    def __init__(self, document):
        self.doc = document
        self.operations = {}
        for template, item in (document.get('paths') or {}).items():
            for method in METHODS:
                if method in item:
                    op = Operation(method, template, item[method])
                    if not op.id:
                        raise ContractViolation('%s %s has no operationId' % (method, template))
                    self.operations[op.id] = op
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self.registry = Registry().with_resource(ROOT, resource)

    @classmethod
    def load(cls, path):
        with open(path) as handle:
            return cls(yaml.safe_load(handle))

    def match(self, method, path):
        """The operation for a concrete request (the most literal template wins)."""
        path = path.split('?', 1)[0]
        candidates = [op for op in self.operations.values()
                      if op.method == method.upper() and op.regex.match(path)]
        if not candidates:
            candidates = [op for op in self.operations.values()
                          if op.method == method.upper() and op.greedy and op.greedy.match(path)]
        if not candidates:
            raise ContractViolation('no operation in the contract for %s %s' % (method, path))
        return max(candidates, key=lambda op: op.literal)

    def _response(self, op, status):
        responses = op.responses()
        for key in (str(status), '%dXX' % (status // 100), 'default'):
            if key in responses:
                return key, responses[key]
        raise ContractViolation('%s (%s %s) answered HTTP %d, which the contract does not '
                                'document (documented: %s)' % (op.id, op.method, op.template,
                                                              status, ', '.join(responses)))

    def schema_ref(self, op, status, content_type='application/json'):
        """The registry URI of the answer's schema (None: the status has no JSON body)."""
        key, response = self._response(op, status)
        pointer = '/paths/%s/%s/responses/%s' % (_pointer_escape(op.template),
                                                 op.method.lower(), _pointer_escape(key))
        if '$ref' in response:  # a shared response in components/responses
            pointer = response['$ref'].split('#', 1)[1]
            response = self._resolve(pointer)
        content = (response.get('content') or {}).get(content_type)
        if not content or 'schema' not in content:
            return None
        return '%s#%s/content/%s/schema' % (ROOT, pointer, _pointer_escape(content_type))

    def validate(self, operation_id, status, body, content_type='application/json'):
        """Raise ContractViolation unless ``body`` is what the contract promises."""
        op = self.operations[operation_id]
        ref = self.schema_ref(op, status, content_type)
        if ref is None:
            return op
        validator = jsonschema.Draft202012Validator({'$ref': ref}, registry=self.registry,
                                                    format_checker=jsonschema.FormatChecker())
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        if errors:
            details = '; '.join('%s: %s' % ('/'.join(map(str, e.absolute_path)) or '<root>',
                                            e.message[:300]) for e in errors[:5])
            raise ContractViolation('%s HTTP %d answer does not match the contract: %s'
                                    % (operation_id, status, details))
        return op

    def _resolve(self, pointer):
        node = self.doc
        for token in pointer.strip('/').split('/'):
            node = node[token.replace('~1', '/').replace('~0', '~')]
        return node

    def retry_safe(self, operation_id):
        """The contract's x-retry-safe (or idempotency) flag for an operation, if given."""
        spec = self.operations[operation_id].spec
        for key in ('x-retry-safe', 'x-safe-to-retry', 'x-idempotent'):
            if key in spec:
                return spec[key]
        return None


class Coverage:
    """Which operations (and which of their documented statuses) the tests exercised."""

    def __init__(self, contract):
        self.contract = contract
        self.calls = {}

    def record(self, operation_id, status):
        self.calls.setdefault(operation_id, set()).add(status)

    def missing(self):
        return sorted(set(self.contract.operations) - set(self.calls))
