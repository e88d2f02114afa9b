"""raftForceLeaderPlan and raftForceLeader: rebuild quorum-less groups on their survivors."""

import json
import os
import time
import uuid

from cfsemu import membership, plan
from cfsemu.errors import ApiError, needs_confirmation
from cfsemu.ops_raft import gather

PLAN_TTL = 600


def register(node):
    node.router.add('POST', '/v1/raft/force-leader/plan', lambda req: make_plan(node, req))
    node.router.add('POST', '/v1/raft/force-leader', lambda req: apply_plan(node, req))


def plans_dir(node):
    path = os.path.join(node.dir, 'plans')
    os.makedirs(path, exist_ok=True)
    return path


def parse_shards(node, value):
    if value in (None, 'all', '*'):
        return list(range(node.cluster.shards))
    if isinstance(value, int):
        value = [value]
    if isinstance(value, str):
        value = [v for v in value.split(',') if v]
    try:
        shards = sorted(set(int(v) for v in value))
    except (TypeError, ValueError):
        raise ApiError('bad_request', 'shards must be "all" or a list of numbers, got %r' % (
            value,))
    bad = [s for s in shards if not 0 <= s < node.cluster.shards]
    if bad:
        raise ApiError('not_found', 'no shards %s' % bad, shards=bad)
    return shards


def compute(node, site, shards, wanted):
    control = node.control.snapshot()
    reports = gather(node, site)
    # last known leader state: the gossip every reachable node (both sites) received, so a
    # survivor that was cut off still learns what the others heard from the dead leader
    views = list(dict(node.swim.views).items())   # a copy: the SWIM thread adds members
    for other in control['shards']:
        for report in (reports if other == site else gather(node, other)).values():
            views.extend(report.get('views', {}).items())
    entries = []
    for shard in shards:
        spec = control['shards'][site][str(shard)]
        survivors = []
        raft_reports = []
        quorum = False
        for member in spec['members']:
            rep = reports.get(member, {}).get('shards', {}).get(str(shard))
            if rep and rep['epoch'] == spec['epoch']:
                survivors.append({'node': member, 'commit_index': rep['commit_index'],
                                  'last_seq': rep['last_seq']})
                raft_reports.append(rep)
                quorum = quorum or (rep['has_quorum'] and bool(rep['leader']))
        for member, view in views:   # gossip: last known state, dead members too
            entry = view.get(str(shard)) if isinstance(view, dict) else None
            if entry and entry[4] == spec['epoch'] and member in spec['members']:
                raft_reports.append({'commit_index': entry[1], 'leader_commit_index': entry[2],
                                     'last_seq': entry[3],
                                     'leader': member if entry[5] == 2 else None})
        item = plan.plan_shard(shard, spec['epoch'], spec['members'], survivors, raft_reports,
                               quorum, wanted)
        item['site'] = site
        entries.append(item)
    return entries


def fingerprint(entries):
    return [[e['shard'], e['epoch'], sorted(s['node'] for s in e['survivors']), e['has_quorum']]
            for e in entries]


def make_plan(node, req):
    site = req.arg('site') or node.control.snapshot()['active_site']
    if site not in node.control.snapshot()['shards']:
        raise ApiError('not_found', 'no site %r' % site, site=site)
    shards = parse_shards(node, req.arg('shards', 'all'))
    wanted = req.arg('leader') or 'most-up-to-date'
    if wanted not in ('most-up-to-date', 'auto') and wanted not in node.control.snapshot()['nodes']:
        raise ApiError('not_found', 'no node %r' % wanted, node=wanted)
    entries = compute(node, site, shards, wanted)
    now = time.time()
    doc = {'plan_id': uuid.uuid4().hex[:16], 'site': site, 'created': now,
           'expires': now + PLAN_TTL, 'leader': wanted, 'shards': entries,
           'predicted_loss_entries_total': sum(
               (plan.chosen_loss(e) or {}).get('predicted_loss_entries', 0) for e in entries)}
    with open(os.path.join(plans_dir(node), doc['plan_id'] + '.json'), 'w',
              encoding='utf-8') as handle:
        json.dump(dict(doc, fingerprint=fingerprint(entries)), handle)
    return doc


def load_plan(node, plan_id):
    if not plan_id or not all(c in '0123456789abcdef' for c in str(plan_id)):
        raise ApiError('bad_request', 'plan_id is required (from raftForceLeaderPlan)')
    path = os.path.join(plans_dir(node), plan_id + '.json')
    if not os.path.exists(path):
        raise ApiError('not_found', 'no plan %s on node %s: plans are kept by the node that '
                       'made them; make a new plan' % (plan_id, node.name), plan_id=plan_id)
    with open(path, encoding='utf-8') as handle:
        return json.load(handle), path


def apply_plan(node, req):
    doc, path = load_plan(node, req.arg('plan_id'))
    if doc.get('applied'):
        return dict(doc['applied'], changed=False)   # applied once; a resend changes nothing
    actionable = [e for e in doc['shards'] if e['chosen']]
    if not req.flag('confirm_data_loss'):
        would_lose = [{'shard': e['shard'], 'leader': e['chosen'],
                       'predicted_loss_entries': plan.chosen_loss(e)['predicted_loss_entries'],
                       'predicted_loss_seq_range': plan.chosen_loss(e)['predicted_loss_seq_range'],
                       'fenced_members': e['fenced_members']} for e in actionable]
        raise needs_confirmation(
            'confirm_data_loss', 'force-leader rebuilds %d shard group(s) of %s on their '
            'survivors; writes the lost members committed after the survivors last heard of them '
            'are lost (%d entries predicted); set confirm_data_loss to proceed' % (
                len(actionable), doc['site'],
                sum(w['predicted_loss_entries'] for w in would_lose)), would_lose)
    if not actionable:
        return {'plan_id': doc['plan_id'], 'applied': True, 'changed': False,
                'site': doc['site'], 'shards': [], 'fenced_nodes': []}
    if time.time() > doc['expires']:
        raise ApiError('plan_stale', 'plan %s expired; make a new plan' % doc['plan_id'])
    now = compute(node, doc['site'], [e['shard'] for e in doc['shards']], doc['leader'])
    if fingerprint(now) != doc['fingerprint']:
        raise ApiError('plan_stale', 'the cluster changed since plan %s (members alive, quorum '
                       'or epochs differ); make a new plan' % doc['plan_id'],
                       planned=doc['fingerprint'], now=fingerprint(now))
    changes = {e['shard']: {'members': [s['node'] for s in e['survivors']], 'seed': e['chosen'],
                            'reason': 'force-leader plan %s' % doc['plan_id']}
               for e in actionable}
    fenced = sorted(set(m for e in actionable for m in e['fenced_members']))

    def mark_fenced(record):
        for member in fenced:
            record['nodes'][member]['state'] = 'fenced'
        record['fenced'] = sorted(set(record.get('fenced', [])) | set(fenced))
    epochs = membership.rebuild(node, doc['site'], changes, mark_fenced) if changes else {}
    ready = membership.wait_ready(node, doc['site'], epochs) if epochs else {}
    shards = []
    for entry in actionable:
        loss = plan.chosen_loss(entry)
        rep = ready[entry['shard']]
        shards.append({'shard': entry['shard'], 'leader': rep['leader'],
                       'epoch': epochs[entry['shard']], 'members': changes[entry['shard']][
                           'members'], 'fenced_members': entry['fenced_members'],
                       'predicted_loss_entries': loss['predicted_loss_entries'],
                       'predicted_loss_seq_range': loss['predicted_loss_seq_range'],
                       'committed_seq': rep['last_seq']})
    result = {'plan_id': doc['plan_id'], 'applied': True, 'changed': bool(shards),
              'site': doc['site'], 'shards': shards, 'fenced_nodes': fenced}
    doc['applied'] = result
    with open(path, 'w', encoding='utf-8') as handle:
        json.dump(doc, handle)
    return result
