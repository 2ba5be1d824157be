// The operator console (docs/web.md, docs/surveillance.md): markets (halt, resume, delist), the
// surveillance alert queue with evidence and resolution, the insurance fund and the fee tiers.
// Every request is signed here with the operator key the operator pastes; the secret stays in
// this page's memory (never stored, never sent) and every change is a journaled command.
import { ApiError, Client, Keys } from '/assets/api.js';
import { el } from '/assets/dom.js';

const $ = (sel, root = document) => root.querySelector(sel);
const op = new Client();
let selected = null; // the alert whose evidence is shown
let timer = null;

function say(target, text, kind = 'error') {
  const node = $(target);
  node.textContent = text || '';
  node.dataset.kind = text ? kind : '';
}

function errorText(err) {
  return err instanceof ApiError ? `${err.code}: ${err.message}` : String(err && err.message ? err.message : err);
}

function time(ms) {
  return ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '–';
}

async function signIn(event) {
  event.preventDefault();
  try {
    op.keys = await Keys.fromStrings($('#op-key').value.trim(), $('#op-secret').value.trim());
    await op.syncClock();
    await op.signed('GET', '/api/v1/operator/markets', 'operatorMarketQueryAll'); // proves the key
  } catch (err) {
    op.keys = null;
    say('#op-msg', errorText(err));
    return;
  }
  $('#op-secret').value = '';
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
    say('#op-markets-msg', errorText(err));
  }
  await loadMarkets();
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
    say('#op-alerts-msg', errorText(err));
  }
  await loadAlerts();
  await showAlert(selected);
}

async function loadFunds() {
  const fund = await op.signed('GET', '/api/v1/operator/insuranceFund', 'operatorInsuranceFundQuery');
  $('#op-fund tbody').replaceChildren(
    ...Object.entries(fund.balances).map(([asset, amount]) => el('tr', {}, el('td', {}, asset), el('td', {}, amount))),
  );
  const tiers = await op.signed('GET', '/api/v1/operator/feeTiers', 'operatorFeeTierQueryAll');
  $('#op-tiers tbody').replaceChildren(
    ...tiers.map((t) =>
      el('tr', {}, el('td', {}, String(t.tier)), el('td', {}, t.name), el('td', {}, t.spotMaker), el('td', {}, t.spotTaker),
        el('td', {}, t.futuresMaker), el('td', {}, t.futuresTaker)),
    ),
  );
}

async function setTier(event) {
  event.preventDefault();
  try {
    const done = await op.signed('POST', '/api/v1/operator/feeTier', 'operatorFeeTierSet', {
      accountId: Number($('#op-tier-account').value),
      tier: Number($('#op-tier-value').value),
    });
    say('#op-tier-msg', `account ${done.accountId} is on tier ${done.tier}`, 'ok');
  } catch (err) {
    say('#op-tier-msg', errorText(err));
  }
}

/** Reload every console panel (when the page is shown, and every 5 s while it is). */
export async function loadConsole() {
  if (!op.keys) return;
  try {
    await Promise.all([loadMarkets(), loadAlerts(), loadFunds()]);
    if (selected) await showAlert(selected);
    document.body.dataset.consoleLoaded = String(Date.now());
  } catch (err) {
    say('#op-msg', errorText(err));
  }
  clearTimeout(timer);
  timer = setTimeout(() => {
    if (!$('#page-console').hidden) loadConsole();
  }, 5000);
}

export function wireConsole() {
  $('#op-signin').addEventListener('submit', signIn);
  $('#op-resolve').addEventListener('submit', resolveAlert);
  $('#op-alert-filter').addEventListener('change', loadAlerts);
  $('#op-tier-form').addEventListener('submit', setTier);
  $('#op-refresh').addEventListener('click', loadConsole);
}
