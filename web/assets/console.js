// The operator console (docs/web.md, docs/surveillance.md, docs/compliance.md): account review
// (levels and regions), held withdrawals (approve, reject), markets (halt, resume, delist), the
// surveillance alert queue with evidence and resolution, the insurance fund, the fee tiers and the
// audit trail. Every request is signed here with the operator key the operator pastes; the secret
// stays in this page's memory (never stored, never sent) and every change is a journaled command.
// Each panel needs a role (api/app.py, OPERATOR): a panel the key's roles do not open shows the
// server's 403 in words once and is not asked again until another key signs in.
import { ApiError, Client, Keys } from '/assets/api.js';
import { el } from '/assets/dom.js';

const $ = (sel, root = document) => root.querySelector(sel);
const op = new Client();
let selected = null; // the alert whose evidence is shown
let reviewed = null; // the account whose profile is shown
let timer = null;
const denied = new Set(); // panels this key's roles do not open (403 once)

function say(target, text, kind = 'error') {
  const node = $(target);
  node.textContent = text || '';
  node.dataset.kind = text ? kind : '';
}

function errorText(err) {
  return err instanceof ApiError ? `${err.code}: ${err.message}` : String(err && err.message ? err.message : err);
}

/** A refusal for a person: a 403 names the role the action needs (the server's own words). */
function refusalText(err) {
  if (err instanceof ApiError && err.status === 403) {
    return `This operator key may not do this: ${err.apiMessage}. Sign in with a key that holds that role.`;
  }
  if (err instanceof ApiError && err.status === 401) return `The exchange did not accept this operator key: ${err.apiMessage}.`;
  return errorText(err);
}

/** Load one panel; a 403 marks it denied for this key (said in words, not asked again). */
async function panel(name, msg, load) {
  if (denied.has(name)) return;
  try {
    await load();
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) {
      denied.add(name);
      const node = document.querySelector(`[data-panel='${name}']`);
      if (node) node.dataset.denied = 'true';
    }
    say(msg, refusalText(err));
  }
}

function time(ms) {
  return ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '–';
}

async function signIn(event) {
  event.preventDefault();
  try {
    op.keys = await Keys.fromStrings($('#op-key').value.trim(), $('#op-secret').value.trim());
    await op.syncClock();
    // proves the key: every role (and the admin key) may read the rules in force
    await op.signed('GET', '/api/v1/operator/compliance/rules', 'operatorComplianceRulesQuery');
  } catch (err) {
    op.keys = null;
    say('#op-msg', errorText(err));
    return;
  }
  $('#op-secret').value = '';
  denied.clear();
  selected = reviewed = null;
  for (const node of document.querySelectorAll('[data-panel]')) delete node.dataset.denied;
  for (const node of document.querySelectorAll('#page-console .operator-only .msg')) say(`#${node.id}`, '');
  for (const node of document.querySelectorAll('#page-console .operator-only tbody')) node.replaceChildren();
  $('#op-evidence').hidden = true;
  $('#op-profile').hidden = true;
  $('#op-breaker').textContent = '–';
  say('#op-msg', 'Signed in with the operator key', 'ok');
  document.body.classList.add('operator');
  await loadConsole();
}

async function setStatus(symbol, status, cancelOrders = false) {
  const reason = $('#op-reason').value.trim();
  try {
    const done = await op.signed('POST', '/api/v1/operator/market/status', 'operatorMarketStatus', {
      symbol,
      status,
      cancelOrders: cancelOrders || undefined,
      reason: reason || undefined,
    });
    say('#op-markets-msg', `${symbol}: ${done.status} (${done.cancelledOrders} orders cancelled)`, 'ok');
  } catch (err) {
    say('#op-markets-msg', refusalText(err));
  }
  await panel('markets', '#op-markets-msg', loadMarkets);
}

function actions(m) {
  const button = (label, status, cancel) => {
    const b = el('button', { type: 'button', 'data-action': label }, label);
    b.addEventListener('click', () => setStatus(m.symbol, status, cancel));
    return b;
  };
  if (m.status === 'Open') return [button('Halt', 'Halted', false), button('Halt + cancel', 'Halted', true), button('Delist', 'Delisted', true)];
  if (m.status === 'Halted') return [button('Resume', 'Open', false), button('Delist', 'Delisted', true)];
  return [button('List', 'Open', false)];
}

async function loadMarkets() {
  const markets = await op.signed('GET', '/api/v1/operator/markets', 'operatorMarketQueryAll');
  const body = $('#op-markets tbody');
  body.replaceChildren(
    ...markets.map((m) =>
      el(
        'tr',
        { 'data-symbol': m.symbol, 'data-status': m.status },
        el('td', {}, m.symbol),
        el('td', { class: `status-${m.status.toLowerCase()}` }, m.status),
        el('td', {}, m.orderBookState),
        el('td', {}, m.reason || '–'),
        el('td', {}, m.indexPrice || '–'),
        el('td', {}, m.markPrice || '–'),
        el('td', {}, String(m.openOrders)),
        el('td', { class: 'row-actions' }, ...actions(m)),
      ),
    ),
  );
  if (markets.length) $('#op-breaker').textContent = markets[0].circuitBreakerBand === '0'
    ? 'off'
    : `${Number(markets[0].circuitBreakerBand) * 100}% within ${markets[0].circuitBreakerWindowSeconds} s`;
}

async function loadAlerts() {
  const status = $('#op-alert-filter').value;
  const alerts = await op.signed('GET', '/api/v1/operator/alerts', 'operatorAlertQueryAll', { status: status || undefined });
  const body = $('#op-alerts tbody');
  body.replaceChildren(
    ...alerts.map((a) => {
      const row = el(
        'tr',
        { 'data-id': a.id, class: a.id === selected ? 'selected' : '' },
        el('td', { class: 'mono' }, a.id),
        el('td', {}, a.typology),
        el('td', {}, a.symbol),
        el('td', {}, String(a.owner)),
        el('td', {}, a.accounts.join(', ')),
        el('td', {}, time(a.raisedAt)),
        el('td', {}, a.status),
      );
      row.addEventListener('click', () => showAlert(a.id));
      return row;
    }),
  );
  $('#op-alerts-empty').hidden = alerts.length > 0;
}

async function showAlert(id) {
  selected = id;
  const a = await op.signed('GET', '/api/v1/operator/alert', 'operatorAlertQuery', { id });
  const box = $('#op-evidence');
  box.hidden = false;
  box.dataset.id = a.id;
  $('#op-ev-title').textContent = `${a.typology} on ${a.symbol}: ${a.id}`;
  $('#op-ev-summary').textContent = a.summary;
  $('#op-ev-status').textContent = a.status + (a.note ? `: ${a.note}` : '');
  const figures = Object.entries(a.evidence.figures).map(([k, v]) => `${k} ${v}`).join(' · ');
  $('#op-ev-figures').textContent = figures;
  $('#op-ev-orders tbody').replaceChildren(
    ...a.evidence.orders.map((o) =>
      el('tr', {}, el('td', {}, o.orderId), el('td', {}, String(o.accountId)), el('td', {}, o.side), el('td', {}, o.price),
        el('td', {}, o.quantity), el('td', {}, o.status), el('td', {}, time(o.placedAt)),
        el('td', {}, o.lifetimeMs === null ? '–' : `${o.lifetimeMs} ms`)),
    ),
  );
  $('#op-ev-trades tbody').replaceChildren(
    ...a.evidence.trades.map((t) =>
      el('tr', {}, el('td', {}, String(t.tradeId)), el('td', {}, String(t.buyerAccountId)), el('td', {}, String(t.sellerAccountId)),
        el('td', {}, t.price), el('td', {}, t.quantity), el('td', {}, t.takerSide), el('td', {}, time(t.timestamp))),
    ),
  );
  $('#op-ev-orders').hidden = a.evidence.orders.length === 0;
  $('#op-ev-trades').hidden = a.evidence.trades.length === 0;
  $('#op-resolve').hidden = a.status !== 'Open';
  for (const row of document.querySelectorAll('#op-alerts tbody tr')) row.classList.toggle('selected', row.dataset.id === id);
}

async function resolveAlert(event) {
  event.preventDefault();
  try {
    await op.signed('POST', '/api/v1/operator/alert/resolve', 'operatorAlertResolve', {
      id: selected,
      resolution: $('#op-resolution').value,
      note: $('#op-note').value.trim() || undefined,
    });
    say('#op-alerts-msg', `${selected} resolved`, 'ok');
    $('#op-note').value = '';
  } catch (err) {
    say('#op-alerts-msg', refusalText(err));
  }
  await loadAlerts();
  await showAlert(selected);
}

async function loadFund() {
  const fund = await op.signed('GET', '/api/v1/operator/insuranceFund', 'operatorInsuranceFundQuery');
  $('#op-fund tbody').replaceChildren(
    ...Object.entries(fund.balances).map(([asset, amount]) => el('tr', {}, el('td', {}, asset), el('td', {}, amount))),
  );
}

async function loadTiers() {
  const tiers = await op.signed('GET', '/api/v1/operator/feeTiers', 'operatorFeeTierQueryAll');
  $('#op-tiers tbody').replaceChildren(
    ...tiers.map((t) =>
      el('tr', {}, el('td', {}, String(t.tier)), el('td', {}, t.name), el('td', {}, t.spotMaker), el('td', {}, t.spotTaker),
        el('td', {}, t.futuresMaker), el('td', {}, t.futuresTaker), el('td', {}, t.spotVolume), el('td', {}, t.futuresVolume)),
    ),
  );
}

async function setTier(event) {
  event.preventDefault();
  try {
    // the owner's VIP level: the lowest tier its accounts pay (docs/api.md "Fee tiers")
    const done = await op.signed('POST', '/api/v1/operator/vipLevel', 'operatorVipLevelSet', {
      accountId: Number($('#op-tier-account').value),
      vipLevel: Number($('#op-tier-value').value),
    });
    say('#op-tier-msg', `account ${done.accountId}: VIP level ${done.vipLevel}, now paying tier ${done.feeTierIndex}`, 'ok');
  } catch (err) {
    say('#op-tier-msg', refusalText(err));
  }
}

// -- compliance: account review, held withdrawals, the audit trail (docs/compliance.md)

async function loadAccounts() {
  const accounts = await op.signed('GET', '/api/v1/operator/compliance/accounts', 'operatorComplianceAccountQuery');
  $('#op-accounts tbody').replaceChildren(
    ...accounts.map((a) => {
      const review = el('button', { type: 'button', 'data-action': 'Review' }, 'Review');
      review.addEventListener('click', () => reviewAccount(a.accountId));
      return el(
        'tr',
        { 'data-account': String(a.accountId), 'data-level': a.level, class: a.accountId === reviewed ? 'selected' : '' },
        el('td', {}, String(a.accountId)),
        el('td', {}, a.region || '–'),
        el('td', {}, a.level),
        el('td', {}, a.rule),
        el('td', { class: 'row-actions' }, review),
      );
    }),
  );
  $('#op-accounts-empty').hidden = accounts.length > 0;
  if (reviewed !== null) await showProfile(reviewed);
}

async function showProfile(accountId) {
  const p = await op.signed('GET', '/api/v1/operator/compliance/accounts', 'operatorComplianceAccountQuery', { accountId });
  $('#op-profile').hidden = false;
  $('#op-profile').dataset.account = String(p.accountId);
  const region = p.region ? `${p.region}${p.refused ? ' (refused)' : ''}` : 'no region declared';
  $('#op-profile-title').textContent =
    `Account ${p.accountId}: ${region}, level ${p.level}, ${p.entity.name} (rule ${p.rule}), max leverage ${p.maxLeverage}×`;
  $('#op-profile-products tbody').replaceChildren(
    ...p.products.map((x) =>
      el('tr', { 'data-product': x.product, 'data-open': String(x.open) }, el('td', {}, x.product),
        el('td', { class: x.open ? 'up' : 'down' }, x.open ? 'open' : 'closed'), el('td', { class: 'small' }, x.why)),
    ),
  );
}

async function reviewAccount(accountId) {
  reviewed = accountId;
  $('#op-id-account').value = String(accountId);
  for (const row of document.querySelectorAll('#op-accounts tbody tr')) row.classList.toggle('selected', row.dataset.account === String(accountId));
  try {
    await showProfile(accountId);
  } catch (err) {
    say('#op-accounts-msg', refusalText(err));
  }
}

async function setIdentity(event) {
  event.preventDefault();
  const accountId = Number($('#op-id-account').value);
  const level = $('#op-id-level').value;
  const region = $('#op-id-region').value.trim().toUpperCase();
  try {
    const p = await op.signed('POST', '/api/v1/operator/identity', 'operatorIdentitySet', {
      accountId,
      level: level || undefined,
      region: region || undefined,
    });
    const open = p.products.filter((x) => x.open).map((x) => x.product);
    say('#op-accounts-msg', `account ${p.accountId}: level ${p.level}, ${p.region || 'no region'}; open: ${open.join(', ') || 'nothing'}`, 'ok');
    reviewed = p.accountId;
  } catch (err) {
    say('#op-accounts-msg', refusalText(err));
  }
  await panel('accounts', '#op-accounts-msg', loadAccounts);
}

function beneficiary(info) {
  if (!info) return '–';
  if (typeof info === 'string') return info;
  return Object.entries(info).map(([k, v]) => `${k}: ${v}`).join(', ');
}

async function loadWithdrawals() {
  const held = await op.signed('GET', '/api/v1/operator/withdrawals', 'operatorWithdrawalQueryAll');
  $('#op-withdrawals tbody').replaceChildren(
    ...held.map((w) => {
      const buttons = [];
      if (w.review) {
        for (const [label, approve] of [['Approve', true], ['Reject', false]]) {
          const b = el('button', { type: 'button', 'data-action': label }, label);
          b.addEventListener('click', () => reviewWithdrawal(w.id, approve));
          buttons.push(b);
        }
      }
      return el(
        'tr',
        { 'data-id': String(w.id), 'data-review': String(w.review) },
        el('td', {}, String(w.id)),
        el('td', {}, String(w.accountId)),
        el('td', {}, w.symbol),
        el('td', {}, w.quantity),
        el('td', { class: 'mono small' }, w.toAddress || '–'),
        el('td', { class: 'small' }, beneficiary(w.recipientInformation)),
        el('td', {}, w.triggerAt ? String(w.triggerAt).replace('T', ' ').slice(0, 19) : '–'),
        el('td', {}, w.review ? 'operator review' : 'its security delay'),
        el('td', { class: 'row-actions' }, ...buttons),
      );
    }),
  );
  $('#op-withdrawals-empty').hidden = held.length > 0;
}

async function reviewWithdrawal(id, approve) {
  try {
    await op.signed('POST', '/api/v1/operator/withdrawals/review', 'operatorWithdrawalReview', { id, approve });
    say('#op-withdrawals-msg', `withdrawal ${id} ${approve ? 'approved: it goes out once its delay is over' : 'rejected: the funds are back in the account'}`, 'ok');
  } catch (err) {
    say('#op-withdrawals-msg', refusalText(err));
  }
  await panel('withdrawals', '#op-withdrawals-msg', loadWithdrawals);
}

async function loadAudit() {
  const trail = await op.signed('GET', '/api/v1/operator/audit', 'operatorAuditQuery', { limit: 50 });
  $('#op-audit tbody').replaceChildren(
    ...trail.map((r) =>
      el(
        'tr',
        { 'data-seq': String(r.seq), 'data-instruction': r.instruction, 'data-outcome': r.outcome },
        el('td', {}, String(r.seq)),
        el('td', {}, String(r.timestamp).replace('T', ' ').slice(0, 19)),
        el('td', { class: 'mono small', title: r.operatorKey }, `${r.operatorKey.slice(0, 8)}…`),
        el('td', {}, r.instruction),
        el('td', { class: r.outcome === 'ok' ? 'up' : 'down' }, r.outcome),
        el('td', { class: 'mono small' }, r.detail),
      ),
    ),
  );
}

/** Reload every console panel (when the page is shown, and every 5 s while it is). */
export async function loadConsole() {
  if (!op.keys) return;
  await Promise.all([
    panel('accounts', '#op-accounts-msg', loadAccounts),
    panel('withdrawals', '#op-withdrawals-msg', loadWithdrawals),
    panel('markets', '#op-markets-msg', loadMarkets),
    panel('alerts', '#op-alerts-msg', async () => {
      await loadAlerts();
      if (selected) await showAlert(selected);
    }),
    panel('fund', '#op-tier-msg', loadFund),
    panel('tiers', '#op-tier-msg', loadTiers),
    panel('audit', '#op-audit-msg', loadAudit),
  ]);
  document.body.dataset.consoleLoaded = String(Date.now());
  clearTimeout(timer);
  timer = setTimeout(() => {
    if (!$('#page-console').hidden) loadConsole();
  }, 5000);
}

// -- points and affiliates (docs/points.md): an approved rate, accounts linked as one owner

async function setAffiliateRate(event) {
  event.preventDefault();
  const rate = $('#op-rate-value').value.trim();
  try {
    const done = await op.signed('POST', '/api/v1/operator/affiliate/rate', 'operatorAffiliateRateSet', {
      accountId: Number($('#op-rate-account').value),
      rate: rate || null,
    });
    say('#op-growth-msg', `account ${done.accountId} earns ${done.rate} of its referred accounts' fees`, 'ok');
  } catch (err) {
    say('#op-growth-msg', refusalText(err));
  }
}

async function linkAccounts(event) {
  event.preventDefault();
  const ids = $('#op-link-accounts').value.split(/[\s,]+/).filter(Boolean).join(','); // signed as one string
  try {
    const done = await op.signed('POST', '/api/v1/operator/points/link', 'operatorPointsLink', {
      accountIds: ids,
      reason: $('#op-link-reason').value.trim(),
    });
    say('#op-growth-msg', `linked as one owner: ${done.owners.join(', ')}`, 'ok');
  } catch (err) {
    say('#op-growth-msg', refusalText(err));
  }
}

export function wireConsole() {
  $('#op-signin').addEventListener('submit', signIn);
  $('#op-resolve').addEventListener('submit', resolveAlert);
  $('#op-alert-filter').addEventListener('change', () => panel('alerts', '#op-alerts-msg', loadAlerts));
  $('#op-identity-form').addEventListener('submit', setIdentity);
  $('#op-tier-form').addEventListener('submit', setTier);
  $('#op-rate-form').addEventListener('submit', setAffiliateRate);
  $('#op-link-form').addEventListener('submit', linkAccounts);
  $('#op-refresh').addEventListener('click', loadConsole);
}
