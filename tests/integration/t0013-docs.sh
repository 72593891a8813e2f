#!/usr/bin/env bash
# The documentation runs as written: docs/operations.md's install blocks (```sh
# runnable-install) in a throwaway root (a mount namespace: a copy of /etc, an empty
# /usr/local and /run, a PostgreSQL of this test's own at /var/run/postgresql), and the
# ```sh runnable blocks of README.md and docs/ against a fresh database.
. "$SRC/tests/integration/lib.sh"

test_case 'docs/operations.md installs tocsin as written: user, database role, 640 config, migrated' '
  command -v unshare >/dev/null
  "$SRC/scripts/pg" start "$TEST_DIR/pg" "$TEST_DIR/pgrun" fast
  trap "\"$SRC/scripts/pg\" stop \"$TEST_DIR/pg\"" EXIT
  "$PGBIN/dropdb" -h "$TEST_DIR/pgrun" -U postgres tocsin
  "$SRC/scripts/doc-blocks" runnable-install "$SRC/docs/operations.md" > install.sh
  test -s install.sh
  root=$TEST_DIR/root
  mkdir -p "$root/usr-local" "$root/run"
  cp -a /etc "$root/etc"
  cat > inside.sh <<INSIDE
set -e
mount --make-rprivate /
mount --bind "$root/etc" /etc
mount --bind "$root/usr-local" /usr/local
mount -t tmpfs tmpfs /run
mkdir -p /run/postgresql
mount --bind "$TEST_DIR/pgrun" /run/postgresql
# An operator's shell: none of the harness's TOCSIN_* or PG* settings.
for v in \$(env | sed -n "s/^\\(TOCSIN_[A-Z_]*\\|PG[A-Z]*\\)=.*/\\1/p"); do unset "\$v"; done
export PGHOST=/run/postgresql PGUSER=postgres
export PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin
cd "$SRC"
bash -ex "$TEST_DIR/install.sh"
# What the page promises, checked from inside the same root:
test -x /usr/local/bin/tocsin
test -s /usr/local/share/man/man1/tocsin.1 && test -s /usr/local/share/man/man5/tocsin.conf.5
grep -q "^ExecStart=/usr/local/bin/tocsin -c /etc/tocsin/tocsin.conf run" /etc/systemd/system/tocsin.service
test "\$(stat -c "%a %U %G" /etc/tocsin/tocsin.conf)" = "640 root tocsin"
test "\$(stat -c "%a %U %G" /etc/tocsin)" = "750 root tocsin"
! runuser -u nobody -- cat /etc/tocsin/tocsin.conf >/dev/null 2>&1
test "\$(getent passwd tocsin | cut -d: -f7)" = /usr/sbin/nologin
test "\$(psql -X -tA -d tocsin -c "SELECT count(*) > 0 FROM schema_migrations")" = t
test "\$(psql -X -tA -d tocsin -c "SELECT tableowner FROM pg_tables WHERE tablename = '"'"'people'"'"'")" = tocsin
runuser -u tocsin -- tocsin -c /etc/tocsin/tocsin.conf migrate | grep -qx "0 migrations applied"
INSIDE
  unshare -m bash inside.sh
  # Nothing leaked out of the throwaway root.
  ! getent passwd tocsin >/dev/null
  test ! -e /etc/tocsin
'

test_case 'the runnable examples of README.md and docs/ run against a fresh database' '
  "$SRC/scripts/doc-blocks" runnable "$SRC/README.md" "$SRC"/docs/*.md > examples.sh
  test -s examples.sh
  "$PGBIN/createdb" docs_db
  export TOCSIN_DATABASE_URL="host=$PGHOST dbname=docs_db user=postgres" PGDATABASE=docs_db
  "$TOCSIN" migrate >/dev/null
  mkdir -p bin && ln -sf "$TOCSIN" bin/tocsin
  (cd "$SRC" && PATH="$TEST_DIR/bin:$PATH" bash -ex "$TEST_DIR/examples.sh") > examples.out 2>&1 || { cat examples.out; false; }
'

test_case 'the example queries of docs/schema.md run against the schema' '
  "$SRC/scripts/doc-blocks" sql "$SRC/docs/schema.md" > queries.sql
  test "$(grep -c "^SELECT" queries.sql)" -ge 5
  "$TOCSIN" demo >/dev/null
  "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -f queries.sql > queries.out
'

test_case 'no document names a file that is not there' '
  cd "$SRC"
  missing=0
  for f in README.md docs/*.md engine/README.md engine/*/README.md; do
    for p in $(grep -oE "\`(engine|handlers|scripts|tests|bench|templates|migrations|tools|web|contrib|docs)/[A-Za-z0-9_./-]+\`" "$f" | tr -d "\`" | sort -u); do
      case "$p" in *NAME*|*NNNN*|*\**) continue ;; esac
      [ -e "$p" ] || [ -e "${p%/}" ] || { echo "$f: $p"; missing=$((missing + 1)); }
    done
  done
  expect_eq "$missing" 0
'
