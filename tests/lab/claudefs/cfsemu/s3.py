"""A small S3 client: AWS Signature Version 4, path-style URLs, stdlib only.

Only what ClaudeFS uses (GET, PUT, HEAD, DELETE) plus ListObjectsV2 for snapshot listings.
``sign()`` is pure and unit-tested against AWS's published example.
"""

import datetime
import hashlib
import hmac
import http.client
import socket
import xml.etree.ElementTree as ET
from urllib.parse import quote, urlsplit

EMPTY_SHA256 = hashlib.sha256(b'').hexdigest()


class S3Error(Exception):
    def __init__(self, message, status=None, unreachable=False):
        super().__init__(message)
        self.status = status
        self.unreachable = unreachable


def _hmac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signing_key(secret, date, region, service='s3'):
    key = _hmac(('AWS4' + secret).encode(), date)
    key = _hmac(key, region)
    key = _hmac(key, service)
    return _hmac(key, 'aws4_request')


def canonical_query(query):
    pairs = sorted((quote(k, safe='-_.~'), quote(v, safe='-_.~')) for k, v in query.items())
    return '&'.join('%s=%s' % pair for pair in pairs)


def sign(method, host, path, query, headers, payload_hash, access_key, secret, region, when,
         service='s3'):
    """Return the headers (with Authorization) for a SigV4-signed request.

    ``headers`` are extra headers to sign; ``when`` is a UTC datetime.
    """
    amz_date = when.strftime('%Y%m%dT%H%M%SZ')
    date = when.strftime('%Y%m%d')
    hdrs = {k.lower(): str(v).strip() for k, v in headers.items()}
    hdrs['host'] = host
    hdrs['x-amz-date'] = amz_date
    if service == 's3':
        hdrs['x-amz-content-sha256'] = payload_hash
    names = sorted(hdrs)
    canonical = '\n'.join([
        method, quote(path, safe='/-_.~'), canonical_query(query),
        ''.join('%s:%s\n' % (n, hdrs[n]) for n in names), ';'.join(names), payload_hash])
    scope = '%s/%s/%s/aws4_request' % (date, region, service)
    to_sign = '\n'.join(['AWS4-HMAC-SHA256', amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    signature = hmac.new(signing_key(secret, date, region, service), to_sign.encode(),
                         hashlib.sha256).hexdigest()
    hdrs['authorization'] = ('AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, '
                             'Signature=%s' % (access_key, scope, ';'.join(names), signature))
    return hdrs


class S3Client:
    def __init__(self, endpoint, access_key, secret_key, bucket, region='us-east-1',
                 timeout=2.0, read_only=False):
        split = urlsplit(endpoint)
        self.scheme = split.scheme or 'http'
        self.host = split.netloc
        self.endpoint = endpoint
        self.bucket = bucket
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        self.timeout = timeout
        self.read_only = read_only

    def _writable(self, method, key):
        # read-only credentials (a drill's scratch cluster): S3 itself would answer 403
        if self.read_only:
            raise S3Error('%s %s: HTTP 403 AccessDenied (read-only credentials for %s)'
                          % (method, key, self.endpoint), 403)

    def request(self, method, key='', body=b'', query=None, timeout=None):
        path = '/%s' % self.bucket + ('/%s' % key if key else '')
        query = query or {}
        payload_hash = hashlib.sha256(body).hexdigest()
        headers = sign(method, self.host, path, query, {}, payload_hash, self.access_key,
                       self.secret_key, self.region, datetime.datetime.utcnow())
        target = quote(path, safe='/-_.~') + ('?' + canonical_query(query) if query else '')
        cls = http.client.HTTPSConnection if self.scheme == 'https' else http.client.HTTPConnection
        conn = cls(self.host, timeout=timeout or self.timeout)
        try:
            conn.request(method, target, body=body or None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, socket.timeout, http.client.HTTPException) as exc:
            raise S3Error('%s unreachable: %s' % (self.endpoint, exc), unreachable=True)
        finally:
            conn.close()
        return resp.status, data

    def put(self, key, data):
        self._writable('PUT', key)
        status, body = self.request('PUT', key, data)
        if status != 200:
            raise S3Error('PUT %s: HTTP %s %s' % (key, status, body[:200]), status)

    def get(self, key):
        status, body = self.request('GET', key)
        if status == 404:
            return None
        if status != 200:
            raise S3Error('GET %s: HTTP %s' % (key, status), status)
        return body

    def exists(self, key):
        status, _body = self.request('HEAD', key)
        if status in (200, 404):
            return status == 200
        raise S3Error('HEAD %s: HTTP %s' % (key, status), status)

    def delete(self, key):
        self._writable('DELETE', key)
        status, _body = self.request('DELETE', key)
        if status not in (200, 204, 404):
            raise S3Error('DELETE %s: HTTP %s' % (key, status), status)

    def list(self, prefix=''):
        """[(key, size, last modified)] under a prefix (ListObjectsV2, all pages)."""
        out = []
        token = None
        while True:
            query = {'list-type': '2', 'prefix': prefix}
            if token:
                query['continuation-token'] = token
            status, body = self.request('GET', '', query=query)
            if status != 200:
                raise S3Error('LIST %s: HTTP %s' % (prefix, status), status)
            root = ET.fromstring(body)
            ns = root.tag[:root.tag.index('}') + 1] if root.tag.startswith('{') else ''
            for item in root.iter(ns + 'Contents'):
                out.append((item.findtext(ns + 'Key'), int(item.findtext(ns + 'Size') or 0),
                            item.findtext(ns + 'LastModified') or ''))
            if root.findtext(ns + 'IsTruncated') != 'true':
                return out
            token = root.findtext(ns + 'NextContinuationToken')

    def ping(self):
        status, _body = self.request('GET', '', query={'list-type': '2', 'max-keys': '1'},
                                     timeout=1.0)
        if status != 200:
            raise S3Error('bucket %s: HTTP %s' % (self.bucket, status), status)


def client(spec, timeout=2.0):
    return S3Client(spec['endpoint'], spec.get('access_key', ''), spec.get('secret_key', ''),
                    spec.get('bucket', 'claudefs'), spec.get('region', 'us-east-1'), timeout,
                    read_only=bool(spec.get('read_only')))
