"""The porcupine port on histories whose verdict is known (porcupine's own examples among them)."""

import random

import pytest

from cfscheck.linearizability import check_operations, check_registers


def w(value, invoke, complete, outcome='ok', key='x', ident=None):
    return {'id': ident, 'f': 'write', 'key': key, 'value': value, 'invoke': invoke,
            'complete': complete, 'outcome': outcome, 'output': None}


def r(output, invoke, complete, outcome='ok', key='x', ident=None):
    return {'id': ident, 'f': 'read', 'key': key, 'value': None, 'invoke': invoke,
            'complete': complete, 'outcome': outcome, 'output': output}


def number(ops):
    for i, op in enumerate(ops):
        op['id'] = i
    return ops


def test_sequential_history_is_linearizable():
    ops = number([w(1, 0, 1), r(1, 2, 3), w(2, 4, 5), r(2, 6, 7)])
    result = check_operations(ops)
    assert result['valid'] is True
    assert result['order'] == [0, 1, 2, 3]


def test_porcupine_register_example_ok():
    # porcupine's README: C0 write(100) [0,100], C1 read()->100 [25,75], C2 read()->0 [30,60]
    # with initial value 0: read 0 linearizes before the write, read 100 after it.
    ops = number([w(100, 0, 100), r(100, 25, 75), r(0, 30, 60)])
    model_initial = 0
    result = check_registers(ops, initial=model_initial)
    assert result['valid'] is True


def test_porcupine_register_example_bad():
    # Same, but the read of 0 starts after the read of 100 returned: no order exists.
    ops = number([w(100, 0, 100), r(100, 10, 30), r(0, 40, 90)])
    assert check_registers(ops, initial=0)['valid'] is False


def test_stale_read_after_acknowledged_write_is_not_linearizable():
    ops = number([w(1, 0, 1), w(2, 2, 3), r(1, 4, 5)])
    result = check_operations(ops)
    assert result['valid'] is False
    assert result['longest'] == [0, 1]
    assert [op['id'] for op in result['unplaced']] == [2]


def test_concurrent_writes_either_order():
    ops = number([w(1, 0, 10), w(2, 1, 9), r(1, 11, 12)])
    assert check_operations(ops)['valid'] is True
    ops = number([w(1, 0, 10), w(2, 1, 9), r(2, 11, 12)])
    assert check_operations(ops)['valid'] is True


def test_reads_cannot_flip_back():
    # Two concurrent writes; reads see 1, then 2, then 1 again: not linearizable.
    ops = number([w(1, 0, 10), w(2, 0, 10), r(1, 11, 12), r(2, 13, 14), r(1, 15, 16)])
    assert check_operations(ops)['valid'] is False


def test_timed_out_write_may_have_happened():
    ops = number([w(1, 0, 1), w(2, 2, None, outcome='unknown'), r(2, 10, 11)])
    assert check_operations(ops)['valid'] is True


def test_timed_out_write_may_not_have_happened():
    ops = number([w(1, 0, 1), w(2, 2, None, outcome='unknown'), r(1, 10, 11)])
    assert check_operations(ops)['valid'] is True


def test_timed_out_write_cannot_take_effect_before_its_call():
    ops = number([w(1, 0, 1), r(2, 2, 3), w(2, 5, None, outcome='unknown')])
    assert check_operations(ops)['valid'] is False


def test_timed_out_write_takes_effect_once():
    # Once a later write is read, the timed-out write cannot "happen again" later.
    ops = number([w(2, 0, None, outcome='unknown'), r(2, 1, 2), w(3, 3, 4), r(3, 5, 6),
                  r(2, 7, 8)])
    assert check_operations(ops)['valid'] is False


def test_failed_write_did_not_happen():
    ops = number([w(1, 0, 1), w(2, 2, 3, outcome='fail'), r(2, 4, 5)])
    assert check_operations(ops)['valid'] is False
    ops = number([w(1, 0, 1), w(2, 2, 3, outcome='fail'), r(1, 4, 5)])
    assert check_operations(ops)['valid'] is True


def test_unknown_reads_are_ignored():
    ops = number([w(1, 0, 1), r(99, 2, None, outcome='unknown'), r(1, 4, 5)])
    assert check_operations(ops)['valid'] is True


def test_touching_operations_are_concurrent():
    # A read invoked at the instant a write returns may see it (calls sort before returns).
    ops = number([w(1, 0, 5), r(1, 5, 6)])
    assert check_operations(ops)['valid'] is True
    ops = number([r(1, 0, 5), w(1, 5, 6)])
    assert check_operations(ops)['valid'] is True


def test_keys_are_checked_independently():
    ops = number([w(1, 0, 1, key='a'), w(2, 0, 1, key='b'), r(1, 2, 3, key='a'),
                  r(2, 2, 3, key='b')])
    assert check_registers(ops)['valid'] is True
    ops.append(r(1, 4, 5, key='b'))
    number(ops)
    result = check_registers(ops)
    assert result['valid'] is False
    assert result['keys']['a']['valid'] is True
    assert result['keys']['b']['valid'] is False


def test_budget_exhaustion_is_inconclusive_not_a_pass():
    ops = number([w(i, 0, 100) for i in range(12)] + [r(99, 101, 102)])
    result = check_operations(ops, max_steps=50)
    assert result['valid'] is None


def _simulate(seed, clients=4, ops_per_client=30, lie=False):
    """A real linearizable register driven by concurrent clients (discrete-event simulation):
    every op takes effect at one random instant inside its interval.  ``lie`` makes one read
    return a value the register held long before (a stale read)."""
    rng = random.Random(seed)
    intervals = []
    for client in range(clients):
        t = rng.randint(0, 5)
        for unused in range(ops_per_client):
            start = t
            point = start + rng.randint(1, 5)
            end = point + rng.randint(1, 5)
            intervals.append((client, start, point, end))
            t = end + rng.randint(0, 3)
    events = sorted(intervals, key=lambda item: item[2])
    value, ops, history_values = None, [], [None]
    for n, (client, start, point, end) in enumerate(events):
        if rng.random() < 0.5:
            value = 'v%d' % n
            history_values.append(value)
            ops.append(w(value, start, end))
        else:
            ops.append(r(value, start, end))
    if lie:
        reads = [op for op in ops if op['f'] == 'read' and op['output'] is not None]
        victim = max(reads, key=lambda op: op['invoke'])
        written = [op for op in ops if op['f'] == 'write' and op['complete'] < victim['invoke']]
        old = min(written, key=lambda op: op['complete'])
        # stale only if a later write completed after it and before the read began
        assert any(op['invoke'] > old['complete'] and op['complete'] < victim['invoke']
                   for op in written)
        victim['output'] = old['value']
    return number(ops)


@pytest.mark.parametrize('seed', range(20))
def test_random_linearizable_histories_pass(seed):
    assert check_operations(_simulate(seed))['valid'] is True


@pytest.mark.parametrize('seed', range(5))
def test_random_history_with_a_stale_read_fails(seed):
    assert check_operations(_simulate(seed, lie=True))['valid'] is False
