// The /admin dashboard in headless Chromium (Debian's `chromium`), driven by
// playwright-core. It starts the real binary (target/debug/wenlv, built by cargo
// beforehand) on a fresh SQLite file, makes an administrator with
// `wenlv create-admin`, creates its data over the HTTP API exactly as API.md
// describes, then uses the page like an administrator would.
//
//   cargo build && cd tests/browser && npm ci && node --test dashboard.test.mjs
//
// Screenshots land in target/ (dashboard-login.png, dashboard-review.png,
// dashboard.png, dashboard-en.png, dashboard-causal.png, dashboard-refused.png).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { BIN, CHROMIUM, SHOTS, apiClient, freePort, serviceEnv as baseEnv } from './support.mjs';

const ADMIN_PHONE = '13800000001';
const ADMIN_PASSWORD = 'browser-admin-password';
const PASSWORD = 'browser-resident-password';
const CSV_HEADER = 'merchant_id,name,orders,consumption_fen,subsidy_fen,leverage';

let workdir;
let server;
let base;
let browser;
let serverPort;

function serviceEnv(port) {
  return baseEnv(workdir, port, {
    // Statements close when the test says (wenlv close-statements), and one
    // resident's second voucher order at a merchant is a repeat pair.
    WENLV__SETTLEMENT__CLOSE_INTERVAL_SECONDS: '0',
    WENLV__RISK__REPEAT_PAIR_ORDERS: '2',
    // A lottery is drawn by the job right after its entry window closes.
    WENLV__LOTTERY__DRAW_INTERVAL_MS: '200',
    WENLV__LOTTERY__DRAW_AFTER_CLOSE_MS: '0',
  });
}

const { call, login, resident, applyMerchant } = apiClient(() => base, PASSWORD, 'MB');

async function newPage(locale = 'zh-CN') {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale, acceptDownloads: true });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  return { context, page, problems };
}

async function signIn(page, phone, password) {
  await page.goto(base + '/admin');
  await page.locator('#login-phone').fill(phone);
  await page.locator('#login-password').fill(password);
  await page.locator('#login-form button[type=submit]').click();
}

before(async () => {
  workdir = mkdtempSync(path.join(tmpdir(), 'wenlv-browser-'));
  mkdirSync(SHOTS, { recursive: true });
  const port = await freePort();
  serverPort = port;
  const env = serviceEnv(port);
  const made = spawnSync(BIN, ['create-admin', '--phone', ADMIN_PHONE], { env: { ...env, WENLV_ADMIN_PASSWORD: ADMIN_PASSWORD }, encoding: 'utf8' });
  assert.equal(made.status, 0, `create-admin failed: ${made.stderr}${made.stdout}`);
  server = spawn(BIN, ['serve'], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try { if ((await fetch(base + '/healthz')).ok) break; } catch (_) { /* not up yet */ }
    assert.ok(i < 100, 'the service did not come up');
    await new Promise((r) => setTimeout(r, 100));
  }
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.kill('SIGTERM');
  if (workdir) rmSync(workdir, { recursive: true, force: true });
});

test('the page loads, speaks Chinese, switches to English, and an administrator signs in', async () => {
  const { context, page, problems } = await newPage();
  const res = await page.goto(base + '/admin');
  assert.equal(res.status(), 200);
  assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN');
  assert.equal(await page.locator('#login-title').textContent(), '管理员登录');
  await page.screenshot({ path: path.join(SHOTS, 'dashboard-login.png') });
  await page.locator('#lang-switch').click();
  assert.equal(await page.locator('#login-title').textContent(), 'Administrator sign-in');
  await page.locator('#lang-switch').click();

  // A wrong password is refused on the form.
  await signIn(page, ADMIN_PHONE, 'not-the-password');
  await page.locator('#login-error').waitFor({ state: 'visible' });
  assert.match(await page.locator('#login-error').textContent(), /错误/);

  await signIn(page, ADMIN_PHONE, ADMIN_PASSWORD);
  await page.locator('#view-dashboard').waitFor({ state: 'visible' });
  assert.ok(await page.locator('#sign-out').isVisible());
  // The token is kept for the tab only.
  const stored = await page.evaluate(() => sessionStorage.getItem('wenlv.admin.session'));
  assert.ok(stored && JSON.parse(stored).access_token);
  assert.deepEqual(problems.filter((p) => !/Failed to load resource/.test(p)), []);
  await context.close();
});

test('the review queue approves one application and rejects another with a reason', async () => {
  const owner = await resident('店主');
  const good = await applyMerchant(owner, '墨香书店', 1);
  const bad = await applyMerchant(owner, '可疑书店', 2);
  const { context, page } = await newPage();
  await signIn(page, ADMIN_PHONE, ADMIN_PASSWORD);
  await page.locator('#view-dashboard').waitFor({ state: 'visible' });
  await page.locator('#tab-review').click();
  const queue = page.locator('#review-list');
  await queue.getByText('墨香书店').waitFor();
  await queue.getByText('可疑书店').waitFor();
  await page.screenshot({ path: path.join(SHOTS, 'dashboard-review.png'), fullPage: true });

  await page.getByRole('button', { name: '通过 墨香书店' }).click();
  await page.locator('#review-message').getByText('已通过').waitFor();
  await page.getByRole('button', { name: '驳回 可疑书店' }).click();
  await page.locator('#reject-reason').fill('营业执照与经营范围不符');
  await page.locator('#reject-confirm').click();
  await page.locator('#review-message').getByText('已驳回').waitFor();
  assert.equal(await queue.getByText('可疑书店').count(), 0);

  const admin = await login(ADMIN_PHONE, ADMIN_PASSWORD);
  const approved = await call('GET', `/merchants/${good.id}`, { token: admin, expect: 200 });
  assert.equal(approved.status, 'approved');
  const rejected = await call('GET', `/merchants/${bad.id}`, { token: admin, expect: 200 });
  assert.equal(rejected.status, 'rejected');
  assert.equal(rejected.review_note, '营业执照与经营范围不符');
  await context.close();
});

test('a campaign report: leverage, the chart drawn, screenshots, and the CSV download', async () => {
  const admin = await login(ADMIN_PHONE, ADMIN_PASSWORD);
  const owner = await resident('书店店主');
  // A name that needs quoting in CSV, with Chinese characters.
  const merchantName = '廊坊"书香",书局';
  const merchant = await applyMerchant(owner, merchantName, 3);
  await call('POST', `/admin/merchants/${merchant.id}/approve`, { token: admin, expect: 200 });
  const offer = await call('POST', `/merchants/${merchant.id}/offers`, {
    token: owner.token, expect: 201, body: { title: '文学经典套装', price_fen: 12800, stock: 100 },
  });
  const now = Date.now();
  const startsAt = new Date(now - 3600e3).toISOString().replace(/\.\d+Z$/, 'Z');
  const endsAt = new Date(now + 30 * 86400e3).toISOString().replace(/\.\d+Z$/, 'Z');
  const campaign = await call('POST', '/admin/campaigns', {
    token: admin, expect: 201,
    body: { name: '浏览器测试书香季', budget_fen: 1000000, target_leverage: 10, starts_at: startsAt, ends_at: endsAt, eligible_categories: ['bookstore'] },
  });
  const batch = await call('POST', `/admin/campaigns/${campaign.id}/batches`, {
    token: admin, expect: 201,
    body: { name: '满100减30', discount_fen: 3000, min_spend_fen: 10000, quantity: 100, per_user_limit: 1, claim_starts_at: startsAt, claim_ends_at: endsAt, valid_days: 30 },
  });
  await call('POST', `/admin/campaigns/${campaign.id}/publish`, { token: admin, expect: 200 });
  const codes = [];
  for (let i = 0; i < 3; i++) {
    const buyer = await resident('居民' + i);
    const voucher = await call('POST', `/batches/${batch.id}/claim`, { token: buyer.token, expect: 201 });
    const order = await call('POST', '/orders', { token: buyer.token, expect: 201, body: { offer_id: offer.id, quantity: 1 + i, voucher_id: voucher.id } });
    const paid = await call('POST', `/orders/${order.id}/pay`, { token: buyer.token, expect: 200 });
    codes.push(paid.redemption_code);
  }
  await call('POST', `/merchants/${merchant.id}/redemptions`, { token: owner.token, expect: 200, body: { code: codes[0] } });

  const { context, page, problems } = await newPage();
  await signIn(page, ADMIN_PHONE, ADMIN_PASSWORD);
  await page.locator('#view-dashboard').waitFor({ state: 'visible' });
  await page.locator(`#campaign-list a[data-campaign="${campaign.id}"]`).click();
  await page.locator('#daily-chart').waitFor();
  assert.equal(await page.locator('#report-title').textContent().then((t) => t.includes('浏览器测试书香季')), true);
  // The chart has bars: one day, consumption and its subsidy part.
  const bars = await page.locator('#daily-chart rect').count();
  assert.ok(bars >= 2, `expected bars in the chart, found ${bars}`);
  // 3 orders: gross 128 + 256 + 384 = 768 yuan, subsidy 90 yuan: direct leverage 1 : 8.53.
  const body = await page.locator('#report-body').textContent();
  assert.ok(body.includes('¥768.00'), 'consumption in yuan');
  assert.ok(body.includes('¥90.00'), 'subsidy in yuan');
  assert.ok(body.includes('1 : 8.53'), 'direct leverage');
  assert.equal(await page.locator('[data-on-target]').getAttribute('data-on-target'), 'false');
  assert.ok(body.includes(merchantName), 'by_merchant row');
  await page.screenshot({ path: path.join(SHOTS, 'dashboard.png'), fullPage: true });
  await page.locator('#lang-switch').click();
  assert.ok((await page.locator('#report-body').textContent()).includes('Direct leverage'));
  await page.screenshot({ path: path.join(SHOTS, 'dashboard-en.png'), fullPage: true });

  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#csv-download').click()]);
  const file = path.join(workdir, 'report.csv');
  await download.saveAs(file);
  const bytes = readFileSync(file);
  assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 byte-order mark');
  const lines = bytes.subarray(3).toString('utf8').split(/\r?\n/);
  assert.equal(lines[0], CSV_HEADER);
  assert.ok(lines[1].includes('"廊坊""书香"",书局"'), `merchant row: ${lines[1]}`);
  assert.deepEqual(problems.filter((p) => !/Failed to load resource/.test(p)), []);
  await context.close();
});

test('causal leverage: a drawn lottery shown beside the three named ratios, with its sentence, in both languages', async () => {
  const admin = await login(ADMIN_PHONE, ADMIN_PASSWORD);
  const owner = await resident('摇号书店店主');
  const merchant = await applyMerchant(owner, '摇号书局', 5);
  await call('POST', `/admin/merchants/${merchant.id}/approve`, { token: admin, expect: 200 });
  const offer = await call('POST', `/merchants/${merchant.id}/offers`, {
    token: owner.token, expect: 201, body: { title: '诗词选集', price_fen: 12800, stock: 100 },
  });
  const now = Date.now();
  const iso = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
  const campaign = await call('POST', '/admin/campaigns', {
    token: admin, expect: 201,
    body: { name: '浏览器测试摇号季', budget_fen: 1000000, target_leverage: 10, starts_at: iso(now - 3600e3), ends_at: iso(now + 30 * 86400e3) },
  });
  const batch = await call('POST', `/admin/campaigns/${campaign.id}/batches`, {
    token: admin, expect: 201,
    body: { name: '摇号 满100减30', allocation: 'lottery', discount_fen: 3000, min_spend_fen: 10000, quantity: 2, per_user_limit: 1, claim_starts_at: iso(now - 3600e3), claim_ends_at: iso(now + 30 * 86400e3), valid_days: 7 },
  });
  await call('POST', `/admin/campaigns/${campaign.id}/publish`, { token: admin, expect: 200 });
  const entrants = [];
  for (let i = 0; i < 4; i++) {
    const who = await resident('摇号居民' + i);
    await call('POST', `/batches/${batch.id}/entries`, { token: who.token, expect: 201 });
    entrants.push(who);
  }
  // The draw's outcome, written as a finished draw leaves it: entries 1 and 2 won
  // (one voucher each, claimed at the draw time), 3 and 4 lost.
  const db = path.join(workdir, 'wenlv.db');
  const stamp = (ms) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
  const drawAt = stamp(Date.now());
  const expires = stamp(Date.now() + 7 * 86400e3);
  const drawn = spawnSync('sqlite3', [db, `.timeout 5000`, `
    BEGIN IMMEDIATE;
    UPDATE batch_entries SET status = CASE WHEN entry_no <= 2 THEN 'won' ELSE 'lost' END WHERE batch_id = ${batch.id};
    INSERT INTO vouchers (code, batch_id, campaign_id, user_id, slot, discount_fen, min_spend_fen, status, claimed_at, expires_at, usable_weekdays)
      SELECT 'LOTTERY' || e.entry_no, b.id, b.campaign_id, e.user_id, 1, b.discount_fen, b.min_spend_fen, 'available', '${drawAt}', '${expires}', b.usable_weekdays
      FROM batch_entries e JOIN voucher_batches b ON b.id = e.batch_id WHERE e.batch_id = ${batch.id} AND e.status = 'won';
    UPDATE batch_entries SET voucher_id = (SELECT v.id FROM vouchers v WHERE v.batch_id = batch_entries.batch_id AND v.user_id = batch_entries.user_id)
      WHERE batch_id = ${batch.id} AND status = 'won';
    UPDATE voucher_batches SET remaining = quantity - 2, draw_started_at = '${drawAt}', drawn_at = '${drawAt}' WHERE id = ${batch.id};
    COMMIT;`], { encoding: 'utf8' });
  assert.equal(drawn.status, 0, drawn.stderr);
  // Winners spend 256 and 128 yuan with their vouchers (mean 192), one loser 128
  // without and the other nothing (mean 64): 128 yuan more per winner for 30 yuan
  // of subsidy each, causal leverage 1 : 4.27.
  for (const [who, quantity, withVoucher] of [[entrants[0], 2, true], [entrants[1], 1, true], [entrants[2], 1, false]]) {
    let voucherId = null;
    if (withVoucher) {
      const mine = await call('GET', '/me/vouchers', { token: who.token, expect: 200 });
      assert.equal(mine.items.length, 1, 'a winner holds one voucher');
      voucherId = mine.items[0].id;
    }
    const order = await call('POST', '/orders', { token: who.token, expect: 201, body: { offer_id: offer.id, quantity, voucher_id: voucherId } });
    await call('POST', `/orders/${order.id}/pay`, { token: who.token, expect: 200 });
  }
  const report = await call('GET', `/admin/campaigns/${campaign.id}/report`, { token: admin, expect: 200 });
  assert.equal(report.causal.incremental_per_winner_fen, 12800);
  assert.equal(report.causal.subsidy_per_winner_fen, 3000);

  const { context, page, problems } = await newPage();
  await signIn(page, ADMIN_PHONE, ADMIN_PASSWORD);
  await page.locator('#view-dashboard').waitFor({ state: 'visible' });
  await page.locator(`#campaign-list a[data-campaign="${campaign.id}"]`).click();
  const card = page.locator('.leverage #causal-leverage[data-causal="shown"]');
  await card.waitFor();
  // Beside the three named ratios, in the same row of cards.
  assert.equal(await page.locator('.leverage > .lev').count(), 4);
  assert.equal(await card.locator('.value').textContent(), '1 : 4.27');
  const zh = await card.textContent();
  assert.ok(zh.includes('因果拉动比'), zh);
  assert.ok(zh.includes('补贴真正带来的'), 'the sentence on what it means (zh)');
  assert.ok(zh.includes('95% 区间'), 'the interval');
  assert.ok(zh.includes('¥128.00'), 'the increment per winner');
  await page.screenshot({ path: path.join(SHOTS, 'dashboard-causal.png'), fullPage: true });
  await page.locator('#lang-switch').click();
  const en = await page.locator('#causal-leverage').textContent();
  assert.ok(en.includes('Causal leverage'), en);
  assert.ok(en.includes('beyond what residents would have spent anyway'), 'the sentence on what it means (en)');

  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#causal-csv-download').click()]);
  const file = path.join(workdir, 'causal.csv');
  await download.saveAs(file);
  const lines = readFileSync(file).subarray(3).toString('utf8').split(/\r?\n/);
  assert.equal(lines[0].split(',')[6], 'causal_leverage');
  assert.equal(lines[1].split(',')[4], '12800');
  assert.deepEqual(problems.filter((p) => !/Failed to load resource/.test(p)), []);
  await context.close();
});

test('a lottery campaign: entries, the commitment, the draw and the command that verifies it', async () => {
  const admin = await login(ADMIN_PHONE, ADMIN_PASSWORD);
  const iso = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
  const now = Date.now();
  const campaign = await call('POST', '/admin/campaigns', {
    token: admin, expect: 201,
    body: { name: '浏览器测试摇号季', budget_fen: 1000000, target_leverage: 10, starts_at: iso(now - 3600e3), ends_at: iso(now + 30 * 86400e3) },
  });
  const closesAt = now + 5000;
  const batch = await call('POST', `/admin/campaigns/${campaign.id}/batches`, {
    token: admin, expect: 201,
    body: { name: '摇号满100减30', allocation: 'lottery', discount_fen: 3000, min_spend_fen: 10000, quantity: 2, per_user_limit: 1,
      claim_starts_at: iso(now - 60e3), claim_ends_at: iso(closesAt), valid_days: 30 },
  });
  await call('POST', `/admin/campaigns/${campaign.id}/publish`, { token: admin, expect: 200 });
  for (let i = 0; i < 4; i++) {
    const entrant = await resident('摇号居民' + i);
    await call('POST', `/batches/${batch.id}/entries`, { token: entrant.token, expect: 201 });
  }
  // The service's own job draws once the window has closed.
  let draw;
  for (let i = 0; i < 100; i++) {
    draw = await call('GET', `/batches/${batch.id}/draw`, { expect: 200 });
    if (draw.drawn_at) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(draw.drawn_at, 'drawn by the job after the close');
  assert.equal(draw.winners, 2);

  const { context, page, problems } = await newPage();
  await signIn(page, ADMIN_PHONE, ADMIN_PASSWORD);
  await page.locator('#view-dashboard').waitFor({ state: 'visible' });
  await page.locator(`#campaign-list a[data-campaign="${campaign.id}"]`).click();
  await page.locator('[data-lotteries]').waitFor();
  const section = await page.locator('[data-lotteries]').textContent();
  assert.ok(section.includes('摇号批次'), 'the section title, in Chinese');
  assert.ok(section.includes('摇号满100减30'), 'the batch');
  assert.ok(section.includes(draw.commitment.slice(0, 16)), 'the commitment');
  assert.ok(section.includes('已开奖'), 'drawn');
  const command = await page.locator(`pre[data-verify="${batch.id}"]`).textContent();
  assert.equal(command, `wenlv verify-draw --commitment ${draw.commitment} --seed ${draw.seed} --entries 4 --quantity 2`);
  assert.equal(await page.locator('[data-lotteries] a').first().getAttribute('href'), `/api/v1/batches/${batch.id}/draw`);
  await page.screenshot({ path: path.join(SHOTS, 'dashboard-lottery.png'), fullPage: true });
  assert.deepEqual(problems.filter((p) => !/Failed to load resource/.test(p)), []);
  await context.close();
});

test("a resident's token cannot open the dashboard's data", async () => {
  const someone = await resident('普通居民');
  // The API refuses it…
  await call('GET', '/admin/overview', { token: someone.token, expect: 403 });
  // …and the page shows the refusal and nothing else.
  const { context, page } = await newPage();
  await signIn(page, someone.phone, PASSWORD);
  await page.locator('#view-refused').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#refused-title').textContent(), '仅限管理员');
  assert.equal(await page.locator('#view-dashboard').isVisible(), false);
  assert.equal(await page.locator('#overview').textContent(), '');
  await page.screenshot({ path: path.join(SHOTS, 'dashboard-refused.png') });
  // A resident's token placed in the tab by hand fares no better.
  await page.reload();
  await page.locator('#view-refused').waitFor({ state: 'visible' });
  await context.close();
});

test('/docs renders the whole API in Swagger UI from this machine alone', async () => {
  const { context, page, problems } = await newPage('en-US');
  // Anything not served by the service itself is refused, and recorded.
  const elsewhere = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(base) || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
    elsewhere.push(url);
    return route.abort();
  });
  const res = await page.goto(base + '/docs/');
  assert.equal(res.status(), 200);
  await page.locator('.swagger-ui .opblock').first().waitFor({ state: 'visible', timeout: 15000 });
  const operations = await page.locator('.swagger-ui .opblock').count();
  assert.ok(operations >= 40, `only ${operations} operations rendered`);
  assert.ok(await page.locator('.swagger-ui .authorize').isVisible(), 'the Authorize button is there');
  await page.screenshot({ path: path.join(SHOTS, 'docs.png') });
  assert.deepEqual(elsewhere, [], 'Swagger UI asked for something beyond localhost');
  assert.deepEqual(problems.filter((p) => !/Failed to load resource/.test(p)), []);
  await context.close();
});

test('money to merchants: the risk queue, then hold, release, approve and paid on a statement', async () => {
  const admin = await login(ADMIN_PHONE, ADMIN_PASSWORD);
  const owner = await resident('影院店主');
  const merchant = await applyMerchant(owner, '可疑影城', 4);
  await call('POST', `/admin/merchants/${merchant.id}/approve`, { token: admin, expect: 200 });
  const offer = await call('POST', `/merchants/${merchant.id}/offers`, {
    token: owner.token, expect: 201, body: { title: '双人观影套餐', price_fen: 15000, stock: 100 },
  });
  const now = Date.now();
  const iso = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
  const campaign = await call('POST', '/admin/campaigns', {
    token: admin, expect: 201,
    body: { name: '浏览器测试结算季', budget_fen: 1000000, target_leverage: 5, starts_at: iso(now - 3600e3), ends_at: iso(now + 30 * 86400e3) },
  });
  const batch = await call('POST', `/admin/campaigns/${campaign.id}/batches`, {
    token: admin, expect: 201,
    body: { name: '满100减30', discount_fen: 3000, min_spend_fen: 10000, quantity: 100, per_user_limit: 2, claim_starts_at: iso(now - 3600e3), claim_ends_at: iso(now + 30 * 86400e3), valid_days: 30 },
  });
  await call('POST', `/admin/campaigns/${campaign.id}/publish`, { token: admin, expect: 200 });
  // One resident orders twice with the campaign's vouchers: a repeat pair.
  const buyer = await resident('常客');
  for (let i = 0; i < 2; i++) {
    const voucher = await call('POST', `/batches/${batch.id}/claim`, { token: buyer.token, expect: 201 });
    const order = await call('POST', '/orders', { token: buyer.token, expect: 201, body: { offer_id: offer.id, quantity: 1, voucher_id: voucher.id } });
    const paid = await call('POST', `/orders/${order.id}/pay`, { token: buyer.token, expect: 200 });
    await call('POST', `/merchants/${merchant.id}/redemptions`, { token: owner.token, expect: 200, body: { code: paid.redemption_code } });
  }
  // Redeemed three days ago (only ended days close), then the catch-up closing.
  const db = path.join(workdir, 'wenlv.db');
  const past = new Date(now - 3 * 86400e3).toISOString().replace('T', ' ').replace('Z', '');
  const moved = spawnSync('sqlite3', [db, `UPDATE orders SET redeemed_at = '${past}' WHERE merchant_id = ${merchant.id}`], { encoding: 'utf8' });
  assert.equal(moved.status, 0, moved.stderr);
  const yesterday = new Date(now - 86400e3).toISOString().slice(0, 10);
  const closed = spawnSync(BIN, ['close-statements', '--through', yesterday], { env: serviceEnv(serverPort), encoding: 'utf8' });
  assert.equal(closed.status, 0, closed.stderr);
  assert.match(closed.stdout, /closed [1-9]\d* statement/);

  const { context, page, problems } = await newPage();
  await signIn(page, ADMIN_PHONE, ADMIN_PASSWORD);
  await page.locator('#view-dashboard').waitFor({ state: 'visible' });
  // The risk queue shows the merchant and its evidence.
  await page.locator('#tab-risk').click();
  const risk = page.locator('#risk-list');
  await risk.getByText('可疑影城').waitFor();
  assert.equal(await risk.locator('li[data-kind="repeat_pairs"]').count(), 1);
  await page.screenshot({ path: path.join(SHOTS, 'dashboard-risk.png'), fullPage: true });

  // Its statement closed held; release, approve, then paid with the transfer's reference.
  await page.locator('#tab-statements').click();
  const row = page.locator('#statement-list tr', { hasText: '可疑影城' });
  await row.locator('[data-status="held"]').waitFor();
  await row.locator('[data-action="release"]').click();
  await row.locator('[data-status="closed"]').waitFor();
  await page.locator('#statement-note').fill('复核无误');
  await row.locator('[data-action="hold"]').click();
  await row.locator('[data-status="held"]').waitFor();
  await row.locator('[data-action="release"]').click();
  await row.locator('[data-status="closed"]').waitFor();
  await row.locator('[data-action="approve"]').click();
  await row.locator('[data-status="approved"]').waitFor();
  await page.locator('#statement-note').fill('ICBC-2026-000123');
  await row.locator('[data-action="mark_paid"]').click();
  await row.locator('[data-status="paid"]').waitFor();
  await row.locator('[data-action="details"]').click();
  await page.locator('#statement-detail').getByText('¥30.00').first().waitFor();
  await page.screenshot({ path: path.join(SHOTS, 'dashboard-statements.png'), fullPage: true });

  const list = await call('GET', `/admin/statements?merchant_id=${merchant.id}`, { token: admin, expect: 200 });
  assert.equal(list.items.length, 1);
  assert.equal(list.items[0].status, 'paid');
  assert.equal(list.items[0].payout_reference, 'ICBC-2026-000123');
  assert.equal(list.items[0].net_fen, 6000);
  assert.deepEqual(problems.filter((p) => !/Failed to load resource/.test(p)), []);
  await context.close();
});
