#!/usr/bin/env bash
# Trust (issue 12), point 6: hostile input, nothing lost. A CSV written by a French Excel
# (Windows-1252) imports with its accents right, and in a UTF-8 file a row that is not UTF-8 or
# holds a NUL is refused alone, with its line; a 5,000-character Message-ID is never copied
# into a reply; an IMAP server that announces a 3 GB literal for a 300-byte message gets the
# connection cut before anything is buffered, and the reader skips that message and goes on.
. "$SRC/tests/integration/lib.sh"

"$TOCSIN" team add paris-10 --name "Paris 10e" >/dev/null

test_case 'a Windows-1252 CSV from a French Excel imports with its accents right' '
  printf "email;name;teams\r\nzoe@example.org;Zo\xe9 L\x92H\xf4te;paris-10\r\nfrancois@example.org;Fran\xe7ois M\xfcller \x80;paris-10\r\n" > excel.csv
  "$TOCSIN" import people excel.csv > out 2> err
  grep -q "^excel.csv:1: read as WINDOWS-1252 (detected: not UTF-8)$" err
  grep -q "^2 imported (2 new), 0 rejected$" out
  expect_eq "$(sql "SELECT string_agg(p.name, '"'"'|'"'"' ORDER BY p.name) FROM people p")" "François Müller €|Zoé L’Hôte"
'

test_case '--encoding names the file'"'"'s encoding: Latin-1 aliases read as Windows-1252' '
  printf "email,name\nines@example.org,In\xe8s\n" > latin.csv
  "$TOCSIN" import people --encoding ISO-8859-1 latin.csv
  expect_eq "$(sql "SELECT name FROM people p JOIN contacts c ON c.person_id = p.id WHERE c.address = '"'"'ines@example.org'"'"'")" "Inès"
  ! "$TOCSIN" import people --encoding klingon-8 latin.csv 2> err
  grep -q "latin.csv: unknown encoding klingon-8" err
'

test_case 'in a UTF-8 file a row that is not UTF-8 or holds a NUL is refused alone, with its line' '
  printf "email,name\na@example.org,Hélène\nb@example.org,Fran\xe7oise\nc@example.org,No\x00l\nd@example.org,Noël\n" > mixed.csv
  set +e; "$TOCSIN" import people mixed.csv > out 2> err; rc=$?; set -e
  expect_eq "$rc" 65
  grep -q "^mixed.csv:3: not UTF-8" err
  grep -q "^mixed.csv:4: NUL byte in field" err
  grep -q "^2 imported (2 new), 2 rejected$" out
  expect_eq "$(sql "SELECT string_agg(c.address, '"'"' '"'"' ORDER BY c.address) FROM contacts c WHERE c.address ~ '"'"'^[a-d]@'"'"'")" "a@example.org d@example.org"
'

test_case 'a 5,000-character Message-ID is never copied into the reply' '
  sql "INSERT INTO people (name, locale) VALUES ('"'"'Paul'"'"', '"'"'fr'"'"') RETURNING id" > pid
  sql "INSERT INTO contacts (person_id, kind, address) VALUES ($(cat pid), '"'"'email'"'"', '"'"'paul@example.org'"'"')" >/dev/null
  long=$(head -c 5000 /dev/zero | tr "\0" a)
  printf "Message-ID: <%s@evil.example>\nReferences: <%s@evil.example> <ok-1@example.org>\nFrom: Paul <paul@example.org>\nTo: equipe@example.org\nSubject: aide\n\nAIDE\n" "$long" "$long" > long.eml
  "$TOCSIN" inject < long.eml
  start_daemon TOCSIN_ENGINE_QUIET_HOURS=off
  for _ in $(seq 1 100); do ls spool/mail/*.eml >/dev/null 2>&1 && break; sleep 0.1; done
  stop_daemon
  reply=$(ls spool/mail/*.eml | head -n 1)
  grep -q "^To: paul@example.org" "$reply"
  expect_eq "$(awk "{ if (length(\$0) > 999) n++ } END { print n + 0 }" "$reply")" 0
  ! grep -q "aaaaaaaaaa" "$reply"
  grep -q "^References: <ok-1@example.org>" "$reply"
'

# read_from_liar USER MAIL: the daemon reads, as USER, lying_imap.py serving MAIL as UID 2
# (UIDVALIDITY 7), until UID 2 of USER is recorded; the peak resident memory it reached is
# left in liar_peak.kb, the server's port in imap.port.
read_from_liar() {
  rm -f imap.port
  /usr/bin/python3 "$SRC/tests/integration/lying_imap.py" imap.port "imap-$1.log" "$2" &
  local liar=$!
  for _ in $(seq 1 50); do [ -f imap.port ] && break; sleep 0.1; done
  start_daemon TOCSIN_IMAP_HOST=127.0.0.1 TOCSIN_IMAP_PORT=$(cat imap.port) TOCSIN_IMAP_TLS=off \
    TOCSIN_IMAP_USER="$1" TOCSIN_IMAP_PASSWORD=p TOCSIN_IMAP_POLL_INTERVAL=1 TOCSIN_IMAP_MAX_SIZE=65536
  for _ in $(seq 1 300); do
    [ "$(sql "SELECT count(*) FROM inbound_messages WHERE provider_id LIKE '$1@%/INBOX:7:2'")" = 1 ] && break
    sleep 0.1
  done
  awk "/^VmHWM/ { print \$2 }" /proc/$DAEMON_PID/status > liar_peak.kb
  stop_daemon
  kill_ours TERM $liar
}

test_case 'an IMAP server announcing a 3 GB literal for a 300-byte message: cut at once, skipped, the next mail read' '
  sql "INSERT INTO people (name) VALUES ('"'"'Lou'"'"') RETURNING id" > lid
  sql "INSERT INTO contacts (person_id, kind, address) VALUES ($(cat lid), '"'"'email'"'"', '"'"'lou@example.org'"'"')" >/dev/null
  printf "Message-ID: <honest-2@example.org>\nFrom: Lou <lou@example.org>\nTo: equipe@example.org\nSubject: hello\n\nEVENTS\n" > honest.eml
  read_from_liar u honest.eml
  peak_kb=$(cat liar_peak.kb)
  expect_eq "$(sql "SELECT count(*) FROM inbound_messages WHERE provider_id LIKE '"'"'%/INBOX:7:2%'"'"'")" 1
  expect_eq "$(sql "SELECT last_uid FROM imap_mailboxes")" 2
  grep -q "event=imap_literal_too_large mailbox=\"u@127.0.0.1:$(cat imap.port)/INBOX\" uid=1 messages=2 announced=3000000000 max_size=65536" "$TEST_DIR/daemon.log"
  grep -q "event=imap_too_large mailbox=\"INBOX\" uid=1 size=300 max_size=65536 reason=literal action=skipped" "$TEST_DIR/daemon.log"
  echo "peak resident memory: $peak_kb kB"
  [ "$peak_kb" -lt 200000 ]
'

# A mail's key names its account (docs/email-inbound.md): another account whose INBOX has the
# same UIDVALIDITY (the fake server always says 7) holds new mails under the same UIDs.
test_case 'another IMAP account whose INBOX has the same UIDVALIDITY: its mail under the same UID is applied, not taken for a replay' '
  printf "Message-ID: <honest-3@example.org>\nFrom: Lou <lou@example.org>\nTo: equipe@example.org\nSubject: hello\n\nEVENTS\n" > other.eml
  read_from_liar v other.eml
  expect_eq "$(sql "SELECT string_agg(split_part(provider_id, '"'"'@'"'"', 1) || '"'"' '"'"' || status, '"'"', '"'"' ORDER BY id) FROM inbound_messages WHERE provider_id LIKE '"'"'%/INBOX:7:2'"'"'")" "u applied, v applied"
'
