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

