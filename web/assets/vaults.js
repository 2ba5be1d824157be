// The Vaults page (docs/vaults.md): every vault with its NAV per token, equity, performance since
// inception, drawdown from its highest sampled NAV, fees and NAV history (public), and, signed in,
// the acting wallet's position (tokens, value, what a redemption would pay after the performance
// fee, a pending redemption) with deposit and withdraw. Figures are the exchange's own: the page
// does no money arithmetic, it shows the decimal strings the API answers.
import { ApiError } from '/assets/api.js';
import { el, patchChildren } from '/assets/dom.js';

const $ = (sel, root = document) => root.querySelector(sel);
const SVG_NS = 'http://www.w3.org/2000/svg';
const W = 160;
const H = 40;
const rowMsgs = {}; // vault id -> [text, kind], kept across redraws
// what the last load saw: a kept row's handlers (dom.js keeps rows and their listeners) read it
// when they run, never a copy taken when the row was first drawn
const ctx = { client: null, trader: null, signedIn: false, positions: {} };

function errorText(err) {
  return err instanceof ApiError ? `${err.code}: ${err.message}` : String(err && err.message ? err.message : err);
}

function say(target, text, kind = 'error') {
  const node = typeof target === 'string' ? $(target) : target;
  node.textContent = text || '';
  node.dataset.kind = text ? kind : '';
}

function pct(value) {
  const n = Number(value);
  return Number.isFinite(n) ? `${n >= 0 ? '+' : ''}${(n * 100).toFixed(2)}%` : '–';
}

function level(value) {
  return pct(value).replace('+', '');
}

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(c ?? ''));
  return node;
}

/** NAV per token over the samples, as a small line; its title carries the first and last NAV. */
function navChart(v, samples) {
  const navs = samples.map((s) => Number(s.nav));
  if (navs.length < 2) return el('span', { class: 'muted' }, navs.length ? `NAV ${samples[0].nav}` : '–');
  const lo = Math.min(...navs);
  const hi = Math.max(...navs);
  const x = (i) => ((i / (navs.length - 1)) * (W - 4) + 2).toFixed(1);
  const y = (n) => (hi === lo ? H / 2 : H - 2 - ((n - lo) / (hi - lo)) * (H - 4)).toFixed(1);
  const points = navs.map((n, i) => `${x(i)},${y(n)}`).join(' ');
  return svg(
    'svg',
    { class: 'nav-chart', viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img' },
    svg('title', {}, `${v.name}: NAV per token ${samples[0].nav} → ${samples[samples.length - 1].nav} (${navs.length} samples)`),
    svg('polyline', { points, fill: 'none', stroke: 'currentColor', 'stroke-width': '1.5' }),
  );
}

function positionCell(p) {
  if (!p) return '–';
  const lines = [`${p.vaultTokenQuantity} tokens`, `value ${p.value} USDC`, `redeem ${p.redeemValue} USDC`, `PnL ${p.pnl}`];
  if (p.pendingRedeem) lines.push(`redeeming ${p.pendingRedeem}`);
  return el('div', { class: 'vault-position' }, ...lines.map((t) => el('div', {}, t)));
}

/** Load the vaults (and, with `trader` signed in, the acting wallet's positions) and draw them. */
export async function loadVaults(client, trader, signedIn) {
  Object.assign(ctx, { client, trader, signedIn });
  try {
    const vaults = await client.get('/api/v1/vaults');
    const histories = await Promise.all(
      vaults.map((v) => client.get('/api/v1/vaults/history', { vaultId: v.id, interval: '1year' })),
    );
    const positions = {};
    if (signedIn) {
      for (const p of await trader.signed('GET', '/api/v1/vault/positions', 'vaultPositionQuery', {})) positions[p.vaultId] = p;
    }
    ctx.positions = positions;
    render(vaults, histories);
    say('#vault-msg', vaults.length ? '' : 'No vaults yet: lead one with `rucksack vault create`.', 'ok');
  } catch (err) {
    say('#vault-msg', errorText(err));
  }
}

function render(vaults, histories) {
  const { positions, signedIn } = ctx;
  const body = $('#vaults tbody');
  patchChildren(
    body,
    vaults.map((v, i) => {
      const amount = el('input', { class: 'amount', inputmode: 'decimal', placeholder: 'USDC', 'aria-label': `${v.name} amount` });
      const rowMsg = el('div', { class: 'msg', role: 'alert' });
      const [text, kind] = rowMsgs[v.id] || ['', ''];
      say(rowMsg, text, kind);
      const act = (what) =>
        vaultAction(v, what, amount).then(() => loadVaults(ctx.client, ctx.trader, ctx.signedIn));
      return el(
        'tr',
        { dataset: { vault: String(v.id) } },
        el('td', { class: 'vault-name' }, el('strong', {}, v.name), el('div', { class: 'muted small' }, `#${v.id} · leader ${v.leader}${v.protocol ? ' · exchange-run' : ''}`)),
        el('td', { class: 'nav', 'data-label': 'NAV / token' }, v.nav),
        el('td', { 'data-label': 'Equity' }, `${v.vaultEquity} ${v.symbol}`),
        el('td', { class: Number(v.performance) >= 0 ? 'up' : 'down', 'data-label': 'Performance' }, pct(v.performance)),
        el('td', { class: 'drawdown', 'data-label': 'Drawdown' }, level(v.drawdown)),
        el('td', { 'data-label': 'Fees' }, `mgmt ${level(v.managementFee)} · perf ${level(v.performanceFee)}`),
        el('td', { class: 'curve', 'data-label': 'NAV history' }, navChart(v, histories[i])),
        el('td', { class: 'position', 'data-label': 'Yours' }, positionCell(positions[v.id])),
        el('td', { class: 'amount-cell' }, amount),
        el(
          'td',
          { class: 'action-cell' },
          el(
            'div',
            { class: 'actions' },
            el('button', { class: 'small deposit', onclick: () => act('deposit') }, 'Deposit'),
            el('button', { class: 'small withdraw', onclick: () => act('withdraw') }, 'Withdraw all'),
            rowMsg,
          ),
        ),
      );
    }),
    (tr) => tr.dataset.vault,
  );
  for (const b of body.querySelectorAll('button')) b.disabled = !signedIn;
}

async function vaultAction(v, what, input) {
  const { trader } = ctx;
  const position = ctx.positions[v.id];
  try {
    if (what === 'deposit') {
      const quantity = input.value.trim();
      if (!quantity) {
        rowMsgs[v.id] = ['Enter an amount of USDC.', 'error'];
        return;
      }
      const got = await trader.signed('POST', '/api/v1/vault/mint', 'vaultMint', { vaultId: v.id, symbol: 'USDC', quantity });
      rowMsgs[v.id] = [`Deposited ${got.quantity} USDC for ${got.vaultTokenQuantity} tokens at NAV ${got.nav}`, 'ok'];
      input.value = '';
    } else {
      if (!position) {
        rowMsgs[v.id] = ['You hold no tokens of this vault.', 'error'];
        return;
      }
      const got = await trader.signed('POST', '/api/v1/vault/redeem', 'vaultRedeemRequest', { vaultId: v.id });
      rowMsgs[v.id] =
        got.status === 'Redeemed'
          ? [`Redeemed ${got.vaultTokenQuantity} tokens for ${got.quantity} USDC at NAV ${got.nav}`, 'ok']
          : [`Redemption of ${got.vaultTokenQuantity} tokens queued until ${new Date(got.dueAt).toLocaleString()}`, 'ok'];
    }
  } catch (err) {
    rowMsgs[v.id] = [errorText(err), 'error'];
  }
}
