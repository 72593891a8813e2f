#!/usr/bin/env bash
# Issue 13, item 17 — what a French campaign must comply with: the organisation is named
# (HELP/AIDE, the unsubscribe page), every campaign text says how to opt out in the
# reader's language, and an organiser is warned before a text leaves without it.
. "$SRC/tests/integration/lib.sh"

export TOCSIN_ENGINE_QUIET_HOURS=off TOCSIN_SMS_FROM=+33700000000
must_fail() { if "$@"; then echo "unexpected success: $*"; return 1; fi; }
spool_text() { # the text the spool wrote for a recipient (the last one)
  grep -l "^To: $1\$" "$TOCSIN_ENGINE_SPOOL_DIR"/sms/*.txt | xargs ls -t | head -n 1 | xargs sed '1,/^$/d'
}
wait_sent() { # wait until nothing of campaign $1 is queued or sending
  for _ in $(seq 1 100); do
    [ "$(sql "SELECT count(*) FROM outbound_messages WHERE campaign_id = $1 AND status IN ('queued', 'sending')")" = 0 ] && return 0
    sleep 0.1
  done
  sql "SELECT id, status, last_error FROM outbound_messages WHERE campaign_id = $1"
  return 1
}

"$TOCSIN" team add paris-10 --name "Paris 10e" >/dev/null
cat > people.csv <<CSV
email,phone,name,locale,teams
camille@example.org,0612345601,Camille Martin,fr,paris-10
ana@example.org,0612345603,Ana Lopes,en,paris-10
CSV
"$TOCSIN" import people people.csv >/dev/null
cat > plain.tmpl <<'T'
--- text
Samedi 10h au marché, venez nombreux !
T
cat > says_stop.tmpl <<'T'
--- text
Samedi 10h au marché. STOP pour ne plus recevoir.
T

test_case 'an SMS campaign ends with the STOP mention of each reader'"'"'s language' '
  id=$("$TOCSIN" campaign create --channel sms --segment team:paris-10 --template plain.tmpl | tail -n 1)
  "$TOCSIN" campaign send $id >/dev/null
  start_daemon
  wait_sent $id
  stop_daemon
  expect_eq "$(spool_text +33612345601)" "Samedi 10h au marché, venez nombreux ! STOP au 0700000000"
  expect_eq "$(spool_text +33612345603)" "Samedi 10h au marché, venez nombreux ! Reply STOP to opt out"
'

test_case 'a text that already says STOP gets no second mention; a configured mention is used as written' '
  id=$("$TOCSIN" campaign create --channel sms --segment team:paris-10 --template says_stop.tmpl | tail -n 1)
  "$TOCSIN" campaign send $id >/dev/null
  start_daemon
  wait_sent $id
  stop_daemon
  expect_eq "$(spool_text +33612345601)" "Samedi 10h au marché. STOP pour ne plus recevoir."
  id=$(TOCSIN_SMS_STOP_MENTION="STOP au 36173" "$TOCSIN" campaign create --channel sms --segment team:paris-10 --template plain.tmpl | tail -n 1)
  "$TOCSIN" campaign send $id >/dev/null
  start_daemon TOCSIN_SMS_STOP_MENTION="STOP au 36173"
  wait_sent $id
  stop_daemon
  expect_eq "$(spool_text +33612345603)" "Samedi 10h au marché, venez nombreux ! STOP au 36173"
'

test_case 'campaign create warns when a text would leave without saying how to opt out' '
  TOCSIN_SMS_STOP_MENTION=off "$TOCSIN" campaign create --channel sms --segment team:paris-10 --template plain.tmpl > out
  cat out
  grep -q "^warning: this text does not say how to opt out" out
  TOCSIN_SMS_FROM=Tocsin "$TOCSIN" campaign create --channel sms --segment team:paris-10 --template plain.tmpl > out
  grep -q "^warning: this text does not say how to opt out" out
  TOCSIN_SMS_STOP_MENTION=off "$TOCSIN" campaign create --channel sms --segment team:paris-10 --template says_stop.tmpl > out
  ! grep -q "opt out" out
  "$TOCSIN" campaign create --channel sms --segment team:paris-10 --template plain.tmpl > out
  ! grep -q "opt out" out
'

test_case 'sms-estimate counts the mention of the language asked for' '
  expect_eq "$("$TOCSIN" sms-estimate --locale fr "Manif samedi" | head -n 1)" "text: Manif samedi STOP au 0700000000"
  expect_eq "$("$TOCSIN" sms-estimate --locale en "Manif samedi" | head -n 1)" "text: Manif samedi Reply STOP to opt out"
  expect_eq "$("$TOCSIN" sms-estimate --kind reply "Bienvenue" | head -n 1)" "text: Bienvenue"
'

test_case 'config check warns about an unnamed organisation and texts that cannot say STOP' '
  cat > check.conf <<CONF
[sms]
provider = twilio
account = AC123
token = tok
from = Tocsin
CONF
  env -u TOCSIN_SMS_FROM "$TOCSIN" -c check.conf config check 2> err
  cat err
  grep -q "^warning: default: \[engine\] organisation = : empty: HELP answers and the unsubscribe page will not say who is writing" err
  grep -q "^warning: default: \[sms\] stop_mention = : no default: \[sms\] from is not a number" err
  printf "[engine]\norganisation = Collectif Paris 10e\n" >> check.conf
  sed -i "s/^from = Tocsin/from = +33700000000/" check.conf
  env -u TOCSIN_SMS_FROM "$TOCSIN" -c check.conf config check 2> err
  cat err
  ! grep -q "organisation\|stop_mention" err
'

camille_token() { # the unsubscribe link of a contact, as a campaign would write it
  "$TOCSIN" campaign preview "$1" --to "$2" | grep -o "/u/[^ ]*" | head -n 1
}

test_case 'the unsubscribe page speaks the person'"'"'s language and names the organisation' '
  cat > link.tmpl <<'"'"'T'"'"'
subject: Lien
--- text
{{unsubscribe_url}}
T
  id=$("$TOCSIN" campaign create --channel email --segment team:paris-10 --template link.tmpl | tail -n 1)
  fr=$(camille_token $id camille@example.org)
  en=$(camille_token $id ana@example.org)
  start_daemon "TOCSIN_ENGINE_ORGANISATION=Collectif Paris 10e" TOCSIN_ENGINE_ORGANISATION_CONTACT=contact@example.org
  curl -s "$HTTP$fr" > fr.html
  curl -s "$HTTP$en" > en.html
  curl -s -X POST "$HTTP$fr" > fr-done.html
  curl -s -H "Accept-Language: en-GB,en;q=0.8" "$HTTP/u/1-forged" > forged.html
  stop_daemon
  cat fr.html en.html fr-done.html forged.html
  grep -q "<html lang=\"fr\">" fr.html
  grep -q "Ne plus rien recevoir à c\*\*\*\*\*\*@example.org" fr.html
  grep -q "Me désinscrire" fr.html
  grep -q "Messages envoyés par Collectif Paris 10e (contact@example.org)" fr.html
  grep -q "<html lang=\"en\">" en.html
  grep -q "Stop all messages to a\*\*@example.org?" en.html
  grep -q "Messages sent by Collectif Paris 10e (contact@example.org)" en.html
  grep -q "C’est fait : c\*\*\*\*\*\*@example.org ne recevra plus de messages de notre part." fr-done.html
  grep -q "This unsubscribe link is not valid." forged.html
  expect_eq "$(sql "SELECT k.action || '"'"' '"'"' || k.source FROM consent k JOIN contacts c ON c.id = k.contact_id WHERE c.address = '"'"'camille@example.org'"'"' ORDER BY k.id DESC LIMIT 1")" "opt_out one_click"
'

inject() { "$TOCSIN" sms-inject --from "$1" --to 36173 --text "$2"; }

test_case 'HELP and AIDE say who is writing, and how to reach them' '
  out=$(TOCSIN_ENGINE_ORGANISATION="Collectif Paris 10e" TOCSIN_ENGINE_ORGANISATION_CONTACT=contact@example.org inject +33612345601 AIDE)
  echo "$out"
  echo "$out" | grep -q "^Collectif Paris 10e contact@example.org. Commandes : "
  out=$(TOCSIN_ENGINE_ORGANISATION="Paris 10 Collective" inject +33612345603 HELP)
  echo "$out"
  echo "$out" | grep -q "^Paris 10 Collective. Commands: "
  out=$(inject +33612345603 HELP)
  echo "$out"
  echo "$out" | grep -q "^Commands: "
'

test_case 'the HELP mail names the organisation too' '
  TOCSIN_ENGINE_ORGANISATION="Collectif Paris 10e" TOCSIN_ENGINE_ORGANISATION_CONTACT="https://paris10.example.org" \
    "$TOCSIN" sms-inject --from +33612345601 --to 36173 --text AIDE >/dev/null
  printf "From: Camille <camille@example.org>\nTo: t@example.org\nSubject: aide\nMessage-ID: <aide-1@example.org>\n\nAIDE\n" |
    TOCSIN_ENGINE_ORGANISATION="Collectif Paris 10e" TOCSIN_ENGINE_ORGANISATION_CONTACT="https://paris10.example.org" "$TOCSIN" inject
  sql "SELECT body FROM outbound_messages WHERE kind = '"'"'help'"'"' AND channel = '"'"'email'"'"'" > body
  cat body
  grep -q "^Collectif Paris 10e (https://paris10.example.org) — les messages de vos équipes locales, par tocsin." body
'

test_case 'an organiser'"'"'s MSG by SMS is warned when it would leave without a STOP mention' '
  "$TOCSIN" team organiser paris-10 camille@example.org >/dev/null
  out=$(TOCSIN_SMS_STOP_MENTION=off inject +33612345601 "MSG paris-10 Samedi 10h au marché !")
  echo "$out"
  echo "$out" | grep -q "Attention : il ne dira pas comment se désinscrire, aucune mention STOP n.est configurée"
  out=$(TOCSIN_SMS_FROM=Tocsin inject +33612345601 "MSG paris-10 Samedi 10h au marché !")
  echo "$out" | grep -q "Attention"
  out=$(TOCSIN_SMS_FROM=Tocsin TOCSIN_SMS_STOP_MENTION="STOP au 36173" inject +33612345601 "MSG paris-10 Samedi 10h au marché !")
  echo "$out"
  echo "$out" | grep -q "CONFIRMER [0-9]\{6\}"
  ! echo "$out" | grep -q "Attention"
  out=$(inject +33612345601 "MSG paris-10 Samedi 10h au marché !")
  ! echo "$out" | grep -q "Attention"
'
