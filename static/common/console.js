// What the two consoles (/admin and /merchant) share, loaded by both pages before
// their own app.js (served at /common/console.js under the same strict CSP):
//
// - formatting: money arrives in integer fen and is shown in yuan with BigInt
//   arithmetic, so no floating point ever touches an amount; times in local time;
// - DOM helpers that build elements without innerHTML;
// - the language: the page's two-language dictionary, `t`, the page's own
//   `data-i18n` texts and the switch button;
// - the session and the API client: tokens live in sessionStorage (gone when the
//   tab closes); the access token is refreshed shortly before it expires, or once
//   after a 401, one refresh at a time (a refresh token is spent on use, and
//   reusing a spent one revokes the whole family); sign-in and sign-out.
//
// Each page calls `WenlvConsole.open({...})` once with what differs between them
// and keeps its own views, state and wording of errors.
'use strict';

window.WenlvConsole = (function () {
  const API = '/api/v1';

  // ---------------------------------------------------------------- formatting
  /** Integer fen → "¥1,234.50" with integer arithmetic only. */
  function yuan(fen) {
    if (fen === null || fen === undefined) return '—';
    let n = BigInt(fen);
    const negative = n < 0n;
    if (negative) n = -n;
    const whole = (n / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    const cents = (n % 100n).toString().padStart(2, '0');
    return (negative ? '-¥' : '¥') + whole + '.' + cents;
  }
  /** An ISO time → "2026-05-01 14:30" in the device's time zone. */
  function when(iso) {
    if (!iso) return '—';
    const d = new Date(iso);
    const p = (x) => String(x).padStart(2, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
  }

  // ---------------------------------------------------------------- DOM helpers
  const $ = (id) => document.getElementById(id);
  /** h('td', {class: 'num'}, 'text', childNode, …): builds elements without innerHTML. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.className = v;
      else el.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
    return el;
  }
  function show(el, visible) { el.hidden = !visible; }
  function say(el, text) { el.textContent = text || ''; show(el, !!text); }

  // ---------------------------------------------------------------- errors
  /** A refusal from the API: `status` (0 when the server was not reached) and its problem details. */
  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.title)) || String(status));
      this.status = status;
      this.code = problem && problem.code;
      this.problem = problem;
    }
  }
  /** A 403 the page has already answered (its "… only" view); nothing more to say. */
  class Refused extends Error {}
  /** The session ended (expired or signed out); the sign-in form is on screen. */
  class SignedOut extends Error {}

  /**
   * One page's language, session and API client. `options`:
   * - `dict` {zh, en}: the texts; a key missing in English falls back to Chinese;
   * - `langKey`, `sessionKey`: its localStorage / sessionStorage keys;
   * - `alsoForget`: further sessionStorage keys dropped with the session;
   * - `sendLanguage`: send Accept-Language, so problem details arrive in the
   *   language on screen;
   * - `views`: the names of its `view-<name>` sections, one shown at a time;
   * - `onForbidden()`: a 403 from any call (the page shows its refusal, the call
   *   throws Refused); without it a 403 is an ApiError like any other;
   * - `onSignOut()`: forget the page's own state; `onSignedIn()`: after a sign-in;
   * - `describe(err)`: the page's words for an error, shown by `guard`.
   */
  function open(options) {
    const { dict, langKey, sessionKey, alsoForget = [], sendLanguage = false, views } = options;
    let lang = localStorage.getItem(langKey) === 'en' ? 'en' : 'zh';

    function t(key, vars) {
      const text = (dict[lang][key] !== undefined ? dict[lang][key] : dict.zh[key]) ?? key;
      return vars ? text.replace(/\{(\w+)\}/g, (_, k) => (vars[k] !== undefined ? String(vars[k]) : '')) : text;
    }

    function applyLanguage() {
      document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
      document.title = t('app_title');
      for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
      const sw = $('lang-switch');
      sw.textContent = lang === 'zh' ? 'English' : '中文';
      sw.lang = lang === 'zh' ? 'en' : 'zh-CN';
    }

    /** The switch button: the other language, remembered on this device. */
    function toggleLanguage() {
      lang = lang === 'zh' ? 'en' : 'zh';
      localStorage.setItem(langKey, lang);
    }

    /** Headers every call sends besides its own: Accept-Language when the page asks for it. */
    const languageHeaders = () => (sendLanguage ? { 'Accept-Language': lang === 'zh' ? 'zh-CN' : 'en' } : {});

    let session = null; // {access_token, refresh_token, expires_at (ms)}
    try { session = JSON.parse(sessionStorage.getItem(sessionKey)); } catch (_) { session = null; }

    function saveSession(pair) {
      session = {
        access_token: pair.access_token,
        refresh_token: pair.refresh_token,
        expires_at: Date.now() + Number(pair.expires_in) * 1000,
      };
      sessionStorage.setItem(sessionKey, JSON.stringify(session));
    }
    function dropSession() {
      session = null;
      sessionStorage.removeItem(sessionKey);
      for (const key of alsoForget) sessionStorage.removeItem(key);
    }

    let refreshing = null;
    /** One refresh at a time: a second caller waits for the first one's answer. */
    function refresh() {
      if (!refreshing) {
        const token = session && session.refresh_token;
        refreshing = (async () => {
          if (!token) return false;
          const res = await fetch(API + '/auth/refresh', {
            method: 'POST', headers: { 'Content-Type': 'application/json', ...languageHeaders() },
            body: JSON.stringify({ refresh_token: token }),
          });
          if (!res.ok) return false;
          saveSession(await res.json());
          return true;
        })().catch(() => false).finally(() => { refreshing = null; });
      }
      return refreshing;
    }

    /** Calls the API with the bearer token; returns JSON, or the Response when `raw` (for blobs). */
    async function api(path, { method = 'GET', body, raw = false } = {}, retried = false) {
      if (!session) throw new SignedOut();
      if (session.expires_at - Date.now() < 30000 && !(await refresh())) {
        signOut(t('session_expired'));
        throw new SignedOut();
      }
      const headers = { Authorization: 'Bearer ' + session.access_token, ...languageHeaders() };
      if (body !== undefined) headers['Content-Type'] = 'application/json';
      let res;
      try {
        res = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      } catch (_) {
        throw new ApiError(0, { detail: t('error_network') });
      }
      if (res.status === 401 && !retried) {
        if (await refresh()) return api(path, { method, body, raw }, true);
        signOut(t('session_expired'));
        throw new SignedOut();
      }
      if (res.status === 403 && options.onForbidden) { options.onForbidden(); throw new Refused(); }
      if (!res.ok) {
        let problem = null;
        try { problem = await res.json(); } catch (_) { /* not JSON */ }
        throw new ApiError(res.status, problem);
      }
      if (raw) return res;
      return res.status === 204 ? null : res.json();
    }

    /** Runs an async UI action; expected ends (signed out, refused) need no message. */
    async function guard(action, messageEl) {
      try {
        return await action();
      } catch (err) {
        if (err instanceof Refused || err instanceof SignedOut) return undefined;
        say(messageEl || $('global-error'), options.describe(err));
        return undefined;
      }
    }

    function showView(name) {
      for (const view of views) show($('view-' + view), name === view);
      show($('sign-out'), name !== 'login');
      say($('global-error'), '');
    }

    function signOut(message) {
      const token = session && session.refresh_token;
      dropSession();
      if (options.onSignOut) options.onSignOut();
      if (token) {
        fetch(API + '/auth/logout', {
          method: 'POST', headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ refresh_token: token }),
        }).catch(() => {});
      }
      showView('login');
      say($('login-error'), message || '');
      $('login-phone').focus();
    }

    /** The sign-in form's submit handler. */
    async function onLogin(event) {
      event.preventDefault();
      const phone = $('login-phone').value.trim();
      const password = $('login-password').value;
      const error = $('login-error');
      if (!phone || !password) { say(error, t('login_missing')); return; }
      const button = event.submitter || $('login-form').querySelector('button');
      button.disabled = true;
      say(error, '');
      try {
        const res = await fetch(API + '/auth/login', {
          method: 'POST', headers: { 'Content-Type': 'application/json', ...languageHeaders() },
          body: JSON.stringify({ phone, password }),
        });
        if (res.status === 429) { say(error, t('rate_limited')); return; }
        if (!res.ok) { say(error, res.status === 401 || res.status === 422 ? t('bad_credentials') : t('error_generic', { status: res.status, detail: '' })); return; }
        saveSession(await res.json());
        $('login-password').value = '';
        await options.onSignedIn();
      } catch (_) {
        say(error, t('error_network'));
      } finally {
        button.disabled = false;
      }
    }

    return {
      t,
      lang: () => lang,
      applyLanguage,
      toggleLanguage,
      signedIn: () => !!(session && session.access_token),
      api,
      guard,
      showView,
      signOut,
      onLogin,
    };
  }

  return { API, yuan, when, $, h, show, say, ApiError, Refused, SignedOut, open };
})();
