"""Test helper: append, count and inspect mail in the test Dovecot with Python's imaplib.

  imap_tool.py PORT append FILE...          APPEND each file to INBOX
  imap_tool.py PORT append-many N           APPEND N generated replies (distinct Message-IDs)
  imap_tool.py PORT count [SEARCH]          number of INBOX messages matching (default ALL)
  imap_tool.py PORT count-box MAILBOX       number of messages in MAILBOX
"""
import imaplib, sys, time

port = int(sys.argv[1])
cmd = sys.argv[2]
m = imaplib.IMAP4("127.0.0.1", port)
m.login("tocsin@example.org", "secret")


def generated(i):
    return (f"From: Person {i} <person{i}@example.net>\r\nTo: reply@lists.example.org\r\n"
            f"Subject: Re: hello\r\nMessage-ID: <gen-{i}-{time.time_ns()}@example.net>\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\nJOIN paris-10\r\n\r\n"
            f"On Tue, Nov 24, 2026 at 9:00 AM Tocsin wrote:\r\n> Hello\r\n").encode()


if cmd == "append":
    for path in sys.argv[3:]:
        data = open(path, "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        typ, _ = m.append("INBOX", None, None, data)
        assert typ == "OK", typ
elif cmd == "append-many":
    for i in range(int(sys.argv[3])):
        typ, _ = m.append("INBOX", None, None, generated(i))
        assert typ == "OK", typ
elif cmd == "count":
    m.select("INBOX", readonly=True)
    typ, data = m.search(None, *(sys.argv[3:] or ["ALL"]))
    print(len(data[0].split()))
elif cmd == "count-box":
    typ, data = m.select(sys.argv[3], readonly=True)
    print(int(data[0]) if typ == "OK" else 0)
m.logout()
