#!/usr/bin/env bash
# Throughput without losing order or messages: concurrent SMS requests bounded by [sms]
# concurrency, the shared [sms] rate, a gateway's 429 + Retry-After honoured with nothing lost
# or doubled, SMTP batches shared by parallel sessions, and IMAP mail applied on several
# database connections in each sender's order. Behaviour only: no figure here is a speed goal.
. "$SRC/tests/integration/lib.sh"
. "$SRC/tests/integration/dovecot.sh"

PY=/usr/bin/python3
PIDS=$TEST_DIR/background.pids
track() { echo "$1" >> "$PIDS"; }
kill_tracked() {
  [ -f "$PIDS" ] || return 0
  local p
  while read -r p; do kill_ours TERM "$p"; done < "$PIDS"
  while read -r p; do
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
  done < "$PIDS"
  rm -f "$PIDS"
}
# The IMAP case starts Dovecot inside its test case (a subshell): name its directory here.
trap 'kill_tracked; DOVECOT_DIR=$TEST_DIR/dovecot dovecot_stop' EXIT

export TOCSIN_ENGINE_RETRY_BASE=1 TOCSIN_ENGINE_POLL_INTERVAL=1 TOCSIN_ENGINE_LOG_LEVEL=info
export TOCSIN_SMS_PROVIDER=twilio TOCSIN_SMS_ACCOUNT=AC123 TOCSIN_SMS_TOKEN=tok \
  TOCSIN_SMS_FROM=+33700000000 TOCSIN_SMS_RATE=0

# provider NAME [fake_sms_provider.py options]: the bench's fake provider; sets API, API_LOG.
provider() {
  local name=$1; shift
  API_LOG=$TEST_DIR/$name.log
  "$PY" "$SRC/bench/fake_sms_provider.py" "$TEST_DIR/$name.port" "$API_LOG" "$@" &
  track $!
  for _ in $(seq 1 50); do [ -s "$TEST_DIR/$name.port" ] && break; sleep 0.1; done
  API="http://127.0.0.1:$(cat "$TEST_DIR/$name.port")"
}
# daemon [ENV=VALUE …]: one more `tocsin run` on the database, sending texts to $API.
daemon() {
  env TOCSIN_HTTP_LISTEN="127.0.0.1:$(free_port)" TOCSIN_SMS_API_URL="${API:-}" "$@" \
    "$TOCSIN" run >> "$TEST_DIR/daemon.log" 2>&1 &
  track $!
}
# queue_texts COUNT PREFIX: COUNT queued texts to distinct numbers.
queue_texts() {
  sql "INSERT INTO outbound_messages (channel, recipient, kind, dedupe_key, body)
       SELECT 'sms', '+3361' || lpad(g::text, 7, '0'), 'reply', '$2-' || g, 'Texte ' || g
       FROM generate_series(1, $1) g" >/dev/null
}
wait_until() {
  local cond=$1 limit=${2:-20}
  for _ in $(seq 1 $((limit * 10))); do eval "$cond" && return 0; sleep 0.1; done
  echo "timed out waiting for: $cond"; return 1
}
settled() { # PREFIX COUNT: every row of PREFIX left the queue
  [ "$(sql "SELECT count(*) FROM outbound_messages WHERE dedupe_key LIKE '$1-%' AND status NOT IN ('queued', 'sending')")" = "$2" ]
}
# accepted_once LOG COUNT: the provider accepted COUNT texts, each number exactly once.
accepted_once() {
  "$PY" - "$1" "$2" <<'PY'
import collections, sys
counts = collections.Counter(l.split()[2] for l in open(sys.argv[1]) if l.split()[1] != "429")
doubled = [to for to, n in counts.items() if n > 1]
print("accepted", sum(counts.values()), "numbers", len(counts), "doubled", doubled[:5])
sys.exit(0 if len(counts) == int(sys.argv[2]) and not doubled else 1)
PY
}
# most_in LOG SECONDS: the most requests that arrived within any SECONDS-long window.
most_in() {
  "$PY" - "$1" "$2" <<'PY'
import sys
times = sorted(float(l.split()[0]) for l in open(sys.argv[1]))
width, best, j = float(sys.argv[2]), 0, 0
for i, t in enumerate(times):
    while times[j] <= t - width:
        j += 1
    best = max(best, i - j + 1)
print(best)
PY
}

test_case 'SMS requests overlap, never more at once than [sms] concurrency' '
  provider conc --latency-ms 300
  queue_texts 24 conc
  daemon TOCSIN_SMS_CONCURRENCY=4
  wait_until "settled conc 24" 30
  kill_tracked
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages WHERE dedupe_key LIKE '\''conc-%'\'' AND status = '\''sent'\''")" 24
  accepted_once "$API_LOG" 24
  # Each request holds its slot for 300 ms: in any 250 ms, at most 4 can have arrived.
  most=$(most_in "$API_LOG" 0.25)
  echo "most requests arriving within 250 ms: $most"
  [ "$most" -le 4 ] && [ "$most" -ge 3 ]
'

test_case 'the SMS rate is shared by two daemons: 40 texts at 10/s, never more than a burst and a second of the rate in one second' '
  provider rated --latency-ms 20
  queue_texts 40 rated
  sql "DELETE FROM transport_rate" >/dev/null
  daemon TOCSIN_SMS_RATE=10
  daemon TOCSIN_SMS_RATE=10
  wait_until "settled rated 40" 30
  kill_tracked
  accepted_once "$API_LOG" 40
  most=$(most_in "$API_LOG" 1.0)
  span=$("$PY" -c "import sys; t=[float(l.split()[0]) for l in open(sys.argv[1])]; print(max(t)-min(t))" "$API_LOG")
  echo "most in one second: $most; first to last: $span s"
  # A full bucket (one second of tokens) may go at once, then 10 a second: 20 in the
  # busiest second, give or take one whose token was taken just before it began.
  [ "$most" -le 21 ]
  "$PY" -c "import sys; sys.exit(0 if float(sys.argv[1]) >= 2.7 else 1)" "$span"
'

test_case 'a 429 with Retry-After: 2 stops the sender for 2 s; every text is accepted once, none fails, none counts it as an attempt' '
  provider throttle --latency-ms 100 --limit 10 --retry-after 2
  queue_texts 60 throttle
  daemon TOCSIN_SMS_CONCURRENCY=4 TOCSIN_ENGINE_MAX_ATTEMPTS=1
  wait_until "settled throttle 60" 60
  kill_tracked
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages WHERE dedupe_key LIKE '\''throttle-%'\'' AND status = '\''sent'\'' AND attempts = 1")" 60
  accepted_once "$API_LOG" 60
  grep -q " 429 " "$API_LOG"
  # A 429 reaches the daemon 100 ms after the request arrived; from then on nothing may be
  # started for 2 s. Requests already on their way arrive within a few ms.
  "$PY" - "$API_LOG" <<PY
import sys
rows = [(float(l.split()[0]), l.split()[1]) for l in open(sys.argv[1])]
refusals = [t for t, s in rows if s == "429"]
for r in refusals:
    early = [t - r for t, _ in rows if r + 0.3 < t < r + 0.1 + 1.95]
    if early:
        sys.exit("a request %.2f s after a 429 (Retry-After: 2)" % early[0])
print(len(refusals), "refusals, none followed by a request within the pause")
PY
'

test_case 'an SMTP batch goes out over [smtp] connections parallel sessions, each message once' '
  port=$(free_port)
  "$PY" "$SRC/tests/integration/smtp_sink.py" "$port" "$TEST_DIR/mx" --delay 0.05 > "$TEST_DIR/mx.out" 2>&1 &
  track $!
  wait_until "grep -q ready \"$TEST_DIR/mx.out\"" 10
  sql "INSERT INTO outbound_messages (channel, recipient, kind, dedupe_key, subject, body)
       SELECT '\''email'\'', '\''par-'\'' || g || '\''@example.org'\'', '\''reply'\'', '\''par-'\'' || g, '\''Par'\'', '\''x'\''
       FROM generate_series(1, 40) g" >/dev/null
  # One worker, one batch: only the transport can spread it over several sessions.
  daemon TOCSIN_SMS_PROVIDER=spool TOCSIN_SMTP_HOST=127.0.0.1 TOCSIN_SMTP_PORT=$port TOCSIN_SMTP_CONNECTIONS=4 \
    TOCSIN_ENGINE_WORKERS=1 TOCSIN_ENGINE_BATCH=40
  wait_until "settled par 40" 30
  kill_tracked
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages WHERE dedupe_key LIKE '\''par-%'\'' AND status = '\''sent'\''")" 40
  expect_eq "$(grep -h "^To: par-" "$TEST_DIR"/mx/new/* | sort -u | wc -l)" 40
  expect_eq "$(ls "$TEST_DIR"/mx/new | wc -l)" 40
  sessions=$(grep -h "^X-Test-Session: " "$TEST_DIR"/mx/new/* | sort | uniq -c)
  echo "$sessions"
  expect_eq "$(echo "$sessions" | wc -l)" 4
  # Equal shares: 10 messages on each session.
  expect_eq "$(echo "$sessions" | awk "{print \$1}" | sort -u)" 10
'

test_case 'a gateway pause is shared: recorded by the daemon that met the 429, honoured by every daemon before it claims' '
  provider paused --latency-ms 20 --limit 5 --retry-after 3
  queue_texts 12 paused
  daemon TOCSIN_SMS_CONCURRENCY=2
  wait_until "grep -q \" 429 \" \"$API_LOG\"" 20
  # The refusal reached the daemon: the pause is in the database for every daemon to see.
  wait_until "[ \"\$(sql \"SELECT paused_until > now() FROM transport_rate WHERE transport = '\''twilio'\''\")\" = t ]" 5
  wait_until "settled paused 12" 40
  kill_tracked
  accepted_once "$API_LOG" 12
  # A pause set by hand (as another daemon would have): a new daemon claims nothing until
  # it has passed, then sends.
  provider later --latency-ms 20
  queue_texts 3 later
  sql "UPDATE outbound_messages SET dedupe_key = '\''later-'\'' || id, recipient = '\''+3362'\'' || lpad(id::text, 7, '\''0'\'') WHERE dedupe_key LIKE '\''later-%'\''" >/dev/null
  sql "SELECT transport_pause('\''twilio'\'', 3)" >/dev/null
  paused_at=$(date +%s.%N)
  daemon
  wait_until "settled later 3" 20
  kill_tracked
  first=$(head -n 1 "$API_LOG" | cut -d" " -f1)
  echo "first request $("$PY" -c "import sys; print(round(float(sys.argv[1]) - float(sys.argv[2]), 2))" "$first" "$paused_at") s after the pause was set"
  "$PY" -c "import sys; sys.exit(0 if float(sys.argv[1]) - float(sys.argv[2]) >= 2.8 else 1)" "$first" "$paused_at"
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages WHERE dedupe_key LIKE '\''later-%'\'' AND status = '\''sent'\''")" 3
'

# append_replies N SENDER ID WORD…: N replies appended to the Dovecot at $DOVECOT_PORT, from
# 7 senders (SENDER0…SENDER6@example.net) taking turns, Message-ID <ID-i@example.net>, the
# WORDs said in turn.
append_replies() {
  "$PY" - "$DOVECOT_PORT" "$@" <<'PY'
import imaplib, sys
port, n, sender, ident, words = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5:]
m = imaplib.IMAP4("127.0.0.1", port)
m.login("tocsin@example.org", "secret")
for i in range(n):
    mail = ("From: <%s%d@example.net>\r\nTo: reply@lists.example.org\r\n"
            "Subject: Re: hello\r\nMessage-ID: <%s-%d@example.net>\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n" % (sender, i % 7, ident, i, words[i % len(words)]))
    assert m.append("INBOX", None, None, mail.encode())[0] == "OK"
m.logout()
PY
}

test_case 'IMAP mail applied on 3 connections: each mail once, each sender in the order of its UIDs' '
  dovecot_start "$TEST_DIR/dovecot"
  # 120 replies from 7 senders, interleaved, each with its own Message-ID.
  append_replies 120 sender order AIDE
  daemon TOCSIN_IMAP_HOST=127.0.0.1 TOCSIN_IMAP_PORT=$DOVECOT_PORT TOCSIN_IMAP_TLS=off \
    TOCSIN_IMAP_USER=tocsin@example.org TOCSIN_IMAP_PASSWORD=secret TOCSIN_IMAP_CONNECTIONS=3 \
    TOCSIN_SMS_PROVIDER=spool
  wait_until "[ \"\$(sql \"SELECT coalesce(max(last_uid), 0) FROM imap_mailboxes\")\" = 120 ]" 30
  kill_tracked
  expect_eq "$(sql "SELECT count(DISTINCT provider_id) FROM inbound_messages WHERE provider = '\''imap'\''")" 120
  expect_eq "$(sql "SELECT count(*) FROM inbound_messages WHERE provider = '\''imap'\''")" 120
  expect_eq "$("$PY" "$SRC/tests/integration/imap_tool.py" "$DOVECOT_PORT" count UNSEEN)" 0
  # Per sender, the rows were written (ids) in the order of the UIDs.
  expect_eq "$(sql "SELECT count(*) FROM (SELECT sender, substring(provider_id from '\'':([0-9]+)$'\'')::int AS uid,
                      lag(substring(provider_id from '\'':([0-9]+)$'\'')::int) OVER (PARTITION BY sender ORDER BY id) AS before
                    FROM inbound_messages WHERE provider = '\''imap'\'') s WHERE before > uid")" 0
  expect_eq "$(sql "SELECT count(DISTINCT sender) FROM inbound_messages WHERE provider = '\''imap'\''")" 7
'

# Batches are handed to the appliers before the one before them is settled (imap.c): when
# the database drops an applier's connection, the batch after must not overtake the mails
# left behind. The connections are cut (not the server stopped), so the applier's next
# statement reconnects at once: only its holding back keeps each sender's order.
test_case 'IMAP connections cut twice while 1,400 mails are read in 7 batches: each mail once, each sender in UID order' '
  dovecot_start "$TEST_DIR/dovecot-cut"
  trap "kill_tracked; dovecot_stop" EXIT
  append_replies 1400 cut cut START STOP
  daemon TOCSIN_IMAP_HOST=127.0.0.1 TOCSIN_IMAP_PORT=$DOVECOT_PORT TOCSIN_IMAP_TLS=off \
    TOCSIN_IMAP_USER=tocsin@example.org TOCSIN_IMAP_PASSWORD=secret TOCSIN_IMAP_CONNECTIONS=2 \
    TOCSIN_SMS_PROVIDER=spool
  for at in 250 700; do
    wait_until "[ \"\$(sql \"SELECT count(*) FROM inbound_messages WHERE sender LIKE '\''cut_@example.net'\''\")\" -ge $at ]" 30
    sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database()
         AND pid <> pg_backend_pid() AND backend_type = '\''client backend'\''" >/dev/null
  done
  wait_until "[ \"\$(sql \"SELECT count(*) FROM inbound_messages WHERE sender LIKE '\''cut_@example.net'\''\")\" = 1400 ]" 60
  wait_until "[ \"\$("$PY" "$SRC/tests/integration/imap_tool.py" "$DOVECOT_PORT" count UNSEEN)\" = 0 ]" 30
  kill_tracked
  expect_eq "$(sql "SELECT count(DISTINCT provider_id), count(*) FROM inbound_messages WHERE sender LIKE '\''cut_@example.net'\''")" "1400|1400"
  expect_eq "$(sql "SELECT count(*) FROM (SELECT substring(provider_id from '\'':([0-9]+)$'\'')::int AS uid,
                      lag(substring(provider_id from '\'':([0-9]+)$'\'')::int) OVER (PARTITION BY sender ORDER BY id) AS before
                    FROM inbound_messages WHERE sender LIKE '\''cut_@example.net'\'') s WHERE before > uid")" 0
'

test_case 'a daemon'\''s inbound transactions do not NOTIFY inside; what they queue is announced after the commit, to the daemons that send' '
  # The trigger: silent in a transaction that inbound_record() marked as announced by its
  # daemon, one notification otherwise (psql prints those its session received).
  for announced in true false; do
    out=$(psql -X -v ON_ERROR_STOP=1 -d "$PGDATABASE" 2>&1 <<SQL
LISTEN tocsin_outbound;
BEGIN;
SELECT inbound_id FROM inbound_record('\''sms'\'', '\''twilio'\'', '\''SMann-$announced'\'', '\''+33612000001'\'', '\''+33700000000'\'', '\''X'\'', NULL, NULL, $announced) \gset
INSERT INTO outbound_messages (channel, recipient, kind, dedupe_key, body, inbound_id)
  VALUES ('\''sms'\'', '\''+33612000001'\'', '\''reply'\'', '\''ann-$announced'\'', '\''x'\'', :inbound_id);
COMMIT;
SELECT 1;
SQL
)
    notes=$(echo "$out" | grep -c "Asynchronous notification \"tocsin_outbound\"" || true)
    echo "p_announced=$announced: $notes notification(s)"
    if [ $announced = true ]; then expect_eq "$notes" 0; else expect_eq "$notes" 1; fi
  done
  sql "DELETE FROM outbound_messages WHERE dedupe_key LIKE '\''ann-%'\''" >/dev/null
  # Webhooks reach a daemon that sends nothing ([engine] workers = 0); another daemon sends
  # the replies. Its poll comes every 60 s: only the first one'\''s announcement can wake it.
  provider announce --latency-ms 20
  http_port=$(free_port)
  env TOCSIN_HTTP_LISTEN="127.0.0.1:$http_port" TOCSIN_HTTP_PUBLIC_URL="http://127.0.0.1:$http_port" \
    TOCSIN_ENGINE_WORKERS=0 TOCSIN_ENGINE_POLL_INTERVAL=60 "$TOCSIN" run >> "$TEST_DIR/daemon.log" 2>&1 &
  track $!
  daemon TOCSIN_ENGINE_POLL_INTERVAL=60 TOCSIN_ENGINE_WORKERS=1
  wait_until "curl -fs http://127.0.0.1:$http_port/healthz >/dev/null" 10
  sleep 1 # the sender'\''s first poll is behind it
  for i in $(seq 1 10); do
    "$PY" "$SRC/tests/integration/sms_helper.py" twilio "http://127.0.0.1:$http_port/sms/twilio" tok \
      MessageSid=SMann$i From=+3361200$(printf %04d $i) To=+33700000000 Body=HELP NumSegments=1 | grep -q "^200"
  done
  sent_at=$(date +%s.%N)
  wait_until "[ \"\$(sql \"SELECT count(*) FROM outbound_messages o JOIN inbound_messages i ON i.id = o.inbound_id WHERE i.provider_id LIKE '\''SMann%'\'' AND o.status = '\''sent'\''\")\" = 10 ]" 20
  done_at=$(date +%s.%N)
  kill_tracked
  echo "10 replies sent $("$PY" -c "import sys; print(round(float(sys.argv[1]) - float(sys.argv[2]), 2))" "$done_at" "$sent_at") s after the last webhook"
  accepted_once "$API_LOG" 10
  "$PY" -c "import sys; sys.exit(0 if float(sys.argv[1]) - float(sys.argv[2]) < 10 else 1)" "$done_at" "$sent_at"
'
