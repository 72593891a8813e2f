#!/usr/bin/env bash
# Issue 13, item 20 — a stranger who joins by email is named as their mail names them; a
# reminder goes on the channel the person answered on (or chose) and falls back to the
# other channel when that one is opted out.
. "$SRC/tests/integration/lib.sh"

export TOCSIN_ENGINE_QUIET_HOURS=off
"$TOCSIN" team add paris-10 --name "Paris 10e" >/dev/null

mail() { # From-header body [message-id]
  printf 'From: %s\nTo: tocsin@example.org\nSubject: hello\nMessage-ID: <%s@example.net>\nDate: Mon, 3 Mar 2031 10:00:00 +0100\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n%s\n' \
    "$1" "${3:-$RANDOM$RANDOM}" "$2" | "$TOCSIN" inject
}
name_of() { sql "SELECT p.name FROM people p JOIN contacts c ON c.person_id = p.id WHERE c.address = '$1'"; }

test_case 'a stranger who joins by email gets the display name of their From:' '
  mail "=?utf-8?Q?Zo=C3=A9_Petit?= <zoe@example.org>" "JOIN paris-10" >/dev/null
  expect_eq "$(name_of zoe@example.org)" "Zoé Petit"
  mail "\"Dupont, Marc\" <marc@example.org>" "REJOINDRE paris-10" >/dev/null
  expect_eq "$(name_of marc@example.org)" "Dupont, Marc"
'

test_case 'a From: without a name, or whose name is an address, leaves the name empty' '
  mail "lea@example.org" "JOIN paris-10" >/dev/null
  expect_eq "$(name_of lea@example.org)" ""
  mail "\"hugo@example.org\" <hugo@example.org>" "JOIN paris-10" >/dev/null
  expect_eq "$(name_of hugo@example.org)" ""
'

test_case 'a known person keeps the name they have: a mail never renames anyone' '
  mail "Zozo la Terreur <zoe@example.org>" "JOIN paris-10" >/dev/null
  expect_eq "$(name_of zoe@example.org)" "Zoé Petit"
'
