#!/usr/bin/python3
"""Deliver the same signed Twilio webhook several times at once, as Twilio does when its
first request times out and a retry overlaps it.

    twilio_burst.py URL TOKEN ROUNDS COPIES

Round i posts MessageSid=SMburst<i>, From=+3361300<i>, Body="JOIN paris-10", signed with
Twilio's own RequestValidator, COPIES times from COPIES threads released together by a
barrier. Prints one line per status code: "CODE COUNT"; exit 0.
"""
import collections
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request

from twilio.request_validator import RequestValidator

url, token, rounds, copies = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
validator = RequestValidator(token)
codes = collections.Counter()
lock = threading.Lock()


def post(body, signature, barrier):
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "X-Twilio-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded"})
    barrier.wait()
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            code = r.status
            r.read()
    except urllib.error.HTTPError as e:
        code = e.code
    except OSError as e:
        code = "error:%s" % e
    with lock:
        codes[code] += 1


for i in range(1, rounds + 1):
    params = {"MessageSid": "SMburst%04d" % i, "AccountSid": "ACtest", "From": "+3361300%04d" % i,
              "To": "+33700000000", "Body": "JOIN paris-10", "NumMedia": "0"}
    signature = validator.compute_signature(url, params)
    body = urllib.parse.urlencode(params).encode()
    barrier = threading.Barrier(copies)
    threads = [threading.Thread(target=post, args=(body, signature, barrier)) for _ in range(copies)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
for code, n in sorted(codes.items(), key=str):
    print(code, n)
