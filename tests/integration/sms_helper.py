#!/usr/bin/python3
"""Helpers for t0004-sms.sh: sign and send webhooks the way each gateway does.

  sms_helper.py twilio URL TOKEN [name=value ...]      POST a form signed by Twilio's own
                                                        RequestValidator; prints "STATUS BODY"
      --sign-url OTHER_URL   sign for another URL      --sign-token OTHER   sign with another
      --tamper name=value    change a field after signing
  sms_helper.py vonage-sig SECRET name=value ...       Vonage "HMAC SHA-256" sig (hex)
  sms_helper.py post-json URL SECRET JSON [--bad-sig]  generic webhook, X-Tocsin-Signature
  sms_helper.py post-json-lines URL SECRET FILE        the same for each line of FILE, in
                                                        order; prints each status on a line
"""
import hashlib
import hmac
import sys
import urllib.error
import urllib.parse
import urllib.request


def send(req):
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode(), r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), e.headers.get("Content-Type", "")


def pairs(args):
    out = {}
    for a in args:
        k, _, v = a.partition("=")
        out[k] = v
    return out


def twilio(argv):
    from twilio.request_validator import RequestValidator
    url, token = argv[0], argv[1]
    sign_url, sign_token, tamper, fields = url, token, {}, []
    i = 2
    while i < len(argv):
        if argv[i] == "--sign-url":
            sign_url = argv[i + 1]; i += 2
        elif argv[i] == "--sign-token":
            sign_token = argv[i + 1]; i += 2
        elif argv[i] == "--tamper":
            k, _, v = argv[i + 1].partition("="); tamper[k] = v; i += 2
        else:
            fields.append(argv[i]); i += 1
    params = pairs(fields)
    signature = RequestValidator(sign_token).compute_signature(sign_url, params)
    params.update(tamper)
    body = urllib.parse.urlencode(params).encode()
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "X-Twilio-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded"})
    status, text, ctype = send(req)
    print(status, ctype, text.strip())


def vonage_sig(argv):
    secret, params = argv[0], pairs(argv[1:])
    data = "".join("&%s=%s" % (k, params[k].replace("&", "_").replace("=", "_"))
                   for k in sorted(params) if k != "sig")
    print(hmac.new(secret.encode(), data.encode(), hashlib.sha256).hexdigest())


def post_json(argv):
    url, secret, body = argv[0], argv[1], argv[2].encode()
    sig = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if "--bad-sig" in argv:
        sig = "sha256=" + "0" * 64
    headers = {"Content-Type": "application/json"}
    if "--no-sig" not in argv:
        headers["X-Tocsin-Signature"] = sig
    status, text, _ = send(urllib.request.Request(url, data=body, method="POST", headers=headers))
    print(status, text.strip())


def post_json_lines(argv):
    url, secret = argv[0], argv[1].encode()
    with open(argv[2], "rb") as f:
        for line in f:
            body = line.rstrip(b"\n")
            if not body:
                continue
            sig = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
            headers = {"Content-Type": "application/json", "X-Tocsin-Signature": sig}
            status, _, _ = send(urllib.request.Request(url, data=body, method="POST",
                                                       headers=headers))
            print(status)


if __name__ == "__main__":
    {"twilio": twilio, "vonage-sig": vonage_sig, "post-json": post_json,
     "post-json-lines": post_json_lines}[sys.argv[1]](sys.argv[2:])
