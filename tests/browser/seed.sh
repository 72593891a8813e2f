#!/usr/bin/env bash
# Seed data for the console's browser tests (and for looking at the console by hand):
# two teams, people (one with a hostile name), events with answers, an inbox, accounts.
#   TOCSIN=./tocsin TOCSIN_DATABASE_URL=… tests/browser/seed.sh DIR
# DIR receives people.csv and import.csv (the file the browser imports).
set -euo pipefail
dir=${1:?usage: seed.sh DIR}
psql_() { "${PGBIN:-/usr/lib/postgresql/15/bin}/psql" -X -q -t -A -v ON_ERROR_STOP=1 -d "$TOCSIN_DATABASE_URL" -c "$1"; }

"$TOCSIN" team add paris-10 --name "Paris 10e" --region "Île-de-France" >/dev/null
"$TOCSIN" team add lyon-1 --name "Lyon 1er" --region "Auvergne-Rhône-Alpes" >/dev/null
cat > "$dir/people.csv" <<'CSV'
email,phone,name,locale,teams,tags
camille@example.org,0612345601,Camille Martin,fr,paris-10,
louis@example.org,0612345602,Louis Bernard,fr,paris-10,tractage
ana@example.org,0612345603,Ana Lopes,en,paris-10,tractage
hostile@example.org,0612345604,<img src=x onerror=alert(1)>,fr,paris-10,
sami@example.org,0612345605,Sami Haddad,fr,paris-10,porte-a-porte
ines@example.org,0612345606,Inès Moreau,fr,paris-10,
zoe@example.org,0612345607,Zoé Petit,fr,lyon-1,
yann@example.org,0612345608,Yann Le Gall,en,lyon-1,
secret@example.org,0612345609,Lyon Secret Member,fr,lyon-1,
CSV
"$TOCSIN" import people "$dir/people.csv" >/dev/null
"$TOCSIN" event add --team paris-10 --slug marche --title "Marché de la Villette" \
  --starts "2031-06-07 10:00" --capacity 12 --location "Métro Jaurès" >/dev/null
"$TOCSIN" event add --team lyon-1 --slug soiree-lyon --title "Soirée lyonnaise secrète" \
  --starts "2031-06-20 19:00" --location "Place Bellecour" >/dev/null
psql_ "INSERT INTO rsvps (event_id, person_id, status, guests)
  SELECT e.id, c.person_id, v.status, v.guests FROM (VALUES
    ('marche', 'louis@example.org', 'yes', 2), ('marche', 'ana@example.org', 'maybe', 0),
    ('marche', 'hostile@example.org', 'yes', 0), ('marche', 'sami@example.org', 'waitlist', 0),
    ('marche', 'ines@example.org', 'no', 0),
    ('soiree-lyon', 'zoe@example.org', 'yes', 1)) v(event, address, status, guests)
  JOIN events e ON e.slug = v.event JOIN contacts c ON c.address = v.address"
"$TOCSIN" sms-inject --from 0612345602 --to 36173 --text "Bonjour, je peux venir avec mon chien au marché ?" --id in-louis >/dev/null
"$TOCSIN" sms-inject --from 0612345604 --to 36173 --text "<script>alert('inbox')</script> hello" --id in-hostile >/dev/null
"$TOCSIN" sms-inject --from 0612345607 --to 36173 --text "secret lyon question" --id in-zoe >/dev/null
"$TOCSIN" user add boss@example.org --role admin --name "Alex Admin" >/dev/null
"$TOCSIN" user add camille@example.org --role organiser --team paris-10 >/dev/null
"$TOCSIN" user add yann@example.org --role organiser --team lyon-1 >/dev/null
"$TOCSIN" user add sami@example.org --role host --event marche >/dev/null
# The file the organiser imports through the browser: French headers, a bad row.
printf '%s\n' \
  'Prénom;Nom;Courriel;Téléphone;Étiquettes' \
  'Nora;Benali;nora@example.org;06 11 22 33 44;tractage' \
  'Paul;Durand;paul@example.org;0611223345;' \
  'Bad;Row;not-an-email;;' > "$dir/import.csv"
