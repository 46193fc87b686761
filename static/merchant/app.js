// The merchant console at the counter: plain JavaScript over the /api/v1 contract.
//
// - The session (tokens in sessionStorage, refreshed one at a time), the API client,
//   the language plumbing, formatting and DOM helpers are the consoles' shared
//   script (static/common/console.js), loaded first.
// - Who may do what is the server's decision: the merchants come from
//   GET /me/merchants with the caller's role there; nobody in it means "merchants
//   only" and nothing else. Owner-only controls are hidden for staff, and the API
//   refuses them anyway.
// - Every call sends Accept-Language, so a refusal's problem `title` and `detail`
//   arrive in the language on screen and are shown as they are.
// - Money arrives in integer fen and is shown in yuan with BigInt arithmetic; a
//   price typed in yuan is turned into fen by string arithmetic, never a float.
'use strict';

(function () {
  const { yuan, when, $, h, show, say, ApiError, SignedOut } = WenlvConsole;
  const MERCHANT_KEY = 'wenlv.merchant.current';

  // ---------------------------------------------------------------- language
  const DICT = {
    zh: {
      app_title: '商户工作台', sign_in_title: '商户登录', phone: '手机号', password: '密码', sign_in: '登录', sign_out: '退出',
      bad_credentials: '手机号或密码错误。', rate_limited: '尝试过于频繁，请稍后再试。', login_missing: '请输入手机号和密码。',
      merchants_only: '商户专用', merchants_only_detail: '此账号不属于任何商户，无法使用商户工作台。',
      pick_merchant: '选择商户', switch_merchant: '切换商户', role_owner: '店主', role_staff: '店员',
      ms_pending: '待审核', ms_approved: '已通过', ms_rejected: '已驳回', ms_suspended: '已暂停',
      tab_redeem: '核销', tab_today: '今日', tab_offers: '商品', tab_staff: '店员', tab_statements: '结算', tab_webhooks: '通知',
      redeem_title: '核销订单', redeem_label: '输入顾客出示的 12 位核销码', redeem: '核销', redeeming: '正在核销…',
      code_format: '核销码是 12 位数字，请核对后重新输入。',
      redeemed_ok: '核销成功', redeemed_detail: '订单 {id} · {offer} × {quantity} · 顾客实付 {payable} · 补贴 {subsidy}',
      redeem_failed: '核销失败',
      today_title: '今日', refresh: '刷新', today_redemptions: '今日核销', today_orders: '今日订单',
      no_redemptions: '今天还没有核销。', no_orders: '今天还没有订单。',
      order: '订单', offer: '商品', quantity: '数量', gross: '金额', payable: '实付', subsidy: '补贴', time: '时间', status: '状态',
      os_pending_payment: '待支付', os_paid: '已支付', os_redeemed: '已核销', os_cancelled: '已取消', os_refunded: '已退款', os_reversed: '已冲正',
      load_more: '加载更多', new_offer: '新建商品', title: '名称', description: '说明（可选）', price_yuan: '价格（元）',
      stock_hint: '库存（留空为不限）', create_offer: '创建商品', price: '价格', stock: '库存', unlimited: '不限',
      of_active: '在售', of_inactive: '已下架', edit: '修改', save: '保存', cancel: '取消', deactivate: '下架', activate: '上架',
      no_offers: '还没有商品。', offer_created: '已创建“{title}”。', offer_saved: '已保存“{title}”。',
      offer_off: '已下架“{title}”。', offer_on: '已上架“{title}”。',
      bad_price: '价格须为 0.01 至 1,000,000 元，最多两位小数。', bad_stock: '库存须为 0 至 10,000,000 的整数，或留空（不限）。',
      title_required: '请填写名称（1–100 字）。',
      members: '成员', display_name: '名称', joined_at: '加入时间', role: '角色', remove: '移除', no_staff: '还没有店员。',
      invite_title: '邀请店员', invite: '发送邀请', bad_phone: '请输入 11 位手机号。',
      invited: '已向 {phone} 发送邀请，{expires} 前有效。', removed: '已移除 {name}。',
      day: '结算日', orders: '订单数', clawback: '追回', net: '净额', download_csv: '下载 CSV', no_statements: '还没有结算单。',
      st_closed: '已结算', st_held: '已暂扣', st_approved: '已审核', st_paid: '已付款', downloaded: '已下载 {file}。',
      webhook_url: '地址（https://）', register: '登记', register_webhook: '登记通知地址', created_at: '登记时间',
      deliveries: '投递记录', delete: '删除', no_webhooks: '还没有登记通知地址。', no_deliveries: '还没有投递记录。',
      deliveries_of: '投递记录：{url}', event: '事件', answer: '应答', duration: '耗时', webhook_deleted: '已删除 {url}。',
      url_required: '请输入通知地址。',
      error_generic: '请求失败（{status}）：{detail}', error_network: '无法连接服务器。', session_expired: '登录已过期，请重新登录。',
      owner_only: '只有店主可以这样做。',
    },
    en: {
      app_title: 'Merchant console', sign_in_title: 'Merchant sign-in', phone: 'Phone', password: 'Password', sign_in: 'Sign in', sign_out: 'Sign out',
      bad_credentials: 'Wrong phone or password.', rate_limited: 'Too many attempts; try again shortly.', login_missing: 'Enter the phone and the password.',
      merchants_only: 'Merchants only', merchants_only_detail: 'This account belongs to no merchant and cannot use the merchant console.',
      pick_merchant: 'Choose a merchant', switch_merchant: 'Switch merchant', role_owner: 'Owner', role_staff: 'Staff',
      ms_pending: 'Pending review', ms_approved: 'Approved', ms_rejected: 'Rejected', ms_suspended: 'Suspended',
      tab_redeem: 'Redeem', tab_today: 'Today', tab_offers: 'Offers', tab_staff: 'Staff', tab_statements: 'Statements', tab_webhooks: 'Webhooks',
      redeem_title: 'Redeem an order', redeem_label: 'Type the 12-digit code the customer shows', redeem: 'Redeem', redeeming: 'Redeeming…',
      code_format: 'A redemption code is 12 digits; check it and type it again.',
      redeemed_ok: 'Redeemed', redeemed_detail: 'Order {id} · {offer} × {quantity} · customer paid {payable} · subsidy {subsidy}',
      redeem_failed: 'Not redeemed',
      today_title: 'Today', refresh: 'Refresh', today_redemptions: 'Redeemed today', today_orders: 'Orders today',
      no_redemptions: 'Nothing redeemed today yet.', no_orders: 'No orders today yet.',
      order: 'Order', offer: 'Offer', quantity: 'Qty', gross: 'Amount', payable: 'Paid', subsidy: 'Subsidy', time: 'Time', status: 'Status',
      os_pending_payment: 'Awaiting payment', os_paid: 'Paid', os_redeemed: 'Redeemed', os_cancelled: 'Cancelled', os_refunded: 'Refunded', os_reversed: 'Reversed',
      load_more: 'Load more', new_offer: 'New offer', title: 'Title', description: 'Description (optional)', price_yuan: 'Price (yuan)',
      stock_hint: 'Stock (empty for unlimited)', create_offer: 'Create offer', price: 'Price', stock: 'Stock', unlimited: 'Unlimited',
      of_active: 'On sale', of_inactive: 'Off sale', edit: 'Edit', save: 'Save', cancel: 'Cancel', deactivate: 'Deactivate', activate: 'Activate',
      no_offers: 'No offers yet.', offer_created: 'Created “{title}”.', offer_saved: 'Saved “{title}”.',
      offer_off: 'Deactivated “{title}”.', offer_on: 'Activated “{title}”.',
      bad_price: 'The price is 0.01 to 1,000,000 yuan with at most two decimals.', bad_stock: 'Stock is a whole number 0 to 10,000,000, or empty (unlimited).',
      title_required: 'Give a title (1–100 characters).',
      members: 'Members', display_name: 'Name', joined_at: 'Joined', role: 'Role', remove: 'Remove', no_staff: 'No staff yet.',
      invite_title: 'Invite staff', invite: 'Send invitation', bad_phone: 'Enter an 11-digit mobile number.',
      invited: 'Invited {phone}; the invitation holds until {expires}.', removed: 'Removed {name}.',
      day: 'Day', orders: 'Orders', clawback: 'Clawback', net: 'Net', download_csv: 'Download CSV', no_statements: 'No statements yet.',
      st_closed: 'Closed', st_held: 'Held', st_approved: 'Approved', st_paid: 'Paid', downloaded: 'Downloaded {file}.',
      webhook_url: 'URL (https://)', register: 'Register', register_webhook: 'Register a webhook', created_at: 'Registered',
      deliveries: 'Deliveries', delete: 'Delete', no_webhooks: 'No webhooks registered.', no_deliveries: 'No deliveries yet.',
      deliveries_of: 'Deliveries to {url}', event: 'Event', answer: 'Answer', duration: 'Took', webhook_deleted: 'Deleted {url}.',
      url_required: 'Enter the URL.',
      error_generic: 'Request failed ({status}): {detail}', error_network: 'Cannot reach the server.', session_expired: 'The session expired; sign in again.',
      owner_only: 'Only the owner may do this.',
    },
  };
  // Texts that sit in the page itself (data-i18n) but are not in the script's calls.
  Object.assign(DICT.zh, {
    secret_once: '签名密钥只显示这一次，请立即妥善保存：', invite_phone: '店员的手机号（对方在应用中接受邀请后成为店员）',
    webhooks_intro: '订单支付、核销、退款、取消和结算时，平台向您登记的地址发送签名通知。',
  });
  Object.assign(DICT.en, {
    secret_once: 'The signing secret is shown this once; store it safely now:', invite_phone: 'Their mobile number (they become staff once they accept in the app)',
    webhooks_intro: 'When an order is paid, redeemed, refunded or cancelled, or a statement closes, the platform posts a signed event to the URLs registered here.',
  });

  const ui = WenlvConsole.open({
    dict: DICT, langKey: 'wenlv.merchant.lang', sessionKey: 'wenlv.merchant.session',
    // The merchant chosen at this counter goes with the session.
    alsoForget: [MERCHANT_KEY],
    // A refusal's problem `title` and `detail` arrive in the language on screen.
    sendLanguage: true,
    views: ['login', 'refused', 'pick', 'console'],
    onSignOut: () => { state.memberships = []; state.current = null; },
    onSignedIn: openConsole,
    describe,
  });
  const { t, api, guard, showView } = ui;

  // ---------------------------------------------------------------- formatting
  /** Fen → the plain "12.50" an input holds. */
  function yuanPlain(fen) {
    const n = BigInt(fen);
    return (n / 100n).toString() + '.' + (n % 100n).toString().padStart(2, '0');
  }
  /** "12", "12.5", "12.50" (yuan) → fen as a Number, or null when it is not a price. */
  function parseYuan(text) {
    const m = /^(\d{1,7})(?:\.(\d{1,2}))?$/.exec(text.trim().replace(/^¥/, ''));
    if (!m) return null;
    const fen = BigInt(m[1]) * 100n + BigInt((m[2] || '').padEnd(2, '0'));
    return fen >= 1n && fen <= 100000000n ? Number(fen) : null;
  }
  /** Empty → null (unlimited); digits 0–10,000,000 → the number; else undefined. */
  function parseStock(text) {
    const s = text.trim();
    if (s === '') return null;
    if (!/^\d{1,8}$/.test(s)) return undefined;
    const n = Number(s);
    return n <= 10000000 ? n : undefined;
  }
  const clock = (iso) => (iso ? when(iso).slice(11) : '—');
  /** Whether `iso` falls on the device's today (the counter's own calendar day). */
  function isToday(iso) {
    if (!iso) return false;
    const d = new Date(iso);
    const now = new Date();
    return d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() && d.getDate() === now.getDate();
  }

  // ---------------------------------------------------------------- DOM helpers
  /** A list of cards (one per row): reads well on a phone, unlike a wide table. */
  function cards(rows, emptyText, render) {
    if (!rows.length) return h('p', { class: 'muted' }, emptyText);
    return h('ul', { class: 'cards' }, rows.map((r) => h('li', { class: 'item' }, render(r))));
  }
  /** Label/value pairs of one card. */
  function facts(pairs) {
    return h('dl', { class: 'facts' }, pairs.filter(Boolean).map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, v))));
  }

  // ---------------------------------------------------------------- errors
  /** The server's own words for a refusal (already in the page's language). */
  function describe(err) {
    if (err instanceof ApiError) {
      if (err.status === 0) return t('error_network');
      const p = err.problem;
      if (p && p.title) {
        const fields = p.errors ? Object.entries(p.errors).map(([f, msgs]) => `${f}: ${msgs.join('; ')}`).join(' · ') : '';
        return [p.title, p.detail, fields].filter(Boolean).join(' — ');
      }
      return t('error_generic', { status: err.status, detail: err.message });
    }
    return String(err && err.message ? err.message : err);
  }

  // What the views are drawn from, so a language switch can redraw them.
  const state = {
    memberships: [], current: null, tab: 'redeem', lastRedeem: null,
    offers: [], offerCursor: null, editing: null, redemptions: [], todayOrders: [],
    staff: [], statements: [], statementCursor: null, webhooks: [], deliveries: null,
  };
  const isOwner = () => !!state.current && state.current.role === 'owner';
  const mid = () => encodeURIComponent(state.current.merchant.id);

  async function openConsole() {
    const all = [];
    const ok = await guard(async () => {
      let cursor = null;
      do {
        const page = await api('/me/merchants?limit=100' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
        all.push(...page.items);
        cursor = page.next_cursor;
      } while (cursor);
      return true;
    });
    if (!ok) return;
    state.memberships = all;
    if (!all.length) { showView('refused'); return; }
    const remembered = sessionStorage.getItem(MERCHANT_KEY);
    const pick = all.find((m) => String(m.merchant.id) === remembered) || (all.length === 1 ? all[0] : null);
    if (pick) selectMerchant(pick);
    else renderPick();
  }

  function renderPick() {
    showView('pick');
    $('pick-list').replaceChildren(...state.memberships.map((m) => h('button', {
      type: 'button', class: 'pick big', 'data-merchant-id': m.merchant.id, onclick: () => selectMerchant(m),
    }, h('strong', {}, m.merchant.name), h('span', { class: 'muted' }, ' · ' + t('role_' + m.role) +
      (m.merchant.status !== 'approved' ? ' · ' + t('ms_' + m.merchant.status) : '')))));
  }

  function selectMerchant(membership) {
    state.current = membership;
    sessionStorage.setItem(MERCHANT_KEY, String(membership.merchant.id));
    Object.assign(state, { offers: [], offerCursor: null, editing: null, redemptions: [], todayOrders: [], staff: [],
      statements: [], statementCursor: null, webhooks: [], deliveries: null, lastRedeem: null });
    showView('console');
    renderHeader();
    selectTab('redeem');
    $('redeem-code').value = '';
    renderRedeem();
    $('secret-box').hidden = true;
    loadOffers(false);
  }

  function renderHeader() {
    const m = state.current;
    if (!m) return;
    $('merchant-name').textContent = m.merchant.name;
    $('merchant-role').textContent = t('role_' + m.role);
    const status = $('merchant-status');
    say(status, m.merchant.status !== 'approved' ? t('ms_' + m.merchant.status) : '');
    show($('switch-merchant'), state.memberships.length > 1);
    for (const el of document.querySelectorAll('.owner-only')) {
      if (el.classList.contains('tab') || el.tagName === 'FORM') show(el, isOwner());
    }
  }

  function selectTab(tab) {
    if (tab === 'staff' && !isOwner()) tab = 'redeem';
    state.tab = tab;
    for (const b of document.querySelectorAll('.tab')) b.setAttribute('aria-pressed', String(b.dataset.tab === tab));
    for (const name of ['redeem', 'today', 'offers', 'staff', 'statements', 'webhooks']) show($('panel-' + name), name === tab);
    // The secret shown once leaves the screen with the tab.
    if (tab !== 'webhooks') { $('secret-value').textContent = ''; $('secret-box').hidden = true; }
    if (tab === 'redeem') $('redeem-code').focus();
    if (tab === 'today') loadToday();
    if (tab === 'offers') loadOffers(false);
    if (tab === 'staff') loadStaff();
    if (tab === 'statements') loadStatements(false);
    if (tab === 'webhooks') loadWebhooks();
  }

  // ------------------------------------------------------------ redeem
  async function onRedeem(event) {
    event.preventDefault();
    // People read codes out in groups: spaces and dashes are not part of it.
    const code = $('redeem-code').value.replace(/[\s-]/g, '');
    if (!/^\d{12}$/.test(code)) {
      state.lastRedeem = { ok: false, local: 'code_format' };
      renderRedeem();
      return;
    }
    const button = $('redeem-submit');
    button.disabled = true;
    state.lastRedeem = { pending: true };
    renderRedeem();
    try {
      const order = await api(`/merchants/${mid()}/redemptions`, { method: 'POST', body: { code } });
      state.lastRedeem = { ok: true, order };
      $('redeem-code').value = '';
      state.redemptions = [order].concat(state.redemptions.filter((o) => o.id !== order.id));
    } catch (err) {
      if (err instanceof SignedOut) return;
      state.lastRedeem = { ok: false, err, code };
    } finally {
      button.disabled = false;
    }
    renderRedeem();
    $('redeem-code').focus();
  }

  function offerTitle(offerId) {
    const o = state.offers.find((x) => x.id === offerId);
    return o ? o.title : '#' + offerId;
  }

  function renderRedeem() {
    const box = $('redeem-result');
    const r = state.lastRedeem;
    if (!r) { box.replaceChildren(); box.hidden = true; return; }
    box.hidden = false;
    if (r.pending) { box.className = 'result'; box.replaceChildren(t('redeeming')); return; }
    if (r.ok) {
      const o = r.order;
      box.className = 'result success';
      box.setAttribute('data-outcome', 'redeemed');
      box.replaceChildren(h('p', { class: 'headline' }, '✓ ' + t('redeemed_ok')),
        h('p', {}, t('redeemed_detail', { id: o.id, offer: offerTitle(o.offer_id), quantity: o.quantity, payable: yuan(o.payable_fen), subsidy: yuan(o.subsidy_fen) })));
      return;
    }
    box.className = 'result failure';
    if (r.local) {
      box.setAttribute('data-outcome', 'format');
      box.replaceChildren(h('p', { class: 'headline' }, '✗ ' + t('redeem_failed')), h('p', {}, t(r.local)));
      return;
    }
    const p = r.err instanceof ApiError ? r.err.problem : null;
    box.setAttribute('data-outcome', (p && p.code) || 'error');
    box.replaceChildren(
      h('p', { class: 'headline' }, '✗ ' + ((p && p.title) || t('redeem_failed'))),
      h('p', { class: 'problem-detail' }, (p && p.detail) || describe(r.err)),
      h('p', { class: 'muted' }, r.code.replace(/(\d{4})(?=\d)/g, '$1 ')));
  }

  // ------------------------------------------------------------ today
  /** Newest-first pages of the merchant's orders until one reaches before today. */
  async function ordersSince(status, stillToday) {
    const out = [];
    let cursor = null;
    for (let pages = 0; pages < 10; pages += 1) {
      const q = (status ? '&status=' + status : '') + (cursor ? '&cursor=' + encodeURIComponent(cursor) : '');
      const page = await api(`/merchants/${mid()}/orders?limit=100` + q);
      out.push(...page.items);
      cursor = page.next_cursor;
      // Newest first by creation: a page whose last order was made before today
      // ends the scan for creation; redemptions of older orders need the status filter.
      if (!cursor || !stillToday(page.items[page.items.length - 1])) break;
    }
    return out;
  }

  async function loadToday() {
    say($('today-message'), '');
    await guard(async () => {
      const [redeemed, orders] = await Promise.all([
        // Redeemed orders: ordered by creation, so an order made days ago but redeemed
        // today can sit deep in the list; the scan stops at 10 pages of 100.
        ordersSince('redeemed', () => true),
        ordersSince(null, (o) => isToday(o.created_at)),
      ]);
      state.redemptions = redeemed.filter((o) => isToday(o.redeemed_at))
        .sort((a, b) => (a.redeemed_at < b.redeemed_at ? 1 : -1));
      state.todayOrders = orders.filter((o) => isToday(o.created_at));
      renderToday();
    }, $('today-message'));
  }

  function orderCard(o, timeField) {
    return [
      h('div', { class: 'item-head' }, h('strong', {}, offerTitle(o.offer_id) + ' × ' + o.quantity),
        h('span', { class: 'badge os-' + o.status }, t('os_' + o.status))),
      facts([
        [t('order'), String(o.id)],
        [t('time'), clock(o[timeField])],
        [t('gross'), yuan(o.gross_fen)],
        [t('payable'), yuan(o.payable_fen)],
        [t('subsidy'), yuan(o.subsidy_fen)],
      ]),
    ];
  }

  function renderToday() {
    $('today-redemptions').replaceChildren(cards(state.redemptions, t('no_redemptions'), (o) => orderCard(o, 'redeemed_at')));
    $('today-orders').replaceChildren(cards(state.todayOrders, t('no_orders'), (o) => orderCard(o, 'created_at')));
  }

  // ------------------------------------------------------------ offers
  async function loadOffers(more) {
    if (!state.current) return;
    await guard(async () => {
      const cursor = more && state.offerCursor ? '&cursor=' + encodeURIComponent(state.offerCursor) : '';
      const page = await api(`/merchants/${mid()}/offers?limit=50` + cursor);
      state.offers = more ? state.offers.concat(page.items) : page.items;
      state.offerCursor = page.next_cursor;
      renderOffers();
    }, $('offers-message'));
  }

  function renderOffers() {
    $('offer-list').replaceChildren(cards(state.offers, t('no_offers'), (o) => {
      if (state.editing === o.id) return offerEditor(o);
      return [
        h('div', { class: 'item-head' }, h('strong', {}, o.title), h('span', { class: 'badge of-' + o.status }, t('of_' + o.status))),
        facts([[t('price'), yuan(o.price_fen)], [t('stock'), o.stock === null ? t('unlimited') : String(o.stock)]]),
        isOwner() ? h('div', { class: 'actions' },
          h('button', { type: 'button', class: 'secondary', 'data-action': 'edit', 'data-offer-id': o.id, onclick: () => { state.editing = o.id; renderOffers(); } }, t('edit')),
          o.status === 'active'
            ? h('button', { type: 'button', class: 'danger', 'data-action': 'deactivate', 'data-offer-id': o.id, onclick: () => patchOffer(o, { status: 'inactive' }, 'offer_off') }, t('deactivate'))
            : h('button', { type: 'button', class: 'good', 'data-action': 'activate', 'data-offer-id': o.id, onclick: () => patchOffer(o, { status: 'active' }, 'offer_on') }, t('activate'))) : null,
      ];
    }));
    show($('offers-more'), !!state.offerCursor);
  }

  function offerEditor(o) {
    const price = h('input', { type: 'text', inputmode: 'decimal', id: 'edit-price-' + o.id, value: yuanPlain(o.price_fen) });
    const stock = h('input', { type: 'text', inputmode: 'numeric', id: 'edit-stock-' + o.id, value: o.stock === null ? '' : String(o.stock) });
    const error = h('p', { class: 'error', role: 'alert', hidden: true });
    const save = async (event) => {
      event.preventDefault();
      const priceFen = parseYuan(price.value);
      const stockValue = parseStock(stock.value);
      if (priceFen === null) { say(error, t('bad_price')); return; }
      if (stockValue === undefined) { say(error, t('bad_stock')); return; }
      await patchOffer(o, { price_fen: priceFen, stock: stockValue }, 'offer_saved', error);
    };
    return h('form', { class: 'editor', 'data-offer-id': o.id, onsubmit: save },
      h('strong', {}, o.title),
      h('label', { for: price.id }, t('price_yuan')), price,
      h('label', { for: stock.id }, t('stock_hint')), stock,
      error,
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'primary', 'data-action': 'save' }, t('save')),
        h('button', { type: 'button', class: 'secondary', onclick: () => { state.editing = null; renderOffers(); } }, t('cancel'))));
  }

  async function patchOffer(offer, body, messageKey, errorEl) {
    await guard(async () => {
      const updated = await api(`/offers/${encodeURIComponent(offer.id)}`, { method: 'PATCH', body });
      state.offers = state.offers.map((o) => (o.id === updated.id ? updated : o));
      state.editing = null;
      renderOffers();
      say($('offers-message'), t(messageKey, { title: updated.title }));
    }, errorEl || $('offers-message'));
  }

  async function onCreateOffer(event) {
    event.preventDefault();
    const error = $('offer-error');
    const title = $('offer-title').value.trim();
    const priceFen = parseYuan($('offer-price').value);
    const stock = parseStock($('offer-stock').value);
    if (!title || title.length > 100) { say(error, t('title_required')); return; }
    if (priceFen === null) { say(error, t('bad_price')); return; }
    if (stock === undefined) { say(error, t('bad_stock')); return; }
    say(error, '');
    const body = { title, price_fen: priceFen, stock };
    const description = $('offer-description').value.trim();
    if (description) body.description = description;
    await guard(async () => {
      const offer = await api(`/merchants/${mid()}/offers`, { method: 'POST', body });
      state.offers = [offer].concat(state.offers);
      renderOffers();
      $('offer-form').reset();
      say($('offers-message'), t('offer_created', { title: offer.title }));
    }, error);
  }

  // ------------------------------------------------------------ staff (owner)
  async function loadStaff() {
    await guard(async () => {
      const page = await api(`/merchants/${mid()}/staff?limit=100`);
      state.staff = page.items;
      renderStaff();
    }, $('staff-message'));
  }

  function renderStaff() {
    const members = state.staff;
    $('staff-list').replaceChildren(cards(members, t('no_staff'), (m) => [
      h('div', { class: 'item-head' }, h('strong', {}, m.display_name), h('span', { class: 'badge' }, t('role_' + m.role))),
      facts([[t('phone'), m.phone], [t('joined_at'), when(m.joined_at)]]),
      m.role === 'staff' ? h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'danger', 'data-action': 'remove', 'data-user-id': m.user_id, onclick: () => removeStaff(m) }, t('remove'))) : null,
    ]));
  }

  async function removeStaff(member) {
    await guard(async () => {
      await api(`/merchants/${mid()}/staff/${encodeURIComponent(member.user_id)}`, { method: 'DELETE' });
      state.staff = state.staff.filter((m) => m.user_id !== member.user_id);
      renderStaff();
      say($('staff-message'), t('removed', { name: member.display_name }));
    }, $('staff-message'));
  }

  async function onInvite(event) {
    event.preventDefault();
    const error = $('invite-error');
    const phone = $('invite-phone').value.trim();
    if (!/^1[3-9]\d{9}$/.test(phone)) { say(error, t('bad_phone')); return; }
    say(error, '');
    await guard(async () => {
      const sent = await api(`/merchants/${mid()}/staff`, { method: 'POST', body: { phone } });
      $('invite-form').reset();
      say($('staff-message'), t('invited', { phone: sent.phone, expires: when(sent.expires_at) }));
    }, error);
  }

  // ------------------------------------------------------------ statements
  async function loadStatements(more) {
    await guard(async () => {
      const cursor = more && state.statementCursor ? '&cursor=' + encodeURIComponent(state.statementCursor) : '';
      const page = await api(`/merchants/${mid()}/statements?limit=50` + cursor);
      state.statements = more ? state.statements.concat(page.items) : page.items;
      state.statementCursor = page.next_cursor;
      renderStatements();
    }, $('statements-message'));
  }

  function renderStatements() {
    $('statement-list').replaceChildren(cards(state.statements, t('no_statements'), (s) => [
      h('div', { class: 'item-head' }, h('strong', {}, s.day), h('span', { class: 'badge st-' + s.status }, t('st_' + s.status))),
      facts([[t('orders'), String(s.orders)], [t('subsidy'), yuan(s.subsidy_fen)], [t('clawback'), yuan(s.clawback_fen)], [t('net'), yuan(s.net_fen)]]),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'secondary', 'data-action': 'csv', 'data-statement-id': s.id, onclick: () => downloadCsv(s) }, t('download_csv'))),
    ]));
    show($('statements-more'), !!state.statementCursor);
  }

  /** The CSV needs the bearer token, so it is fetched and handed over as a blob. */
  async function downloadCsv(statement) {
    await guard(async () => {
      const res = await api(`/merchants/${mid()}/statements/${encodeURIComponent(statement.id)}.csv`, { raw: true });
      const blob = await res.blob();
      const file = `statement-${statement.id}-${statement.day}.csv`;
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: file, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      say($('statements-message'), t('downloaded', { file }));
    }, $('statements-message'));
  }

  // ------------------------------------------------------------ webhooks
  async function loadWebhooks() {
    await guard(async () => {
      const page = await api(`/merchants/${mid()}/webhooks?limit=100`);
      state.webhooks = page.items;
      renderWebhooks();
    }, $('webhooks-message'));
  }

  function renderWebhooks() {
    $('webhook-list').replaceChildren(cards(state.webhooks, t('no_webhooks'), (w) => [
      h('div', { class: 'item-head' }, h('strong', { class: 'url' }, w.url)),
      facts([[t('created_at'), when(w.created_at)]]),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'secondary', 'data-action': 'deliveries', 'data-webhook-id': w.id, onclick: () => loadDeliveries(w) }, t('deliveries')),
        isOwner() ? h('button', { type: 'button', class: 'danger', 'data-action': 'delete', 'data-webhook-id': w.id, onclick: () => deleteWebhook(w) }, t('delete')) : null),
    ]));
    renderDeliveries();
  }

  async function loadDeliveries(webhook) {
    await guard(async () => {
      const page = await api(`/merchants/${mid()}/webhooks/${encodeURIComponent(webhook.id)}/deliveries?limit=50`);
      state.deliveries = { webhook, items: page.items };
      renderDeliveries();
    }, $('webhooks-message'));
  }

  function renderDeliveries() {
    const d = state.deliveries;
    if (!d) { $('delivery-list').replaceChildren(); return; }
    $('delivery-list').replaceChildren(h('h3', { class: 'spaced url' }, t('deliveries_of', { url: d.webhook.url })),
      cards(d.items, t('no_deliveries'), (a) => [
        h('div', { class: 'item-head' }, h('strong', {}, a.event_type),
          h('span', { class: 'badge ' + (a.status_code >= 200 && a.status_code < 300 ? 'on' : 'off') }, a.status_code === null ? (a.error || '—') : String(a.status_code))),
        facts([[t('time'), when(a.attempted_at)], [t('duration'), a.duration_ms + ' ms'], [t('event'), a.event_id]]),
      ]));
  }

  async function deleteWebhook(webhook) {
    await guard(async () => {
      await api(`/merchants/${mid()}/webhooks/${encodeURIComponent(webhook.id)}`, { method: 'DELETE' });
      state.webhooks = state.webhooks.filter((w) => w.id !== webhook.id);
      if (state.deliveries && state.deliveries.webhook.id === webhook.id) state.deliveries = null;
      renderWebhooks();
      say($('webhooks-message'), t('webhook_deleted', { url: webhook.url }));
    }, $('webhooks-message'));
  }

  async function onRegisterWebhook(event) {
    event.preventDefault();
    const error = $('webhook-error');
    const url = $('webhook-url').value.trim();
    if (!url) { say(error, t('url_required')); return; }
    say(error, '');
    await guard(async () => {
      const created = await api(`/merchants/${mid()}/webhooks`, { method: 'POST', body: { url } });
      $('webhook-form').reset();
      // The secret is never shown again: it lives only in this box until the
      // user leaves the tab (selectTab clears it).
      $('secret-value').textContent = created.secret;
      $('secret-box').hidden = false;
      state.webhooks = [created].concat(state.webhooks);
      renderWebhooks();
    }, error);
  }

  // ------------------------------------------------------------ wiring
  function redraw() {
    ui.applyLanguage();
    if (!$('view-pick').hidden) renderPick();
    if (!$('view-console').hidden) {
      renderHeader();
      renderRedeem();
      renderToday();
      renderOffers();
      renderStaff();
      renderStatements();
      renderWebhooks();
    }
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('lang-switch').addEventListener('click', () => {
      ui.toggleLanguage();
      redraw();
    });
    $('sign-out').addEventListener('click', () => ui.signOut());
    $('login-form').addEventListener('submit', ui.onLogin);
    $('redeem-form').addEventListener('submit', onRedeem);
    $('offer-form').addEventListener('submit', onCreateOffer);
    $('invite-form').addEventListener('submit', onInvite);
    $('webhook-form').addEventListener('submit', onRegisterWebhook);
    $('today-refresh').addEventListener('click', loadToday);
    $('offers-more').addEventListener('click', () => loadOffers(true));
    $('statements-more').addEventListener('click', () => loadStatements(true));
    $('switch-merchant').addEventListener('click', renderPick);
    for (const b of document.querySelectorAll('.tab')) b.addEventListener('click', () => selectTab(b.dataset.tab));
    ui.applyLanguage();
    if (ui.signedIn()) openConsole();
    else showView('login');
  });
})();
