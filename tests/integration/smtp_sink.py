#!/usr/bin/python3
"""An SMTP server for tests (aiosmtpd) that delivers into a Maildir and fails on demand.

    smtp_sink.py PORT MAILDIR [--delay SECONDS] [--auth USER:PASSWORD] [--tls CERT.pem]
                 [--tempfail-rate FRACTION]

The recipient's local part decides the answer to DATA:
    tempfail-once...@  451 the first time this address is seen, then accepted
    tempfail...@       451 always
    reject...@         550
    unknown...@        550 5.1.1 at RCPT TO (no such user: a hard bounce)
    anything else      250, delivered
With --tempfail-rate (e.g. 0.3), that fraction of DATA commands, drawn at random, is
answered 451 whatever the recipient (the fault suite's flaky relay).
Each delivered message gets the Return-Path and Delivered-To a final MTA would add, and
X-Test-Session: the client's port, which tells the SMTP sessions of a batch apart.
With --tls (a PEM holding the certificate and its key), STARTTLS is offered and required.
With --auth, AUTH PLAIN/LOGIN (without TLS) is offered and required before MAIL FROM.
Prints "ready" on stdout once listening; stops on SIGTERM.
"""
import asyncio
import mailbox
import os
import random
import signal
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


class Handler:
    def __init__(self, maildir, delay, tempfail_rate=0.0):
        if os.path.exists(maildir):
            self.box = mailbox.Maildir(maildir, create=False)
        else:
            self.box = mailbox.Maildir(maildir, create=True)
        self.delay = delay
        self.tempfail_rate = tempfail_rate
        self.random = random.Random()
        self.seen = set()
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.split("@")[0].lower().startswith("unknown"):
            return "550 5.1.1 <%s>: Recipient address rejected: no such user" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.tempfail_rate and self.random.random() < self.tempfail_rate:
            return "451 4.3.0 random temporary failure (test sink)"
        for rcpt in envelope.rcpt_tos:
            local = rcpt.split("@")[0].lower()
            if local.startswith("reject"):
                return "550 5.1.1 mailbox unavailable (test sink)"
            if local.startswith("tempfail-once"):
                with self.lock:
                    first = rcpt not in self.seen
                    self.seen.add(rcpt)
                if first:
                    return "451 4.3.0 try again later (test sink)"
            elif local.startswith("tempfail"):
                return "451 4.3.0 try again later (test sink)"
        data = envelope.original_content or envelope.content
        head = "Return-Path: <%s>\r\nDelivered-To: %s\r\nX-Test-Session: %s\r\n" % (
            envelope.mail_from, ",".join(envelope.rcpt_tos), session.peer[1])
        with self.lock:
            self.box.add(head.encode() + data)
        return "250 2.0.0 Ok: queued as T%d" % (len(self.seen) + os.getpid())


def main():
    port, maildir = int(sys.argv[1]), sys.argv[2]
    args = sys.argv[3:]
    delay, auth, tls, tempfail_rate = 0.0, None, None, 0.0
    while args:
        if args[0] == "--delay":
            delay = float(args[1])
        elif args[0] == "--tempfail-rate":
            tempfail_rate = float(args[1])
        elif args[0] == "--auth":
            auth = args[1].encode().split(b":", 1)
        elif args[0] == "--tls":
            tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls.load_cert_chain(args[1])
        args = args[2:]
    extra = {}
    if auth:
        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = [auth_data.login, auth_data.password] == auth
            return AuthResult(success=ok, handled=False)
        extra = dict(authenticator=authenticator, auth_require_tls=False, auth_required=True)
    if tls:
        extra.update(tls_context=tls, require_starttls=True)
    controller = Controller(Handler(maildir, delay, tempfail_rate), hostname="127.0.0.1", port=port,
                            decode_data=False, **extra)
    controller.start()
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
