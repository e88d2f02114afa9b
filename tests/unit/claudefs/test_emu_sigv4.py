"""The emulator's S3 client signs exactly as AWS documents (Signature Version 4 examples)."""

import datetime
import hashlib

from cfsemu import s3

KEY = 'AKIAIOSFODNN7EXAMPLE'
SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
WHEN = datetime.datetime(2013, 5, 24, 0, 0, 0)
HOST = 'examplebucket.s3.amazonaws.com'


def signature(headers):
    return headers['authorization'].rsplit('Signature=', 1)[1]


def test_signing_key_matches_the_aws_example():
    key = s3.signing_key('wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', '20120215', 'us-east-1',
                         'iam')
    assert key.hex() == 'f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d'


def test_get_object_example():
    headers = s3.sign('GET', HOST, '/test.txt', {}, {'Range': 'bytes=0-9'}, s3.EMPTY_SHA256,
                      KEY, SECRET, 'us-east-1', WHEN)
    assert 'SignedHeaders=host;range;x-amz-content-sha256;x-amz-date' in headers['authorization']
    assert signature(headers) == \
        'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41'


def test_put_object_example_with_an_escaped_key():
    payload = hashlib.sha256(b'Welcome to Amazon S3.').hexdigest()
    headers = s3.sign('PUT', HOST, '/test$file.text', {},
                      {'Date': 'Fri, 24 May 2013 00:00:00 GMT',
                       'x-amz-storage-class': 'REDUCED_REDUNDANCY'},
                      payload, KEY, SECRET, 'us-east-1', WHEN)
    assert signature(headers) == \
        '98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd'


def test_list_objects_example_with_a_query():
    headers = s3.sign('GET', HOST, '/', {'max-keys': '2', 'prefix': 'J'}, {}, s3.EMPTY_SHA256,
                      KEY, SECRET, 'us-east-1', WHEN)
    assert signature(headers) == \
        '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7'


def test_canonical_query_sorts_and_escapes():
    assert s3.canonical_query({'prefix': 'a b/c', 'list-type': '2'}) == \
        'list-type=2&prefix=a%20b%2Fc'
