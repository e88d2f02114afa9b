"""Jepsen's set checker over a history of ``add`` (write) operations.

Each write adds one unique element (the value written).  After recovery the test reads what
the system holds and the checker sorts every element into:

- ``ok``: acknowledged and present;
- ``lost``: acknowledged but missing (an RPO violation unless the scenario predicted it);
- ``unexpected``: present but never written by anyone (corruption, a phantom);
- ``recovered``: the write's outcome was unknown (timed out), yet the element is present;
- ``failed_present``: the write was refused with a definite error, yet the element is present
  (the refusal lied: reported separately and makes the result invalid);
- ``unknown_missing``: unknown outcome and absent (allowed: the write did not happen).

``predicted_loss`` is a set of elements the scenario said it might lose (force-leader's plan):
lost elements inside it are ``predicted_lost`` and do not make the result invalid, lost
elements outside it do.
"""


def check_set(history_ops, present, f=('add', 'write'), predicted_loss=None):
    """Check the final contents ``present`` (iterable of elements) against the writes.

    ``history_ops`` is a list of op dicts (see ``history.History.ops``): ``f`` selects the
    write operations, their ``value`` is the element.  Returns a dict with sorted lists and
    ``valid``.
    """
    kinds = (f,) if isinstance(f, str) else tuple(f)
    predicted = set(predicted_loss or ())
    present = set(present)
    attempts = {}
    for op in history_ops:
        if op['f'] not in kinds:
            continue
        value = op['value']
        # A value written twice (a client retry with the same value) takes its best outcome.
        rank = {'ok': 3, 'unknown': 2, 'fail': 1, None: 2}
        previous = attempts.get(value)
        if previous is None or rank[op['outcome']] > rank[previous]:
            attempts[value] = op['outcome']
    acked = {v for v, outcome in attempts.items() if outcome == 'ok'}
    unknown = {v for v, outcome in attempts.items() if outcome in ('unknown', None)}
    failed = {v for v, outcome in attempts.items() if outcome == 'fail'}
    lost = acked - present
    result = {
        'attempted': len(attempts),
        'acknowledged': len(acked),
        'ok': sorted(acked & present),
        'lost': sorted(lost - predicted),
        'predicted_lost': sorted(lost & predicted),
        'unexpected': sorted(present - set(attempts)),
        'recovered': sorted(unknown & present),
        'unknown_missing': sorted(unknown - present),
        'failed_present': sorted(failed & present),
    }
    result['valid'] = not (result['lost'] or result['unexpected'] or result['failed_present'])
    return result


def explain(result):
    """A one-paragraph account of a set-check result, for assertion messages."""
    parts = ['%d attempted, %d acknowledged, %d ok' % (
        result['attempted'], result['acknowledged'], len(result['ok']))]
    for key in ('lost', 'predicted_lost', 'unexpected', 'recovered', 'unknown_missing',
                'failed_present'):
        if result[key]:
            sample = ', '.join(map(str, result[key][:5]))
            parts.append('%s %d (%s%s)' % (key, len(result[key]), sample,
                                           ', ...' if len(result[key]) > 5 else ''))
    return '; '.join(parts)
