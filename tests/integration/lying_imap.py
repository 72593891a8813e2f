#!/usr/bin/python3
"""An IMAP server that lies about a message's size, for t0012-trust-input.sh.

  lying_imap.py PORTFILE LOG MAIL_FILE

Mailbox INBOX (UIDVALIDITY 7) holds UID 1, whose RFC822.SIZE is 300 but whose BODY[] literal
is announced as 3,000,000,000 bytes (a few KB follow, then nothing), and UID 2, the honest
mail in MAIL_FILE. Answers what the tocsin reader sends (LOGIN, CAPABILITY, SELECT, UID
SEARCH, UID FETCH, UID STORE, LOGOUT); no IDLE, so the reader polls. Each command is
appended to LOG; the port is written to PORTFILE once listening.
"""
import os
import re
import socket
import sys
import threading

PORTFILE, LOG, MAIL = sys.argv[1], sys.argv[2], open(sys.argv[3], "rb").read()
HONEST = MAIL.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
LIE = 3000000000
seen = set()


def uids_of(text, top=2):
    out = set()
    for part in text.split(","):
        a, _, b = part.partition(":")
        lo = int(a)
        hi = top if b == "*" else int(b) if b else lo
        if b == "*" and lo > top:
            lo = hi = top  # "n:*" always names the last message
        out.update(u for u in range(min(lo, hi), max(lo, hi) + 1) if 1 <= u <= top)
    return sorted(out)


def serve(conn):
    f = conn.makefile("rb")
    conn.sendall(b"* OK [CAPABILITY IMAP4rev1 UIDPLUS] lying server ready\r\n")
    while True:
        line = f.readline()
        if not line:
            return
        with open(LOG, "a") as log:
            log.write(line.decode(errors="replace"))
        tag, _, rest = line.decode(errors="replace").strip().partition(" ")
        cmd = rest.upper()
        if cmd.startswith("LOGIN"):
            conn.sendall(b"%s OK LOGIN done\r\n" % tag.encode())
        elif cmd.startswith("CAPABILITY"):
            conn.sendall(b"* CAPABILITY IMAP4rev1 UIDPLUS\r\n%s OK done\r\n" % tag.encode())
        elif cmd.startswith("SELECT"):
            conn.sendall(b"* FLAGS (\\Seen \\Deleted)\r\n* 2 EXISTS\r\n* 0 RECENT\r\n"
                         b"* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT 3] ok\r\n"
                         b"%s OK [READ-WRITE] SELECT done\r\n" % tag.encode())
        elif cmd.startswith("UID SEARCH"):
            m = re.search(r"UID ([0-9:,*]+)", rest[len("UID SEARCH"):], re.I)
            found = uids_of(m.group(1)) if m else [1, 2]
            if "UNSEEN" in cmd:
                found = [u for u in found if u not in seen]
            conn.sendall(b"* SEARCH%s\r\n%s OK SEARCH done\r\n" % (
                b"".join(b" %d" % u for u in found), tag.encode()))
        elif cmd.startswith("UID FETCH"):
            uids = uids_of(rest.split()[2])
            if "BODY" not in cmd:
                for u in uids:
                    size = 300 if u == 1 else len(HONEST)
                    conn.sendall(b"* %d FETCH (UID %d RFC822.SIZE %d)\r\n" % (u, u, size))
                conn.sendall(b"%s OK FETCH done\r\n" % tag.encode())
                continue
            for u in uids:
                if u == 1:
                    conn.sendall(b"* 1 FETCH (UID 1 BODY[] {%d}\r\n" % LIE)
                    conn.sendall(b"x" * 8192)
                    # Hold the connection: a reader that believed us would wait for the rest.
                    f.readline()
                    return
                conn.sendall(b"* %d FETCH (UID %d BODY[] {%d}\r\n" % (u, u, len(HONEST)) + HONEST + b")\r\n")
            conn.sendall(b"%s OK FETCH done\r\n" % tag.encode())
        elif cmd.startswith("UID STORE"):
            seen.update(uids_of(rest.split()[2]))
            conn.sendall(b"%s OK STORE done\r\n" % tag.encode())
        elif cmd.startswith("LOGOUT"):
            conn.sendall(b"* BYE bye\r\n%s OK LOGOUT done\r\n" % tag.encode())
            return
        else:
            conn.sendall(b"%s BAD unknown\r\n" % tag.encode())


def main():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    with open(PORTFILE + ".tmp", "w") as p:
        p.write(str(s.getsockname()[1]))
    os.rename(PORTFILE + ".tmp", PORTFILE)
    while True:
        conn, _ = s.accept()

        def run(c=conn):
            try:
                serve(c)
            except OSError:
                pass
            finally:
                c.close()
        threading.Thread(target=run, daemon=True).start()


main()
