#!/usr/bin/env bash
# Trust (issue 12), point 4: replies cost money, so they are budgeted. Texts from countries
# outside [sms] reply_countries are applied but not answered; one number gets at most
# [engine] replies_per_hour / replies_per_day answers (the STOP confirmation aside); HELP
# after STOP is answered once a day; INFO counts only alone; the same text repeated is
# answered once; replies to numbers never answered before are counted, with a warning past
# [sms] new_number_replies_per_hour. Texts come through the generic gateway's signed webhook.
. "$SRC/tests/integration/lib.sh"
H="/usr/bin/python3 $SRC/tests/integration/sms_helper.py"
SECRET=generic-budget-secret
MTOKEN=budget-metrics-token

budget_daemon() { # [ENV=VALUE ...]
  stop_daemon
  start_daemon TOCSIN_SMS_PROVIDER=generic TOCSIN_SMS_GENERIC_SECRET=$SECRET TOCSIN_SMS_API_URL=http://127.0.0.1:9 \
    TOCSIN_ENGINE_WORKERS=0 TOCSIN_HTTP_METRICS_TOKEN=$MTOKEN "$@"
}
# texts FILE: post every "FROM<TAB>TEXT" line of FILE as a signed text; prints the statuses.
texts() {
  /usr/bin/python3 - "$1" > "$1.json" <<'PY'
import json, sys, uuid
for line in open(sys.argv[1], encoding="utf-8"):
    sender, _, text = line.rstrip("\n").partition("\t")
    print(json.dumps({"id": str(uuid.uuid4()), "from": sender, "to": "36173", "text": text}))
PY
  $H post-json-lines "$HTTP/sms/generic" $SECRET "$1.json" | sort | uniq -c | awk '{print $2 "x" $1}'
}
text() { printf "%s\t%s\n" "$1" "$2" > one.txt; texts one.txt >/dev/null; }
replies_to() { sql "SELECT count(*) FROM outbound_messages WHERE recipient = '$1'"; }
withheld() { sql "SELECT coalesce(string_agg(coalesce(reply_withheld, '-'), ' ' ORDER BY id), '') FROM inbound_messages WHERE sender = '$1'"; }
metric() { curl -s -H "Authorization: Bearer $MTOKEN" "$HTTP/metrics" | awk -v name="$1" '$1 == name {print $2}'; }

"$TOCSIN" team add paris-10 --name "Paris 10e" >/dev/null
budget_daemon

test_case '100 texts from +4470… numbers are applied but queue no paid reply' '
  for i in $(seq 1 100); do printf "+447700900%03d\tJOIN paris-10\n" $i; done > uk.txt
  expect_eq "$(texts uk.txt)" "200x100"
  expect_eq "$(sql "SELECT count(*) FROM memberships m JOIN contacts c ON c.person_id = m.person_id WHERE c.address LIKE '"'"'+44%'"'"'")" 100
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages")" 0
  expect_eq "$(sql "SELECT count(*) FROM inbound_messages WHERE reply_withheld = '"'"'country'"'"'")" 100
  expect_eq "$(metric "tocsin_replies_withheld_total{channel=\"sms\",reason=\"country\"}")" 100
  grep -q "event=reply_withheld channel=sms recipient=\"+447700900001\" inbound_id=1 reason=country" "$TEST_DIR/daemon.log"
'

test_case 'French and overseas numbers are answered by default' '
  printf "+33612345601\tJOIN paris-10\n+262692123456\tJOIN paris-10\n+590690123456\tJOIN paris-10\n" > fr.txt
  texts fr.txt >/dev/null
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages WHERE recipient IN ('"'"'+33612345601'"'"', '"'"'+262692123456'"'"', '"'"'+590690123456'"'"')")" 3
'

budget_daemon TOCSIN_SMS_REPLY_COUNTRIES="FR, GB"
test_case '[sms] reply_countries names the countries answered' '
  text +447700900999 "JOIN paris-10"
  expect_eq "$(replies_to +447700900999)" 1
  text +15005550006 "JOIN paris-10"
  expect_eq "$(replies_to +15005550006)" 0
'

budget_daemon TOCSIN_ENGINE_REPLIES_PER_HOUR=3 TOCSIN_ENGINE_REPLIES_PER_DAY=5
test_case 'one number gets at most replies_per_hour answers, HELP included; the STOP confirmation still goes' '
  N=+33612340001
  printf "$N\tJOIN paris-10\n$N\tEVENTS\n$N\tHELP\n$N\tAIDE\n$N\tLEAVE paris-10\n" > burst.txt
  texts burst.txt >/dev/null
  expect_eq "$(replies_to $N)" 3
  expect_eq "$(withheld $N)" "- - - hourly_cap hourly_cap"
  expect_eq "$(sql "SELECT count(*) FROM memberships m JOIN contacts c ON c.person_id = m.person_id WHERE c.address = '"'"'$N'"'"'")" 0
  text $N "STOP"
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages WHERE recipient = '"'"'$N'"'"' AND kind = '"'"'stop_confirmation'"'"'")" 1
'

test_case 'and at most replies_per_day in 24 hours' '
  N=+33612340002
  text $N "JOIN paris-10"; text $N "EVENTS"; text $N "HELP"
  sql "UPDATE outbound_messages SET created_at = now() - interval '"'"'2 hours'"'"' WHERE recipient = '"'"'$N'"'"'" >/dev/null
  text $N "AIDE"; text $N "LEAVE paris-10"; text $N "JOIN paris-10"
  expect_eq "$(replies_to $N)" 5
  expect_eq "$(withheld $N)" "- - - - - daily_cap"
'

budget_daemon
test_case 'HELP after STOP is answered once a day' '
  N=+33612340003
  text $N "JOIN paris-10"; text $N "STOP"; text $N "HELP"; text $N "AIDE"; text $N "HELP me"
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages WHERE recipient = '"'"'$N'"'"' AND kind = '"'"'help'"'"'")" 1
  expect_eq "$(withheld $N)" "- - - help_after_stop help_after_stop"
'

test_case 'INFO counts only alone: an auto-responder'"'"'s "Info : je suis absent…" is not a question' '
  N=+33612340004
  text $N "JOIN paris-10"
  text $N "Info : je suis absent jusqu'"'"'au 12, je vous répondrai à mon retour"
  expect_eq "$(sql "SELECT coalesce(command, '"'"'-'"'"') || '"'"' '"'"' || status FROM inbound_messages WHERE sender = '"'"'$N'"'"' ORDER BY id DESC LIMIT 1")" "- unknown"
  text $N "INFO"
  expect_eq "$(sql "SELECT command FROM inbound_messages WHERE sender = '"'"'$N'"'"' ORDER BY id DESC LIMIT 1")" help
'

test_case 'the same text repeated 20 times is answered once; a different one in between is answered' '
  N=+33612340005
  text $N "JOIN paris-10"
  for i in $(seq 1 20); do printf "$N\tOUI\n"; done > repeat.txt
  expect_eq "$(texts repeat.txt)" "200x20"
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages o JOIN inbound_messages i ON o.dedupe_key = '"'"'reply:'"'"' || i.id WHERE i.sender = '"'"'$N'"'"' AND i.body = '"'"'OUI'"'"'")" 1
  expect_eq "$(sql "SELECT count(*) FROM inbound_messages WHERE sender = '"'"'$N'"'"' AND reply_withheld = '"'"'repeat'"'"'")" 19
  text $N "EVENTS"; text $N "OUI"
  expect_eq "$(sql "SELECT count(*) FROM outbound_messages o JOIN inbound_messages i ON o.dedupe_key = '"'"'reply:'"'"' || i.id WHERE i.sender = '"'"'$N'"'"' AND i.body = '"'"'OUI'"'"'")" 2
'

budget_daemon TOCSIN_SMS_NEW_NUMBER_REPLIES_PER_HOUR=5
test_case 'replies to numbers never answered before are counted, with a warning past the rate' '
  before=$(sql "SELECT count(*) FROM sms_answered_numbers")
  for i in $(seq 1 8); do printf "+3361239%04d\tJOIN paris-10\n" $i; done > new.txt
  texts new.txt >/dev/null
  expect_eq "$(metric "tocsin_sms_replies_new_numbers_total")" 8
  expect_eq "$(sql "SELECT count(*) FROM sms_answered_numbers")" $((before + 8))
  # The k-th of the 8 warns once more than 5 numbers were new within the hour.
  warned=0
  for k in $(seq 1 8); do [ $((before + k)) -gt 5 ] && warned=$((warned + 1)); done
  expect_eq "$(grep -c "event=sms_pumping_suspected" "$TEST_DIR/daemon.log")" $warned
  # A number already answered is not new.
  text +33612390001 "EVENTS"
  expect_eq "$(metric "tocsin_sms_replies_new_numbers_total")" 8
'
