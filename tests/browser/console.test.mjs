// The organisers' console in a real Chromium (issue 15), one story per test, in order:
// they share one browser and the database t0015-console.sh seeded (tests/browser/seed.sh).
// Camille organises paris-10 (French), Yann lyon-1 (English), Sami hosts the event
// "marche", Alex is an admin. Every page visited is photographed at 360 and 1280 px
// into build/screenshots/ and checked by axe-core; the last test fails on any serious or
// critical violation, or on a page wider than the screen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  BASE, launch, newPage, signInWithLink, look, axeReport, sql, delivered, until, smsTo,
} from './helpers.mjs';

let browser;
const problems = [];
const ctx = {};
const pages = {};

before(async () => {
  browser = await launch();
  for (const who of ['anon', 'camille', 'yann', 'boss', 'sami']) {
    ctx[who] = await browser.newContext({ locale: who === 'yann' ? 'en-GB' : 'fr-FR' });
    pages[who] = await newPage(ctx[who], problems);
  }
});

after(async () => {
  await browser?.close();
});

const text = async (page, selector) => (await page.locator(selector).innerText()).trim();
// A form's answer: its notice (?done=KEY) shown, then ?done= taken out of the address
// (web/static/console.js), so that a reload does not show the notice again; `path` is
// what the address is left with.
async function notice(page, key, path) {
  await page.locator(`.notice.ok[data-done="${key}"]`).waitFor();
  await until(`?done=${key} out of the address`, async () => !new URL(page.url()).searchParams.has('done'));
  if (path) assert.match(new URL(page.url()).pathname + new URL(page.url()).search, path);
}

async function csrfOf(page) {
  return page.evaluate(() => JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token']);
}

test('the sign-in page asks for an email or a phone number, in the browser\'s language', async () => {
  const page = pages.anon;
  const res = await page.goto(BASE + '/admin/');
  assert.equal(new URL(page.url()).pathname, '/admin/login', 'a page needs a session');
  assert.equal(res.status(), 200);
  await page.getByText('Pas de mot de passe').waitFor();
  await look(page, 'login');
});

test('an organiser signs in with a one-time link and sees their home', async () => {
  const page = pages.camille;
  await signInWithLink(page, 'camille@example.org');
  await page.getByRole('heading', { name: 'Bonjour Camille Martin' }).waitFor();
  const home = await page.content();
  assert.match(home, /Marché de la Villette/);
  assert.match(home, /4<\/strong> \/ 12 places/, 'answers against capacity');
  assert.match(home, /Tout va bien|envoi|retenus/, 'the queue in words');
  await look(page, 'home');
});

test('an organiser signs in with a code sent by SMS, and the console speaks English to him', async () => {
  const page = pages.yann;
  await page.goto(BASE + '/admin/login');
  await page.fill('#contact', '06 12 34 56 08');
  await page.getByRole('button', { name: /Continu/ }).click();
  await page.locator('#code').waitFor();
  await look(page, 'login-code');
  const sms = await until('the code by SMS', () => smsTo('+33612345608').at(-1));
  const code = sms.match(/\b(\d{6})\b/)[1];
  await page.fill('#code', '000000' === code ? '111111' : '000000');
  await page.getByRole('button').click();
  await page.locator('.notice.bad').waitFor();
  await page.fill('#code', code);
  await page.getByRole('button').click();
  await page.getByRole('heading', { name: 'Hello Yann Le Gall' }).waitFor();
});

test('an organiser imports a CSV: French headers mapped, a dry run, then the import', async () => {
  const page = pages.camille;
  await page.goto(BASE + '/admin/import');
  await look(page, 'import');
  await page.selectOption('#im-team', 'paris-10');
  await page.setInputFiles('#im-file', join(process.env.TEST_DIR, 'import.csv'));
  await page.getByRole('button', { name: 'Téléverser' }).click();
  await page.waitForURL(/\/admin\/import\/\d+$/);
  const mapped = await page.$$eval('select[name^=map_]', (s) => s.map((x) => x.value));
  assert.deepEqual(mapped, ['name', 'name', 'email', 'phone', 'tags'], 'Prénom, Nom, Courriel, Téléphone, Étiquettes');
  await look(page, 'import-mapping');
  await page.click('#dry-run');
  await page.locator('#report-new').waitFor();
  assert.equal(await text(page, '#report-new'), '2');
  assert.equal(await text(page, '#report-rejected'), '1');
  assert.match(await page.content(), /<strong>Ligne 4<\/strong> — email not-an-email/, 'the bad row, by its line in the uploaded file');
  assert.equal(sql("SELECT count(*) FROM contacts WHERE address = 'nora@example.org'"), '0', 'a dry run changes nothing');
  await look(page, 'import-dry-run');
  await page.click('#commit');
  await page.getByText('L\'import est terminé').waitFor();
  assert.equal(sql("SELECT p.name FROM people p JOIN contacts c ON c.person_id = p.id WHERE c.address = 'nora@example.org'"), 'Nora Benali');
  assert.equal(sql("SELECT count(*) FROM memberships m JOIN contacts c ON c.person_id = m.person_id JOIN teams t ON t.id = m.team_id WHERE c.address IN ('nora@example.org', 'paul@example.org') AND t.slug = 'paris-10'"), '2');
  await look(page, 'import-done');
});

test('an organiser creates an event, then edits its places', async () => {
  const page = pages.camille;
  await page.goto(BASE + '/admin/events/new');
  await page.fill('#ev-title', 'Porte-à-porte Belleville');
  await page.fill('#ev-date', '2031-07-05');
  await page.fill('#ev-time', '10:30');
  await page.fill('#ev-location', 'Métro Belleville');
  await page.fill('#ev-capacity', '15');
  await look(page, 'event-new');
  await page.getByRole('button', { name: 'Créer l\'événement' }).click();
  await notice(page, 'event_created', /^\/admin\/events\/porte-a-porte-belleville$/);
  await page.getByRole('heading', { name: 'Porte-à-porte Belleville' }).waitFor();
  assert.equal(sql("SELECT capacity || ' ' || to_char(starts_at AT TIME ZONE timezone, 'YYYY-MM-DD HH24:MI') FROM events WHERE slug = 'porte-a-porte-belleville'"), '15 2031-07-05 10:30');
  await page.getByText('Modifier le titre, le lieu et les places').click();
  await page.fill('#ed-capacity', '20');
  await page.getByRole('button', { name: 'Enregistrer' }).click();
  await notice(page, 'event_updated');
  assert.equal(sql("SELECT capacity FROM events WHERE slug = 'porte-a-porte-belleville'"), '20');
  await page.goto(BASE + '/admin/events');
  await look(page, 'events');
  await page.goto(BASE + '/admin/events/marche');
  await look(page, 'event');
});

let campaignId;
test('an organiser composes a campaign: a segment with a live count, warnings, a preview', async () => {
  const page = pages.camille;
  await page.goto(BASE + '/admin/campaigns/new');
  await page.check('input[name=seg_teams][value=paris-10]');
  await page.check('input[name=seg_tags][value=tractage]');
  // Louis and Ana were tagged at first, Nora by the import.
  await until('the live count', async () => (await page.locator('#recipient-count').textContent().catch(() => '')) === '3');
  assert.match(await text(page, '#audience'), /team:paris-10\+tag:tractage/);
  await page.fill('#subject', 'Samedi au marché, {{first_name}} ?');
  await page.fill('#text', 'Bonjour {{first_name}},\nOn tracte samedi, {{prenom}} !\nSe désinscrire : {{unsubscribe_url}}');
  await until('the unknown-variable warning', async () => /prenom/.test(await text(page, '#checks')));
  await page.fill('#text', 'Bonjour {{first_name}},\nOn tracte samedi. Réponds OUI !\nSe désinscrire : {{unsubscribe_url}}');
  await until('the warning gone', async () => !/prenom/.test(await text(page, '#checks')));
  await look(page, 'compose');
  await page.getByRole('button', { name: 'Enregistrer le brouillon' }).click();
  await notice(page, 'campaign_created', /^\/admin\/campaigns\/\d+$/);
  campaignId = new URL(page.url()).pathname.split('/').pop();
  assert.equal(await text(page, '#preview .subject'), 'Samedi au marché, Camille ?', 'previewed as me first');
  const louis = sql("SELECT person_id FROM contacts WHERE address = 'louis@example.org'");
  await page.selectOption('select[name=person]', louis);
  await until('the preview as Louis', async () => /Bonjour Louis,/.test(await text(page, '#preview')));
  await look(page, 'campaign-draft');
  await page.goto(BASE + '/admin/campaigns/new');
  await page.check('#ch-sms');
  await page.check('input[name=seg_teams][value=paris-10]');
  await page.fill('#sms', 'Samedi 10h au marché de la Villette, venez nombreux ! Réponse OUI/NON');
  await until('the SMS estimate', async () => /GSM-7|UCS-2/.test(await text(page, '#checks')));
  assert.match(await text(page, '#checks'), /STOP/, 'no STOP mention: a warning');
  // An invitation to the market (a bare OUI answers it), with a name of its own.
  await page.selectOption('#event', 'marche');
  await page.fill('#title', 'Relance marché');
  await look(page, 'compose-sms');
  // An SMS draft scheduled, paused, resumed and cancelled.
  await page.getByRole('button', { name: 'Enregistrer le brouillon' }).click();
  await notice(page, 'campaign_created', /^\/admin\/campaigns\/\d+$/);
  const sms = new URL(page.url()).pathname.split('/').pop();
  assert.equal(await text(page, 'h1'), 'Relance marché');
  assert.match(await text(page, 'dl.facts'), /Ce message invite à\s+Marché de la Villette/);
  assert.equal(sql(`SELECT c.title || ' / ' || e.slug FROM campaigns c JOIN events e ON e.id = c.event_id WHERE c.id = ${sms}`), 'Relance marché / marche');
  const state = () => sql(`SELECT status FROM campaigns WHERE id = ${sms}`);
  await page.getByText('Ou la programmer').click();
  await page.fill('#sc-date', '2031-01-10');
  await page.fill('#sc-time', '09:30');
  await page.getByRole('button', { name: 'Programmer' }).click();
  await notice(page, 'campaign_schedule');
  assert.equal(state(), 'scheduled');
  assert.equal(sql(`SELECT to_char(scheduled_at AT TIME ZONE 'Europe/Paris', 'YYYY-MM-DD HH24:MI') FROM campaigns WHERE id = ${sms}`), '2031-01-10 09:30');
  await look(page, 'campaign-scheduled');
  await page.getByRole('button', { name: 'Mettre en pause' }).click();
  await notice(page, 'campaign_pause');
  assert.equal(state(), 'paused');
  await page.reload();
  await page.getByRole('button', { name: 'Reprendre' }).waitFor();
  assert.equal(await page.locator('.notice.ok').count(), 0, 'a reload does not show the notice again');
  await page.getByRole('button', { name: 'Reprendre' }).click();
  await notice(page, 'campaign_resume');
  assert.equal(state(), 'scheduled');
  await page.getByText('Annuler la campagne').first().click();
  await page.getByRole('button', { name: 'Annuler la campagne' }).click();
  await notice(page, 'campaign_cancel');
  assert.equal(state(), 'cancelled');
});

test('an organiser sends a test copy to themself, then the campaign; progress reaches 100 %', async () => {
  const page = pages.camille;
  await page.goto(`${BASE}/admin/campaigns/${campaignId}`);
  await page.click('#send-test');
  await page.locator('#test-result .notice').waitFor();
  assert.match(await text(page, '#test-result'), /camille@example\.org/);
  await until('the test copy delivered', () =>
    sql(`SELECT count(*) FROM outbound_messages WHERE kind = 'campaign_test' AND status = 'sent' AND recipient = 'camille@example.org'`) === '1');
  assert.ok(delivered().some((m) => /^To: camille@example\.org/m.test(m)), 'the sink has the test copy');
  await page.click('#send-now');
  await notice(page, 'campaign_send');
  await until('progress at 100 %', async () => (await page.locator('#progress-pct').textContent().catch(() => '')) === '100 %', 60);
  for (const to of ['louis@example.org', 'ana@example.org', 'nora@example.org'])
    assert.ok(delivered().some((m) => new RegExp(`^To: ${to.replace('.', '\\.')}`, 'm').test(m)), `delivered to ${to}`);
  assert.equal(sql(`SELECT status FROM campaigns WHERE id = ${campaignId}`), 'sent');
  await page.reload();
  // Done: the progress says what was sent, not the last minute's rate of a finished campaign.
  assert.doesNotMatch(await text(page, '#progress'), /\/ s\b/);
  // Its name reads as words: the subject's {{first_name}} stands as ‹prénom›.
  assert.equal(await text(page, 'h1'), 'Samedi au marché, ‹prénom› ?');
  await look(page, 'campaign-sent');
  await page.goto(BASE + '/admin/campaigns');
  await look(page, 'campaigns');
});

test('a host checks people in at the door on a 360-px phone: tap a name, add a walk-in', async () => {
  const page = pages.sami;
  await signInWithLink(page, 'sami@example.org');
  await page.goto(BASE + '/admin/events/marche/door');
  await look(page, 'door');
  await page.setViewportSize({ width: 360, height: 740 });
  assert.match(await text(page, '.door-list'), /<img src=x onerror=alert\(1\)>/, 'a hostile name is text');
  await page.getByRole('button', { name: /Louis Bernard/ }).click();
  await page.getByText('Louis Bernard est pointé·e.').waitFor();
  assert.match(await text(page, '#door-list .counter'), /^1 /);
  assert.notEqual(sql("SELECT checked_in_at FROM rsvps r JOIN contacts c ON c.person_id = r.person_id WHERE c.address = 'louis@example.org'"), '');
  await page.fill('#door-q', 'ana');
  await until('the list filtered', async () => (await page.locator('#door-list .door-list').first().locator('li').count()) === 1);
  await page.getByText('Quelqu\'un qui n\'est pas sur la liste').click();
  await page.fill('#wi-name', 'Marcel Passant');
  await page.fill('#wi-phone', '06 99 88 77 66');
  await page.getByRole('button', { name: 'Pointer', exact: true }).click();
  await page.getByText('Marcel Passant est pointé·e (arrivée sur place).').waitFor();
  assert.match(await text(page, '#door-list .counter'), /^2 /);
  assert.equal(sql("SELECT count(*) FROM rsvps r JOIN contacts c ON c.person_id = r.person_id WHERE c.address = '+33699887766' AND r.checked_in_at IS NOT NULL"), '1');
  await page.screenshot({ path: join(process.env.SCREENSHOTS, 'door-after-360.png'), fullPage: true, caret: 'initial' });
});

test('a host sees the event but cannot change it, nor reach anything else', async () => {
  const page = pages.sami;
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(BASE + '/admin/events/marche');
  assert.doesNotMatch(await page.content(), /Modifier l'événement/);
  for (const path of ['/admin/events/soiree-lyon', '/admin/people', '/admin/campaigns', '/admin/inbox'])
    assert.equal((await page.goto(BASE + path)).status(), 403, path);
  await look(page, 'forbidden');
  const csrf = await (async () => { await page.goto(BASE + '/admin/'); return csrfOf(page); })();
  const res = await page.request.post(BASE + '/admin/events/marche', { form: { csrf_token: csrf, title: 'Pirate' } });
  assert.equal(res.status(), 403);
  assert.equal(sql("SELECT title FROM events WHERE slug = 'marche'"), 'Marché de la Villette');
});

test('an organiser answers an inbox message on the supporter\'s channel', async () => {
  const page = pages.camille;
  await page.goto(BASE + '/admin/inbox');
  await look(page, 'inbox');
  await page.getByRole('link', { name: 'Louis Bernard' }).click();
  await page.getByText('je peux venir avec mon chien').waitFor();
  await look(page, 'inbox-message');
  await page.fill('#reply', 'Oui, les chiens sont les bienvenus !');
  await page.getByRole('button', { name: 'Envoyer la réponse' }).click();
  await notice(page, 'inbox_replied_done', /^\/admin\/inbox$/);
  assert.doesNotMatch(await page.content(), /mon chien/, 'handled: no longer open');
  assert.equal(sql("SELECT channel FROM outbound_messages WHERE recipient = '+33612345602' AND body LIKE '%chiens sont les bienvenus%'"), 'sms');
});

test('an organiser of team A sees nothing of team B', async () => {
  const page = pages.camille;
  const zoe = sql("SELECT person_id FROM contacts WHERE address = 'zoe@example.org'");
  const zoeMessage = sql("SELECT id FROM inbound_messages WHERE provider_id = 'in-zoe'");
  for (const path of ['/admin/', '/admin/people', '/admin/events', '/admin/inbox', '/admin/teams', '/admin/campaigns']) {
    await page.goto(BASE + path);
    const html = await page.content();
    for (const secret of ['Lyon Secret Member', 'Soirée lyonnaise', 'secret lyon question', 'Zoé Petit', 'Lyon 1er'])
      assert.ok(!html.includes(secret), `${path} shows ${secret}`);
  }
  for (const path of ['/admin/teams/lyon-1', '/admin/events/soiree-lyon', '/admin/events/soiree-lyon/door',
    `/admin/people/${zoe}`, `/admin/inbox/${zoeMessage}`, '/admin/people?team=lyon-1'])
    assert.equal((await page.goto(BASE + path)).status(), 403, path);
  const csrf = await (async () => { await page.goto(BASE + '/admin/'); return csrfOf(page); })();
  const count = await page.request.post(BASE + '/admin/campaigns/audience',
    { form: { segment: 'team:lyon-1', channel: 'email' }, headers: { 'X-CSRF-Token': csrf, 'HX-Request': 'true' } });
  assert.equal(count.status(), 403, 'not even a count of another team');
  const other = pages.yann;
  assert.equal((await other.goto(`${BASE}/admin/campaigns/${campaignId}`)).status(), 403, 'nor the other way round');
});

test('a supporter named <img src=x onerror=alert(1)> shows as text everywhere', async () => {
  const page = pages.camille;
  const hostile = sql("SELECT person_id FROM contacts WHERE address = 'hostile@example.org'");
  for (const path of ['/admin/people', `/admin/people/${hostile}`, '/admin/events/marche', '/admin/inbox?all=true']) {
    await page.goto(BASE + path);
    await page.getByText('<img src=x onerror=alert(1)>').first().waitFor();
    assert.equal(await page.locator('img[src="x"]').count(), 0, path);
  }
  await page.goto(`${BASE}/admin/people/${hostile}`);
  await page.getByText("<script>alert('inbox')</script> hello").waitFor();
  await look(page, 'person');
  await page.goto(BASE + '/admin/people');
  await look(page, 'people');
  assert.deepEqual(problems.filter((p) => /dialog/.test(p)), [], 'no script ran');
});

test('pages carry a CSP without inline script and cannot be framed; every write needs the CSRF token', async () => {
  const page = pages.camille;
  const res = await page.goto(BASE + '/admin/');
  const csp = res.headers()['content-security-policy'];
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  for (const path of ['/admin/', '/admin/people', '/admin/campaigns/new', `/admin/campaigns/${campaignId}`, '/admin/events/marche']) {
    await page.goto(BASE + path);
    const html = await page.content();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, `${path}: an inline script`);
    assert.doesNotMatch(html, /\son[a-z]+=["']/i, `${path}: an inline handler`);
  }
  const message = sql("SELECT id FROM inbound_messages WHERE provider_id = 'in-hostile'");
  const forged = await page.request.post(`${BASE}/admin/inbox/${message}/done`, { form: { x: '1' } });
  assert.equal(forged.status(), 403);
  assert.equal(sql(`SELECT handled_at IS NULL FROM inbound_messages WHERE id = ${message}`), 't');
  assert.deepEqual(problems.filter((p) => /csp|page error/.test(p)), [], 'no CSP refusal, no script error');
});

test('an admin makes someone an organiser of a team, then a plain member again', async () => {
  const page = pages.boss;
  await signInWithLink(page, 'boss@example.org');
  await page.goto(BASE + '/admin/teams');
  await look(page, 'teams');
  await page.goto(BASE + '/admin/teams/paris-10');
  await page.fill('input[name=contact]', 'ines@example.org');
  await page.getByRole('button', { name: 'Nommer' }).click();
  await notice(page, 'organiser_added');
  const role = () => sql("SELECT m.role FROM memberships m JOIN contacts c ON c.person_id = m.person_id JOIN teams t ON t.id = m.team_id WHERE c.address = 'ines@example.org' AND t.slug = 'paris-10'");
  assert.equal(role(), 'organiser');
  await look(page, 'team');
  await page.locator('li', { hasText: 'Inès Moreau' }).getByRole('button', { name: 'Retirer' }).click();
  await notice(page, 'organiser_removed');
  assert.equal(role(), 'member');
  await page.goto(BASE + '/admin/');
  await look(page, 'home-admin');
});

test('signing out ends the session', async () => {
  const page = pages.camille;
  await page.goto(BASE + '/admin/');
  await page.getByRole('button', { name: 'Se déconnecter' }).click();
  await page.waitForURL(BASE + '/admin/login');
  await page.goto(BASE + '/admin/people');
  assert.equal(new URL(page.url()).pathname, '/admin/login');
});

test('axe-core reports no serious or critical violation on any page', () => {
  assert.deepEqual(axeReport, []);
});
