#!/usr/bin/python3
"""Parse one delivered message with Python's email package and check a header list.

    check_headers.py FILE 'Header=expected' 'Header~regex' '!Header' 'Header?' ...

  Name=value   the (RFC 2047 decoded) header equals value
  Name~regex   the decoded header matches the regular expression (re.fullmatch)
  !Name        the header is absent
  raw:Name     the header occupies exactly one line in the raw message (not folded)
  body~regex   the decoded text/plain part matches (re.search)
  html~regex   the text/html part matches (re.search); 'html' alone: no HTML part expected
  date         Date parses and is within 10 minutes of now
Exits 1 with one line per failed check.
"""
import email
import email.policy
import email.utils
import re
import sys
import time

path = sys.argv[1]
raw = open(path, "rb").read()
msg = email.message_from_bytes(raw, policy=email.policy.default)
failures = []


def part(subtype):
    for p in msg.walk():
        if p.get_content_type() == "text/" + subtype:
            return p.get_content().replace("\r\n", "\n")
    return None


for check in sys.argv[2:]:
    if check == "date":
        when = email.utils.parsedate_to_datetime(msg["Date"]).timestamp()
        if abs(when - time.time()) > 600:
            failures.append("Date %r is not now" % msg["Date"])
    elif check.startswith("!"):
        if msg[check[1:]] is not None:
            failures.append("%s present: %r" % (check[1:], msg[check[1:]]))
    elif check.startswith("raw:"):
        name = check[4:].encode()
        lines = raw.split(b"\r\n\r\n", 1)[0].replace(b"\r\n", b"\n").split(b"\n")
        idx = [i for i, l in enumerate(lines) if l.lower().startswith(name.lower() + b":")]
        if len(idx) != 1 or (idx[0] + 1 < len(lines) and lines[idx[0] + 1][:1] in (b" ", b"\t")):
            failures.append("%s is missing or folded" % check[4:])
    elif check.startswith("body~"):
        text = part("plain")
        if text is None or not re.search(check[5:], text):
            failures.append("text part %r does not match %r" % (text, check[5:]))
    elif check == "html":
        if part("html") is not None:
            failures.append("unexpected HTML part")
    elif check.startswith("html~"):
        html = part("html")
        if html is None or not re.search(check[5:], html):
            failures.append("html part %r does not match %r" % (html, check[5:]))
    elif "=" in check and ("~" not in check or check.index("=") < check.index("~")):
        name, want = check.split("=", 1)
        got = msg[name]
        if got is None or str(got) != want:
            failures.append("%s: got %r, want %r" % (name, got and str(got), want))
    elif "~" in check:
        name, pattern = check.split("~", 1)
        got = msg[name]
        if got is None or not re.fullmatch(pattern, str(got)):
            failures.append("%s: got %r, want /%s/" % (name, got and str(got), pattern))
    else:
        failures.append("unknown check %r" % check)

for f in failures:
    print(f)
sys.exit(1 if failures else 0)
