#!/usr/bin/env bash
# The tree is the map: engine/<layer>/ folders, lower layers never include higher ones,
# no include cycle (scripts/check-layers).
. "$SRC/tests/integration/lib.sh"

test_case 'the tree passes the layer check' '
  "$SRC/scripts/check-layers" "$SRC"
'

# A copy of the tree with one deliberate mistake: the check must fail and name it.
copy_tree() {
  rm -rf tree && mkdir tree
  cp -r "$SRC/engine" "$SRC/handlers" tree/
}

test_case 'a lower layer including a higher one fails the check, naming the line' '
  copy_tree
  sed -i "1i #include \"campaigns/campaign.h\"" tree/engine/outbound/queue.c
  if "$SRC/scripts/check-layers" tree > out 2>&1; then cat out; false; fi
  grep -F "engine/outbound/queue.c:1: outbound includes campaigns/campaign.h of the higher layer campaigns" out
'

test_case 'an include cycle inside one layer fails the check and prints the component' '
  copy_tree
  sed -i "1i #include \"campaigns/scheduler.h\"" tree/engine/campaigns/segment.h
  sed -i "1i #include \"campaigns/segment.h\"" tree/engine/campaigns/scheduler.h
  if "$SRC/scripts/check-layers" tree > out 2>&1; then cat out; false; fi
  grep -E "^include cycle: .*engine/campaigns/scheduler -> engine/campaigns/segment" out
'

test_case 'a source file outside the layer folders fails the check' '
  copy_tree
  mkdir -p tree/engine/misc && echo "int stray;" > tree/engine/misc/stray.c
  if "$SRC/scripts/check-layers" tree > out 2>&1; then cat out; false; fi
  grep -F "engine/misc/stray.c: not in a layer folder" out
'


# Functions stay short enough to read top to bottom (scripts/function-lengths).
test_case 'no function in engine/ or handlers/ is over 80 lines without a reason' '
  "$SRC/scripts/function-lengths" "$SRC"
'

# A function of 95 lines: signature, braces, 92 statements.
long_function() {
  printf "static int %s(void)\n{\n    int n = 0;\n" "$1"
  for i in $(seq 1 90); do echo "    n += $i;"; done
  printf "    return n;\n}\n"
}

test_case 'a function over 80 lines fails the check, naming it and its line' '
  copy_tree
  long_function too_long >> tree/engine/lib/util.c
  if "$SRC/scripts/function-lengths" tree > out 2>&1; then cat out; false; fi
  line=$(grep -n "^static int too_long" tree/engine/lib/util.c | cut -d: -f1)
  grep -F "engine/lib/util.c:$line: too_long() is 95 lines (limit 80)" out
'

test_case 'a long function with "Long on purpose:" just above it passes' '
  copy_tree
  echo "/* Long on purpose: one table of cases reads best in one place. */" >> tree/engine/lib/util.c
  long_function long_but_said >> tree/engine/lib/util.c
  "$SRC/scripts/function-lengths" tree
  "$SRC/scripts/function-lengths" --list tree | grep -F "long_but_said() is 95 lines (limit 80): justified"
'

# One writer per table: the C files (and migrations) that insert into TABLE under ROOT.
writers_of() {
  grep -rliE --include="*.c" --include="*.sql" "insert into $2\b" "$1/engine" "$1/handlers" "$1/migrations" |
    sed "s|^$1/||" | sort
}

test_case 'only the queue module inserts into outbound_messages' '
  expect_eq "$(writers_of "$SRC" outbound_messages)" "engine/outbound/queue.c"
'

test_case 'only the consent module, through its SQL function consent_append(), inserts into consent' '
  expect_eq "$(writers_of "$SRC" consent)" "$(cd "$SRC" && ls migrations/0007_*consent_append*.sql)"
  grep -qF "CREATE FUNCTION consent_append(" "$SRC"/migrations/0007_*consent_append*.sql
'

test_case 'a second writer of consent is caught' '
  copy_tree
  cp -r "$SRC/migrations" tree/
  echo "static const char *stray = \"INSERT INTO consent (contact_id) VALUES (1)\";" >> tree/engine/inbound/bounce.c
  writers_of tree consent | grep -Fx "engine/inbound/bounce.c"
'
