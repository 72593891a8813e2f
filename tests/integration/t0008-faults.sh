#!/usr/bin/env bash
# The fault suite (issue 8): the real daemon against real servers, one fault injected per
# scenario, counts checked in PostgreSQL and at the receiving end. Scenarios live in
# tests/faults/*.sh; this script runs them at reduced sizes inside `make test`
# (FAULT_SCALE=small) and at the issue's sizes under `make test-faults` (FAULT_SCALE=full).
# Figures (duplicates, retries, throughput) are printed as "# " TAP comments.
. "$SRC/tests/integration/lib.sh"
. "$SRC/tests/faults/lib.sh"

FIGURES=$TEST_DIR/figures.txt
figure() { echo "$*" >> "$FIGURES"; echo "$*"; }

# fault_case NAME BODY: a test_case that starts from nothing left running by the one
# before (the tracked daemons and sinks are stopped), and prints the figures it recorded.
fault_case() {
  stop_tracked
  : > "$FIGURES"
  test_case "$@"
  sed 's/^/# /' "$FIGURES"
}

echo "# FAULT_SCALE=$FAULT_SCALE"
for scenario in ${FAULT_SCENARIOS:-kill9 smtp pg twilio daemons spool failover pgbouncer}; do
  [ -f "$SRC/tests/faults/$scenario.sh" ] || continue
  . "$SRC/tests/faults/$scenario.sh"
done
