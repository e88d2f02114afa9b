"""Linearizability of a per-key read/write register: a port of porcupine's checker.

The algorithm (Wing & Gong's search, with Lowe's memoisation, as porcupine implements it):

1. Each operation becomes two entries, its call and its return, in one list sorted by time
   (a call before a return at the same instant, so touching operations count as concurrent).
   The list is doubly linked; a call entry points at its return entry (``match``).
2. A depth-first search walks the list.  At a call entry it tries to linearize that operation
   now: the model must accept it from the current state (a read must return the register's
   value).  If it does, and the pair (set of linearized operations, new state) is not in the
   cache, the operation is *lifted* out of the list (call and return), pushed on a stack with
   the state before it, and the walk restarts from the head.  Otherwise the walk moves on to
   the next entry.
3. Reaching a return entry means the operation it closes was not linearized although it has
   already returned: the last choice was wrong.  The search pops the stack, restores the state,
   puts the operation back (*unlift*) and tries the entry after it.  An empty stack there means
   no order exists: the history is not linearizable.
4. An empty list means every operation was linearized: the stack is a witness order.

The cache (bitset of linearized operations, state) is what keeps the search polynomial in
practice: two paths that linearized the same operations into the same state lead to the
same future.

Outcomes, as in Jepsen and etcd's robustness tests: a write that timed out (``unknown``) may
have happened at any time after it was invoked, or never: its return time is infinite, so the
search may place it anywhere after its call, including after everything else (which, for a
register nobody reads afterwards, is the same as never).  A write refused with a definite error
(``fail``) did not happen and is dropped; so are reads without a definite answer.
"""

import collections

INFINITY = float('inf')


class RegisterModel:
    """A single register: ``write(v)`` sets it, ``read() -> v`` must return the current value."""

    def __init__(self, initial=None):
        self.initial = initial

    @staticmethod
    def step(state, op):
        if op['f'] == 'write':
            return True, op['value']
        if op['f'] == 'read':
            return op['output'] == state, state
        raise ValueError('register model: unknown operation %r' % op['f'])


class _Entry:
    __slots__ = ('op', 'id', 'time', 'is_call', 'match', 'prev', 'next')

    def __init__(self, op, ident, time, is_call):
        self.op, self.id, self.time, self.is_call = op, ident, time, is_call
        self.match = self.prev = self.next = None


def prepare(ops):
    """The operations the checker must place, with the call/return times it uses."""
    prepared = []
    for op in ops:
        outcome = op.get('outcome')
        if op['f'] == 'write':
            if outcome == 'fail':
                continue
            ret = op['complete'] if outcome == 'ok' else INFINITY
        elif op['f'] == 'read':
            if outcome != 'ok':
                continue
            ret = op['complete']
        else:
            raise ValueError('register history: unknown operation %r' % op['f'])
        prepared.append((op, op['invoke'], ret))
    return prepared


def _build_list(prepared):
    entries = []
    for ident, (op, call, ret) in enumerate(prepared):
        call_entry = _Entry(op, ident, call, True)
        ret_entry = _Entry(op, ident, ret, False)
        call_entry.match = ret_entry
        entries += [call_entry, ret_entry]
    # Calls before returns at equal times: touching operations are concurrent.
    entries.sort(key=lambda e: (e.time, 0 if e.is_call else 1, e.id))
    head = _Entry(None, -1, None, False)
    previous = head
    for entry in entries:
        previous.next, entry.prev = entry, previous
        previous = entry
    return head


def _lift(entry):
    entry.prev.next = entry.next
    entry.next.prev = entry.prev
    match = entry.match
    match.prev.next = match.next
    if match.next is not None:
        match.next.prev = match.prev


def _unlift(entry):
    match = entry.match
    match.prev.next = match
    if match.next is not None:
        match.next.prev = match
    entry.prev.next = entry
    entry.next.prev = entry


def check_operations(ops, model=None, max_steps=2000000):
    """Check one key's operations.  Returns a dict:

    ``valid`` True / False / None (search budget exhausted), ``order`` (a witness: op ids in
    linearization order) when valid, ``longest`` (op ids of the longest linearizable prefix found) and
    ``unplaced`` (the operations outside it) when not.
    """
    model = model or RegisterModel()
    prepared = prepare(ops)
    head = _build_list(prepared)
    cache = set()
    calls = []
    linearized = 0
    state = model.initial
    entry = head.next
    longest = []
    steps = 0
    while head.next is not None:
        steps += 1
        if steps > max_steps:
            return {'valid': None, 'reason': 'search budget of %d steps exhausted' % max_steps,
                    'operations': len(prepared)}
        if entry.is_call:
            ok, new_state = model.step(state, entry.op)
            if ok:
                new_linearized = linearized | (1 << entry.id)
                key = (new_linearized, _hashable(new_state))
                if key not in cache:
                    cache.add(key)
                    calls.append((entry, state))
                    state, linearized = new_state, new_linearized
                    _lift(entry)
                    if len(calls) > len(longest):
                        longest = [c.op.get('id') for c, _ in calls]
                    entry = head.next
                    continue
            entry = entry.next
        else:
            if not calls:
                placed = set(longest)
                return {'valid': False, 'operations': len(prepared), 'longest': longest,
                        'unplaced': [op for op, _, _ in prepared if op.get('id') not in placed]}
            top, state = calls.pop()
            linearized &= ~(1 << top.id)
            _unlift(top)
            entry = top.next
    return {'valid': True, 'operations': len(prepared),
            'order': [c.op.get('id') for c, _ in calls]}


def _hashable(value):
    if isinstance(value, (list, dict)):
        return repr(value)
    return value


def check_registers(ops, initial=None, max_steps=2000000):
    """Per-key linearizability (registers compose: P-compositionality).

    ``ops`` have ``key``; each key is checked on its own.  Returns ``{'valid', 'keys': {key:
    result}}`` where ``valid`` is False if any key is not linearizable, None if none failed
    but some search ran out of budget.
    """
    by_key = collections.defaultdict(list)
    for op in ops:
        if op['f'] in ('read', 'write'):
            by_key[op['key']].append(op)
    results = {key: check_operations(key_ops, RegisterModel(initial), max_steps)
               for key, key_ops in by_key.items()}
    verdicts = [r['valid'] for r in results.values()]
    valid = False if False in verdicts else (None if None in verdicts else True)
    return {'valid': valid, 'keys': results}
