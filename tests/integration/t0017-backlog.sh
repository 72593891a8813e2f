#!/usr/bin/env bash
# The SMS backlog (docs/sms.md, "Bursts"): a busy daemon stores a signed text, answers the
# gateway at once and applies it right after — each text once, each sender's texts in the
# order they were answered, a daemon's death or a refused text losing nothing.
. "$SRC/tests/integration/lib.sh"

PY=/usr/bin/python3
export TOCSIN_SMS_PROVIDER=twilio TOCSIN_SMS_ACCOUNT=AC123 TOCSIN_SMS_TOKEN=tok \
  TOCSIN_SMS_FROM=+33700000000 TOCSIN_SMS_API_URL=http://127.0.0.1:9 TOCSIN_ENGINE_WORKERS=0 \
  TOCSIN_ENGINE_LOG_LEVEL=info TOCSIN_ENGINE_POLL_INTERVAL=1

wait_until() {
  local cond=$1 limit=${2:-20}
  for _ in $(seq 1 $((limit * 10))); do eval "$cond" && return 0; sleep 0.1; done
  echo "timed out waiting for: $cond"; return 1
}
backlog_empty() { [ "$(sql "SELECT count(*) FROM sms_backlog")" = 0 ]; }

# send_texts URL FILE: each line of FILE is "MessageSid From Body"; every sender's texts go
# one after the other, in the file's order, the senders side by side (8 at a time). Prints
# the HTTP statuses, counted.
send_texts() {
  "$PY" - "$1" "$2" <<'PY'
import collections, concurrent.futures, sys, urllib.error, urllib.parse, urllib.request
from twilio.request_validator import RequestValidator
url, path = sys.argv[1], sys.argv[2]
validator = RequestValidator("tok")
by_sender = collections.OrderedDict()
for line in open(path):
    sid, sender, body = line.rstrip("\n").split(" ", 2)
    by_sender.setdefault(sender, []).append((sid, body))
def post(sid, sender, body):
    p = {"MessageSid": sid, "From": sender, "To": "+33700000000", "Body": body}
    req = urllib.request.Request(url, data=urllib.parse.urlencode(p).encode(), headers={
        "X-Twilio-Signature": validator.compute_signature(url, p)})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
def one_sender(sender):
    return [post(sid, sender, body) for sid, body in by_sender[sender]]
statuses = collections.Counter()
with concurrent.futures.ThreadPoolExecutor(8) as pool:
    for result in pool.map(one_sender, by_sender):
        statuses.update(result)
print(" ".join("%s:%d" % kv for kv in sorted(statuses.items())))
PY
}

# leave_rows PREFIX SENDERS TEXTS NUMBER: what a daemon that died left in the backlog, TEXTS
# HELPs from each of SENDERS numbers (NUMBER then 5 digits), interleaved as they would have
# come (every sender's first text, then every sender's second…); MessageSid PREFIX-s-k.
leave_rows() {
  sql "INSERT INTO sms_backlog (provider, provider_id, sender, recipient, body, proof)
       SELECT 'twilio', '$1-' || s || '-' || k, '$4' || lpad(s::text, 5, '0'), '+33700000000',
              'HELP', 'signed_webhook'
       FROM generate_series(1, $3) k, generate_series(1, $2) s ORDER BY k, s" >/dev/null
}

# in_order PREFIX: for every sender, the inbound rows of texts whose MessageSid starts with
# PREFIX were recorded in the order of their sequence number (the MessageSid's last part).
in_order() {
  sql "SELECT sender, string_agg(split_part(provider_id, '-', 3), ' ' ORDER BY id)
       FROM inbound_messages WHERE provider_id LIKE '$1-%' GROUP BY sender" | "$PY" -c '
import sys
bad = []
for line in sys.stdin:
    sender, seq = line.rstrip("\n").split("|")
    numbers = [int(n) for n in seq.split()]
    if numbers != sorted(numbers):
        bad.append((sender, numbers))
print("senders out of order:", len(bad), bad[:3])
sys.exit(1 if bad else 0)'
}

test_case 'with [sms] apply_inline = 0 a signed text is answered 200 at once, stored, then applied and answered once' '
  start_daemon TOCSIN_SMS_APPLY_INLINE=0 TOCSIN_HTTP_METRICS_TOKEN=mt
  out=$("$PY" "$SRC/tests/integration/sms_helper.py" twilio "$HTTP/sms/twilio" tok \
    MessageSid=SMstored1 From=+33611110001 To=+33700000000 Body=HELP)
  echo "$out"
  case "$out" in "200 text/xml"*"<Response"*) ;; *) exit 1 ;; esac
  wait_until backlog_empty 10
  expect_eq "$(sql "SELECT status, command FROM inbound_messages WHERE provider_id = '\''SMstored1'\''")" "unknown_sender|help"
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages o JOIN inbound_messages i ON i.id = o.inbound_id WHERE i.provider_id = '\''SMstored1'\''")" 1
  curl -fs -H "Authorization: Bearer mt" "$HTTP/metrics" | grep "tocsin_sms_webhooks_total{provider=\"twilio\",result=\"stored\"} 1"
  grep -q "event=sms_backlog_applied texts=1" "$TEST_DIR/daemon.log"
  # The gateway retries the same text: stored again, applied as a duplicate: nothing more.
  "$PY" "$SRC/tests/integration/sms_helper.py" twilio "$HTTP/sms/twilio" tok \
    MessageSid=SMstored1 From=+33611110001 To=+33700000000 Body=HELP | grep -q "^200"
  wait_until backlog_empty 10
  expect_eq "$(sql "SELECT count(*) FROM inbound_messages WHERE provider_id = '\''SMstored1'\''")" 1
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages o JOIN inbound_messages i ON i.id = o.inbound_id WHERE i.provider_id = '\''SMstored1'\''")" 1
  stop_daemon
'

test_case 'idle, a text is applied while the gateway waits (apply_inline = 1): nothing goes through the backlog' '
  start_daemon TOCSIN_HTTP_METRICS_TOKEN=mt
  "$PY" "$SRC/tests/integration/sms_helper.py" twilio "$HTTP/sms/twilio" tok \
    MessageSid=SMinline1 From=+33611110002 To=+33700000000 Body=HELP | grep -q "^200"
  # No wait: applied before the answer.
  expect_eq "$(sql "SELECT status FROM inbound_messages WHERE provider_id = '\''SMinline1'\''")" unknown_sender
  curl -fs -H "Authorization: Bearer mt" "$HTTP/metrics" | grep "tocsin_sms_webhooks_total{provider=\"twilio\",result=\"applied\"} 1"
  if curl -fs -H "Authorization: Bearer mt" "$HTTP/metrics" | grep "result=\"stored\""; then exit 1; fi
  stop_daemon
'

test_case '400 texts from 40 senders, 8 at a time, stored and applied by 3 appliers: each once, each sender in order' '
  for k in $(seq 1 10); do for s in $(seq 1 40); do
    case $((k % 2)) in 1) body=STOP ;; 0) body=START ;; esac
    echo "SMord-$s-$k +336120$(printf %05d $s) $body"
  done; done > texts.txt
  start_daemon TOCSIN_SMS_APPLY_INLINE=0 TOCSIN_SMS_APPLIERS=3
  expect_eq "$(send_texts "$HTTP/sms/twilio" texts.txt)" "200:400"
  wait_until backlog_empty 60
  expect_eq "$(sql "SELECT count(*) FROM inbound_messages WHERE provider_id LIKE '\''SMord-%'\''")" 400
  in_order SMord
  # Each sender sent STOP last-but-one and START last: the ledger ends on opt_in for all 40.
  expect_eq "$(sql "SELECT count(*) FROM (SELECT DISTINCT ON (k.contact_id) k.action FROM consent k
    JOIN contacts c ON c.id = k.contact_id WHERE c.address LIKE '\''+336120%'\'' AND k.channel = '\''sms'\''
    ORDER BY k.contact_id, k.id DESC) last WHERE action = '\''opt_in'\''")" 40
  stop_daemon
'

# budget_script PREFIX UK: the texts of five senders, each sender's in order (slot s is the
# sender PREFIX then s, or UK then s for the first): a number abroad; STOP then HELP twice;
# STOP, START, then HELP three times; STOP then EVENTS; and a number never answered before.
budget_script() {
  printf '%s\n' "$2""1 HELP" "$1""2 STOP" "$1""2 HELP" "$1""2 HELP" "$1""3 STOP" "$1""3 START" \
    "$1""3 HELP" "$1""3 HELP" "$1""3 HELP" "$1""4 STOP" "$1""4 EVENTS" "$1""5 HELP"
}
# budget_verdicts PREFIX UK: for each slot, what became of each text (the reason its reply
# was withheld, or its status) and how many replies were queued to it.
budget_verdicts() {
  sql "SELECT string_agg(slot || ':' || verdicts || ' replies=' || replies, ' ' ORDER BY slot) FROM (
         SELECT right(i.sender, 1) AS slot,
                string_agg(coalesce(i.reply_withheld, i.status), ',' ORDER BY i.id) AS verdicts,
                (SELECT count(*) FROM outbound_messages o WHERE o.recipient = i.sender) AS replies
           FROM inbound_messages i WHERE i.sender LIKE '$1_' OR i.sender LIKE '$2_'
          GROUP BY i.sender) v"
}

# budget_backlog PREFIX UK: budget_script's texts left in the backlog, every sender's first
# text, then every sender's second…, so that one applier takes a text of each sender into
# each group.
budget_backlog() {
  budget_script "$1" "$2" | "$PY" -c '
import collections, sys
seen, rows = collections.Counter(), []
for line in sys.stdin:
    sender, text = line.split()
    seen[sender] += 1
    rows.append((seen[sender], len(rows), sender, text))
for n, (_, _, sender, text) in enumerate(sorted(rows)):
    print("INSERT INTO sms_backlog (provider, provider_id, sender, recipient, body, proof)"
          " VALUES (%s);" % ", ".join("\x27%s\x27" % v for v in (
              "twilio", "SMbudget-%d" % n, sender, "+33700000000", text, "signed_webhook")))
' | "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 >/dev/null
}

# A group budgets its replies when it writes them, all senders at once (decide/process.h):
# the verdicts must be those of the same texts applied one by one.
test_case 'the reply budget decides the replies of a group as it decides each text alone: abroad, HELP after STOP, repeats, opted out' '
  stop_daemon
  budget_script +3361540000 +4477009000 | while read -r from text; do
    "$TOCSIN" sms-inject --from "$from" --to +33700000000 --text "$text" >/dev/null 2>>"$TEST_DIR/inject.log"
  done
  alone=$(budget_verdicts +3361540000 +4477009000)
  expect_eq "$alone" "1:country replies=0 2:applied,applied,help_after_stop replies=2 3:applied,applied,applied,repeat,repeat replies=3 4:applied,opted_out replies=1 5:unknown_sender replies=1"
  budget_backlog +3361550000 +4477009100
  mark=$(wc -l < "$TEST_DIR/daemon.log")
  start_daemon TOCSIN_SMS_APPLIERS=1
  wait_until backlog_empty 20
  stop_daemon
  tail -n +$((mark + 1)) "$TEST_DIR/daemon.log" | grep -Eq "event=sms_backlog_applied texts=([2-9]|[1-9][0-9])"
  expect_eq "$(budget_verdicts +3361550000 +4477009100)" "$alone"
'

test_case 'rows a dead daemon left (600, ten per sender) are applied by the next daemon, racing 4 appliers: each once, in order' '
  leave_rows SMleft 60 10 +336130
  start_daemon TOCSIN_SMS_APPLIERS=4
  wait_until backlog_empty 60
  expect_eq "$(sql "SELECT count(*) FROM inbound_messages WHERE provider_id LIKE '\''SMleft-%'\''")" 600
  in_order SMleft
  stop_daemon
'

test_case 'kill -9 in the middle of a backlog of 3,000 texts: after a restart every text is applied exactly once' '
  leave_rows SMkill 3000 1 +336140
  start_daemon
  wait_until "[ \$(sql \"SELECT count(*) FROM inbound_messages WHERE provider_id LIKE '\''SMkill-%'\''\") -gt 100 ]" 30
  kill_ours KILL "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true; DAEMON_PID=
  left=$(sql "SELECT count(*) FROM sms_backlog")
  echo "left after kill -9: $left"
  [ "$left" -gt 0 ]
  start_daemon
  wait_until backlog_empty 60
  expect_eq "$(sql "SELECT count(*), count(DISTINCT provider_id) FROM inbound_messages WHERE provider_id LIKE '\''SMkill-%'\''")" "3000|3000"
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages o JOIN inbound_messages i ON i.id = o.inbound_id WHERE i.provider_id LIKE '\''SMkill-%'\''")" 3000
  stop_daemon
'

test_case 'SIGTERM with 5,000 texts waiting: the daemon stops within 5 s, what is left is applied by the next start, each once' '
  leave_rows SMterm 5000 1 +336160
  start_daemon
  wait_until "[ \$(sql \"SELECT count(*) FROM inbound_messages WHERE provider_id LIKE '\''SMterm-%'\''\") -gt 100 ]" 30
  started=$(date +%s.%N)
  stop_daemon
  took=$(echo "$(date +%s.%N) - $started" | bc)
  left=$(sql "SELECT count(*) FROM sms_backlog")
  echo "stopped in $took s, $left left"
  [ "$left" -gt 0 ]
  [ "$(echo "$took < 5" | bc)" = 1 ]
  start_daemon
  wait_until backlog_empty 60
  expect_eq "$(sql "SELECT count(*), count(DISTINCT provider_id) FROM inbound_messages WHERE provider_id LIKE '\''SMterm-%'\''")" "5000|5000"
  stop_daemon
'

test_case 'a text the engine refuses is set aside with its error, the rest of its group applied; after 10 attempts it no longer holds back its sender' '
  # A fault planted for the test: the inbound row of a text saying BOOM cannot be written.
  sql "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN
         IF NEW.body = '\''BOOM'\'' THEN RAISE EXCEPTION '\''planted failure'\''; END IF; RETURN NEW; END \$\$;
       CREATE TRIGGER boom BEFORE INSERT ON inbound_messages FOR EACH ROW EXECUTE FUNCTION boom()"
  sql "INSERT INTO sms_backlog (provider, provider_id, sender, recipient, body, proof)
       SELECT '\''twilio'\'', '\''SMboom-'\'' || g || '\''-1'\'', '\''+336150'\'' || lpad(g::text, 5, '\''0'\''),
              '\''+33700000000'\'', CASE g WHEN 7 THEN '\''BOOM'\'' ELSE '\''HELP'\'' END, '\''signed_webhook'\''
       FROM generate_series(1, 20) g" >/dev/null
  # The same sender as the refused one, after it: held back while it is retried.
  sql "INSERT INTO sms_backlog (provider, provider_id, sender, recipient, body, proof)
       VALUES ('\''twilio'\'', '\''SMboom-7-2'\'', '\''+33615000007'\'', '\''+33700000000'\'', '\''HELP'\'', '\''signed_webhook'\'')" >/dev/null
  start_daemon TOCSIN_HTTP_METRICS_TOKEN=mt
  wait_until "[ \$(sql \"SELECT count(*) FROM inbound_messages WHERE provider_id LIKE '\''SMboom-%'\''\") = 19 ]" 20
  wait_until "grep -q \"event=sms_backlog_failed id=[0-9]* attempts=1 error=.*planted failure\" \"$TEST_DIR/daemon.log\"" 10
  grep -q "event=sms_backlog_group_failed texts=[0-9]* id=[0-9]* error=.*planted failure.* action=one_by_one" "$TEST_DIR/daemon.log"
  expect_eq "$(sql "SELECT provider_id, attempts >= 1, coalesce(last_error LIKE '\''%planted failure%'\'', false) FROM sms_backlog ORDER BY id")" "SMboom-7-1|t|t
SMboom-7-2|f|f"
  "$TOCSIN" queue status | grep "inbound texts stored, not applied yet: 2 (the oldest answered [0-9]* s ago), 1 of them failing and retried"
  curl -fs -H "Authorization: Bearer mt" "$HTTP/metrics" | grep "tocsin_sms_backlog_texts{state=\"failing\"} 1"
  # Its last attempt: given up, logged as an error, and the sender'\''s next text goes through.
  sql "UPDATE sms_backlog SET attempts = 9, not_before = now() WHERE provider_id = '\''SMboom-7-1'\''" >/dev/null
  wait_until "grep -q \"level=error event=sms_backlog_given_up .*attempts=10\" \"$TEST_DIR/daemon.log\"" 10
  wait_until "[ \$(sql \"SELECT count(*) FROM inbound_messages WHERE provider_id = '\''SMboom-7-2'\''\") = 1 ]" 10
  expect_eq "$(sql "SELECT provider_id, attempts FROM sms_backlog")" "SMboom-7-1|10"
  "$TOCSIN" queue status | grep "inbound texts given up after 10 attempts: 1"
  if "$TOCSIN" queue status | grep "not applied yet"; then exit 1; fi
  curl -fs -H "Authorization: Bearer mt" "$HTTP/metrics" | grep "tocsin_sms_backlog_texts{state=\"given_up\"} 1"
  curl -fs -H "Authorization: Bearer mt" "$HTTP/metrics" | grep "tocsin_sms_backlog_oldest_seconds 0"
  stop_daemon
  sql "DROP TRIGGER boom ON inbound_messages; DROP FUNCTION boom(); DELETE FROM sms_backlog" >/dev/null
'

# A group's replies and outcomes are written together after its last text (decide/process.h):
# a reply refused there fails the group, and it is the text it answers that is set aside.
test_case 'a reply refused when the group writes its replies: its text is set aside, the others applied and answered; later applied once' '
  sql "CREATE FUNCTION boom_reply() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN
         IF NEW.recipient = '\''+33615200004'\'' THEN RAISE EXCEPTION '\''planted reply failure'\''; END IF; RETURN NEW; END \$\$;
       CREATE TRIGGER boom_reply BEFORE INSERT ON outbound_messages FOR EACH ROW EXECUTE FUNCTION boom_reply()"
  sql "INSERT INTO sms_backlog (provider, provider_id, sender, recipient, body, proof)
       SELECT '\''twilio'\'', '\''SMreply-'\'' || g, '\''+336152'\'' || lpad(g::text, 5, '\''0'\''),
              '\''+33700000000'\'', '\''HELP'\'', '\''signed_webhook'\''
       FROM generate_series(1, 10) g" >/dev/null
  mark=$(wc -l < "$TEST_DIR/daemon.log")
  start_daemon
  wait_until "grep -q \"event=sms_backlog_failed id=[0-9]* attempts=1 error=.*planted reply failure\" \"$TEST_DIR/daemon.log\"" 20
  wait_until "[ \$(sql \"SELECT count(*) FROM inbound_messages WHERE provider_id LIKE '\''SMreply-%'\''\") = 9 ]" 10
  tail -n +$((mark + 1)) "$TEST_DIR/daemon.log" | grep -q "event=sms_backlog_group_failed texts=[0-9]* id=[0-9]* error=.*planted reply failure.* action=one_by_one"
  expect_eq "$(sql "SELECT provider_id, attempts >= 1 FROM sms_backlog")" "SMreply-4|t"
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages o JOIN inbound_messages i ON o.dedupe_key = '\''reply:'\'' || i.id AND o.recipient = i.sender WHERE i.provider_id LIKE '\''SMreply-%'\'' AND i.status <> '\''received'\''")" 9
  sql "DROP TRIGGER boom_reply ON outbound_messages; DROP FUNCTION boom_reply();
       UPDATE sms_backlog SET not_before = now()" >/dev/null
  wait_until backlog_empty 10
  stop_daemon
  expect_eq "$(sql "SELECT count(*), count(DISTINCT o.recipient) FROM outbound_messages o JOIN inbound_messages i ON o.dedupe_key = '\''reply:'\'' || i.id WHERE i.provider_id LIKE '\''SMreply-%'\''")" "10|10"
'

test_case 'the database gone: a busy webhook answers 503 and stores nothing; back, the same text is stored and applied' '
  start_daemon TOCSIN_SMS_APPLY_INLINE=0
  # Refuse new writes to the backlog as an outage would (a read-only transaction: 25006).
  sql "ALTER DATABASE \"$PGDATABASE\" SET default_transaction_read_only = on" >/dev/null
  # New connections see it: make the daemon reconnect by ending its sessions.
  sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()" >/dev/null
  out=$("$PY" "$SRC/tests/integration/sms_helper.py" twilio "$HTTP/sms/twilio" tok \
    MessageSid=SMdown1 From=+33611110003 To=+33700000000 Body=HELP)
  echo "$out"
  case "$out" in 503*) ;; *) exit 1 ;; esac
  export PGOPTIONS="-c default_transaction_read_only=off"
  expect_eq "$(sql "SELECT count(*) FROM sms_backlog WHERE provider_id = '\''SMdown1'\''")" 0
  sql "ALTER DATABASE \"$PGDATABASE\" RESET default_transaction_read_only" >/dev/null
  unset PGOPTIONS
  wait_until "\"$PY\" \"$SRC/tests/integration/sms_helper.py\" twilio \"$HTTP/sms/twilio\" tok MessageSid=SMdown1 From=+33611110003 To=+33700000000 Body=HELP | grep -q ^200" 20
  wait_until "[ \$(sql \"SELECT count(*) FROM inbound_messages WHERE provider_id = '\''SMdown1'\''\") = 1 ]" 20
  grep "event=sms_webhook_failed" "$TEST_DIR/daemon.log" | grep -q "what=backlog"
  stop_daemon
'
