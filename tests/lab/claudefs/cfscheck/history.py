"""A history of client operations, as Jepsen and etcd's robustness tests keep one.

Every operation a test client issues is recorded twice: when it is invoked and when it
completes.  Its outcome is one of

- ``ok``: the server acknowledged it (a write is durable, a read returned ``output``);
- ``fail``: the server refused it with a definite answer (the operation did not happen);
- ``unknown``: no definite answer (a timeout, a dropped connection): it may or may not have
  happened, and the checkers treat it so.

Times come from one monotonic clock (``time.monotonic_ns``) so that concurrent clients in one
process share a real-time order.  ``save()`` writes the history with the run's seed, so a
failing run can be checked again with ``History.load()``.
"""

import itertools
import json
import os
import threading
import time

OK = 'ok'
FAIL = 'fail'
UNKNOWN = 'unknown'
OUTCOMES = (OK, FAIL, UNKNOWN)


class Op(dict):
    """One operation: a dict (JSON-ready) with attribute access for the common fields."""

    @property
    def id(self):
        return self['id']

    @property
    def outcome(self):
        return self.get('outcome')


class History:
    """Records operations from any number of threads; ``ops`` is the list of records."""

    def __init__(self, seed=None, meta=None, clock=time.monotonic_ns):
        self.seed = seed
        self.meta = dict(meta or {})
        self.ops = []
        self._clock = clock
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._values = itertools.count(1)
        self.events = []  # faults and other marks: {'time', 'name', ...}

    def unique_value(self, prefix='v'):
        """A value no other operation of this history has written (for set/register tests)."""
        return '%s-%s-%d' % (prefix, self.seed, next(self._values))

    def invoke(self, process, f, key=None, value=None):
        """Record the start of an operation; returns the op to pass to ``complete``."""
        op = Op(id=next(self._ids), process=process, f=f, key=key, value=value,
                invoke=self._clock(), complete=None, outcome=None, output=None, error=None)
        with self._lock:
            self.ops.append(op)
        return op

    def complete(self, op, outcome, output=None, error=None):
        if outcome not in OUTCOMES:
            raise ValueError('outcome must be one of %s, not %r' % (OUTCOMES, outcome))
        if op['outcome'] is not None:
            raise ValueError('operation %d already completed' % op['id'])
        op['complete'] = self._clock()
        op['outcome'] = outcome
        op['output'] = output
        op['error'] = error
        return op

    def mark(self, name, **fields):
        """A fault or phase boundary (kill, partition, heal...) on the history's clock."""
        event = dict(fields, name=name, time=self._clock())
        with self._lock:
            self.events.append(event)
        return event

    def pending(self):
        return [op for op in self.ops if op['outcome'] is None]

    def close(self):
        """Operations that never completed (a client thread died) count as unknown."""
        for op in self.pending():
            self.complete(op, UNKNOWN, error='never completed')

    def filter(self, f=None, outcome=None, key=None):
        return [op for op in self.ops
                if (f is None or op['f'] == f) and (outcome is None or op['outcome'] == outcome)
                and (key is None or op['key'] == key)]

    def to_dict(self):
        return {'seed': self.seed, 'meta': self.meta, 'ops': list(self.ops),
                'events': list(self.events)}

    def save(self, path):
        """Write the history as JSON (atomically) and return the path."""
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        tmp = path + '.tmp'
        with open(tmp, 'w') as handle:
            json.dump(self.to_dict(), handle, indent=1, sort_keys=True)
        os.replace(tmp, path)
        return path

    @classmethod
    def from_dict(cls, data):
        history = cls(seed=data.get('seed'), meta=data.get('meta'))
        history.ops = [Op(op) for op in data.get('ops', [])]
        history.events = list(data.get('events', []))
        if history.ops:
            history._ids = itertools.count(max(op['id'] for op in history.ops) + 1)
        return history

    @classmethod
    def load(cls, path):
        with open(path) as handle:
            return cls.from_dict(json.load(handle))

    def summary(self):
        counts = {outcome: 0 for outcome in OUTCOMES}
        for op in self.ops:
            if op['outcome'] in counts:
                counts[op['outcome']] += 1
        return dict(counts, total=len(self.ops), seed=self.seed)
