#!/usr/bin/python3
"""A fake SMS provider at a real provider's distance: every request is answered after a fixed
latency, many at a time, over keep-alive HTTP/1.1 connections (asyncio, one thread).

  fake_sms_provider.py PORTFILE LOGFILE [--latency-ms 150] [--limit N] [--retry-after S]
                       [--no-retry-after]

It answers the sending request of each provider tocsin speaks, by path:
  /2010-04-01/Accounts/ACCOUNT/Messages.json   Twilio: 201 {"sid": "SM…"}
  /sms/json                                    Vonage: 200 {"messages": [{"status": "0", …}]}
  /cgi-bin/sendsms                             Kannel: 202 "0: Accepted for delivery"
  anything else (POST)                         generic: 200 {"id": "G…"}
With --limit N, like a provider's account limit, at most N requests are accepted in any
second (a sliding window over arrival times); the others get 429 with "Retry-After: S"
(default 1; --no-retry-after leaves the header out) and are not accepted.

LOGFILE gets one line per request, written when it arrives:
  ARRIVAL_UNIX_TIME  STATUS  RECIPIENT  ID
where ID is what identifies the message to the tests: the generic body's "id", Vonage's
client-ref, else the recipient. The port is written to PORTFILE once listening.
"""
import argparse
import asyncio
import collections
import json
import os
import time
import urllib.parse

parser = argparse.ArgumentParser()
parser.add_argument("portfile")
parser.add_argument("logfile")
parser.add_argument("--latency-ms", type=float, default=150.0)
parser.add_argument("--limit", type=int, default=0)
parser.add_argument("--retry-after", type=int, default=1)
parser.add_argument("--no-retry-after", action="store_true")
args = parser.parse_args()
LATENCY = args.latency_ms / 1000.0

log = open(args.logfile, "a", buffering=1)
accepted_times = collections.deque()
counter = [0]


def params_of(method, target, headers, body):
    url = urllib.parse.urlsplit(target)
    if method == "GET":
        return url.path, dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
    ctype = headers.get("content-type", "")
    if ctype.startswith("application/json"):
        try:
            return url.path, json.loads(body)
        except ValueError:
            return url.path, {}
    return url.path, dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def decide(path, params):
    """The answer for one request: (status, content type, body, extra headers)."""
    now = time.time()
    to = str(params.get("To") or params.get("to") or "")
    ident = str(params.get("id") or params.get("client-ref") or to)
    if args.limit:
        while accepted_times and accepted_times[0] <= now - 1.0:
            accepted_times.popleft()
        if len(accepted_times) >= args.limit:
            log.write("%.6f 429 %s %s\n" % (now, to, ident))
            extra = [] if args.no_retry_after else [("Retry-After", str(args.retry_after))]
            return 429, "application/json", '{"code": 20429, "message": "Too Many Requests"}', extra
        accepted_times.append(now)
    counter[0] += 1
    n = counter[0]
    if "/Messages.json" in path:
        answer = (201, "application/json", json.dumps({"sid": "SMfake%08d" % n, "status": "queued"}), [])
    elif path == "/sms/json":
        answer = (200, "application/json", json.dumps(
            {"message-count": "1", "messages": [{"to": to, "message-id": "V%08d" % n, "status": "0"}]}), [])
    elif path == "/cgi-bin/sendsms":
        answer = (202, "text/html", "0: Accepted for delivery", [])
    else:
        answer = (200, "application/json", json.dumps({"id": "G%08d" % n}), [])
    log.write("%.6f %d %s %s\n" % (now, answer[0], to, ident))
    return answer


async def serve(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            length = int(headers.get("content-length") or 0)
            body = await reader.readexactly(length) if length else b""
            path, params = params_of(method, target, headers, body)
            status, ctype, text, extra = decide(path, params)
            await asyncio.sleep(LATENCY)
            data = text.encode()
            reason = {200: "OK", 201: "Created", 202: "Accepted", 429: "Too Many Requests"}[status]
            out = ["HTTP/1.1 %d %s" % (status, reason), "Content-Type: " + ctype,
                   "Content-Length: %d" % len(data)] + ["%s: %s" % h for h in extra]
            close = headers.get("connection", "").lower() == "close"
            if close:
                out.append("Connection: close")
            writer.write(("\r\n".join(out) + "\r\n\r\n").encode() + data)
            await writer.drain()
            if close:
                break
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    with open(args.portfile + ".tmp", "w") as f:
        f.write(str(port))
    os.rename(args.portfile + ".tmp", args.portfile)
    async with server:
        await server.serve_forever()


asyncio.run(main())
