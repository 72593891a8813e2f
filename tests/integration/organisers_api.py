#!/usr/bin/python3
"""The organisers' API over HTTP, against the database t0014-organisers.sh seeded and the
daemon it started ($HTTP). Each case prints one TAP line; a failure prints its traceback
as comments. Tokens are in $TEST_DIR/tokens/{boss,orgA,orgB,host}.

Team A is paris-10 (event marche, organiser Camille, host Hugo), team B lyon-1 (event
soiree, organiser Yann). Ana is in both teams."""
import csv
import http.client
import io
import itertools
import json
import os
import re
import subprocess
import sys
import time
import traceback
import urllib.parse

HTTP = os.environ["HTTP"]
TEST_DIR = os.environ["TEST_DIR"]
SRC = os.environ["SRC"]
TOCSIN = os.environ["TOCSIN"]
PSQL = os.path.join(os.environ["PGBIN"], "psql")
HOST, PORT = urllib.parse.urlsplit(HTTP).hostname, urllib.parse.urlsplit(HTTP).port


def sql(query):
    out = subprocess.run([PSQL, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", query],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise AssertionError(f"psql: {out.stderr.strip()} in {query}")
    return out.stdout.strip()


def tocsin(*args):
    out = subprocess.run([TOCSIN, *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise AssertionError(f"tocsin {' '.join(args)}: {out.returncode} {out.stderr}")
    return out.stdout.strip()


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


class Client:
    """One organiser: a bearer token, or a cookie jar (session and CSRF token)."""

    def __init__(self, token=None):
        self.token = token
        self.cookies = {}
        self.csrf = None

    def call(self, method, path, body=None, raw=None, headers=None, csrf=True):
        conn = http.client.HTTPConnection(HOST, PORT, timeout=20)
        h = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        elif raw is not None:
            data = raw if isinstance(raw, bytes) else raw.encode()
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.csrf and csrf and method not in ("GET", "HEAD"):
            h["X-CSRF-Token"] = self.csrf
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        resp = Response(r.status, r.getheaders(), r.read())
        conn.close()
        for cookie in resp.header("Set-Cookie"):
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in cookie:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return resp

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body=body, **kw)


def expect(resp, status):
    assert resp.status == status, f"expected {status}, got {resp!r}"
    return resp


def token(name):
    with open(os.path.join(TEST_DIR, "tokens", name)) as f:
        return f.read().strip()


BOSS, ORG_A, ORG_B, HOST_ = (Client(token(n)) for n in ("boss", "orgA", "orgB", "host"))
ANON = Client()

cases = []


def case(name):
    def register(fn):
        cases.append((name, fn))
        return fn
    return register


def error_of(resp):
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return body["error"]["code"]


def last_outbound(kind, recipient):
    return sql(f"SELECT body FROM outbound_messages WHERE kind = '{kind}'"
               f" AND recipient = '{recipient}' ORDER BY id DESC LIMIT 1")


def sign_in_with_link(contact):
    """A fresh browser session for a contact: a link from the CLI, used through the API."""
    link = tocsin("user", "login-link", contact)
    c = Client()
    me = expect(c.post("/api/v1/auth/link", {"token": link.rsplit("/", 1)[1]}), 200).json()
    c.csrf = me["csrf_token"]
    return c


# ---- signing in ----

@case("a sign-in link opens a page with a button; only the POST signs in; used once")
def _():
    link = tocsin("user", "login-link", "camille@example.org")
    path = urllib.parse.urlsplit(link).path
    assert re.fullmatch(r"/login/[A-Za-z0-9_-]{43}", path), link
    c = Client()
    page = expect(c.get(path), 200)
    assert b"Camille Martin" in page.body and b'method="post"' in page.body
    assert not page.header("Set-Cookie"), "a GET must not sign in"
    assert "frame-ancestors 'none'" in page.header("Content-Security-Policy")[0]
    done = expect(c.post(path), 200)
    assert b"signed in as <strong>Camille Martin</strong>" in done.body
    cookie = done.header("Set-Cookie")[0]
    assert re.match(r"tocsin_session=[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Lax; "
                    r"Max-Age=\d+$", cookie), cookie
    me = expect(c.get("/api/v1/me"), 200).json()
    assert me["name"] == "Camille Martin" and me["signed_in_with"] == "session"
    assert [t["slug"] for t in me["teams"]] == ["paris-10"] and me["admin"] is False
    assert expect(Client().get(path), 403).body.count(b"not valid") == 1
    expect(Client().post(path), 403)


@case("sign-in by email: the link goes out through the queue; same answer for strangers")
def _():
    before = sql("SELECT count(*) FROM outbound_messages WHERE kind = 'signin'")
    known = expect(ANON.post("/api/v1/auth/login", {"contact": "Camille@Example.org"}), 202).json()
    stranger = expect(ANON.post("/api/v1/auth/login", {"contact": "louis@example.org"}), 202).json()
    nobody = expect(ANON.post("/api/v1/auth/login", {"contact": "who@example.org"}), 202).json()
    assert known == stranger == nobody and known["channel"] == "email", (known, nobody)
    assert int(sql("SELECT count(*) FROM outbound_messages WHERE kind = 'signin'")) == int(before) + 1
    body = last_outbound("signin", "camille@example.org")
    url = re.search(r"http://\S+/login/([A-Za-z0-9_-]{43})", body)
    assert url, body
    assert "15 minutes" in body or "15 minutes" in body.replace("\u00a0", " ")
    c = Client()
    me = expect(c.post("/api/v1/auth/link", {"token": url.group(1)}), 200).json()
    assert me["name"] == "Camille Martin" and len(me["csrf_token"]) == 43
    assert error_of(expect(Client().post("/api/v1/auth/link", {"token": url.group(1)}), 401)) == "unauthorized"
    # The stored secret is a keyed hash, never the token itself.
    assert sql(f"SELECT count(*) FROM login_challenges WHERE position('{url.group(1)}' IN secret_hash::text) > 0") == "0"
    assert error_of(expect(ANON.post("/api/v1/auth/login", {"contact": "not an address"}), 422)) == "unprocessable"


@case("a link older than 15 minutes no longer signs in")
def _():
    link = tocsin("user", "login-link", "yann@example.org")
    sql("UPDATE login_challenges SET expires_at = now() - interval '1 second'"
        " WHERE id = (SELECT max(id) FROM login_challenges)")
    expect(Client().post("/api/v1/auth/link", {"token": link.rsplit("/", 1)[1]}), 401)
    expect(Client().post(urllib.parse.urlsplit(link).path), 403)


@case("sign-in by SMS: a 6-digit code, national number accepted, wrong tries refused")
def _():
    expect(ANON.post("/api/v1/auth/login", {"contact": "06 12 34 56 05"}), 202)
    body = last_outbound("signin", "+33612345605")
    code = re.search(r"\b(\d{6})\b", body).group(1)
    wrong = f"{(int(code) + 1) % 1000000:06d}"
    for _ in range(4):
        r = expect(ANON.post("/api/v1/auth/code", {"contact": "+33612345605", "code": wrong}), 401)
        assert "wrong code" in r.json()["error"]["message"]
    c = Client()
    me = expect(c.post("/api/v1/auth/code", {"contact": "0612345605", "code": code}), 200).json()
    assert me["name"] == "Yann Le Gall" and c.cookies.get("tocsin_session")
    expect(Client().post("/api/v1/auth/code", {"contact": "0612345605", "code": code}), 401)


@case("five wrong codes void the code; a new code voids the old one")
def _():
    expect(ANON.post("/api/v1/auth/login", {"contact": "0612345606"}), 202)
    first = re.search(r"\b(\d{6})\b", last_outbound("signin", "+33612345606")).group(1)
    expect(ANON.post("/api/v1/auth/login", {"contact": "0612345606"}), 202)
    code = re.search(r"\b(\d{6})\b", last_outbound("signin", "+33612345606")).group(1)
    if first != code:
        expect(ANON.post("/api/v1/auth/code", {"contact": "0612345606", "code": first}), 401)
    wrong = f"{(int(code) + 7) % 1000000:06d}"
    tries = 1 if first != code else 0
    for _ in range(5 - tries):
        last = expect(ANON.post("/api/v1/auth/code", {"contact": "0612345606", "code": wrong}), 401)
    assert "ask for a new one" in last.json()["error"]["message"], last
    expect(ANON.post("/api/v1/auth/code", {"contact": "0612345606", "code": code}), 401)


@case("asking too often sends nothing more, and says nothing different")
def _():
    sent = lambda: int(sql("SELECT count(*) FROM outbound_messages WHERE kind = 'signin'"
                           " AND recipient = 'boss@example.org'"))
    before = sent()
    for _ in range(7):
        expect(ANON.post("/api/v1/auth/login", {"contact": "boss@example.org"}), 202)
    assert sent() - before == 5, (before, sent())


@case("a cookie session: writes need the CSRF token; sign-out ends the session")
def _():
    c = sign_in_with_link("camille@example.org")
    r = expect(c.post("/api/v1/inbox/1/done", csrf=False), 403)
    assert "CSRF" in r.json()["error"]["message"]
    wrong = Client()
    wrong.cookies = dict(c.cookies)
    wrong.csrf = "x" * 43
    expect(wrong.post("/api/v1/auth/logout"), 403)
    sessions = int(sql("SELECT count(*) FROM sessions"))
    expect(c.post("/api/v1/auth/logout"), 200)
    assert int(sql("SELECT count(*) FROM sessions")) == sessions - 1
    assert "tocsin_session" not in c.cookies
    stale = Client()
    stale.cookies = dict(wrong.cookies)
    expect(stale.get("/api/v1/me"), 401)


@case("a session idle longer than [http] session_idle is over")
def _():
    c = sign_in_with_link("yann@example.org")
    expect(c.get("/api/v1/me"), 200)
    sql("UPDATE sessions SET last_seen_at = now() - interval '9 hours'")
    expect(c.get("/api/v1/me"), 401)


@case("bearer tokens: no CSRF needed; a wrong or revoked token is 401")
def _():
    expect(BOSS.get("/api/v1/me"), 200)
    expect(Client("tocsin_" + "A" * 43).get("/api/v1/me"), 401)
    expect(Client("nonsense").get("/api/v1/me"), 401)
    spare = tocsin("token", "add", "--user", "boss@example.org", "--name", "short-lived")
    expect(Client(spare).get("/api/v1/me"), 200)
    tid = sql("SELECT max(id) FROM api_tokens")
    tocsin("token", "revoke", tid)
    expect(Client(spare).get("/api/v1/me"), 401)
    assert sql(f"SELECT last_used_at IS NOT NULL FROM api_tokens WHERE id = {tid}") == "t"


# ---- errors and pages ----

@case("errors are JSON with a code: 400 bad JSON, 404, 405 with Allow, 409, 422")
def _():
    assert error_of(expect(BOSS.call("POST", "/api/v1/teams", raw="{not json"), 400)) == "bad_request"
    assert error_of(expect(BOSS.call("POST", "/api/v1/teams", raw="[1,2]"), 400)) == "bad_request"
    assert error_of(expect(BOSS.get("/api/v1/nothing/here"), 404)) == "not_found"
    r = expect(BOSS.call("PUT", "/api/v1/teams"), 405)
    assert error_of(r) == "method_not_allowed" and r.header("Allow") == ["GET, POST"], r.headers
    assert error_of(expect(BOSS.post("/api/v1/teams", {"slug": "paris-10", "name": "x"}), 409)) == "conflict"
    assert error_of(expect(BOSS.post("/api/v1/teams", {"slug": "Bad Slug", "name": "x"}), 422)) == "unprocessable"
    assert error_of(expect(BOSS.get("/api/v1/teams/nowhere"), 404)) == "not_found"
    assert error_of(expect(BOSS.get("/api/v1/people?limit=0"), 400)) == "bad_request"
    assert error_of(expect(BOSS.get("/api/v1/people?after=x"), 400)) == "bad_request"
    assert error_of(expect(BOSS.get("/api/v1/people/99999"), 404)) == "not_found"
    assert error_of(expect(BOSS.get("/api/v1/people?opted_out=fax"), 400)) == "bad_request"
    assert error_of(expect(ANON.get("/api/v1/people"), 401)) == "unauthorized"
    big = {"slug": "x", "name": "y" * 70000}
    expect(BOSS.post("/api/v1/teams", big), 413)


@case("keyset pagination: pages of N, next until null, nothing twice, nothing missed")
def _():
    everyone = [p["id"] for p in expect(BOSS.get("/api/v1/people?limit=1000"), 200).json()["items"]]
    seen, after = [], ""
    for _ in range(20):
        page = expect(BOSS.get(f"/api/v1/people?limit=2{after}"), 200).json()
        assert len(page["items"]) <= 2
        seen += [p["id"] for p in page["items"]]
        if page["next"] is None:
            break
        after = f"&after={page['next']}"
    assert seen == everyone and len(everyone) >= 7, (seen, everyone)
    act = expect(BOSS.get("/api/v1/teams/paris-10/activity?limit=3"), 200).json()
    older = expect(BOSS.get(f"/api/v1/teams/paris-10/activity?limit=3&after={act['next']}"), 200).json()
    assert max(a["id"] for a in older["items"]) < min(a["id"] for a in act["items"])


# ---- what each role sees ----

def names(resp, key="name"):
    return sorted(item[key] for item in resp.json()["items"])


@case("an organiser of team A never sees team B's people, events, inbox, opt-outs, teams")
def _():
    people = names(expect(ORG_A.get("/api/v1/people?limit=1000"), 200))
    assert "Zoé Petit" not in people and "Yann Le Gall" not in people and "Louis Bernard" in people, people
    assert "Ana Lopes" in people
    ana = [p for p in ORG_A.get("/api/v1/people?search=ana").json()["items"]][0]
    assert ana["teams"] == ["paris-10"], ana
    assert names(ORG_A.get("/api/v1/teams"), "slug") == ["paris-10"]
    assert [e["slug"] for e in ORG_A.get("/api/v1/events?all=true").json()["items"]] == ["marche"]
    inbox = ORG_A.get("/api/v1/inbox?all=true").json()
    senders = sorted(i["sender"] for i in inbox["items"])
    assert senders == ["+33612345602", "ana@example.org"], senders
    assert all(o["team"] != "lyon-1" for o in ORG_A.get("/api/v1/optouts").json()["items"])
    zoe = sql("SELECT person_id FROM contacts WHERE address = 'zoe@example.org'")
    expect(ORG_A.get(f"/api/v1/people/{zoe}"), 403)
    ana_id = ana["id"]
    shown = expect(ORG_A.get(f"/api/v1/people/{ana_id}"), 200).json()
    assert [m["team"] for m in shown["memberships"]] == ["paris-10"], shown["memberships"]
    export = expect(ORG_A.get("/api/v1/people/export"), 200).body.decode()
    assert "zoe@example.org" not in export and "ana@example.org" in export
    expect(ORG_A.get("/api/v1/people?team=lyon-1"), 403)
    expect(ORG_A.get("/api/v1/people/export?team=lyon-1"), 403)
    admin_inbox = BOSS.get("/api/v1/inbox?all=true").json()
    assert "+33611112222" in [i["sender"] for i in admin_inbox["items"]], "strangers: the admins'"


@case("a host sees only their event: its door list and check-in, nothing else")
def _():
    me = expect(HOST_.get("/api/v1/me"), 200).json()
    assert [e["slug"] for e in me["events"]] == ["marche"] and me["teams"] == []
    assert [e["slug"] for e in HOST_.get("/api/v1/events").json()["items"]] == ["marche"]
    door = expect(HOST_.get("/api/v1/events/marche/attendees"), 200).json()
    assert door["event"]["slug"] == "marche" and door["items"]
    expect(HOST_.get("/api/v1/events/soiree/attendees"), 403)
    expect(HOST_.get("/api/v1/people"), 403)
    expect(HOST_.get("/api/v1/inbox"), 403)
    expect(HOST_.post("/api/v1/events/marche/cancel"), 403)
    r = expect(HOST_.post("/api/v1/events/marche/checkin", {"name": "Porte Ouverte"}), 200).json()
    assert r["walk_in"] is True and r["status"] == "yes"
    csv_text = expect(HOST_.get("/api/v1/events/marche/attendees?format=csv"), 200)
    assert csv_text.header("Content-Type")[0].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(csv_text.body.decode())))
    assert "Porte Ouverte" in [row["name"] for row in rows] and rows[0]["status"] == "yes", rows


# ---- questions through the API ----

@case("people: filters, one person's record, the CSV export read back")
def _():
    assert names(BOSS.get("/api/v1/people?team=lyon-1")) == ["Ana Lopes", "Yann Le Gall", "Zoé Petit"]
    assert names(BOSS.get("/api/v1/people?tag=tractage")) == ["Louis Bernard"]
    assert names(BOSS.get("/api/v1/people?search=" + urllib.parse.quote("06 12 34 56 04"))) == ["Zoé Petit"]
    assert names(BOSS.get("/api/v1/people?team=lyon-1&opted_out=email")) == ["Zoé Petit"]
    louis = BOSS.get("/api/v1/people?search=louis").json()["items"][0]
    record = expect(BOSS.get(f"/api/v1/people/{louis['id']}"), 200).json()
    assert set(record) >= {"contacts", "memberships", "rsvps", "consent", "messages"}
    assert any(m["direction"] == "in" and "chien" in m["body"] for m in record["messages"])
    assert record["rsvps"][0]["event"] == "marche"
    r = expect(BOSS.get("/api/v1/people/export?team=paris-10"), 200)
    assert "attachment" in r.header("Content-Disposition")[0]
    rows = list(csv.DictReader(io.StringIO(r.body.decode())))
    assert len(rows) == len(BOSS.get("/api/v1/people?team=paris-10&limit=1000").json()["items"])


@case("the people export streams every page of a large list")
def _():
    sql("INSERT INTO people (name) SELECT 'Export ' || g FROM generate_series(1, 2500) g")
    r = expect(BOSS.get("/api/v1/people/export"), 200)
    rows = list(csv.DictReader(io.StringIO(r.body.decode())))
    total = int(sql("SELECT count(*) FROM people"))
    assert len(rows) == total and len({row["id"] for row in rows}) == total, (len(rows), total)
    assert r.header("Transfer-Encoding") == ["chunked"], r.headers
    sql("DELETE FROM people WHERE name LIKE 'Export %'")


@case("team members and activity over HTTP")
def _():
    members = expect(ORG_A.get("/api/v1/teams/paris-10/members"), 200).json()["items"]
    assert "Camille Martin" in [m["name"] for m in members]
    assert [m["role"] for m in members if m["name"] == "Camille Martin"] == ["organiser"]
    team = expect(ORG_A.get("/api/v1/teams/paris-10"), 200).json()
    assert [o["name"] for o in team["organisers"]] == ["Camille Martin"]
    expect(ORG_A.get("/api/v1/teams/lyon-1/members"), 403)


@case("inbox over HTTP: the open count, reply, done, another team's message refused")
def _():
    inbox = expect(ORG_B.get("/api/v1/inbox"), 200).json()
    zoe_msg = [i for i in inbox["items"] if i["sender"] == "+33612345604"][0]
    assert inbox["open"] == len(inbox["items"])
    expect(ORG_A.post(f"/api/v1/inbox/{zoe_msg['id']}/reply", {"text": "non"}), 403)
    r = expect(ORG_B.post(f"/api/v1/inbox/{zoe_msg['id']}/reply", {"text": "Le 20 mars à 19h"}), 200).json()
    assert r["channel"] == "sms" and r["recipient"] == "+33612345604" and r["created"] is True
    again = expect(ORG_B.post(f"/api/v1/inbox/{zoe_msg['id']}/reply", {"text": "Le 20 mars à 19h"}), 200).json()
    assert again["created"] is False and again["outbound_id"] == r["outbound_id"]
    expect(ORG_B.post(f"/api/v1/inbox/{zoe_msg['id']}/reply", {}), 400)
    done = expect(ORG_B.post(f"/api/v1/inbox/{zoe_msg['id']}/done"), 200).json()
    assert done["changed"] is True
    assert expect(ORG_B.post(f"/api/v1/inbox/{zoe_msg['id']}/done"), 200).json()["changed"] is False
    assert ORG_B.get("/api/v1/inbox").json()["open"] == inbox["open"] - 1


@case("events over HTTP: create in my team only, edit, move (notices), cancel, 409 after")
def _():
    ev = {"team": "paris-10", "slug": "apero", "title": "Apéro", "starts": "2030-05-01 19:00",
          "capacity": 10}
    created = expect(ORG_A.post("/api/v1/events", ev), 201).json()
    assert created["starts"] == "2030-05-01 19:00" and created["timezone"] == "Europe/Paris"
    expect(ORG_A.post("/api/v1/events", dict(ev, team="lyon-1", slug="apero-b")), 403)
    expect(ORG_A.post("/api/v1/events", ev), 409)
    expect(ORG_A.post("/api/v1/events", dict(ev, slug="apero-2", starts="someday")), 422)
    expect(ORG_A.post("/api/v1/events", dict(ev, slug="apero-3", timezone="Mars/Base")), 422)
    edited = expect(ORG_A.call("PATCH", "/api/v1/events/apero", body={"capacity": None, "location": "Bar"}), 200).json()
    assert edited["capacity"] is None and edited["location"] == "Bar" and edited["title"] == "Apéro"
    sql("INSERT INTO rsvps (event_id, person_id, status) SELECT e.id, c.person_id, 'yes'"
        " FROM events e, contacts c WHERE e.slug = 'apero' AND c.address = 'louis@example.org'")
    moved = expect(ORG_A.post("/api/v1/events/apero/move", {"starts": "2030-05-02 19:00"}), 200).json()
    assert moved["notified"] == 1 and moved["starts"] == "2030-05-02 19:00"
    expect(ORG_A.post("/api/v1/events/apero/move", {"starts": "soon"}), 422)
    # A new place with the new date, as `event move --location`: the notice tells both.
    moved = expect(ORG_A.post("/api/v1/events/apero/move", {"starts": "2030-05-03 19:00",
                                                           "location": "Café du Canal"}), 200).json()
    assert moved["location"] == "Café du Canal" and moved["notified"] == 1, moved
    assert "Café du Canal" in last_outbound("event_moved", "louis@example.org")
    # A start in the past only when it is meant (--past): recording what happened.
    expect(ORG_A.post("/api/v1/events", dict(ev, slug="apero-old", starts="2020-01-01 19:00")), 422)
    expect(ORG_A.post("/api/v1/events", dict(ev, slug="apero-old", starts="2020-01-01 19:00", past=True)), 201)
    cancelled = expect(ORG_A.post("/api/v1/events/apero/cancel"), 200).json()
    assert cancelled["status"] == "cancelled" and cancelled["notified"] == 1
    expect(ORG_A.post("/api/v1/events/apero/cancel"), 409)
    expect(ORG_A.post("/api/v1/events/apero/checkin", {"name": "Late"}), 409)
    kinds = sql("SELECT string_agg(kind, ' ' ORDER BY id) FROM activity WHERE via = 'api'"
                " AND payload->>'slug' = 'apero'")
    assert kinds == "event_created event_updated event_moved event_moved event_cancelled", kinds


@case("campaigns over HTTP: only to segments inside my teams; preview, test to me, send")
def _():
    body = {"channel": "email", "segment": "team:paris-10", "subject": "Nouvelles de {{team.name}}",
            "text": "Bonjour {{first_name}}, rendez-vous au marché.", "html": "<p>Bonjour {{name}}</p>"}
    created = expect(ORG_A.post("/api/v1/campaigns", body), 201).json()
    cid = created["id"]
    assert created["status"] == "draft" and created["recipients"] >= 3, created
    for segment in ("team:lyon-1", "all", "tag:tractage", "team:paris-10,team:lyon-1", "event:soiree"):
        expect(ORG_A.post("/api/v1/campaigns", dict(body, segment=segment)), 403)
    expect(ORG_A.post("/api/v1/campaigns", dict(body, segment="team:paris-10+tag:tractage")), 201)
    expect(ORG_A.post("/api/v1/campaigns", dict(body, segment="event:marche")), 201)
    expect(ORG_A.post("/api/v1/campaigns", dict(body, segment="team:")), 422)
    before = sql("SELECT count(*) FROM campaigns")
    dry = expect(ORG_A.post("/api/v1/campaigns?dry_run=true", dict(body, text="Hi {{nickname}}")), 200).json()
    assert dry["status"] == "dry_run" and dry["unknown_variables"] == "nickname", dry
    assert dry["recipients"] == created["recipients"] and sql("SELECT count(*) FROM campaigns") == before
    expect(ORG_A.post("/api/v1/campaigns?dry_run=true", dict(body, segment="all")), 403)
    expect(ORG_A.post("/api/v1/campaigns", dict(body, text="{{#open}}")), 422)
    # A title of its own, and an invitation to an event, as `campaign create --title --event`.
    invite = expect(ORG_A.post("/api/v1/campaigns", dict(body, segment="event:marche", title="Relance marché",
                                                         event="marche")), 201).json()
    shown = expect(ORG_A.get(f"/api/v1/campaigns/{invite['id']}"), 200).json()
    assert (shown["title"], shown["event"]) == ("Relance marché", "marche"), shown
    assert expect(ORG_A.get(f"/api/v1/campaigns/{cid}"), 200).json()["title"] == "Nouvelles de {{team.name}}"
    expect(ORG_A.post("/api/v1/campaigns", dict(body, event="no-such-event")), 422)
    expect(ORG_B.get(f"/api/v1/campaigns/{cid}"), 403)
    louis = sql("SELECT person_id FROM contacts WHERE address = 'louis@example.org'")
    zoe = sql("SELECT person_id FROM contacts WHERE address = 'zoe@example.org'")
    preview = expect(ORG_A.get(f"/api/v1/campaigns/{cid}/preview?person={louis}"), 200).json()
    assert preview["subject"] == "Nouvelles de Paris 10e" and preview["text"].startswith("Bonjour Louis,")
    expect(ORG_A.get(f"/api/v1/campaigns/{cid}/preview?person={zoe}"), 403)
    test = expect(ORG_A.post(f"/api/v1/campaigns/{cid}/test"), 200).json()
    assert test["recipient"] == "camille@example.org" and test["created"] is True
    assert sql(f"SELECT subject FROM outbound_messages WHERE id = {test['outbound_id']}") == \
        "[TEST] Nouvelles de Paris 10e"
    assert expect(ORG_A.post(f"/api/v1/campaigns/{cid}/test"), 200).json()["created"] in (False, True)
    sent = expect(ORG_A.post(f"/api/v1/campaigns/{cid}/send"), 202).json()
    assert sent["status"] == "scheduled"
    for _ in range(100):
        status = ORG_A.get(f"/api/v1/campaigns/{cid}").json()
        if status["fanout_done"]:
            break
        time.sleep(0.1)
    assert status["enqueued"] == created["recipients"], status
    expect(ORG_A.post(f"/api/v1/campaigns/{cid}/send"), 409)
    items = ORG_A.get("/api/v1/campaigns").json()["items"]
    assert any(c["id"] == invite["id"] and c["title"] == "Relance marché" for c in items), items
    listed = [c["id"] for c in items]
    assert cid in listed and all(c["id"] not in listed for c in BOSS.get("/api/v1/campaigns").json()["items"]
                                 if c["segment"].startswith("team:lyon"))


@case("campaign pause, resume, cancel and retry: 409 when the state does not allow it")
def _():
    body = {"channel": "sms", "segment": "team:lyon-1", "text": "Soirée le 20 !"}
    cid = expect(ORG_B.post("/api/v1/campaigns", body), 201).json()["id"]
    expect(ORG_B.post(f"/api/v1/campaigns/{cid}/resume"), 409)
    assert expect(ORG_B.post(f"/api/v1/campaigns/{cid}/pause"), 200).json()["status"] == "paused"
    assert expect(ORG_B.post(f"/api/v1/campaigns/{cid}/resume"), 200).json()["status"] == "draft"
    expect(ORG_B.post(f"/api/v1/campaigns/{cid}/retry"), 409)
    assert expect(ORG_B.post(f"/api/v1/campaigns/{cid}/cancel"), 200).json()["status"] == "cancelled"
    expect(ORG_B.post(f"/api/v1/campaigns/{cid}/cancel"), 409)
    # A sent campaign with failures: retry queues them again.
    cid = expect(ORG_B.post("/api/v1/campaigns", body), 201).json()["id"]
    sql(f"UPDATE campaigns SET status = 'sent', fanout_done = true WHERE id = {cid}")
    sql(f"INSERT INTO outbound_messages (channel, recipient, kind, dedupe_key, campaign_id, status,"
        f" last_error) VALUES ('sms', '+33612345604', 'campaign', 'retry-test:{cid}', {cid},"
        f" 'failed', 'gateway said no'), ('sms', '+33612345605', 'campaign', 'retry-test2:{cid}',"
        f" {cid}, 'failed', 'number unreachable')")
    shown = expect(ORG_B.get(f"/api/v1/campaigns/{cid}"), 200).json()
    assert sorted(f["reason"] for f in shown["failures"]) == ["gateway said no", "number unreachable"], \
        shown["failures"]
    # Only the failures whose error says so (`campaign retry --error`), then the rest.
    retried = expect(ORG_B.post(f"/api/v1/campaigns/{cid}/retry", {"error": "said no"}), 200).json()
    assert retried["messages_changed"] == 1 and retried["status"] == "sending"
    assert sql(f"SELECT status FROM outbound_messages WHERE dedupe_key = 'retry-test2:{cid}'") == "failed"
    retried = expect(ORG_B.post(f"/api/v1/campaigns/{cid}/retry"), 200).json()
    assert retried["messages_changed"] == 1
    kinds = sql(f"SELECT string_agg(kind, ' ' ORDER BY id) FROM activity WHERE payload->>'campaign_id' = '{cid}'")
    assert kinds == "campaign_created campaign_retried campaign_retried", kinds
    # Send through quiet hours (`campaign send --now`): urgent, scheduled for now.
    cid = expect(ORG_B.post("/api/v1/campaigns", body), 201).json()["id"]
    sent = expect(ORG_B.post(f"/api/v1/campaigns/{cid}/send", {"now": True}), 202).json()
    assert sent["status"] == "scheduled", sent
    assert sql(f"SELECT urgent FROM campaigns WHERE id = {cid}") == "t"
    cid = expect(ORG_B.post("/api/v1/campaigns", body), 201).json()["id"]
    expect(ORG_B.post(f"/api/v1/campaigns/{cid}/cancel"), 200)
    expect(ORG_B.post(f"/api/v1/campaigns/{cid}/send", {"now": True}), 409)


@case("import over HTTP: dry run changes nothing; an organiser imports into their team only")
def _():
    data = ("email,phone,name,teams\n"
            "nina@example.org,0612340001,Nina Neuve,\n"
            "omar@example.org,0612340002,Omar Autre,lyon-1\n"
            "bad,0612340003,Pas Bon,\n"
            "louis@example.org,0612345605,Louis Bernard,\n")
    people = int(sql("SELECT count(*) FROM people"))
    dry = expect(ORG_A.call("POST", "/api/v1/import?team=paris-10&dry_run=true", raw=data,
                            headers={"Content-Type": "text/csv"}), 200).json()
    assert (dry["dry_run"], dry["imported"], dry["new"], dry["updated"], dry["rejected"], dry["conflicts"]) == \
        (True, 2, 1, 1, 2, 1), dry
    reasons = {r["line"]: r["reason"] for r in dry["reports"]}
    assert "not one of yours" in reasons[3] and "email bad" in reasons[4] and "another person" in reasons[5], reasons
    assert int(sql("SELECT count(*) FROM people")) == people
    real = expect(ORG_A.call("POST", "/api/v1/import?team=paris-10", raw=data), 200).json()
    assert {k: real[k] for k in ("imported", "new", "rejected")} == {"imported": 2, "new": 1, "rejected": 2}
    assert sql("SELECT string_agg(t.slug, ' ') FROM memberships m JOIN teams t ON t.id = m.team_id"
               " JOIN contacts c ON c.person_id = m.person_id WHERE c.address = 'nina@example.org'") == "paris-10"
    expect(ORG_A.call("POST", "/api/v1/import", raw=data), 403)
    expect(ORG_A.call("POST", "/api/v1/import?team=lyon-1", raw=data), 403)
    expect(BOSS.call("POST", "/api/v1/import?dry_run=1", raw="nom,prenom\nx,y\n"), 422)
    expect(BOSS.call("POST", "/api/v1/import?dry_run=1", raw=""), 400)
    assert sql("SELECT count(*) FROM activity WHERE kind = 'import' AND via = 'api'") == "1"


@case("every write through the API is in activity with the account that made it")
def _():
    rows = sql("SELECT count(*), count(*) FILTER (WHERE actor_id IS NULL) FROM activity WHERE via = 'api'")
    total, anonymous = map(int, rows.split("|"))
    assert total >= 15 and anonymous == 0, rows
    camille = sql("SELECT person_id FROM contacts WHERE address = 'camille@example.org'")
    assert int(sql(f"SELECT count(*) FROM activity WHERE actor_id = {camille}")) >= 8


# ---- the role matrix ----

# What each route needs, written here independently of the server's table: a new route
# must be added here, or the matrix fails.
NEEDS = {
    ("POST", "/api/v1/auth/login"): "public",
    ("POST", "/api/v1/auth/code"): "public",
    ("POST", "/api/v1/auth/link"): "public",
    ("GET", "/api/v1/openapi.json"): "public",
    ("POST", "/api/v1/auth/logout"): "account",
    ("GET", "/api/v1/me"): "account",
    ("GET", "/api/v1/teams"): "account",
    ("GET", "/api/v1/events"): "account",
    ("GET", "/api/v1/users"): "admin",
    ("POST", "/api/v1/users"): "admin",
    ("DELETE", "/api/v1/users/{id}"): "admin",
    ("POST", "/api/v1/teams"): "admin",
    ("POST", "/api/v1/teams/{team}/organisers"): "admin",
    ("DELETE", "/api/v1/teams/{team}/organisers/{person}"): "admin",
    ("GET", "/api/v1/teams/{team}"): "team",
    ("GET", "/api/v1/teams/{team}/members"): "team",
    ("GET", "/api/v1/teams/{team}/activity"): "team",
    ("GET", "/api/v1/people"): "team",
    ("GET", "/api/v1/people/export"): "team",
    ("GET", "/api/v1/people/{id}"): "team",
    ("GET", "/api/v1/optouts"): "organiser",
    ("GET", "/api/v1/inbox"): "organiser",
    ("GET", "/api/v1/campaigns"): "organiser",
    ("POST", "/api/v1/events"): "team",
    ("GET", "/api/v1/events/{event}"): "door",
    ("PATCH", "/api/v1/events/{event}"): "team",
    ("POST", "/api/v1/events/{event}/move"): "team",
    ("POST", "/api/v1/events/{event}/cancel"): "team",
    ("GET", "/api/v1/events/{event}/attendees"): "door",
    ("POST", "/api/v1/events/{event}/checkin"): "door",
    ("POST", "/api/v1/inbox/{id}/reply"): "team",
    ("POST", "/api/v1/inbox/{id}/done"): "team",
    ("POST", "/api/v1/campaigns"): "team",
    ("GET", "/api/v1/campaigns/{id}"): "team",
    ("GET", "/api/v1/campaigns/{id}/preview"): "team",
    ("POST", "/api/v1/campaigns/{id}/test"): "team",
    ("POST", "/api/v1/campaigns/{id}/send"): "team",
    ("POST", "/api/v1/campaigns/{id}/pause"): "team",
    ("POST", "/api/v1/campaigns/{id}/resume"): "team",
    ("POST", "/api/v1/campaigns/{id}/cancel"): "team",
    ("POST", "/api/v1/campaigns/{id}/retry"): "team",
    ("POST", "/api/v1/import"): "team",
}

TEAMS = {"A": ("paris-10", "marche"), "B": ("lyon-1", "soiree")}
counter = itertools.count(1)


def fresh_person(team, role="member"):
    n = next(counter)
    return sql(f"WITH p AS (INSERT INTO people (name) VALUES ('Matrix {n}') RETURNING id),"
               f" c AS (INSERT INTO contacts (person_id, kind, address)"
               f"  SELECT id, 'email', 'matrix{n}@example.org' FROM p),"
               f" m AS (INSERT INTO memberships (person_id, team_id, role)"
               f"  SELECT p.id, t.id, '{role}' FROM p, teams t WHERE t.slug = '{team}')"
               f" SELECT id FROM p"), f"matrix{n}@example.org"


def fresh_event(team):
    n = next(counter)
    tocsin("event", "add", "--team", team, "--slug", f"matrix-{n}", "--title", "Matrix",
           "--starts", "2031-01-01 10:00")
    return f"matrix-{n}"


def fresh_inbox(team):
    person, address = fresh_person(team)
    n = next(counter)
    return sql(f"INSERT INTO inbound_messages (channel, provider, provider_id, sender, body, status,"
               f" person_id) VALUES ('email', 'matrix', 'm{n}', '{address}', 'hello?', 'unknown',"
               f" {person}) RETURNING id")


def fresh_campaign(team, status="draft"):
    return sql(f"INSERT INTO campaigns (channel, segment, subject, template, status, team_id,"
               f" fanout_done) SELECT 'email', 'team:{team}', 'Matrix', E'--- text\\nHello', '{status}',"
               f" id, {'true' if status == 'sent' else 'false'} FROM teams WHERE slug = '{team}' RETURNING id")


def request_for(method, pattern, side):
    """The path and body exercising a route against team `side`'s resources, fresh where the
    route changes what it touches."""
    team, event = TEAMS[side]
    body, raw, query = None, None, ""
    path = pattern
    if "{team}" in path:
        path = path.replace("{team}", team)
    if "{event}" in path:
        changes = method != "GET" and not path.endswith("/checkin")
        path = path.replace("{event}", fresh_event(team) if changes else event)
    if "{person}" in path:
        path = path.replace("{person}", fresh_person(team, "organiser")[0])
    if "{id}" in path:
        if path.startswith("/api/v1/users"):
            person, address = fresh_person(team)
            tocsin("user", "add", address, "--role", "host", "--event", event)
            path, query = path.replace("{id}", person), "?role=host"
        elif path.startswith("/api/v1/people"):
            path = path.replace("{id}", fresh_person(team)[0])
        elif path.startswith("/api/v1/inbox"):
            path = path.replace("{id}", fresh_inbox(team))
        elif path.startswith("/api/v1/campaigns"):
            status = {"resume": "paused", "retry": "sent"}.get(path.rsplit("/", 1)[1], "draft")
            path = path.replace("{id}", fresh_campaign(team, status))
    key = (method, pattern)
    if key == ("POST", "/api/v1/users"):
        body = {"contact": f"new{next(counter)}@example.org", "role": "host", "event": event}
    elif key == ("POST", "/api/v1/teams"):
        body = {"slug": f"matrix-team-{next(counter)}", "name": "Matrix"}
    elif key == ("POST", "/api/v1/teams/{team}/organisers"):
        body = {"contact": fresh_person(team)[1]}
    elif key == ("POST", "/api/v1/events"):
        body = {"team": team, "slug": f"matrix-new-{next(counter)}", "title": "M", "starts": "2031-02-01 10:00"}
    elif key == ("PATCH", "/api/v1/events/{event}"):
        body = {"title": "Matrix edited"}
    elif key == ("POST", "/api/v1/events/{event}/move"):
        body = {"starts": "2031-03-01 10:00"}
    elif key == ("POST", "/api/v1/events/{event}/checkin"):
        body = {"name": f"Walk-in {next(counter)}"}
    elif key == ("POST", "/api/v1/inbox/{id}/reply"):
        body = {"text": "Thank you"}
    elif key == ("POST", "/api/v1/campaigns"):
        body = {"channel": "email", "segment": f"team:{team}", "subject": "M", "text": "Hello"}
    elif key in (("GET", "/api/v1/people"), ("GET", "/api/v1/people/export")):
        query = f"?team={team}"
    elif key == ("POST", "/api/v1/import"):
        query, raw = f"?team={team}&dry_run=true", "email,name\nmatrix-import@example.org,M\n"
    elif key == ("GET", "/api/v1/events"):
        query = f"?team={team}"
    return path + query, body, raw


def expected(need, role, side):
    """True when `role` (admin, A, B, host, anon) may reach a route of `need` on `side`."""
    if need == "public":
        return True
    if role == "anon":
        return False
    if role == "admin":
        return True
    if need == "account":
        return True
    if need == "admin":
        return False
    if role == "host":
        return need == "door" and side == "A"
    if need == "organiser":
        return True
    return role == side


@case("role matrix: every route x admin, organiser of A, organiser of B, host, nobody x team A, team B")
def _():
    doc = BOSS.get("/api/v1/openapi.json").json()
    routes = [(m.upper(), p) for p, item in doc["paths"].items() for m in item]
    assert set(routes) == set(NEEDS), set(routes) ^ set(NEEDS)
    clients = {"admin": BOSS, "A": ORG_A, "B": ORG_B, "host": HOST_, "anon": ANON}
    failures, checked = [], 0
    for (method, pattern), need in NEEDS.items():
        if need == "public":
            continue
        for side, role in itertools.product(("A", "B"), clients):
            path, body, raw = request_for(method, pattern, side)
            before = sql("SELECT count(*) FROM activity")
            r = clients[role].call(method, path, body=body, raw=raw)
            checked += 1
            allow = expected(need, role, side)
            if allow and r.status not in (200, 201, 202):
                failures.append(f"{role} {method} {path}: expected success, got {r!r}")
            if not allow:
                want = 401 if role == "anon" else 403
                if r.status != want:
                    failures.append(f"{role} {method} {path}: expected {want}, got {r!r}")
                elif sql("SELECT count(*) FROM activity") != before:
                    failures.append(f"{role} {method} {path}: refused but activity grew")
    assert not failures, "\n".join(failures[:20]) + f"\n({len(failures)} of {checked})"
    print(f"# role matrix: {checked} requests", flush=True)


# ---- the contract documents ----

@case("OpenAPI 3.1 at /api/v1/openapi.json matches the route table, docs/api.md has a curl per route")
def _():
    doc = expect(ANON.get("/api/v1/openapi.json"), 200).json()
    assert doc["openapi"] == "3.1.0" and doc["info"]["title"]
    table = set()
    with open(os.path.join(SRC, "engine/api/routes.c")) as f:
        for m in re.finditer(r'\{"(GET|POST|PATCH|PUT|DELETE)", "(/api/v1/[^"]*)", AUTHZ_', f.read()):
            table.add((m.group(1), m.group(2)))
    documented = {(m.upper(), p) for p, item in doc["paths"].items() for m in item}
    assert documented == table, documented ^ table
    for path, item in doc["paths"].items():
        for method, op in item.items():
            assert op["summary"] and op["operationId"] and "200" in op["responses"], (method, path)
            params = {p["name"] for p in op["parameters"] if p["in"] == "path"}
            assert params == set(re.findall(r"\{(\w+)\}", path)), (path, params)
    with open(os.path.join(SRC, "docs/api.md")) as f:
        text = f.read()
    curls = set()
    for line in re.findall(r"^curl .*$", text.replace("\\\n", " "), re.M):
        url = re.search(r"\$TOCSIN_URL(/api/v1/[^\s\"?']*)", line)
        method = re.search(r" -X (\w+)", line)
        if url:
            curls.add((method.group(1) if method else "GET", url.group(1)))
    missing = []
    for method, pattern in table:
        rx = "^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(pattern)) + "$"
        if not any(cm == method and re.match(rx, cp) for cm, cp in curls):
            missing.append(f"{method} {pattern}")
    assert not missing, "docs/api.md has no curl for: " + ", ".join(sorted(missing))


def main():
    for name, fn in cases:
        try:
            fn()
            print(f"ok - {name}", flush=True)
        except Exception:
            print(f"not ok - {name}", flush=True)
            for line in traceback.format_exc().splitlines()[-25:]:
                print(f"# {line}", flush=True)


if __name__ == "__main__":
    main()
