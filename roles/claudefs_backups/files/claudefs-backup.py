# -*- coding: utf-8 -*-
# Copyright: (c) 2026, resilience.dr contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""claudefs-backup: the daily ClaudeFS metadata snapshot and config export (systemd timer).

    claudefs-backup --config /etc/claudefs-backup/config.json [--rpo-seconds N] [--check-only]

One run, in order:
 1. the metadata consistency check - a snapshot of inconsistent metadata is not taken (it
    would be "the newest snapshot" of a later restore);
 2. a metadata snapshot to s3://<bucket>/metadata/, unless the newest verified one is younger
    than ``min_interval_seconds`` (so a re-run the same day changes nothing);
 3. its verification: the object read back from S3, its SHA-256 against what the cluster
    reported and against its .sha256 sidecar, every member against manifest.json;
 4. the config export: read, checked (JSON with the cluster name) before it is uploaded with
    a .sha256 sidecar, then read back and compared;
 5. retention: objects under metadata/, config/ and pre-restore/ older than
    ``retention_days`` are deleted when ``prune`` is true (listed otherwise), never the newest
    verified snapshot;
 6. the RPO check: the newest verified snapshot must be younger than ``rpo_seconds``; the
    Prometheus textfile metrics are written either way (prometheus_client) and the exit status
    is 2 when the RPO is not met (systemd marks the unit failed: OnFailure= can alert).
Server-side encryption: every PUT asks for it (``sse``: AES256 or aws:kms); an endpoint that
does not apply it does not echo x-amz-server-side-encryption - with ``sse_required`` the run
fails, otherwise the metric claudefs_backup_sse_applied is 0 and the output says so.
Prints one JSON document (the run's result) on stdout.  Stdlib + prometheus_client.
"""

import argparse
import datetime
import hashlib
import hmac
import io
import json
import os
import ssl
import sys
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

S3NS = '{http://s3.amazonaws.com/doc/2006-03-01/}'


class BackupError(Exception):
    pass


class S3:
    """Path-style S3 with AWS Signature V4 (PUT, GET, DELETE, ListObjectsV2)."""

    def __init__(self, spec, timeout=30.0):
        self.endpoint = spec['endpoint'].rstrip('/')
        self.bucket = spec['bucket']
        self.access_key = spec['access_key']
        self.secret_key = spec['secret_key']
        self.region = spec.get('region') or 'us-east-1'
        self.timeout = timeout

    def _sign(self, method, path, query, headers, payload_hash):
        now = datetime.datetime.now(datetime.timezone.utc)
        amz_date, day = now.strftime('%Y%m%dT%H%M%SZ'), now.strftime('%Y%m%d')
        host = urllib.parse.urlsplit(self.endpoint).netloc
        headers = dict((k.lower(), str(v).strip()) for k, v in headers.items())
        headers.update({'host': host, 'x-amz-date': amz_date,
                        'x-amz-content-sha256': payload_hash})
        names = sorted(headers)
        canon_headers = ''.join('%s:%s\n' % (k, headers[k]) for k in names)
        canon_query = '&'.join('%s=%s' % (urllib.parse.quote(k, safe='-_.~'),
                                          urllib.parse.quote(str(v), safe='-_.~'))
                               for k, v in sorted(query.items()))
        request = '\n'.join([method, urllib.parse.quote(path, safe='/-_.~'), canon_query,
                             canon_headers, ';'.join(names), payload_hash])
        scope = '%s/%s/s3/aws4_request' % (day, self.region)
        to_sign = '\n'.join(['AWS4-HMAC-SHA256', amz_date, scope,
                             hashlib.sha256(request.encode()).hexdigest()])
        key = ('AWS4' + self.secret_key).encode()
        for part in (day, self.region, 's3', 'aws4_request'):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        headers['Authorization'] = ('AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, '
                                    'Signature=%s' % (self.access_key, scope, ';'.join(names),
                                                      signature))
        return headers, canon_query

    def request(self, method, key='', body=b'', query=None, headers=None):
        path = '/%s/%s' % (self.bucket, key) if key else '/%s' % self.bucket
        signed, canon_query = self._sign(method, path, query or {}, headers or {},
                                         hashlib.sha256(body).hexdigest())
        url = self.endpoint + urllib.parse.quote(path, safe='/-_.~') + (
            '?' + canon_query if canon_query else '')
        req = urllib.request.Request(url, data=body if method == 'PUT' else None,
                                     method=method, headers=signed)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as answer:
                return answer.status, answer.read(), dict(answer.headers.items())
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return 404, b'', {}
            body = exc.read()[:200].decode('utf-8', 'replace')
            raise BackupError('S3 %s %s: HTTP %s %s' % (method, key, exc.code, body))
        except (urllib.error.URLError, OSError) as exc:
            raise BackupError('S3 %s %s: %s' % (method, key, exc))

    def put(self, key, data, sse=None):
        headers = {'x-amz-server-side-encryption': sse} if sse else {}
        _status, _body, answer = self.request('PUT', key, data, headers=headers)
        echoed = dict((k.lower(), v) for k, v in answer.items()).get(
            'x-amz-server-side-encryption')
        return echoed

    def get(self, key):
        status, body, _headers = self.request('GET', key)
        return body if status != 404 else None

    def delete(self, key):
        self.request('DELETE', key)

    def list(self, prefix):
        out, token = [], None
        while True:
            query = {'list-type': '2', 'prefix': prefix}
            if token:
                query['continuation-token'] = token
            _status, body, _headers = self.request('GET', query=query)
            root = ET.fromstring(body)
            for item in root.iter(S3NS + 'Contents'):
                modified = item.findtext(S3NS + 'LastModified') or ''
                out.append({'key': item.findtext(S3NS + 'Key'),
                            'size': int(item.findtext(S3NS + 'Size') or 0),
                            'modified': _epoch(modified)})
            token = root.findtext(S3NS + 'NextContinuationToken')
            if not token:
                return out


def _epoch(stamp):
    try:
        return datetime.datetime.strptime(stamp.split('.')[0].rstrip('Z'), '%Y-%m-%dT%H:%M:%S') \
            .replace(tzinfo=datetime.timezone.utc).timestamp()
    except ValueError:
        return 0.0


class Admin:
    """The ClaudeFS admin API: the first endpoint that answers."""

    def __init__(self, conf):
        self.endpoints = conf['endpoints']
        self.token = conf['token']
        self.timeout = float(conf.get('timeout', 60))
        self.context = None
        if not conf.get('validate_certs', True):
            self.context = ssl._create_unverified_context()  # pylint: disable=protected-access
        elif conf.get('ca_path'):
            self.context = ssl.create_default_context(cafile=conf['ca_path'])

    def call(self, method, path, body=None):
        last = None
        for endpoint in self.endpoints:
            req = urllib.request.Request(
                endpoint.rstrip('/') + path, method=method,
                data=json.dumps(body).encode() if body is not None else None,
                headers={'Authorization': 'Bearer %s' % self.token,
                         'Content-Type': 'application/json'})
            try:
                with urllib.request.urlopen(req, timeout=self.timeout,
                                            context=self.context) as answer:
                    return json.loads(answer.read())
            except urllib.error.HTTPError as exc:
                error = json.loads(exc.read() or b'{}').get('error', {})
                raise BackupError('%s %s: %s (%s)' % (method, path, error.get('message'),
                                                      error.get('code', exc.code)))
            except (urllib.error.URLError, OSError) as exc:
                last = exc
        raise BackupError('no admin endpoint answered (%s): %s' % (
            ', '.join(self.endpoints), last))


def verify_archive(data, expected):
    """The snapshot read back: SHA-256, then every member against manifest.json."""
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected:
        raise BackupError('snapshot read back has sha256 %s, expected %s' % (digest, expected))
    with tarfile.open(fileobj=io.BytesIO(data), mode='r:gz') as tar:
        members = {}
        for info in tar.getmembers():
            if not info.isfile():
                raise BackupError('snapshot holds a non-file member %r' % info.name)
            members[info.name] = tar.extractfile(info).read()
    manifest = json.loads(members.get('manifest.json') or b'null')
    if not isinstance(manifest, dict) or 'created' not in manifest:
        raise BackupError('snapshot has no readable manifest.json')
    for shard, meta in (manifest.get('shards') or {}).items():
        body = members.get('shards/%s.json' % shard)
        if body is None or hashlib.sha256(body).hexdigest() != meta.get('sha256'):
            raise BackupError('snapshot member shards/%s.json does not match the manifest' % shard)
    return manifest


def newest_verified(state):
    return float((state.get('last_verified') or {}).get('created') or 0.0)


def run(conf, args):
    admin, s3 = Admin(conf), S3(conf['s3'])
    state_path = conf['state_file']
    state = json.load(open(state_path)) if os.path.exists(state_path) else {}
    now = time.time()
    result = {'snapshot_taken': False, 'config_exported': False, 'deleted': [],
              'would_delete': [], 'sse': conf.get('sse') or None, 'sse_applied': None,
              'notes': []}
    sse = conf.get('sse') or None
    if not args.check_only and now - newest_verified(state) >= conf['min_interval_seconds']:
        report = admin.call('POST', '/v1/metadata/consistency-check', {'verbose': False})
        if not report.get('consistent'):
            raise BackupError('metadata consistency check found %s: no snapshot taken of '
                              'inconsistent metadata (cfs-restore-metadata.yml repairs it)' %
                              json.dumps(report.get('summary')))
        stamp = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(now))
        key = 'metadata/metadata-%s.tar.gz' % stamp
        snap = admin.call('POST', '/v1/metadata/snapshots',
                          {'destination': 's3://%s/%s' % (s3.bucket, key)})
        data = s3.get(key)
        if data is None:
            raise BackupError('snapshot %s is not in the bucket after the cluster wrote it' % key)
        manifest = verify_archive(data, snap['sha256'])
        sidecar = (s3.get(key + '.sha256') or b'').decode().split()
        if not sidecar or sidecar[0] != snap['sha256']:
            raise BackupError('snapshot %s: its .sha256 sidecar does not match' % key)
        state['last_verified'] = {'key': key, 'sha256': snap['sha256'],
                                  'created': manifest['created'], 'files': manifest.get('files')}
        result.update(snapshot_taken=True, snapshot=state['last_verified'])

        exported = admin.call('GET', '/v1/config/export')
        if not isinstance(exported, dict) or not exported.get('cluster_name'):
            raise BackupError('the config export is not a JSON document with a cluster_name: '
                              'not uploaded')
        body = json.dumps(exported, indent=1, sort_keys=True).encode()
        digest = hashlib.sha256(body).hexdigest()
        ckey = 'config/config-%s.json' % stamp
        echoed = s3.put(ckey, body, sse)
        s3.put(ckey + '.sha256', ('%s  %s\n' % (digest, os.path.basename(ckey))).encode(), sse)
        back = s3.get(ckey)
        if back is None or hashlib.sha256(back).hexdigest() != digest:
            raise BackupError('config export %s read back differs from what was uploaded' % ckey)
        result.update(config_exported=True, config={'key': ckey, 'sha256': digest})
        result['sse_applied'] = bool(echoed) if sse else None
        if sse and not echoed:
            note = ('the S3 endpoint %s did not apply server-side encryption (no '
                    'x-amz-server-side-encryption in its answer; rclone serve s3 has none)'
                    % s3.endpoint)
            if conf.get('sse_required'):
                raise BackupError(note)
            result['notes'].append(note)
        state['sse_applied'] = result['sse_applied']
        tmp = state_path + '.tmp'
        with open(tmp, 'w') as handle:
            json.dump(state, handle, indent=1, sort_keys=True)
        os.replace(tmp, state_path)

    keep = (state.get('last_verified') or {}).get('key')
    cutoff = now - float(conf['retention_days']) * 86400
    for prefix in ('metadata/', 'config/', 'pre-restore/'):
        for item in s3.list(prefix):
            base = item['key'][:-len('.sha256')] if item['key'].endswith('.sha256') else item['key']
            if item['modified'] and item['modified'] < cutoff and base != keep:
                if conf.get('prune') and not args.check_only:
                    s3.delete(item['key'])
                    result['deleted'].append(item['key'])
                else:
                    result['would_delete'].append(item['key'])
    rpo = float(args.rpo_seconds or conf['rpo_seconds'])
    age = max(0.0, now - newest_verified(state)) if newest_verified(state) else None
    result.update(last_good_snapshot_age_seconds=age, rpo_seconds=rpo,
                  rpo_met=age is not None and age <= rpo)
    return state, result


def write_metrics(path, state, result, ok):
    from prometheus_client import CollectorRegistry, Gauge, write_to_textfile
    registry = CollectorRegistry()

    def gauge(name, doc, value):
        Gauge(name, doc, registry=registry).set(value)
    gauge('claudefs_backup_last_run_success', '1 when the last run finished without error', ok)
    gauge('claudefs_backup_last_run_timestamp_seconds', 'when the last run ended', time.time())
    gauge('claudefs_backup_last_good_snapshot_timestamp_seconds',
          'manifest time of the newest verified metadata snapshot', newest_verified(state))
    gauge('claudefs_backup_rpo_seconds', 'the RPO the snapshots are held to',
          result.get('rpo_seconds') or 0)
    gauge('claudefs_backup_rpo_met', '1 while the newest verified snapshot is within the RPO',
          1 if result.get('rpo_met') else 0)
    gauge('claudefs_backup_sse_applied', '1 when the endpoint applied server-side encryption',
          1 if state.get('sse_applied') else 0)
    gauge('claudefs_backup_objects_deleted', 'objects deleted by retention in the last run',
          len(result.get('deleted') or []))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_to_textfile(path, registry)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', required=True)
    parser.add_argument('--rpo-seconds', type=float, help='override the RPO of the config')
    parser.add_argument('--check-only', action='store_true',
                        help='no snapshot, no deletion: the RPO check and the metrics only')
    args = parser.parse_args(argv)
    with open(args.config) as handle:
        conf = json.load(handle)
    state, result, ok = {}, {}, 0
    try:
        state, result = run(conf, args)
        ok = 1
    except BackupError as exc:
        result = {'failed': True, 'msg': str(exc)}
        if os.path.exists(conf['state_file']):
            state = json.load(open(conf['state_file']))
        age = time.time() - newest_verified(state) if newest_verified(state) else None
        rpo = float(args.rpo_seconds or conf['rpo_seconds'])
        result.update(rpo_seconds=rpo, last_good_snapshot_age_seconds=age,
                      rpo_met=age is not None and age <= rpo)
    write_metrics(conf['textfile'], state, result, ok)
    print(json.dumps(result, indent=1, sort_keys=True))
    if not ok:
        print('claudefs-backup: %s' % result['msg'], file=sys.stderr)
        return 1
    if not result['rpo_met']:
        print('claudefs-backup: RPO NOT MET: the newest verified metadata snapshot is %s old, '
              'the RPO is %d s' % ('%.0f s' % result['last_good_snapshot_age_seconds']
                                   if result['last_good_snapshot_age_seconds'] is not None
                                   else 'missing (none verified yet)', result['rpo_seconds']),
              file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
