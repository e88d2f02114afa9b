"""Capture admin API responses from a running emulator as unit-test fixtures.

    .venv/bin/python tests/unit/plugins/module_utils/cfs/capture.py STATE_DIR NAME GET:/v1/raft/shards ...
    .venv/bin/python tests/unit/plugins/module_utils/cfs/capture.py STATE_DIR NAME 'POST:/v1/raft/force-leader/plan:{"site":"site-a"}'

Writes tests/unit/fixtures/cfs/emulator_<NAME>_<operation>.json (the token stays out).
Not a test; run by hand after breaking the cluster the way the fixture's name says.
"""

import json
import os
import sys
import urllib.request

FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'fixtures',
                   'cfs')


def main(state_dir, name, *calls):
    with open(os.path.join(state_dir, 'cluster.json')) as f:
        doc = json.load(f)
    node = sorted(doc['nodes'])[0]
    base = 'http://%s:%d' % (doc['nodes'][node]['address'], doc['admin_port'])
    for call in calls:
        method, path, *body = call.split(':', 2)
        data = body[0].encode() if body else None
        req = urllib.request.Request(base + path, data=data, method=method, headers={
            'Authorization': 'Bearer ' + doc['admin_token'], 'Content-Type': 'application/json'})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                payload = json.load(resp)
        except urllib.error.HTTPError as exc:
            payload = json.load(exc)
        slug = path.strip('/').replace('/', '_').replace('v1_', '')
        out = os.path.join(FIX, 'emulator_%s_%s_%s.json' % (name, method.lower(), slug))
        with open(out, 'w') as f:
            json.dump(payload, f, indent=1, sort_keys=True)
        print(out)


if __name__ == '__main__':
    main(*sys.argv[1:])
