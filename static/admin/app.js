// The administrators' dashboard: plain JavaScript over the /api/v1 contract (API.md).
//
// - Whether the user may see anything is decided by the server: a 403 from an admin
//   endpoint shows "administrators only" and nothing else.
// - Money arrives in integer fen and is shown in yuan with BigInt arithmetic, so no
//   floating point ever touches an amount.
// - The session (tokens in sessionStorage, refreshed one at a time), the API client,
//   the language plumbing, formatting and DOM helpers are the consoles' shared
//   script (static/common/console.js), loaded first.
// - The chart is an inline SVG drawn here; no library, nothing loaded from elsewhere.
'use strict';

(function () {
  const { yuan, when, $, h, show, say, ApiError, Refused, SignedOut } = WenlvConsole;
  const SVG_NS = 'http://www.w3.org/2000/svg';

  // ---------------------------------------------------------------- language
  const DICT = {
    zh: {
      app_title: '文旅消费补贴管理台',
      sign_in_title: '管理员登录', phone: '手机号', password: '密码', sign_in: '登录', sign_out: '退出登录',
      signing_in: '正在登录…', bad_credentials: '手机号或密码错误。', rate_limited: '尝试过于频繁，请稍后再试。',
      login_missing: '请输入手机号和密码。',
      admins_only: '仅限管理员', admins_only_detail: '此账号不是管理员，无权查看管理台。',
      overview: '平台概览', users: '用户', merchants: '商户', orders: '订单', consumption: '消费额', subsidy: '补贴额',
      overall_leverage: '总拉动比', merchants_detail: '待审 {pending} · 已通过 {approved} · 已驳回 {rejected} · 已暂停 {suspended}',
      review_queue: '商户审核', campaigns: '补贴活动', load_more: '加载更多', loading: '加载中…',
      lotteries: '摇号批次', lot_batch: '批次', lot_entries: '报名人数', lot_prizes: '名额', lot_winners: '中签人数',
      lot_commitment: '承诺值（种子的 SHA-256）', lot_seed: '种子', lot_state: '开奖', lot_drawn: '已开奖 {at}',
      lot_not_drawn: '未开奖', lot_verify: '核验', lot_verify_def: '任何人都可以用公开的种子、报名人数和名额重算中签名单（hmac-sha256-rank-v1），并核对种子与创建批次时公布的承诺值一致：',
      no_pending: '没有待审核的商户。', no_campaigns: '还没有补贴活动。',
      name: '名称', license_no: '统一社会信用代码', category: '类别', district: '区县', address: '地址',
      contact_phone: '联系电话', applied_at: '申请时间', actions: '操作', approve: '通过', reject: '驳回',
      reject_title: '驳回申请', reject_reason: '驳回理由', cancel: '取消', reason_required: '请填写驳回理由（1–500 字）。',
      approved_msg: '已通过“{name}”。', rejected_msg: '已驳回“{name}”。', already_reviewed: '该申请已被处理，列表已刷新。',
      status: '状态', budget: '预算', reserved: '已预留', window: '活动时间', target: '目标拉动比', open: '查看报表',
      s_draft: '草稿', s_active: '进行中', s_paused: '已暂停', s_ended: '已结束',
      download_csv: '下载商户明细 CSV', back_to_list: '返回活动列表', downloading: '正在下载…', downloaded: '已下载 {file}。',
      leverage: '直接拉动比', leverage_def: '消费额 ÷ 补贴额（与目标比较）',
      oop_leverage: '自付拉动比', oop_def: '居民实付 ÷ 补贴额',
      mw_leverage: '商户全量拉动比', mw_def: '活动期内核销商户的全部消费 ÷ 补贴额',
      causal_leverage: '因果拉动比',
      causal_def: '中签居民比未中签居民人均多花的钱 ÷ 人均补贴：补贴真正带来的、居民本来不会花的消费。',
      causal_none: '需有已开奖的摇号批次（至少 2 人中签、2 人未中签）。',
      causal_detail: '中签 {winners} 人 · 未中签 {losers} 人 · 人均消费 {wmean} 对 {lmean} · 人均增量 {incr} · 人均补贴 {spw}',
      causal_ci: '95% 区间 {low} 至 {high}', causal_csv: '下载因果指标 CSV',
      on_target: '达标', off_target: '未达标', target_is: '目标 {target}',
      resident_paid: '居民实付', mw_consumption: '商户全量消费', counted_orders: '计入订单',
      vouchers: '消费券', count: '数量', issued: '发行', claimed: '已领取', available: '可用', locked: '锁定中', used: '已使用',
      expired: '已过期', void: '已作废',
      daily_chart: '每日消费与补贴', chart_desc: '{from} 至 {to} 每日消费额（柱高）及其中补贴额（深色部分）。',
      chart_empty: '暂无计入的订单。', show_data: '显示数据表', date: '日期',
      by_district: '按区县', by_category: '按类别', by_merchant: '按商户', merchant: '商户', ratio: '拉动比',
      no_rows: '暂无数据。',
      error_generic: '请求失败（{status}）：{detail}', error_network: '无法连接服务器。',
      session_expired: '登录已过期，请重新登录。', not_available: '此功能暂不可用（{status}）。',
      cat_bookstore: '书店', cat_cinema: '影院', cat_performance: '演出', cat_scenic_spot: '景区', cat_museum: '博物馆',
      cat_cultural_creative: '文创', cat_heritage_craft: '非遗手作', cat_dining: '餐饮', cat_lodging: '住宿',
      cat_sports: '体育', cat_other: '其他',
      dist_guangyang: '广阳区', dist_anci: '安次区', dist_development_zone: '开发区', dist_sanhe: '三河市',
      dist_bazhou: '霸州市', dist_xianghe: '香河县', dist_dachang: '大厂县', dist_guan: '固安县',
      dist_yongqing: '永清县', dist_wenan: '文安县', dist_dacheng: '大城县',
    },
    en: {
      app_title: 'Culture & Tourism Subsidy Console',
      sign_in_title: 'Administrator sign-in', phone: 'Phone', password: 'Password', sign_in: 'Sign in', sign_out: 'Sign out',
      signing_in: 'Signing in…', bad_credentials: 'Wrong phone or password.', rate_limited: 'Too many attempts; try again shortly.',
      login_missing: 'Enter the phone and the password.',
      admins_only: 'Administrators only', admins_only_detail: 'This account is not an administrator and cannot open the console.',
      overview: 'Platform overview', users: 'Users', merchants: 'Merchants', orders: 'Orders', consumption: 'Consumption',
      subsidy: 'Subsidy', overall_leverage: 'Overall leverage',
      merchants_detail: '{pending} pending · {approved} approved · {rejected} rejected · {suspended} suspended',
      review_queue: 'Merchant review', campaigns: 'Campaigns', load_more: 'Load more', loading: 'Loading…',
      lotteries: 'Lottery batches', lot_batch: 'Batch', lot_entries: 'Entries', lot_prizes: 'Prizes', lot_winners: 'Winners',
      lot_commitment: 'Commitment (SHA-256 of the seed)', lot_seed: 'Seed', lot_state: 'Draw', lot_drawn: 'drawn {at}',
      lot_not_drawn: 'not drawn yet', lot_verify: 'verify', lot_verify_def: 'Anyone can recompute the winners from the published seed, entries and prizes (hmac-sha256-rank-v1) and check the seed against the commitment published when the batch was made:',
      no_pending: 'No merchant is waiting for review.', no_campaigns: 'No campaigns yet.',
      name: 'Name', license_no: 'Credit code', category: 'Category', district: 'District', address: 'Address',
      contact_phone: 'Contact', applied_at: 'Applied', actions: 'Actions', approve: 'Approve', reject: 'Reject',
      reject_title: 'Reject application', reject_reason: 'Reason', cancel: 'Cancel', reason_required: 'Give a reason (1–500 characters).',
      approved_msg: 'Approved “{name}”.', rejected_msg: 'Rejected “{name}”.', already_reviewed: 'That application was already decided; the list is refreshed.',
      status: 'Status', budget: 'Budget', reserved: 'Reserved', window: 'Runs', target: 'Target', open: 'Open report',
      s_draft: 'Draft', s_active: 'Active', s_paused: 'Paused', s_ended: 'Ended',
      download_csv: 'Download merchants CSV', back_to_list: 'Back to campaigns', downloading: 'Downloading…', downloaded: 'Downloaded {file}.',
      leverage: 'Direct leverage', leverage_def: 'consumption ÷ subsidy (held against the target)',
      oop_leverage: 'Out-of-pocket leverage', oop_def: 'resident-paid ÷ subsidy',
      mw_leverage: 'Merchant-wide leverage', mw_def: 'all consumption at the campaign’s merchants in its window ÷ subsidy',
      causal_leverage: 'Causal leverage',
      causal_def: 'How much more a lottery winner spent than a loser, per yuan of subsidy: the consumption the subsidy caused, beyond what residents would have spent anyway.',
      causal_none: 'Needs a drawn lottery batch with at least 2 winners and 2 losers.',
      causal_detail: '{winners} winners · {losers} losers · mean spend {wmean} vs {lmean} · {incr} more per winner · subsidy {spw} per winner',
      causal_ci: '95% interval {low} to {high}', causal_csv: 'Download causal CSV',
      on_target: 'On target', off_target: 'Below target', target_is: 'target {target}',
      resident_paid: 'Resident-paid', mw_consumption: 'Merchant-wide consumption', counted_orders: 'Counted orders',
      vouchers: 'Vouchers', count: 'Count', issued: 'Issued', claimed: 'Claimed', available: 'Available', locked: 'Locked', used: 'Used',
      expired: 'Expired', void: 'Void',
      daily_chart: 'Daily consumption and subsidy', chart_desc: 'Consumption per day (bar height) and the subsidy within it (dark part), {from} to {to}.',
      chart_empty: 'No counted orders yet.', show_data: 'Show the data', date: 'Date',
      by_district: 'By district', by_category: 'By category', by_merchant: 'By merchant', merchant: 'Merchant', ratio: 'Leverage',
      no_rows: 'No rows.',
      error_generic: 'Request failed ({status}): {detail}', error_network: 'Cannot reach the server.',
      session_expired: 'The session expired; sign in again.', not_available: 'Not available yet ({status}).',
      cat_bookstore: 'Bookstore', cat_cinema: 'Cinema', cat_performance: 'Performance', cat_scenic_spot: 'Scenic spot',
      cat_museum: 'Museum', cat_cultural_creative: 'Cultural & creative', cat_heritage_craft: 'Heritage craft',
      cat_dining: 'Dining', cat_lodging: 'Lodging', cat_sports: 'Sports', cat_other: 'Other',
      dist_guangyang: 'Guangyang', dist_anci: 'Anci', dist_development_zone: 'Development Zone', dist_sanhe: 'Sanhe',
      dist_bazhou: 'Bazhou', dist_xianghe: 'Xianghe', dist_dachang: 'Dachang', dist_guan: 'Gu’an',
      dist_yongqing: 'Yongqing', dist_wenan: 'Wen’an', dist_dacheng: 'Dacheng',
    },
  };

  // Money to merchants: statements and the risk queue.
  Object.assign(DICT.zh, {
    statements: '商户结算单', risk_queue: '风险商户', risk_scan: '立即扫描', all: '全部',
    st_closed: '已结算', st_held: '已暂扣', st_approved: '已审核', st_paid: '已付款',
    statement_note: '暂扣理由 / 付款凭证号', day: '结算日', net: '净额', clawback: '追回', payout: '应付',
    hold: '暂扣', release: '解除暂扣', mark_paid: '已付款', details: '明细', no_statements: '没有结算单。',
    note_required: '请先填写暂扣理由或付款凭证号。', moved_msg: '结算单 {id}：{status}。', invalid_move: '该结算单当前状态不允许此操作，列表已刷新。',
    score: '风险分', signals: '风险信号', evidence: '证据订单', no_risk: '没有风险商户。', scanned: '扫描完成。',
    k_threshold_gaming: '凑单满减', k_repeat_pairs: '重复交易对', k_redemption_burst: '集中核销',
    line_subsidy: '补贴', line_clawback: '追回', order: '订单', amount: '金额', redeemed_at: '核销时间', hold_reason: '暂扣原因',
  });
  Object.assign(DICT.en, {
    statements: 'Statements', risk_queue: 'Risk queue', risk_scan: 'Scan now', all: 'All',
    st_closed: 'Closed', st_held: 'Held', st_approved: 'Approved', st_paid: 'Paid',
    statement_note: 'Hold reason / payout reference', day: 'Day', net: 'Net', clawback: 'Clawback', payout: 'Payout',
    hold: 'Hold', release: 'Release', mark_paid: 'Mark paid', details: 'Lines', no_statements: 'No statements.',
    note_required: 'Fill in the hold reason or the payout reference first.', moved_msg: 'Statement {id}: {status}.',
    invalid_move: 'That statement cannot move so now; the list is refreshed.',
    score: 'Score', signals: 'Signals', evidence: 'Evidence orders', no_risk: 'No flagged merchants.', scanned: 'Scan done.',
    k_threshold_gaming: 'Threshold gaming', k_repeat_pairs: 'Repeat pairs', k_redemption_burst: 'Redemption burst',
    line_subsidy: 'Subsidy', line_clawback: 'Clawback', order: 'Order', amount: 'Amount', redeemed_at: 'Redeemed', hold_reason: 'Hold reason',
  });

  const ui = WenlvConsole.open({
    dict: DICT, langKey: 'wenlv.admin.lang', sessionKey: 'wenlv.admin.session',
    views: ['login', 'refused', 'dashboard'],
    // Whether the user may see anything is the server's decision: a 403 from an
    // admin endpoint shows "administrators only" and nothing else.
    onForbidden: showRefused,
    onSignedIn: openDashboard,
    describe,
  });
  const { t, api, guard, showView, signOut } = ui;
  const categoryName = (c) => (DICT[ui.lang()]['cat_' + c] ?? c);
  const districtName = (d) => (DICT[ui.lang()]['dist_' + d] ?? d);

  // ---------------------------------------------------------------- formatting
  const count = (n) => (n === null || n === undefined ? '—' : BigInt(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ','));
  /** A leverage ratio as "1 : 8.53"; null (no subsidy yet) as "—". */
  const ratio = (r) => (r === null || r === undefined ? '—' : '1 : ' + Number(r).toFixed(2));
  const day = (iso) => (iso ? when(iso).slice(0, 10) : '—');

  // ---------------------------------------------------------------- DOM helpers
  function svg(tag, attrs, ...children) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
    for (const c of children) el.append(c instanceof Node ? c : String(c));
    return el;
  }

  /** A table from column specs {label, num?, cell: row => text|Node}. */
  function table(caption, columns, rows, emptyText) {
    if (!rows.length) return h('p', { class: 'muted' }, emptyText || t('no_rows'));
    return h('div', { class: 'table-wrap' },
      h('table', {},
        caption ? h('caption', {}, caption) : null,
        h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null }, c.label)))),
        h('tbody', {}, rows.map((r) => h('tr', {}, columns.map((c, i) =>
          i === 0 && c.header ? h('th', { scope: 'row' }, c.cell(r)) : h('td', { class: c.num ? 'num' : null }, c.cell(r))))))));
  }

  // ---------------------------------------------------------------- errors and views
  function describe(err) {
    if (err instanceof ApiError) {
      if (err.status === 0) return t('error_network');
      if (err.status === 404 || err.status === 405) return t('not_available', { status: err.status });
      return t('error_generic', { status: err.status, detail: err.message });
    }
    return String(err && err.message ? err.message : err);
  }

  function showRefused() {
    // Nothing of the dashboard stays on screen.
    for (const id of ['overview', 'review-list', 'campaign-list', 'report-body']) $(id).replaceChildren();
    showView('refused');
  }

  // The state the views are drawn from, so a language switch can redraw them.
  const state = { tab: 'campaigns', overview: null, pending: [], pendingCursor: null, campaigns: [], campaignCursor: null, report: null, reportId: null };

  async function openDashboard() {
    // The admin-only overview decides: a 403 shows the refusal and nothing else.
    try {
      state.overview = await api('/admin/overview');
    } catch (err) {
      if (err instanceof Refused || err instanceof SignedOut) return;
      state.overview = { error: describe(err) };
    }
    showView('dashboard');
    renderOverview();
    selectTab(state.tab);
    await Promise.all([loadPending(false), loadCampaigns(false), loadStatements(false), loadRisk()]);
  }

  function renderOverview() {
    const o = state.overview;
    const box = $('overview');
    if (!o) { box.replaceChildren(); return; }
    if (o.error) { box.replaceChildren(h('p', { class: 'muted' }, o.error)); return; }
    const m = o.merchants || {};
    const stat = (label, value, small) => h('dl', { class: 'stat' }, h('dt', {}, label), h('dd', {}, value, small ? h('small', {}, small) : null));
    box.replaceChildren(
      stat(t('users'), count(o.users)),
      stat(t('merchants'), count((m.approved || 0) + (m.pending || 0) + (m.rejected || 0) + (m.suspended || 0)),
        t('merchants_detail', { pending: count(m.pending || 0), approved: count(m.approved || 0), rejected: count(m.rejected || 0), suspended: count(m.suspended || 0) })),
      stat(t('orders'), count(o.orders)),
      stat(t('consumption'), yuan(o.consumption_fen)),
      stat(t('subsidy'), yuan(o.subsidy_fen)),
      stat(t('overall_leverage'), ratio(o.leverage)),
    );
  }

  function selectTab(tab) {
    state.tab = tab;
    for (const b of document.querySelectorAll('.tab')) b.setAttribute('aria-pressed', String(b.dataset.tab === tab));
    show($('panel-review'), tab === 'review');
    show($('panel-statements'), tab === 'statements');
    show($('panel-risk'), tab === 'risk');
    show($('panel-campaigns'), tab === 'campaigns' && !state.reportId);
    show($('panel-report'), tab === 'campaigns' && !!state.reportId);
  }

  // ------------------------------------------------------------ review queue
  async function loadPending(more) {
    await guard(async () => {
      const cursor = more && state.pendingCursor ? '&cursor=' + encodeURIComponent(state.pendingCursor) : '';
      const page = await api('/admin/merchants?status=pending&limit=50' + cursor);
      state.pending = more ? state.pending.concat(page.items) : page.items;
      state.pendingCursor = page.next_cursor;
      renderPending();
    }, $('review-message'));
  }

  function renderPending() {
    $('pending-count').textContent = state.pending.length ? (state.pendingCursor ? state.pending.length + '+' : String(state.pending.length)) : '';
    $('review-list').replaceChildren(table(null, [
      { label: t('name'), header: true, cell: (m) => m.name },
      { label: t('license_no'), cell: (m) => m.license_no },
      { label: t('category'), cell: (m) => categoryName(m.category) },
      { label: t('district'), cell: (m) => districtName(m.district) },
      { label: t('address'), cell: (m) => m.address },
      { label: t('contact_phone'), cell: (m) => m.contact_phone },
      { label: t('applied_at'), cell: (m) => when(m.created_at) },
      {
        label: t('actions'), cell: (m) => h('div', { class: 'actions' },
          h('button', { type: 'button', class: 'good', 'data-action': 'approve', 'aria-label': t('approve') + ' ' + m.name, onclick: () => approve(m) }, t('approve')),
          h('button', { type: 'button', class: 'danger', 'data-action': 'reject', 'aria-label': t('reject') + ' ' + m.name, onclick: () => askReject(m) }, t('reject'))),
      },
    ], state.pending, t('no_pending')));
    show($('review-more'), !!state.pendingCursor);
  }

  async function decided(merchant, messageKey) {
    state.pending = state.pending.filter((m) => m.id !== merchant.id);
    renderPending();
    say($('review-message'), t(messageKey, { name: merchant.name }));
    refreshOverview();
  }

  async function approve(merchant) {
    await guard(async () => {
      try {
        await api(`/admin/merchants/${encodeURIComponent(merchant.id)}/approve`, { method: 'POST' });
      } catch (err) {
        if (err instanceof ApiError && err.code === 'invalid_state') { say($('review-message'), t('already_reviewed')); await loadPending(false); return; }
        throw err;
      }
      await decided(merchant, 'approved_msg');
    }, $('review-message'));
  }

  let rejecting = null;
  function askReject(merchant) {
    rejecting = merchant;
    $('reject-merchant').textContent = merchant.name;
    $('reject-reason').value = '';
    say($('reject-error'), '');
    $('reject-dialog').showModal();
    $('reject-reason').focus();
  }

  async function onReject(event) {
    event.preventDefault();
    const reason = $('reject-reason').value.trim();
    if (!reason || [...reason].length > 500) { say($('reject-error'), t('reason_required')); return; }
    const merchant = rejecting;
    const button = $('reject-confirm');
    button.disabled = true;
    await guard(async () => {
      try {
        await api(`/admin/merchants/${encodeURIComponent(merchant.id)}/reject`, { method: 'POST', body: { reason } });
      } catch (err) {
        if (err instanceof ApiError && err.code === 'invalid_state') {
          $('reject-dialog').close();
          say($('review-message'), t('already_reviewed'));
          await loadPending(false);
          return;
        }
        throw err;
      }
      $('reject-dialog').close();
      await decided(merchant, 'rejected_msg');
    }, $('reject-error'));
    button.disabled = false;
  }

  async function refreshOverview() {
    await guard(async () => { state.overview = await api('/admin/overview'); renderOverview(); }, document.createElement('p'));
  }

  // ------------------------------------------------------------ campaigns
  async function loadCampaigns(more) {
    await guard(async () => {
      const cursor = more && state.campaignCursor ? '&cursor=' + encodeURIComponent(state.campaignCursor) : '';
      const page = await api('/admin/campaigns?limit=50' + cursor);
      state.campaigns = more ? state.campaigns.concat(page.items) : page.items;
      state.campaignCursor = page.next_cursor;
      renderCampaigns();
    });
  }

  const badge = (status) => h('span', { class: 'badge ' + status }, t('s_' + status));

  function renderCampaigns() {
    $('campaign-list').replaceChildren(table(null, [
      { label: t('name'), header: true, cell: (c) => h('a', { href: '#campaign-' + c.id, 'data-campaign': c.id, onclick: (e) => { e.preventDefault(); openReport(c.id); } }, c.name) },
      { label: t('status'), cell: (c) => badge(c.status) },
      { label: t('window'), cell: (c) => day(c.starts_at) + ' – ' + day(c.ends_at) },
      { label: t('budget'), num: true, cell: (c) => yuan(c.budget_fen) },
      { label: t('reserved'), num: true, cell: (c) => yuan(c.reserved_fen) },
      { label: t('target'), num: true, cell: (c) => ratio(c.target_leverage) },
      { label: t('actions'), cell: (c) => h('button', { type: 'button', class: 'secondary', onclick: () => openReport(c.id) }, t('open')) },
    ], state.campaigns, t('no_campaigns')));
    show($('campaigns-more'), !!state.campaignCursor);
  }

  // ------------------------------------------------------------ campaign report
  async function openReport(id) {
    state.reportId = id;
    state.report = null;
    selectTab('campaigns');
    $('report-title').textContent = t('loading');
    $('report-body').replaceChildren();
    say($('report-message'), '');
    await guard(async () => {
      const report = await api(`/admin/campaigns/${encodeURIComponent(id)}/report`);
      if (state.reportId !== id) return; // another campaign was opened meanwhile
      state.report = report;
      renderReport();
    }, $('report-message'));
  }

  function closeReport() {
    state.reportId = null;
    state.report = null;
    selectTab('campaigns');
  }

  function renderReport() {
    const r = state.report;
    if (!r) return;
    $('report-title').replaceChildren(r.name + ' ', badge(r.status));
    const onTarget = r.on_target
      ? h('span', { class: 'badge on', 'data-on-target': 'true' }, t('on_target'))
      : h('span', { class: 'badge off', 'data-on-target': 'false' }, t('off_target'));
    const lev = (cls, name, value, def, extra) => h('div', { class: 'lev ' + cls },
      h('div', { class: 'name' }, name), h('div', { class: 'value' }, ratio(value)), extra || null, h('div', { class: 'def' }, def));
    const stat = (label, value) => h('dl', { class: 'stat' }, h('dt', {}, label), h('dd', {}, value));
    const v = r.vouchers || {};
    const rows = (key, label, name) => [
      { label, header: true, cell: name },
      { label: t('orders'), num: true, cell: (x) => count(x.orders) },
      { label: t('consumption'), num: true, cell: (x) => yuan(x.consumption_fen) },
      { label: t('subsidy'), num: true, cell: (x) => yuan(x.subsidy_fen) },
      { label: t('ratio'), num: true, cell: (x) => ratio(x.leverage) },
    ];
    $('report-body').replaceChildren(
      h('div', { class: 'leverage' },
        lev('headline', t('leverage'), r.leverage, t('leverage_def'),
          h('div', {}, onTarget, ' ', h('span', { class: 'muted' }, t('target_is', { target: ratio(r.target_leverage) })))),
        lev('', t('oop_leverage'), r.out_of_pocket_leverage, t('oop_def')),
        lev('', t('mw_leverage'), r.merchant_wide_leverage, t('mw_def')),
        causalCard(r.causal)),
      h('div', { class: 'stats' },
        stat(t('budget'), yuan(r.budget_fen)),
        stat(t('reserved'), yuan(r.reserved_fen)),
        stat(t('counted_orders'), count(r.orders)),
        stat(t('consumption'), yuan(r.consumption_fen)),
        stat(t('subsidy'), yuan(r.subsidy_fen)),
        stat(t('resident_paid'), yuan(r.resident_paid_fen))),
      h('h3', { class: 'spaced' }, t('daily_chart')),
      chart(r.by_day || []),
      h('div', { class: 'grid-2' },
        table(t('vouchers'), [
          { label: t('status'), header: true, cell: (x) => x.label },
          { label: t('count'), num: true, cell: (x) => count(x.value) },
        ], ['issued', 'claimed', 'available', 'locked', 'used', 'expired', 'void'].map((k) => ({ label: t(k), value: v[k] }))),
        h('div', {}, table(t('by_district'), rows('district', t('district'), (x) => districtName(x.district)), r.by_district || []))),
      h('div', { class: 'grid-2' },
        table(t('by_category'), rows('category', t('category'), (x) => categoryName(x.category)), r.by_category || []),
        h('div', { class: 'scroll' }, table(t('by_merchant'), rows('merchant', t('merchant'), (x) => x.name), r.by_merchant || []))),
    );
    const campaign = state.campaigns.find((c) => c.id === state.reportId);
    const lotteries = campaign ? lotteryBatches(campaign) : null;
    if (lotteries) $('report-body').append(lotteries);
  }

  /** The campaign's lottery batches: entries, commitment, the draw, how to verify it. */
  function lotteryBatches(campaign) {
    const draws = (campaign.batches || []).map((b) => b.draw).filter((d) => d);
    if (!draws.length) return null;
    const names = new Map((campaign.batches || []).map((b) => [b.id, b.name]));
    const mono = (text) => h('code', { class: 'hash', title: text || '' }, text ? text.slice(0, 16) + '…' : '—');
    const verify = draws.filter((d) => d.seed).map((d) => h('pre', { class: 'verify', 'data-verify': d.batch_id },
      `wenlv verify-draw --commitment ${d.commitment} --seed ${d.seed} --entries ${d.entries} --quantity ${d.quantity}`));
    return h('section', { class: 'lotteries', 'data-lotteries': 'true' },
      h('h3', { class: 'spaced' }, t('lotteries')),
      table(null, [
        { label: t('lot_batch'), header: true, cell: (d) => names.get(d.batch_id) || String(d.batch_id) },
        { label: t('lot_entries'), num: true, cell: (d) => count(d.entries) },
        { label: t('lot_prizes'), num: true, cell: (d) => count(d.quantity) },
        { label: t('lot_winners'), num: true, cell: (d) => (d.drawn_at ? count(d.winners) : '—') },
        { label: t('lot_commitment'), cell: (d) => mono(d.commitment) },
        { label: t('lot_seed'), cell: (d) => mono(d.seed) },
        { label: t('lot_state'), cell: (d) => (d.drawn_at ? t('lot_drawn', { at: when(d.drawn_at) }) : t('lot_not_drawn')) },
        { label: t('lot_verify'), cell: (d) => h('a', { href: `/api/v1/batches/${encodeURIComponent(d.batch_id)}/draw`, target: '_blank', rel: 'noopener' }, t('lot_verify')) },
      ], draws, null),
      verify.length ? h('p', { class: 'muted' }, t('lot_verify_def')) : null,
      ...verify);
  }

  /** Causal leverage beside the three named ratios: the lottery's losers are the
   *  control group, so this is what the subsidy caused (null until a draw). */
  function causalCard(c) {
    const card = h('div', { class: 'lev causal', id: 'causal-leverage', 'data-causal': c ? 'shown' : 'none' },
      h('div', { class: 'name' }, t('causal_leverage')),
      h('div', { class: 'value' }, ratio(c ? c.causal_leverage : null)));
    if (c) {
      if (c.ci95_low !== null && c.ci95_high !== null) {
        card.append(h('div', { class: 'ci' }, t('causal_ci', { low: ratio(c.ci95_low), high: ratio(c.ci95_high) })));
      }
      card.append(h('div', { class: 'detail' }, t('causal_detail', {
        winners: count(c.winners), losers: count(c.losers),
        wmean: yuan(c.winners_mean_consumption_fen), lmean: yuan(c.losers_mean_consumption_fen),
        incr: yuan(c.incremental_per_winner_fen), spw: yuan(c.subsidy_per_winner_fen),
      })));
    }
    card.append(h('div', { class: 'def' }, t('causal_def')));
    if (c) {
      card.append(h('button', { type: 'button', class: 'secondary small', id: 'causal-csv-download', onclick: () => downloadCsv('causal') }, t('causal_csv')));
    } else {
      card.append(h('div', { class: 'def' }, t('causal_none')));
    }
    return card;
  }

  /** Consecutive days from the first to the last, so quiet days show as gaps. */
  function everyDay(byDay) {
    if (!byDay.length) return [];
    const known = new Map(byDay.map((d) => [d.date, d]));
    const out = [];
    const start = Date.parse(byDay[0].date + 'T00:00:00Z');
    const end = Date.parse(byDay[byDay.length - 1].date + 'T00:00:00Z');
    for (let ms = start; ms <= end && out.length < 3000; ms += 86400000) {
      const date = new Date(ms).toISOString().slice(0, 10);
      out.push(known.get(date) || { date, orders: 0, consumption_fen: 0, subsidy_fen: 0, leverage: null });
    }
    return out;
  }

  /** A round step for about `target` ticks up to `max` fen, in whole yuan. */
  function niceStep(max, target) {
    const raw = Math.max(max / target, 100);
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const f = raw / mag;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
  }
  function shortYuan(fen) {
    const y = fen / 100;
    if (ui.lang() === 'zh') return y >= 1e8 ? (y / 1e8).toFixed(y % 1e8 ? 1 : 0) + '亿' : y >= 1e4 ? (y / 1e4).toLocaleString('zh-CN') + '万' : String(y);
    return y >= 1e6 ? (y / 1e6).toLocaleString('en') + 'M' : y >= 1e3 ? (y / 1e3).toLocaleString('en') + 'k' : String(y);
  }

  /** Daily consumption as bars, with the subsidy part of each bar drawn dark. */
  function chart(byDay) {
    const days = everyDay(byDay);
    const W = 1160, H = 300, L = 70, R = 12, T = 12, B = 36;
    const titleId = 'chart-title', descId = 'chart-desc';
    const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': `${titleId} ${descId}`, id: 'daily-chart', 'data-days': String(days.length) });
    root.append(svg('title', { id: titleId }, t('daily_chart')));
    root.append(svg('desc', { id: descId }, days.length ? t('chart_desc', { from: days[0].date, to: days[days.length - 1].date }) : t('chart_empty')));
    const box = h('div', { class: 'chart-box' },
      h('div', { class: 'chart-legend', 'aria-hidden': 'true' },
        h('span', {}, h('span', { class: 'swatch consumption' }), t('consumption')),
        h('span', {}, h('span', { class: 'swatch subsidy' }), t('subsidy'))),
      root);
    if (!days.length) {
      root.append(svg('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'empty' }, t('chart_empty')));
      return box;
    }
    const max = Math.max(...days.map((d) => Number(d.consumption_fen)), 1);
    const step = niceStep(max, 5);
    const top = Math.ceil(max / step) * step;
    const y = (fen) => T + (H - T - B) * (1 - Number(fen) / top);
    for (let v = 0; v <= top + 1e-9; v += step) {
      root.append(svg('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'gridline' }));
      root.append(svg('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'tick' }, '¥' + shortYuan(v)));
    }
    const slot = (W - L - R) / days.length;
    const bw = Math.max(slot * 0.8, 0.6);
    const bars = svg('g', { class: 'bars' });
    days.forEach((d, i) => {
      const x = L + i * slot + (slot - bw) / 2;
      if (Number(d.consumption_fen) <= 0) return;
      const g = svg('g', {});
      g.append(svg('title', {}, `${d.date}  ${t('consumption')} ${yuan(d.consumption_fen)} · ${t('subsidy')} ${yuan(d.subsidy_fen)} · ${t('orders')} ${count(d.orders)}`));
      g.append(svg('rect', { x, width: bw, y: y(d.consumption_fen), height: y(0) - y(d.consumption_fen), class: 'bar-consumption' }));
      g.append(svg('rect', { x, width: bw, y: y(d.subsidy_fen), height: y(0) - y(d.subsidy_fen), class: 'bar-subsidy' }));
      bars.append(g);
    });
    root.append(bars);
    root.append(svg('line', { x1: L, x2: W - R, y1: y(0), y2: y(0), class: 'axis' }));
    // Date labels: about eight, on the first day of a month when the span is long.
    const every = Math.max(1, Math.ceil(days.length / 8));
    days.forEach((d, i) => {
      const monthly = days.length > 62;
      if (monthly ? d.date.endsWith('-01') : i % every === 0) {
        root.append(svg('text', { x: L + i * slot + slot / 2, y: H - B + 18, 'text-anchor': 'middle', class: 'tick' }, monthly ? d.date.slice(0, 7) : d.date.slice(5)));
      }
    });
    const data = h('details', {}, h('summary', {}, t('show_data')), h('div', { class: 'scroll' }, table(null, [
      { label: t('date'), header: true, cell: (x) => x.date },
      { label: t('orders'), num: true, cell: (x) => count(x.orders) },
      { label: t('consumption'), num: true, cell: (x) => yuan(x.consumption_fen) },
      { label: t('subsidy'), num: true, cell: (x) => yuan(x.subsidy_fen) },
      { label: t('ratio'), num: true, cell: (x) => ratio(x.leverage) },
    ], byDay)));
    box.append(data);
    return box;
  }

  /** Downloads one table of the report as CSV: by_merchant (the header button) or causal. */
  async function downloadCsv(table) {
    const id = state.reportId;
    if (!id) return;
    const causal = table === 'causal';
    const button = causal ? $('causal-csv-download') : $('csv-download');
    button.disabled = true;
    say($('report-message'), t('downloading'));
    await guard(async () => {
      const query = causal ? '?table=causal' : '';
      const res = await api(`/admin/campaigns/${encodeURIComponent(id)}/report.csv${query}`, { raw: true });
      const blob = await res.blob();
      const file = causal ? `campaign-${id}-causal.csv` : `campaign-${id}-merchants.csv`;
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: file, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      say($('report-message'), t('downloaded', { file }));
    }, $('report-message'));
    button.disabled = false;
  }

  // ------------------------------------------------------------ statements
  const money = { statements: [], statementCursor: null, detail: null, risk: [] };

  async function loadStatements(more) {
    await guard(async () => {
      const status = $('statement-status').value;
      const cursor = more && money.statementCursor ? '&cursor=' + encodeURIComponent(money.statementCursor) : '';
      const page = await api('/admin/statements?limit=50' + (status ? '&status=' + encodeURIComponent(status) : '') + cursor);
      money.statements = more ? money.statements.concat(page.items) : page.items;
      money.statementCursor = page.next_cursor;
      renderStatements();
    }, $('statements-message'));
  }

  const stBadge = (status) => h('span', { class: 'badge st-' + status, 'data-status': status }, t('st_' + status));

  function renderStatements() {
    const act = (s, key, move, needsNote) => h('button', {
      type: 'button', class: key === 'hold' ? 'danger' : 'secondary', 'data-action': key,
      'aria-label': t(key) + ' ' + s.id, onclick: () => moveStatement(s, move, needsNote),
    }, t(key));
    $('statement-list').replaceChildren(table(null, [
      { label: 'ID', header: true, cell: (s) => String(s.id) },
      { label: t('merchant'), cell: (s) => s.name },
      { label: t('day'), cell: (s) => s.day },
      { label: t('status'), cell: (s) => stBadge(s.status) },
      { label: t('orders'), num: true, cell: (s) => count(s.orders) },
      { label: t('subsidy'), num: true, cell: (s) => yuan(s.subsidy_fen) },
      { label: t('clawback'), num: true, cell: (s) => yuan(s.clawback_fen) },
      { label: t('net'), num: true, cell: (s) => yuan(s.net_fen) },
      { label: t('payout'), num: true, cell: (s) => yuan(s.payout_fen) },
      { label: t('hold_reason'), cell: (s) => s.hold_reason || '' },
      {
        label: t('actions'), cell: (s) => h('div', { class: 'actions', 'data-statement': s.id },
          h('button', { type: 'button', class: 'secondary', 'data-action': 'details', onclick: () => openStatement(s.id) }, t('details')),
          s.status === 'closed' || s.status === 'held' ? act(s, 'hold', 'hold', 'reason') : null,
          s.status === 'held' ? act(s, 'release', 'release') : null,
          s.status === 'closed' ? act(s, 'approve', 'approve') : null,
          s.status === 'approved' ? act(s, 'mark_paid', 'paid', 'payout_reference') : null),
      },
    ], money.statements, t('no_statements')));
    show($('statements-more'), !!money.statementCursor);
    renderStatementDetail();
  }

  async function moveStatement(s, move, noteField) {
    const note = $('statement-note').value.trim();
    if (noteField && !note) { say($('statements-message'), t('note_required')); return; }
    await guard(async () => {
      let moved;
      try {
        moved = await api(`/admin/statements/${encodeURIComponent(s.id)}/${move}`, { method: 'POST', body: noteField ? { [noteField]: note } : undefined });
      } catch (err) {
        if (err instanceof ApiError && err.code === 'invalid_state') { say($('statements-message'), t('invalid_move')); await loadStatements(false); return; }
        throw err;
      }
      money.statements = money.statements.map((x) => (x.id === moved.id ? moved : x));
      renderStatements();
      say($('statements-message'), t('moved_msg', { id: moved.id, status: t('st_' + moved.status) }));
    }, $('statements-message'));
  }

  async function openStatement(id) {
    await guard(async () => { money.detail = await api(`/admin/statements/${encodeURIComponent(id)}`); renderStatementDetail(); }, $('statements-message'));
  }

  function renderStatementDetail() {
    const d = money.detail;
    if (!d) { $('statement-detail').replaceChildren(); return; }
    $('statement-detail').replaceChildren(table(`${d.name} · ${d.day} · SHA-256 ${d.digest.slice(0, 16)}…`, [
      { label: t('order'), header: true, cell: (l) => String(l.order_id) },
      { label: t('category'), cell: (l) => t('line_' + l.kind) },
      { label: t('amount'), num: true, cell: (l) => yuan(l.amount_fen) },
      { label: t('redeemed_at'), cell: (l) => (l.redeemed_at ? when(l.redeemed_at) : '—') },
    ], d.lines, t('no_rows')));
  }

  // ------------------------------------------------------------ risk queue
  async function loadRisk(scan) {
    await guard(async () => {
      if (scan) { await api('/admin/risk/scan', { method: 'POST' }); say($('risk-message'), t('scanned')); }
      const page = await api('/admin/risk/merchants?limit=100');
      money.risk = page.items;
      renderRisk();
    }, $('risk-message'));
  }

  function renderRisk() {
    $('risk-count').textContent = money.risk.length ? String(money.risk.length) : '';
    $('risk-list').replaceChildren(table(null, [
      { label: t('merchant'), header: true, cell: (m) => m.name },
      { label: t('score'), num: true, cell: (m) => Number(m.score).toFixed(2) },
      {
        label: t('signals'), cell: (m) => h('ul', { class: 'signals' }, ...m.signals.map((s) => h('li', { 'data-kind': s.kind },
          `${t('k_' + s.kind)}: ${s.value} ≥ ${s.threshold} · ${t('evidence')} ${s.order_ids.join(', ')}`))),
      },
      {
        label: t('actions'), cell: (m) => h('button', { type: 'button', class: 'secondary', onclick: () => {
          selectTab('statements');
          money.statements = money.statements.filter((s) => s.merchant_id === m.merchant_id);
          renderStatements();
        } }, t('statements')),
      },
    ], money.risk, t('no_risk')));
  }

  // ------------------------------------------------------------ wiring
  function redraw() {
    ui.applyLanguage();
    if (!$('view-dashboard').hidden) {
      renderOverview();
      renderPending();
      renderCampaigns();
      renderReport();
      renderStatements();
      renderRisk();
      say($('review-message'), '');
    }
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('lang-switch').addEventListener('click', () => {
      ui.toggleLanguage();
      redraw();
    });
    $('sign-out').addEventListener('click', () => signOut());
    $('login-form').addEventListener('submit', ui.onLogin);
    $('reject-form').addEventListener('submit', onReject);
    $('reject-cancel').addEventListener('click', () => $('reject-dialog').close());
    $('review-more').addEventListener('click', () => loadPending(true));
    $('campaigns-more').addEventListener('click', () => loadCampaigns(true));
    $('csv-download').addEventListener('click', () => downloadCsv('by_merchant'));
    $('report-close').addEventListener('click', closeReport);
    $('statements-more').addEventListener('click', () => loadStatements(true));
    $('statement-status').addEventListener('change', () => loadStatements(false));
    $('risk-scan').addEventListener('click', () => loadRisk(true));
    for (const b of document.querySelectorAll('.tab')) b.addEventListener('click', () => selectTab(b.dataset.tab));
    ui.applyLanguage();
    if (ui.signedIn()) openDashboard();
    else showView('login');
  });
})();
