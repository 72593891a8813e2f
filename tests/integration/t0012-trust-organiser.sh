#!/usr/bin/env bash
# Trust (issue 12), point 2: organiser codes cannot be guessed. A code belongs to one draft
# (a new MSG voids the older one); five wrong codes void the draft and the organiser is told
# once; a sender who fails five times in 15 minutes is refused for an hour; by mail a CONFIRM
# needs the reply to the code's own mail; refusals are counted as refusals in /metrics. The
# texts come in through the generic gateway's signed webhook, as a gateway would post them.
. "$SRC/tests/integration/lib.sh"
H="/usr/bin/python3 $SRC/tests/integration/sms_helper.py"
SECRET=generic-organiser-secret
MTOKEN=organiser-metrics-token
CAMILLE=+33612345601
# The replies are what this file checks; the reply budget (t0012-trust-budget) is out of the way.
export TOCSIN_ENGINE_REPLIES_PER_HOUR=1000 TOCSIN_ENGINE_REPLIES_PER_DAY=1000

start_daemon TOCSIN_SMS_PROVIDER=generic TOCSIN_SMS_GENERIC_SECRET=$SECRET TOCSIN_SMS_API_URL=http://127.0.0.1:9 \
  TOCSIN_ENGINE_WORKERS=0 TOCSIN_HTTP_METRICS_TOKEN=$MTOKEN
text() { # FROM TEXT: one signed text through /sms/generic; prints the HTTP status
  local body
  body=$(/usr/bin/python3 -c 'import json,sys,uuid; print(json.dumps({"id": str(uuid.uuid4()), "from": sys.argv[1], "to": "36173", "text": sys.argv[2]}))' "$1" "$2")
  $H post-json "$HTTP/sms/generic" $SECRET "$body" | cut -d" " -f1
}
# The reply to the last text from CAMILLE, or "-" when none was queued.
last_reply() {
  sql "SELECT coalesce((SELECT o.body FROM outbound_messages o WHERE o.dedupe_key = 'reply:' || i.id), '-')
       FROM inbound_messages i WHERE i.sender = '$CAMILLE' ORDER BY i.id DESC LIMIT 1"
}
code_of_last() { last_reply | grep -o "[0-9]\{6\}" | head -n 1; }
campaigns() { sql "SELECT count(*) FROM campaigns"; }
metric() { curl -s -H "Authorization: Bearer $MTOKEN" "$HTTP/metrics" | awk -v name="$1" '$1 == name {print $2}'; }

"$TOCSIN" team add paris-10 --name "Paris 10e" >/dev/null
printf "phone,name,locale,teams\n%s,Camille,fr,paris-10\n+33612345602,Louis,fr,paris-10\n" "$CAMILLE" > people.csv
"$TOCSIN" import people people.csv >/dev/null
"$TOCSIN" team organiser paris-10 "$CAMILLE" >/dev/null

test_case 'six wrong codes and then the right one send nothing; the organiser is told once' '
  expect_eq "$(text $CAMILLE "MSG paris-10 Rendez-vous samedi 10h au marché")" 200
  right=$(code_of_last)
  [ -n "$right" ]
  wrong() { printf "%06d" $(( (10#$right + $1) % 1000000 )); }
  for i in 1 2 3 4; do
    text $CAMILLE "CONFIRMER $(wrong $i)" >/dev/null
    last_reply | grep -q "Aucun message n.attend le code $(wrong $i)"
  done
  text $CAMILLE "CONFIRMER $(wrong 5)" >/dev/null
  expect_eq "$(last_reply)" "Cinq codes faux : votre message à Paris 10e est annulé, rien n'"'"'a été envoyé. CONFIRMER est refusé pendant une heure. Renvoyez MSG pour un nouveau code."
  text $CAMILLE "CONFIRMER $(wrong 6)" >/dev/null
  expect_eq "$(last_reply)" -
  text $CAMILLE "CONFIRMER $right" >/dev/null
  expect_eq "$(last_reply)" -
  expect_eq "$(campaigns)" 0
  expect_eq "$(sql "SELECT void_reason || '"'"' '"'"' || failures FROM organiser_drafts")" "wrong codes 5"
  expect_eq "$(sql "SELECT count(*) FROM organiser_code_failures")" 5
  expect_eq "$(sql "SELECT string_agg(status, '"'"' '"'"' ORDER BY id) FROM inbound_messages WHERE command = '"'"'confirm'"'"'")" "refused refused refused refused refused refused refused"
'

test_case '/metrics counts the refusals as refusals, not as applied commands' '
  expect_eq "$(metric "tocsin_commands_refused_total{command=\"confirm\"}")" 7
  expect_eq "$(metric "tocsin_commands_total{command=\"confirm\"}")" ""
  expect_eq "$(metric "tocsin_commands_total{command=\"msg\"}")" 1
'

test_case 'for an hour after, even a new draft'"'"'s right code is refused, without an answer' '
  text $CAMILLE "MSG paris-10 Deuxième essai" >/dev/null
  right=$(code_of_last)
  [ -n "$right" ]
  text $CAMILLE "CONFIRMER $right" >/dev/null
  expect_eq "$(last_reply)" -
  expect_eq "$(campaigns)" 0
'

test_case 'an hour later the organiser sends again: the right code works' '
  sql "INSERT INTO settings (name, value) VALUES ('"'"'test_clock_offset'"'"', '"'"'61 minutes'"'"')" >/dev/null
  text $CAMILLE "MSG paris-10 Troisième essai" >/dev/null
  right=$(code_of_last)
  text $CAMILLE "CONFIRMER $right" >/dev/null
  last_reply | grep -q "C.est confirmé : votre message part vers 2 personnes de Paris 10e"
  expect_eq "$(campaigns)" 1
'

test_case 'a code belongs to one draft: a new MSG voids the older one and its code' '
  # (Still an hour after the lock above.)
  text $CAMILLE "MSG paris-10 Premier brouillon" >/dev/null
  first=$(code_of_last)
  text $CAMILLE "MSG paris-10 Second brouillon" >/dev/null
  second=$(code_of_last)
  if [ "$first" != "$second" ]; then
    text $CAMILLE "CONFIRMER $first" >/dev/null
    last_reply | grep -q "Aucun message n.attend le code $first"
  fi
  text $CAMILLE "CONFIRMER $second" >/dev/null
  last_reply | grep -q "C.est confirmé"
  expect_eq "$(sql "SELECT body FROM organiser_drafts WHERE campaign_id IS NOT NULL ORDER BY id DESC LIMIT 1")" "Second brouillon"
  expect_eq "$(sql "SELECT void_reason FROM organiser_drafts WHERE body = '"'"'Premier brouillon'"'"'")" replaced
  sql "DELETE FROM settings WHERE name = '"'"'test_clock_offset'"'"'" >/dev/null
'

test_case 'codes are six random digits: 30 drafts, 30 different codes' '
  for i in $(seq 1 30); do "$TOCSIN" sms-inject --from $CAMILLE --to 36173 --text "MSG paris-10 brouillon $i" >/dev/null 2>&1; done
  sql "SELECT code FROM organiser_drafts" > codes
  expect_eq "$(grep -cvx "[0-9]\{6\}" codes)" 0
  expect_eq "$(sort codes | uniq -d | wc -l)" 0
'
stop_daemon

test_case 'by mail, CONFIRM <code> in a new mail is refused without looking at the code' '
  sql "INSERT INTO contacts (person_id, kind, address) SELECT person_id, '"'"'email'"'"', '"'"'camille@example.org'"'"' FROM contacts WHERE address = '"'"'$CAMILLE'"'"'" >/dev/null
  printf "From: camille@example.org\nTo: equipe@example.org\nSubject: MSG paris-10\nMessage-ID: <m1@example.org>\n\nRéunion lundi.\n" | "$TOCSIN" inject
  code=$(sql "SELECT code FROM organiser_drafts WHERE body = '"'"'Réunion lundi.'"'"'")
  failures=$(sql "SELECT count(*) FROM organiser_code_failures")
  printf "From: camille@example.org\nTo: equipe@example.org\nSubject: code\nMessage-ID: <m2@example.org>\n\nCONFIRMER %s\n" "$code" | "$TOCSIN" inject
  expect_eq "$(sql "SELECT status FROM inbound_messages WHERE provider_id = '"'"'m2@example.org'"'"'")" refused
  expect_eq "$(sql "SELECT count(*) FROM organiser_drafts WHERE body = '"'"'Réunion lundi.'"'"' AND campaign_id IS NULL AND voided_at IS NULL")" 1
  expect_eq "$(sql "SELECT count(*) FROM organiser_code_failures")" "$failures"
  sql "SELECT body FROM outbound_messages WHERE recipient = '"'"'camille@example.org'"'"' ORDER BY id DESC LIMIT 1" | grep -q "répondez CONFIRMER $code au message qui vous a donné ce code"
'
