#!/usr/bin/env bash
# Trust (issue 12), point 5: HTTP under abuse. A client that trickles its headers or its body
# is cut at a total deadline, whatever it sends meanwhile; one address cannot hold more than
# [http] max_connections_per_ip, so 1,000 trickling connections from 127.0.0.2-127.0.0.6 leave
# /healthz answering 127.0.0.1 within a second; /metrics is served only with the bearer token of
# [http] metrics_token or on [http] admin_listen.
. "$SRC/tests/integration/lib.sh"
T="/usr/bin/python3 $SRC/tests/integration/trickle.py"
port_of() { echo "${HTTP##*:}"; }

start_daemon TOCSIN_HTTP_HEADER_TIMEOUT=3 TOCSIN_HTTP_BODY_TIMEOUT=4 TOCSIN_HTTP_TIMEOUT=60
test_case 'a client trickling one header line a second is cut after [http] header_timeout' '
  out=$($T one $(port_of) headers 1 20)
  case "$out" in "closed after 3"|"closed after 4") ;; *) echo "$out"; false ;; esac
  grep -q "event=http_deadline client=127.0.0.1 phase=headers seconds=3" "$TEST_DIR/daemon.log"
'

test_case 'a client trickling its body is cut after [http] body_timeout' '
  out=$($T one $(port_of) body 1 20)
  case "$out" in "closed after 4"|"closed after 5") ;; *) echo "$out"; false ;; esac
  grep -q "event=http_deadline client=127.0.0.1 phase=body seconds=4" "$TEST_DIR/daemon.log"
'

test_case 'a kept-alive connection gets a new header deadline for each request' '
  /usr/bin/python3 - $(port_of) <<PY
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
for i in range(3):
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while b"\r\n\r\nok\n" not in data:
        data += s.recv(4096)
    time.sleep(2)
print("three requests on one connection over 6 s")
PY
'
stop_daemon

test_case 'a per-address cap at or above the total is refused at start: it would keep no room' '
  set +e
  TOCSIN_HTTP_LISTEN=127.0.0.1:$(free_port) TOCSIN_HTTP_MAX_CONNECTIONS=100 TOCSIN_HTTP_MAX_CONNECTIONS_PER_IP=100 \
    "$TOCSIN" run 2>err
  rc=$?
  set -e
  [ "$rc" -ne 0 ]
  grep -q "max_connections_per_ip (100) must be below max_connections (100)" err
'

start_daemon
test_case '1,000 connections trickling headers from 127.0.0.2-127.0.0.6 leave /healthz answering 127.0.0.1 within 1 s' '
  out=$($T crowd $(port_of) 1000 16)
  echo "$out"
  eval "$out"
  # The crowd held what the per-address cap allows (5 x 64), and no more per address.
  [ "$peak" -ge 250 ] && [ "$peak_per_address" -le 64 ]
  # Connections beyond the cap were refused at once; held ones were cut at the deadline.
  [ "$refused" -ge 100 ] && [ "$cut" -ge 100 ]
  [ "$probes" -ge 30 ] && [ "$failed" -eq 0 ] && [ "$max_ms" -lt 1000 ]
  echo "# $out" >&3
' 3>&1
stop_daemon

start_daemon TOCSIN_HTTP_METRICS_TOKEN=scrape-0123456789
test_case '/metrics on the public listener needs the bearer token of [http] metrics_token' '
  expect_eq "$(curl -s -o /dev/null -w "%{http_code}" "$HTTP/metrics")" 401
  expect_eq "$(curl -s -o /dev/null -w "%{http_code}" -H "Authorization: Bearer scrape-wrong" "$HTTP/metrics")" 401
  expect_eq "$(curl -s -o /dev/null -w "%{http_code}" -H "Authorization: Basic c2NyYXBl" "$HTTP/metrics")" 401
  curl -s -D headers -o /dev/null "$HTTP/metrics"
  grep -qi "^WWW-Authenticate: Bearer" headers
  curl -fs -H "Authorization: Bearer scrape-0123456789" "$HTTP/metrics" | grep -q "^tocsin_metrics_refused_total 4$"
'
stop_daemon

ADMIN_PORT=$(free_port)
start_daemon TOCSIN_HTTP_ADMIN_LISTEN=127.0.0.1:$ADMIN_PORT
test_case 'without a token, /metrics is refused on the public listener and served on [http] admin_listen' '
  expect_eq "$(curl -s -w " %{http_code}" "$HTTP/metrics")" "/metrics needs [http] metrics_token (Authorization: Bearer TOKEN) or [http] admin_listen
 403"
  curl -fs "http://127.0.0.1:$ADMIN_PORT/metrics" | grep -q "^tocsin_database_up 1$"
  expect_eq "$(curl -s -o /dev/null -w "%{http_code}" "http://127.0.0.1:$ADMIN_PORT/healthz")" 200
'

test_case 'the admin listener serves nothing else' '
  for path in /u/1-aaaaaaaaaaaaaaaa /c/1-aaaaaaaaaaaaaaaa /sms/twilio /sms/generic /nowhere; do
    expect_eq "$(curl -s -o /dev/null -w "%{http_code}" -X POST "http://127.0.0.1:$ADMIN_PORT$path")" 404
  done
'
