# Sourced by mail tests and bench/run-imap: a private Dovecot (IMAP, passwd-file auth,
# Maildir) under $1 on a free loopback port. Sets DOVECOT_PORT, DOVECOT_DIR; stop with
# dovecot_stop. DOVECOT_EXTRA is appended to the config. User: tocsin@example.org / secret. With DOVECOT_CERT and DOVECOT_KEY set
# (PEM files), TLS is on: STARTTLS on DOVECOT_PORT and implicit TLS on DOVECOT_TLS_PORT.
dovecot_start() {
  DOVECOT_DIR=$1
  DOVECOT_PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  DOVECOT_TLS_PORT=0
  local ssl="ssl = no"
  if [ -n "${DOVECOT_CERT:-}" ]; then
    DOVECOT_TLS_PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    ssl="ssl = yes
ssl_cert = <$DOVECOT_CERT
ssl_key = <$DOVECOT_KEY"
  fi
  mkdir -p "$DOVECOT_DIR/run" "$DOVECOT_DIR/state" "$DOVECOT_DIR/home"
  chmod 777 "$DOVECOT_DIR/home"
  chmod 755 "$DOVECOT_DIR"
  echo 'tocsin@example.org:{PLAIN}secret' > "$DOVECOT_DIR/passwd"
  cat > "$DOVECOT_DIR/dovecot.conf" <<CONF
base_dir = $DOVECOT_DIR/run
state_dir = $DOVECOT_DIR/state
log_path = $DOVECOT_DIR/dovecot.log
protocols = imap
listen = 127.0.0.1
$ssl
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $DOVECOT_DIR/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$DOVECOT_DIR/home/%u
}
service imap-login {
  inet_listener imap {
    port = $DOVECOT_PORT
  }
  inet_listener imaps {
    port = $DOVECOT_TLS_PORT
    ssl = yes
  }
  chroot =
}
service anvil {
  chroot =
}
${DOVECOT_EXTRA:-}
service imap {
  process_limit = 64
}
CONF
  dovecot -c "$DOVECOT_DIR/dovecot.conf" || return 1
  for _ in $(seq 1 50); do
    /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $DOVECOT_PORT), 1)" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "dovecot did not listen" >&2
  return 1
}

dovecot_stop() {
  [ -n "${DOVECOT_DIR:-}" ] && [ -f "$DOVECOT_DIR/run/master.pid" ] || return 0
  local pid
  pid=$(cat "$DOVECOT_DIR/run/master.pid")
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
}
