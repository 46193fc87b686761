// The /merchant console in headless Chromium (Debian's `chromium`), driven by
// playwright-core, on a phone-sized screen. It starts the real binary
// (target/debug/wenlv, built by cargo beforehand) on a fresh SQLite file, makes an
// administrator with `wenlv create-admin`, creates its data over the HTTP API
// exactly as API.md describes (a merchant applied and approved, an offer, a staff
// member invited who accepts, a resident who buys and pays), then uses the page
// the way the counter does.
//
//   cargo build && cd tests/browser && npm ci && node --test merchant.test.mjs
//
// Screenshots land in target/ (merchant-login.png, merchant-redeemed.png,
// merchant-wrong-code.png, merchant-today.png, merchant-offer-edited.png,
// merchant-en.png, merchant-pick.png, merchant-refused.png).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { BIN, CHROMIUM, SHOTS, apiClient, freePort, serviceEnv as baseEnv } from './support.mjs';

const ADMIN_PHONE = '13800000001';
const ADMIN_PASSWORD = 'browser-admin-password';
const PASSWORD = 'browser-merchant-password';
// A phone at the counter.
const PHONE_VIEWPORT = { width: 390, height: 844 };

let workdir;
let server;
let base;
let browser;
let admin;
let owner;
let staff;
let buyer;
let merchant;
let offer;

const { call, login, resident, applyMerchant } = apiClient(() => base, PASSWORD, 'MC');

async function approvedMerchant(who, name, n) {
  const applied = await applyMerchant(who, name, n);
  await call('POST', `/admin/merchants/${applied.id}/approve`, { token: admin, expect: 200 });
  return applied;
}

/** A paid order of `offerId` by `who`: its redemption code. */
async function paidCode(who, offerId) {
  const order = await call('POST', '/orders', { token: who.token, expect: 201, body: { offer_id: offerId, quantity: 1 } });
  const paid = await call('POST', `/orders/${order.id}/pay`, { token: who.token, expect: 200 });
  assert.match(paid.redemption_code, /^\d{12}$/);
  return { id: order.id, code: paid.redemption_code };
}

async function newPage(locale = 'zh-CN') {
  const context = await browser.newContext({ viewport: PHONE_VIEWPORT, isMobile: true, hasTouch: true, locale, acceptDownloads: true });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  return { context, page, problems };
}

async function signIn(page, phone, password) {
  await page.goto(base + '/merchant');
  await page.locator('#login-phone').fill(phone);
  await page.locator('#login-password').fill(password);
  await page.locator('#login-form button[type=submit]').tap();
}

/** Refusals a browser logs for a 4xx answer are expected here; script errors are not. */
const scriptProblems = (problems) => problems.filter((p) => !/Failed to load resource/.test(p));

before(async () => {
  workdir = mkdtempSync(path.join(tmpdir(), 'wenlv-merchant-browser-'));
  mkdirSync(SHOTS, { recursive: true });
  const port = await freePort();
  const env = baseEnv(workdir, port);
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

  admin = await login(ADMIN_PHONE, ADMIN_PASSWORD);
  owner = await resident('店主老王');
  staff = await resident('店员小李');
  buyer = await resident('读者');
  merchant = await approvedMerchant(owner, '墨香书店', 1);
  offer = await call('POST', `/merchants/${merchant.id}/offers`, {
    token: owner.token, expect: 201, body: { title: '读书会门票', price_fen: 3800, stock: 50 },
  });
  await call('POST', `/merchants/${merchant.id}/staff`, { token: owner.token, expect: 202, body: { phone: staff.phone } });
  const invitations = await call('GET', '/me/invitations', { token: staff.token, expect: 200 });
  await call('POST', `/me/invitations/${invitations.items[0].id}/accept`, { token: staff.token, expect: 200 });
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.kill('SIGTERM');
  if (workdir) rmSync(workdir, { recursive: true, force: true });
});

test('a staff member redeems a code, sees it in today\'s list, and a second try is refused in Chinese', async () => {
  const order = await paidCode(buyer, offer.id);
  const { context, page, problems } = await newPage();
  const res = await page.goto(base + '/merchant');
  assert.equal(res.status(), 200);
  assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN');
  assert.equal(await page.locator('#login-title').textContent(), '商户登录');
  await page.screenshot({ path: path.join(SHOTS, 'merchant-login.png') });

  await signIn(page, staff.phone, PASSWORD);
  await page.locator('#view-console').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#merchant-name').textContent(), '墨香书店');
  assert.equal(await page.locator('#merchant-role').textContent(), '店员');
  // Staff see no owner-only controls.
  assert.equal(await page.locator('.tab[data-tab=staff]').isVisible(), false);

  // Big enough to hit with a thumb.
  const input = page.locator('#redeem-code');
  const box = await input.boundingBox();
  assert.ok(box.height >= 56, `the code field is ${box.height}px high`);
  const button = await page.locator('#redeem-submit').boundingBox();
  assert.ok(button.height >= 48 && button.width >= 300, `the redeem button is ${button.width}×${button.height}`);

  // Typed the way a customer reads it out: in groups of four.
  await input.fill(order.code.replace(/(\d{4})(?=\d)/g, '$1 '));
  await page.locator('#redeem-submit').tap();
  const result = page.locator('#redeem-result');
  await result.locator('.headline').getByText('核销成功').waitFor();
  assert.equal(await result.getAttribute('data-outcome'), 'redeemed');
  assert.match(await result.textContent(), /读书会门票 × 1/);
  assert.match(await result.textContent(), /¥38\.00/);
  await page.screenshot({ path: path.join(SHOTS, 'merchant-redeemed.png'), fullPage: true });
  const redeemed = await call('GET', `/orders/${order.id}`, { token: owner.token, expect: 200 });
  assert.equal(redeemed.status, 'redeemed');

  // The same code again: the API's Chinese title and detail.
  await input.fill(order.code);
  await page.locator('#redeem-submit').tap();
  await result.locator('.headline').getByText('订单已核销').waitFor();
  assert.equal(await result.getAttribute('data-outcome'), 'already_redeemed');
  assert.equal(await result.locator('.problem-detail').textContent(), '该订单已核销');

  await page.locator('.tab[data-tab=today]').tap();
  const today = page.locator('#today-redemptions');
  await today.locator('li').first().waitFor();
  assert.equal(await today.locator('li').count(), 1);
  assert.match(await today.textContent(), new RegExp(`订单${order.id}`));
  assert.match(await today.textContent(), /读书会门票 × 1/);
  assert.match(await page.locator('#today-orders').textContent(), /已核销/);
  await page.screenshot({ path: path.join(SHOTS, 'merchant-today.png'), fullPage: true });
  assert.deepEqual(scriptProblems(problems), []);
  await context.close();
});

test('a wrong, a refunded and another merchant\'s code show the Chinese message, and English on the switch', async () => {
  const refunded = await paidCode(buyer, offer.id);
  await call('POST', `/orders/${refunded.id}/refund`, { token: buyer.token, expect: 200 });
  const otherOwner = await resident('别家店主');
  const other = await approvedMerchant(otherOwner, '远方影院', 2);
  const otherOffer = await call('POST', `/merchants/${other.id}/offers`, { token: otherOwner.token, expect: 201, body: { title: '电影票', price_fen: 4500 } });
  const foreign = await paidCode(buyer, otherOffer.id);

  const { context, page, problems } = await newPage();
  await signIn(page, staff.phone, PASSWORD);
  await page.locator('#view-console').waitFor({ state: 'visible' });
  const input = page.locator('#redeem-code');
  const result = page.locator('#redeem-result');

  // Not 12 digits: caught before any call.
  await input.fill('1234');
  await page.locator('#redeem-submit').tap();
  await result.getByText('核销码是 12 位数字').waitFor();

  await input.fill('000000000000');
  await page.locator('#redeem-submit').tap();
  await result.locator('.headline').getByText('未找到').waitFor();
  assert.match(await result.locator('.problem-detail').textContent(), /^本商户没有使用此核销码的订单/);
  assert.equal(await result.getAttribute('data-outcome'), 'not_found');
  await page.screenshot({ path: path.join(SHOTS, 'merchant-wrong-code.png'), fullPage: true });

  await input.fill(refunded.code);
  await page.locator('#redeem-submit').tap();
  await result.locator('.problem-detail').getByText('该订单已退款，不能核销').waitFor();

  await input.fill(foreign.code);
  await page.locator('#redeem-submit').tap();
  await result.locator('.headline').getByText('未找到').waitFor();
  // Another merchant's code redeems nothing here.
  assert.equal((await call('GET', `/orders/${foreign.id}`, { token: otherOwner.token, expect: 200 })).status, 'paid');

  // English: the page and the server's words switch together.
  await page.locator('#lang-switch').tap();
  assert.equal(await page.locator('html').getAttribute('lang'), 'en');
  assert.equal(await page.locator('#redeem-title').textContent(), 'Redeem an order');
  await input.fill(refunded.code);
  await page.locator('#redeem-submit').tap();
  await result.locator('.problem-detail').getByText('this order was refunded; it cannot be redeemed').waitFor();
  assert.match(await result.locator('.headline').textContent(), /Conflict/);
  await page.screenshot({ path: path.join(SHOTS, 'merchant-en.png'), fullPage: true });
  await page.locator('#lang-switch').tap();
  assert.deepEqual(scriptProblems(problems), []);
  await context.close();
});

test('the owner edits an offer\'s price and stock, deactivates it, and creates another', async () => {
  const { context, page, problems } = await newPage();
  await signIn(page, owner.phone, PASSWORD);
  await page.locator('#view-console').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#merchant-role').textContent(), '店主');
  await page.locator('.tab[data-tab=offers]').tap();
  const list = page.locator('#offer-list');
  await list.getByText('读书会门票').waitFor();

  await list.locator(`button[data-action=edit][data-offer-id="${offer.id}"]`).tap();
  const editor = list.locator(`form.editor[data-offer-id="${offer.id}"]`);
  await editor.locator(`#edit-price-${offer.id}`).fill('42.5');
  await editor.locator(`#edit-stock-${offer.id}`).fill('20');
  await editor.locator('button[data-action=save]').tap();
  await page.locator('#offers-message').getByText('已保存“读书会门票”').waitFor();
  await list.getByText('¥42.50').waitFor();
  let stored = await call('GET', `/offers/${offer.id}`, { token: owner.token, expect: 200 });
  assert.equal(stored.price_fen, 4250);
  // The stock was 50 less the orders the earlier tests took, now set to 20.
  assert.equal(stored.stock, 20);
  await page.screenshot({ path: path.join(SHOTS, 'merchant-offer-edited.png'), fullPage: true });

  // A price the API would refuse is caught on the form.
  await list.locator(`button[data-action=edit][data-offer-id="${offer.id}"]`).tap();
  await editor.locator(`#edit-price-${offer.id}`).fill('12.345');
  await editor.locator('button[data-action=save]').tap();
  await editor.getByText('价格须为').waitFor();
  await editor.getByText('取消').tap();

  await list.locator(`button[data-action=deactivate][data-offer-id="${offer.id}"]`).tap();
  await page.locator('#offers-message').getByText('已下架“读书会门票”').waitFor();
  stored = await call('GET', `/offers/${offer.id}`, { token: owner.token, expect: 200 });
  assert.equal(stored.status, 'inactive');
  // Still listed to the owner, to be turned back on.
  await list.locator(`button[data-action=activate][data-offer-id="${offer.id}"]`).tap();
  await page.locator('#offers-message').getByText('已上架“读书会门票”').waitFor();

  await page.locator('#offer-title').fill('签名本预售');
  await page.locator('#offer-price').fill('88');
  await page.locator('#offer-form button[type=submit]').tap();
  await page.locator('#offers-message').getByText('已创建“签名本预售”').waitFor();
  const offers = await call('GET', `/merchants/${merchant.id}/offers`, { token: owner.token, expect: 200 });
  const created = offers.items.find((o) => o.title === '签名本预售');
  assert.equal(created.price_fen, 8800);
  assert.equal(created.stock, null);

  // Staff tab: the owner sees both members; webhooks: the secret is shown once.
  await page.locator('.tab[data-tab=staff]').tap();
  await page.locator('#staff-list').getByText('店员小李').waitFor();
  assert.match(await page.locator('#staff-list').textContent(), /店主老王/);
  await page.locator('.tab[data-tab=webhooks]').tap();
  await page.locator('#webhook-url').fill('http://127.0.0.1:9/hook');
  await page.locator('#webhook-form button[type=submit]').tap();
  await page.locator('#secret-box').waitFor({ state: 'visible' });
  assert.ok((await page.locator('#secret-value').textContent()).length >= 32);
  await page.locator('#webhook-list').getByText('http://127.0.0.1:9/hook').waitFor();
  await page.locator('.tab[data-tab=redeem]').tap();
  await page.locator('.tab[data-tab=webhooks]').tap();
  assert.equal(await page.locator('#secret-box').isVisible(), false);
  assert.deepEqual(scriptProblems(problems), []);
  await context.close();
});

test('someone in two merchants picks one first', async () => {
  const second = await approvedMerchant(staff, '小李文创', 3);
  const { context, page } = await newPage();
  await signIn(page, staff.phone, PASSWORD);
  await page.locator('#view-pick').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#pick-list button').count(), 2);
  await page.screenshot({ path: path.join(SHOTS, 'merchant-pick.png') });
  await page.locator(`#pick-list button[data-merchant-id="${second.id}"]`).tap();
  await page.locator('#view-console').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#merchant-name').textContent(), '小李文创');
  assert.equal(await page.locator('#merchant-role').textContent(), '店主');
  await context.close();
});

test('a resident and an administrator who are not members see only "merchants only"', async () => {
  const outsider = await resident('路人');
  for (const [phone, password, shot] of [[outsider.phone, PASSWORD, 'merchant-refused.png'], [ADMIN_PHONE, ADMIN_PASSWORD, null]]) {
    const { context, page, problems } = await newPage();
    await signIn(page, phone, password);
    await page.locator('#view-refused').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#refused-title').textContent(), '商户专用');
    assert.equal(await page.locator('#view-console').isVisible(), false);
    assert.equal(await page.locator('#redeem-code').isVisible(), false);
    if (shot) await page.screenshot({ path: path.join(SHOTS, shot) });
    assert.deepEqual(scriptProblems(problems), []);
    await context.close();
  }
});
