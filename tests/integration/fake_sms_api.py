#!/usr/bin/python3
"""A fake SMS REST endpoint for t0004-sms.sh that checks exactly what each provider
documents, records every request as one JSON line, and misbehaves on demand.

  fake_sms_api.py PORTFILE LOGFILE SECRET [TWILIO_TOKEN]

Provider by path: /2010-04-01/Accounts/AC123/Messages.json (Twilio: form To, From, Body,
StatusCallback, HTTP Basic AC123:TWILIO_TOKEN, default "tok"), /sms/json (Vonage: form api_key, api_secret, from,
to, text, type), /cgi-bin/sendsms (Kannel: GET username, password, from, to, text, coding,
dlr-url, dlr-mask), /generic (JSON id, to, from, text with X-Tocsin-Signature).
Recipient ending in 0429 → 429 Retry-After: 7; 0503 → 503; 0400 → the provider's
"invalid number" answer; 0999 → no answer for 5 s.

The account checks of `config check --connect`, as each provider documents them:
GET /2010-04-01/Accounts/AC123.json (Twilio, HTTP Basic: the account, status "active";
account AC999 answers status "suspended"; 401 {"code": 20003} otherwise),
GET /account/get-balance?api_key=&api_secret= (Vonage: {"value", "autoReload"} or 401),
GET /cgi-bin/sendsms with only username and password (Kannel smsbox: 403 "Authorization
failed for sendsms" for a wrong user, else 400 "Missing receiver number").
"""
import base64, hashlib, hmac, json, sys, time, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORTFILE, LOGFILE, SECRET = sys.argv[1], sys.argv[2], sys.argv[3].encode()
TWILIO_TOKEN = sys.argv[4] if len(sys.argv) > 4 else "tok"
counter = [0]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def answer(self, code, body, ctype="application/json", headers=()):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self, method):
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        ctype = self.headers.get("Content-Type", "")
        params = {}
        if method == "GET":
            params = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        elif ctype.startswith("application/x-www-form-urlencoded"):
            params = dict(urllib.parse.parse_qsl(raw.decode(), keep_blank_values=True))
        elif ctype.startswith("application/json"):
            params = json.loads(raw)
        auth = self.headers.get("Authorization", "")
        with open(LOGFILE, "a") as f:
            f.write(json.dumps({"method": method, "path": url.path, "auth": auth,
                                "ctype": ctype, "params": params}, ensure_ascii=False) + "\n")
        to = str(params.get("To") or params.get("to") or "")
        if to.endswith("0999"):
            time.sleep(5)
            return self.answer(200, "{}")
        if to.endswith("0429"):
            return self.answer(429, '{"code": 20429, "message": "Too Many Requests"}',
                               headers=[("Retry-After", "7")])
        if to.endswith("0503"):
            return self.answer(503, "busy")
        counter[0] += 1
        n = counter[0]
        p = url.path
        if method == "GET" and p.startswith("/2010-04-01/Accounts/") and p.endswith(".json") and p.count("/") == 3:
            sid = p[len("/2010-04-01/Accounts/"):-len(".json")]
            want = "Basic " + base64.b64encode(("AC123:" + TWILIO_TOKEN).encode()).decode()
            if sid == "AC999":
                return self.answer(200, json.dumps({"sid": sid, "friendly_name": "Old", "status": "suspended"}))
            if sid != "AC123" or auth != want:
                return self.answer(401, '{"code": 20003, "message": "Authenticate", "status": 401}')
            return self.answer(200, json.dumps({"sid": sid, "friendly_name": "Paris 10e", "status": "active"}))
        if method == "GET" and p == "/account/get-balance":
            if params.get("api_key") != "AC123" or params.get("api_secret") != "tok":
                return self.answer(401, '{"error-code": "401", "error-code-label": "authentication failed"}')
            return self.answer(200, '{"value": 12.5, "autoReload": false}')
        if method == "GET" and p == "/cgi-bin/sendsms" and set(params) <= {"username", "password"}:
            if params.get("username") != "AC123" or params.get("password") != "tok":
                return self.answer(403, "Authorization failed for sendsms", "text/html")
            return self.answer(400, "Missing receiver number", "text/html")
        if p == "/2010-04-01/Accounts/AC123/Messages.json":
            want = "Basic " + base64.b64encode(("AC123:" + TWILIO_TOKEN).encode()).decode()
            missing = [k for k in ("To", "From", "Body", "StatusCallback") if k not in params]
            if method != "POST" or auth != want or missing:
                return self.answer(401, '{"code": 20003, "message": "check failed %s"}' % missing)
            if to.endswith("0400"):
                return self.answer(400, '{"code": 21211, "message": "The \'To\' number is not a valid phone number."}')
            return self.answer(201, json.dumps({"sid": "SMfake%04d" % n, "status": "queued"}))
        if p == "/sms/json":
            missing = [k for k in ("api_key", "api_secret", "from", "to", "text", "type", "client-ref", "callback") if k not in params]
            if method != "POST" or params.get("api_key") != "AC123" or missing or to.startswith("+"):
                return self.answer(200, json.dumps({"message-count": "1", "messages": [{"status": "2", "error-text": "check failed %s" % missing}]}))
            if to.endswith("0400"):
                return self.answer(200, json.dumps({"message-count": "1", "messages": [{"status": "3", "error-text": "Invalid to number"}]}))
            return self.answer(200, json.dumps({"message-count": "1", "messages": [{"to": to, "message-id": "V%04d" % n, "status": "0"}]}))
        if p == "/cgi-bin/sendsms":
            missing = [k for k in ("username", "password", "from", "to", "text", "coding", "dlr-url", "dlr-mask") if k not in params]
            if method != "GET" or params.get("username") != "AC123" or params.get("password") != "tok" or missing:
                return self.answer(403, "Authorization failed for sendsms %s" % missing, "text/html")
            if to.endswith("0400"):
                return self.answer(400, "Missing receiver number", "text/html")
            return self.answer(202, "0: Accepted for delivery", "text/html")
        if p == "/generic":
            sig = "sha256=" + hmac.new(SECRET, raw, hashlib.sha256).hexdigest()
            if self.headers.get("X-Tocsin-Signature") != sig:
                return self.answer(401, '{"error": "bad signature"}')
            if to.endswith("0400"):
                return self.answer(422, '{"error": "invalid number"}')
            return self.answer(200, json.dumps({"id": "G%04d" % n}))
        return self.answer(404, "no such path")

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.rename(PORTFILE + ".tmp", PORTFILE)
server.serve_forever()
