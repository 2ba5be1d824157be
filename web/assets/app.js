// Rucksack's web front end: a static single-page app over the public REST and WebSocket API.
import { ApiError, Client, Keys, Streams } from '/assets/api.js';
import { el, patchChildren } from '/assets/dom.js';
import { loadConsole, wireConsole } from '/assets/console.js';
import { loadGrowth, referralFromUrl, wireGrowth } from '/assets/growth.js';
import { verifyChain, verifyProof } from '/assets/reserves.js';
import { loadVaults } from '/assets/vaults.js';

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];
const SESSION_KEY = 'rucksack.session';
const BOOK_ROWS = 30;
const INTERVAL_SECONDS = { '1m': 60, '5m': 300, '15m': 900, '1h': 3600, '1d': 86400 };
// docs/api.md: `leverageLimit` is a whole number from 1 to the platform's 50 (the API does not publish the maximum)
const LEVERAGE_MAX = 50;
// Backpack's trigger references (`triggerBy`, `takeProfitTriggerBy`, `stopLossTriggerBy`) and the UI's short names
const TRIGGER_BY = { MarkPrice: 'Mark', LastPrice: 'Last', IndexPrice: 'Index' };

// `client` holds the main account's key (sign-in, subaccounts, transfers, reserves proof); `trader` the key of the
// wallet the page acts as (the main key, or the chosen subaccount's own key): orders, positions, lending, streams.
const client = new Client();
const trader = new Client();
const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
const streams = new Streams(wsUrl, trader);

const state = {
  markets: {}, // symbol -> market
  tickers: {}, // symbol -> ticker
  symbol: null,
  side: 'Bid',
  book: null, // {bids: Map, asks: Map, lastUpdateId}
  bookBuffer: [],
  account: null, // GET /api/v1/account (fees)
  capital: {},
  lent: {}, // asset -> lent quantity (borrowLend positions, positive netQuantity)
  openOrders: [],
  positions: {}, // symbol -> GET /api/v1/position row, kept current by account.positionUpdate
  subaccounts: [], // GET /api/v1/subaccounts (Rucksack extension)
  acting: 0, // the subaccount the page acts as with that subaccount's own key (0 = the main account)
  lendMarkets: [],
  lendMsgs: {}, // asset -> [text, kind] shown next to that market's buttons
  interval: '1m',
  session: null, // {apiKey, label, accountId}
  reserves: null, // GET /api/v1/reserves/snapshot
  mark: null, // perps: {mark, index, funding, next} from GET markPrices, then the markPrice.<symbol> stream
  assets: null, // GET /api/v1/assets: each asset's `tokens` (blockchains, deposit/withdraw flags)
  depositFor: null, // the key the shown deposit address was read with (the acting wallet's)
  shownLeverage: null, // the leverage limit last written into the leverage form (so typing is not overwritten)
  travelRule: null, // the owner's entity's Travel Rule threshold (USD string or 'unlimited'; compliance profile)
};

// ------------------------------------------------------------------ small helpers

function decimals(step) {
  const s = String(step);
  return s.includes('.') ? s.split('.')[1].replace(/0+$/, '').length : 0;
}

function fmt(value, digits = 2) {
  const n = Number(value);
  if (!Number.isFinite(n)) return '–';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A signed change, e.g. "+1.25%" (price moves, funding). */
function pct(value, digits = 2) {
  const n = Number(value);
  if (!Number.isFinite(n)) return '–';
  return `${n >= 0 ? '+' : ''}${(n * 100).toFixed(digits)}%`;
}

/** A level, e.g. "1.25%" (rates, fractions, fees): no sign. */
function pctLevel(value, digits = 2) {
  return pct(value, digits).replace('+', '');
}

function timeOf(value) {
  // REST and WS give ISO strings without a zone (UTC), or epoch ms/us numbers
  if (typeof value === 'number') return new Date(value > 1e14 ? value / 1000 : value);
  const s = String(value).replace(' ', 'T');
  return new Date(/[zZ]|[+-]\d\d:\d\d$/.test(s) ? s : s + 'Z');
}

function clock(value) {
  return timeOf(value).toLocaleTimeString('en-GB', { hour12: false });
}

function dateTime(value) {
  if (value === null || value === undefined) return '–';
  const d = timeOf(value);
  return `${d.toLocaleDateString('en-CA')} ${d.toLocaleTimeString('en-GB', { hour12: false })}`;
}

/** A signed USDC amount with its sign and colour class. */
function signedCell(value, cls = '') {
  const n = Number(value);
  return el('td', { class: `${cls} ${n < 0 ? 'down' : n > 0 ? 'up' : ''}`.trim() }, `${n > 0 ? '+' : ''}${value} USDC`);
}

function showMsg(target, text, kind = 'error') {
  const node = typeof target === 'string' ? $(target) : target;
  node.textContent = text || '';
  node.dataset.kind = text ? kind : '';
}

function errorText(err) {
  return err instanceof ApiError ? err.message : String(err && err.message ? err.message : err);
}

/** An API error as a sentence for a person (the code kept in brackets for support), not a raw code. */
function inWords(err) {
  if (!(err instanceof ApiError)) return errorText(err);
  if (err.code === 'NETWORK') return `The exchange cannot be reached right now; try again in a moment (${err.apiMessage}).`;
  if (err.status === 401) return `The exchange did not accept this browser's key: ${err.apiMessage}. Sign in again.`;
  if (err.status === 429) return 'Too many requests in a short time: wait a moment and try again.';
  if (err.status >= 500) return `The exchange could not answer just now (${err.code}: ${err.apiMessage}); try again later.`;
  return `The exchange refused the request: ${err.apiMessage} (${err.code}).`;
}

function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

function market() {
  return state.markets[state.symbol];
}

function isPerp(m = market()) {
  return m && m.marketType === 'PERP';
}

// ------------------------------------------------------------------ navigation

function showPage(name) {
  for (const b of $$('#nav button')) b.classList.toggle('active', b.dataset.page === name);
  for (const p of $$('.page')) p.hidden = p.id !== `page-${name}`;
  if (name === 'lend') loadLendMarkets();
  if (name === 'account') refreshAccount();
  if (name === 'reserves') loadReserves();
  if (name === 'console') loadConsole();
  if (name === 'points') loadGrowth();
  if (name === 'vaults') loadVaults(client, trader, Boolean(state.session));
  if (name === 'trade' && chart) requestAnimationFrame(() => chart.timeScale().scrollToRealTime());
  if (location.hash !== `#${name}`) history.replaceState(null, '', `#${name}`);
}

// ------------------------------------------------------------------ markets and tickers

async function loadMarkets() {
  const markets = await client.get('/api/v1/markets');
  const select = $('#market-select');
  for (const m of markets) {
    if (m.visible === false) continue;
    state.markets[m.symbol] = m;
    select.append(el('option', { value: m.symbol }, m.symbol));
  }
  const wanted = new URLSearchParams(location.search).get('market');
  const first = state.markets[wanted] ? wanted : Object.keys(state.markets)[0];
  select.value = first;
  select.addEventListener('change', () => selectMarket(select.value));
  await refreshTickers();
  selectMarket(first);
}

async function refreshTickers() {
  try {
    for (const t of await client.get('/api/v1/tickers')) state.tickers[t.symbol] = t;
  } catch {
    return; // the next refresh tries again
  }
  for (const opt of $$('#market-select option')) {
    const t = state.tickers[opt.value];
    const m = state.markets[opt.value];
    const kind = m.preMarket ? ' PRE-MARKET' : m.marketType === 'PERP' ? ' PERP' : '';
    const label = `${m.baseSymbol}/${m.quoteSymbol}${kind}`;
    opt.textContent = t && Number(t.lastPrice) ? `${label}  ${t.lastPrice}  ${pct(t.priceChangePercent)}` : label;
  }
  renderStats();
  refreshPreMarket();
}

// ------------------------------------------------------------------ pre-markets (docs/premarket.md)

/** A pre-market (a `preMarket` object in its market) shows a badge beside the selector: its phase,
 * leverage cap and isolated margin; the title tells the band and the settlement. Its phase is read
 * again with the tickers (every 5 s), so Listing and the settlement price appear as they happen. */
async function refreshPreMarket() {
  const m = market();
  if (!m || !m.preMarket) return renderPreMarket();
  try {
    const fresh = await client.get('/api/v1/market', { symbol: m.symbol });
    if (fresh.preMarket) state.markets[m.symbol] = { ...m, preMarket: fresh.preMarket };
  } catch {
    // the next refresh tries again
  }
  renderPreMarket();
}

function renderPreMarket() {
  const badge = $('#premarket-badge');
  const m = market();
  const pre = m && m.preMarket;
  badge.hidden = !pre;
  // no index and no funding on a pre-market: its mark is its own book's
  for (const id of ['#stat-index', '#stat-funding', '#stat-countdown']) $(id).closest('.stat').hidden = !isPerp(m) || Boolean(pre);
  if (!pre) return;
  const settled = pre.settlementPrice ? ` at ${pre.settlementPrice}` : '';
  badge.textContent = `Pre-market · ${pre.status}${settled} · ${pre.maxLeverage}x isolated`;
  badge.dataset.status = pre.status;
  const band = pre.markPriceBand;
  const when = pre.listingEndsAt ? `; settles at ${new Date(pre.listingEndsAt).toISOString()}` : '';
  badge.title = `${m.baseSymbol} is not listed yet. Mark from this book within ${band.minPrice}–${band.maxPrice} ` +
    `(±${Number(band.maxChangePerUpdate) * 100}% a second). When ${pre.spotSymbol} lists, every position settles at ` +
    `its time-weighted average price over ${pre.referenceWindowMs / 60000} min${when}. Trade it from a subaccount.`;
}

function renderStats() {
  const t = state.tickers[state.symbol];
  const m = market();
  if (!t || !m) return;
  $('#stat-last').textContent = t.lastPrice;
  const change = $('#stat-change');
  change.textContent = `${t.priceChange} (${pct(t.priceChangePercent)})`;
  change.className = Number(t.priceChange) < 0 ? 'down' : 'up';
  $('#stat-high').textContent = t.high;
  $('#stat-low').textContent = t.low;
  $('#stat-volume').textContent = `${fmt(t.volume, decimals(m.filters.quantity.stepSize))} ${m.baseSymbol} · ${fmt(t.quoteVolume)} ${m.quoteSymbol}`;
}

function onTicker(d) {
  const t = state.tickers[d.s] || {};
  const change = Number(d.c) - Number(d.o);
  Object.assign(t, {
    symbol: d.s,
    firstPrice: d.o,
    lastPrice: d.c,
    high: d.h,
    low: d.l,
    volume: d.v,
    quoteVolume: d.V,
    priceChange: change.toFixed(decimals(market().filters.price.tickSize)),
    priceChangePercent: Number(d.o) ? String(change / Number(d.o)) : '0',
  });
  state.tickers[d.s] = t;
  renderStats();
}

function selectMarket(symbol) {
  const old = state.symbol;
  if (old) {
    for (const s of [`depth.${old}`, `trade.${old}`, `ticker.${old}`, `kline.${state.interval}.${old}`, `markPrice.${old}`]) {
      streams.unsubscribe(s);
    }
  }
  state.symbol = symbol;
  const m = market();
  const url = new URL(location.href);
  url.searchParams.set('market', symbol);
  history.replaceState(null, '', url);
  $('#market-select').value = symbol;
  for (const u of $$('.unit.base')) u.textContent = m.baseSymbol;
  for (const u of $$('.unit.quote')) u.textContent = m.quoteSymbol;
  $('#order-price').placeholder = m.filters.price.tickSize;
  $('#order-qty').placeholder = m.filters.quantity.stepSize;
  showPerpControls(m, symbol !== old);
  renderPreMarket();
  setupTriggerFields(m);
  renderStats();
  startMarkPrice(symbol);
  startBook(symbol);
  startTrades(symbol);
  startChart(symbol);
  streams.subscribe(`ticker.${symbol}`, onTicker);
  renderOpenOrders();
  setSide(state.side); // the button names the base asset; refreshes the summary
}

/** Perp-only controls (reduce-only, TP/SL rows) and figures (mark, index, funding) show on perps alone;
 * a switch to another market starts them afresh, so a reduce-only tick never carries over to it (a
 * re-subscription after a reconnect keeps what the user set). */
function showPerpControls(m, switched) {
  const perp = isPerp(m);
  for (const node of $$('.perp-only')) node.hidden = !perp;
  $('#order-reduceonly').disabled = !perp;
  if (!switched && perp) return;
  $('#order-reduceonly').checked = false;
  for (const id of ['#order-tp', '#order-tp-limit', '#order-sl', '#order-sl-limit']) $(id).value = '';
}

// ------------------------------------------------------------------ perps: mark, index, funding

/** Perps: seed from `GET /api/v1/markPrices?symbol=`, then live from `markPrice.<symbol>` frames
 * (`p` mark, `i` index, `f` funding rate estimate, `n` next funding time in ms). */
function startMarkPrice(symbol) {
  state.mark = null;
  $('#stat-mark').dataset.frames = '0';
  renderMark();
  if (!isPerp()) return;
  streams.subscribe(`markPrice.${symbol}`, (d) => {
    if (d.s !== state.symbol) return;
    const shown = $('#stat-mark');
    shown.dataset.frames = String(Number(shown.dataset.frames || 0) + 1); // live frames seen (the tests wait for one)
    const live = { mark: d.p, index: d.i };
    if (d.f !== undefined) live.funding = d.f;
    if (d.n !== undefined) live.next = Number(d.n);
    state.mark = { ...state.mark, ...live };
    renderMark();
  });
  seedMarkPrice(symbol);
}

let markSeededAt = 0;

async function seedMarkPrice(symbol) {
  markSeededAt = Date.now();
  try {
    const [row] = await client.get('/api/v1/markPrices', { symbol });
    if (symbol !== state.symbol || !row) return;
    const seeded = { mark: row.markPrice, index: row.indexPrice, funding: row.fundingRate, next: Number(row.nextFundingTimestamp) };
    state.mark = { ...seeded, ...state.mark }; // a stream frame that came first is the newer
    renderMark();
  } catch {
    // the stream fills the figures in
  }
}

function renderMark() {
  const m = market();
  const mk = state.mark || {};
  const pd = m ? decimals(m.filters.price.tickSize) : 2;
  $('#stat-mark').textContent = mk.mark ? fmt(mk.mark, pd) : '–';
  $('#stat-index').textContent = mk.index ? fmt(mk.index, pd) : '–';
  const funding = $('#stat-funding');
  funding.textContent = mk.funding !== undefined ? pct(mk.funding, 4) : '–';
  funding.className = Number(mk.funding) < 0 ? 'down' : Number(mk.funding) > 0 ? 'up' : '';
  funding.title = mk.funding === undefined ? '' : Number(mk.funding) >= 0 ? 'longs pay shorts' : 'shorts pay longs';
  renderCountdown();
}

/** hh:mm:ss to the next funding, every second; once it has passed, the next hour's is read again. */
function renderCountdown() {
  const out = $('#stat-countdown');
  const next = state.mark && state.mark.next;
  if (!next || !isPerp()) {
    out.textContent = '–';
    delete out.dataset.seconds;
    return;
  }
  const left = Math.max(0, Math.floor((next - client.now()) / 1000));
  out.textContent = [Math.floor(left / 3600), Math.floor((left % 3600) / 60), left % 60].map((v) => String(v).padStart(2, '0')).join(':');
  out.dataset.seconds = String(left);
  if (left === 0 && Date.now() - markSeededAt > 5000) seedMarkPrice(state.symbol);
}

// ------------------------------------------------------------------ order book

function startBook(symbol) {
  state.book = null;
  state.bookBuffer = [];
  renderBook();
  streams.subscribe(`depth.${symbol}`, (d) => {
    if (d.s !== state.symbol) return;
    if (!state.book) state.bookBuffer.push(d);
    else applyDepth(d);
  });
  client
    .get('/api/v1/depth', { symbol })
    .then((snap) => {
      if (symbol !== state.symbol) return;
      const book = { bids: new Map(snap.bids), asks: new Map(snap.asks), lastUpdateId: Number(snap.lastUpdateId) };
      state.book = book;
      for (const d of state.bookBuffer) applyDepth(d);
      state.bookBuffer = [];
      renderBook();
    })
    .catch((err) => showMsg('#book-head', errorText(err)));
}

function applyDepth(d) {
  const book = state.book;
  if (Number(d.u) <= book.lastUpdateId) return;
  for (const [side, levels] of [['asks', d.a], ['bids', d.b]]) {
    for (const [price, size] of levels) {
      if (Number(size) === 0) book[side].delete(price);
      else book[side].set(price, size);
    }
  }
  book.lastUpdateId = Number(d.u);
  scheduleBook();
}

const scheduleBook = (() => {
  let pending = false;
  return () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      renderBook();
    });
  };
})();

function renderBook() {
  const asksEl = $('#book-asks');
  const bidsEl = $('#book-bids');
  const m = market();
  if (!state.book || !m) {
    asksEl.replaceChildren();
    bidsEl.replaceChildren();
    $('#book-mid').textContent = '–';
    return;
  }
  const mine = new Set(state.openOrders.filter((o) => o.symbol === state.symbol).map((o) => `${o.side}:${o.price}`));
  const qd = decimals(m.filters.quantity.stepSize);
  const asks = [...state.book.asks.entries()].sort((a, b) => Number(a[0]) - Number(b[0])).slice(0, BOOK_ROWS);
  const bids = [...state.book.bids.entries()].sort((a, b) => Number(b[0]) - Number(a[0])).slice(0, BOOK_ROWS);
  const rows = (levels, side) => {
    let total = 0;
    const out = levels.map(([price, size]) => {
      total += Number(size);
      const row = el(
        'div',
        { class: `level${mine.has(`${side}:${price}`) ? ' mine' : ''}`, dataset: { price }, title: 'Use this price' },
        el('span', { class: 'price' }, price),
        el('span', {}, size),
        el('span', { class: 'muted' }, total.toFixed(qd)),
      );
      row.style.setProperty('--depth', '0');
      row.dataset.total = String(total);
      return row;
    });
    const max = total || 1;
    for (const row of out) row.style.setProperty('--depth', `${(100 * Number(row.dataset.total)) / max}%`);
    return out;
  };
  patchChildren(asksEl, rows(asks, 'Ask').reverse(), (row) => row.dataset.price);
  patchChildren(bidsEl, rows(bids, 'Bid'), (row) => row.dataset.price);
  asksEl.scrollTop = asksEl.scrollHeight;
  const bestAsk = asks.length ? Number(asks[0][0]) : null;
  const bestBid = bids.length ? Number(bids[0][0]) : null;
  const pd = decimals(m.filters.price.tickSize);
  const t = state.tickers[state.symbol];
  $('#book-mid').textContent =
    bestAsk !== null && bestBid !== null
      ? `${t ? t.lastPrice : ''}  spread ${(bestAsk - bestBid).toFixed(pd)}`
      : t
        ? t.lastPrice
        : '–';
  $('#book-head').textContent = `${asks.length + bids.length} levels`;
  updateOrderSummary();
}

// ------------------------------------------------------------------ recent trades

function startTrades(symbol) {
  const list = $('#trades');
  list.replaceChildren();
  streams.subscribe(`trade.${symbol}`, (d) => {
    if (d.s !== state.symbol) return;
    addTrade({ price: d.p, quantity: d.q, timestamp: Number(d.T), isBuyerMaker: d.m });
  });
  client
    .get('/api/v1/trades', { symbol, limit: 50 })
    .then((trades) => {
      if (symbol !== state.symbol) return;
      for (const t of trades) addTrade(t);
    })
    .catch(() => {});
}

function addTrade(t) {
  const list = $('#trades');
  const row = el(
    'div',
    { class: `level ${t.isBuyerMaker ? 'sell' : 'buy'}` },
    el('span', { class: 'price' }, t.price),
    el('span', {}, t.quantity),
    el('span', { class: 'muted' }, clock(t.timestamp)),
  );
  list.prepend(row);
  while (list.children.length > 60) list.lastChild.remove();
}

// ------------------------------------------------------------------ chart (TradingView lightweight-charts)

let chart = null;
let candleSeries = null;
let volumeSeries = null;

function ensureChart() {
  if (chart) return;
  const LC = window.LightweightCharts;
  chart = LC.createChart($('#chart'), {
    autoSize: true,
    layout: { background: { color: '#151821' }, textColor: '#b8bfcc', fontSize: 11 },
    grid: { vertLines: { color: '#202532' }, horzLines: { color: '#202532' } },
    timeScale: { timeVisible: true, secondsVisible: false, borderColor: '#2a3040' },
    rightPriceScale: { borderColor: '#2a3040' },
    crosshair: { mode: LC.CrosshairMode.Normal },
  });
  candleSeries = chart.addSeries(LC.CandlestickSeries, {
    upColor: '#2ebd85',
    downColor: '#e5484d',
    borderVisible: false,
    wickUpColor: '#2ebd85',
    wickDownColor: '#e5484d',
  });
  volumeSeries = chart.addSeries(LC.HistogramSeries, {
    priceFormat: { type: 'volume' },
    priceScaleId: '',
    lastValueVisible: false,
    priceLineVisible: false,
  });
  volumeSeries.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
}

function bar(k) {
  const time = Math.floor(timeOf(k.t).getTime() / 1000);
  const up = Number(k.c) >= Number(k.o);
  return {
    candle: { time, open: Number(k.o), high: Number(k.h), low: Number(k.l), close: Number(k.c) },
    volume: { time, value: Number(k.v), color: up ? 'rgba(46,189,133,0.4)' : 'rgba(229,72,77,0.4)' },
  };
}

function startChart(symbol, oldInterval = state.interval) {
  ensureChart();
  const m = market();
  const tick = m.filters.price.tickSize;
  candleSeries.applyOptions({ priceFormat: { type: 'price', precision: decimals(tick), minMove: Number(tick) } });
  candleSeries.setData([]);
  volumeSeries.setData([]);
  const chartEl = $('#chart');
  chartEl.dataset.bars = '0';
  chartEl.dataset.live = '0';
  const interval = state.interval;
  streams.unsubscribe(`kline.${oldInterval}.${symbol}`);
  let lastTime = 0;
  const live = [];
  const push = (k) => {
    const b = bar(k);
    if (b.candle.time < lastTime) return;
    candleSeries.update(b.candle);
    volumeSeries.update(b.volume);
    if (b.candle.time > lastTime) chartEl.dataset.bars = String(Number(chartEl.dataset.bars) + 1);
    lastTime = b.candle.time;
  };
  let seeded = false;
  streams.subscribe(`kline.${interval}.${symbol}`, (d) => {
    if (d.s !== state.symbol || interval !== state.interval) return;
    chartEl.dataset.live = String(Number(chartEl.dataset.live) + 1);
    if (seeded) push(d);
    else live.push(d);
  });
  const seconds = INTERVAL_SECONDS[interval];
  const now = Math.floor(client.now() / 1000);
  client
    .get('/api/v1/klines', { symbol, interval, startTime: now - seconds * 300 })
    .then((rows) => {
      if (symbol !== state.symbol || interval !== state.interval) return;
      const bars = rows.map((r) => bar({ t: r.start, o: r.open, h: r.high, l: r.low, c: r.close, v: r.volume }));
      candleSeries.setData(bars.map((b) => b.candle));
      volumeSeries.setData(bars.map((b) => b.volume));
      lastTime = bars.length ? bars[bars.length - 1].candle.time : 0;
      chartEl.dataset.bars = String(bars.length);
      seeded = true;
      for (const k of live) push(k);
      chart.timeScale().scrollToRealTime();
    })
    .catch(() => {});
}

// ------------------------------------------------------------------ order entry

function orderParams() {
  const m = market();
  const type = $('#order-type').value;
  const p = { symbol: m.symbol, side: state.side, orderType: type, quantity: $('#order-qty').value.trim() };
  if (type === 'Limit') {
    p.price = $('#order-price').value.trim();
    if ($('#order-postonly').checked) p.postOnly = true;
    else p.timeInForce = $('#order-tif').value;
  }
  const trigger = $('#order-trigger').value.trim();
  if (trigger) {
    p.triggerPrice = trigger;
    p.triggerQuantity = p.quantity; // Backpack: both, equal (ccxt sends triggerQuantity alone)
    p.triggerBy = $('#order-trigger-by').value;
  }
  if (isPerp(m)) {
    if ($('#order-reduceonly').checked) p.reduceOnly = true;
    Object.assign(p, tpslParams('takeProfit', '#order-tp'), tpslParams('stopLoss', '#order-sl'));
  }
  return p;
}

/** `<prefix>TriggerPrice`, `…LimitPrice` (empty: market on firing) and `…TriggerBy` from one TP or SL row. */
function tpslParams(prefix, id) {
  const out = {};
  const trigger = $(id).value.trim();
  const limit = $(`${id}-limit`).value.trim();
  if (trigger) {
    out[`${prefix}TriggerPrice`] = trigger;
    out[`${prefix}TriggerBy`] = $(`${id}-by`).value;
  }
  if (limit) out[`${prefix}LimitPrice`] = limit;
  return out;
}

/** What the page refuses before asking the server; '' when the order may be sent. */
function orderProblem(p) {
  if (p.takeProfitLimitPrice && !p.takeProfitTriggerPrice) return 'A take-profit limit price needs a take-profit trigger price.';
  if (p.stopLossLimitPrice && !p.stopLossTriggerPrice) return 'A stop-loss limit price needs a stop-loss trigger price.';
  return '';
}

/** The pre-submit summary of the order's triggers: what fires, on which price, as market or limit. */
function triggerSummary(p) {
  const parts = [];
  if (p.triggerPrice) parts.push(`waits for ${TRIGGER_BY[p.triggerBy]} price ${p.triggerPrice}`);
  for (const [prefix, name] of [['takeProfit', 'TP'], ['stopLoss', 'SL']]) {
    const trigger = p[`${prefix}TriggerPrice`];
    if (!trigger) continue;
    const limit = p[`${prefix}LimitPrice`];
    parts.push(`${name} at ${TRIGGER_BY[p[`${prefix}TriggerBy`]]} ${trigger} → ${limit ? `limit ${limit}` : 'market'}`);
  }
  return parts.join('; ') || 'none';
}

function fillTriggerBy(select, names, wanted) {
  const keep = names.includes(select.value) ? select.value : wanted;
  select.replaceChildren(...names.map((n) => el('option', { value: n }, TRIGGER_BY[n])));
  select.value = keep;
}

/** Perps: trigger by mark (the default), last or index, and TP/SL rows; spot: last-price triggers only. */
function setupTriggerFields(m) {
  const perp = isPerp(m);
  fillTriggerBy($('#order-trigger-by'), perp ? Object.keys(TRIGGER_BY) : ['LastPrice'], perp ? 'MarkPrice' : 'LastPrice');
  for (const id of ['#order-tp', '#order-sl']) {
    fillTriggerBy($(`${id}-by`), Object.keys(TRIGGER_BY), 'MarkPrice');
    for (const field of [id, `${id}-limit`, `${id}-by`]) $(field).disabled = !perp;
  }
  $('#tpsl-note').textContent = perp
    ? 'A trigger price makes this a stop/trigger order that waits as "TriggerPending". Take profit and stop loss attach ' +
      'to the order: each fill creates reduce-only trigger orders for the filled size, limit at the TP/SL limit price, ' +
      'or market when it is left empty.'
    : 'A trigger price works on every market (on the last price); reduce-only, take profit and stop loss exist on perpetual markets only.';
}

/** The initial margin fraction of a perp order: the market's sqrt function, never below 1 / leverage limit. */
function orderImf(m, notional) {
  const f = m.imfFunction;
  if (!f) return null;
  const lev = state.account ? Number(state.account.leverageLimit) : 0;
  return Math.min(1, Math.max(Number(f.base), lev ? 1 / lev : 0, Number(f.factor) * Math.sqrt(notional)));
}

/** A limit price the API would parse (positive, on the tick); otherwise the limits ask at the mark. */
function onTick(text, tick) {
  if (!/^\d+(\.\d+)?$/.test(text) || !(Number(text) > 0)) return false;
  const steps = Number(text) / Number(tick);
  return decimals(text) <= decimals(tick) && Math.abs(steps - Math.round(steps)) < 1e-6;
}

let maxSizeSeq = 0;

/** `GET account/limits/order`: the largest order the engine would take now (margin, leverage limit). */
async function refreshMaxSize() {
  const m = market();
  const out = $('#order-max');
  const seq = ++maxSizeSeq;
  if (!state.session || !m) {
    out.textContent = '–';
    return;
  }
  const params = { symbol: m.symbol, side: state.side };
  const price = $('#order-price').value.trim();
  if ($('#order-type').value === 'Limit' && onTick(price, m.filters.price.tickSize)) params.price = price;
  if (isPerp(m) && $('#order-reduceonly').checked) params.reduceOnly = true;
  try {
    const limit = await trader.signed('GET', '/api/v1/account/limits/order', 'maxOrderQuantity', params);
    if (seq !== maxSizeSeq) return;
    out.textContent = `${limit.maxOrderQuantity} ${m.baseSymbol}${params.price ? '' : isPerp(m) ? ' at the mark' : ''}`;
    out.dataset.qty = limit.maxOrderQuantity;
  } catch {
    if (seq === maxSizeSeq) out.textContent = '–';
  }
}

const refreshMaxSizeSoon = debounce(refreshMaxSize, 250);

/** Average price for taking `qty` from the book on the far side, or null if the book is too thin. */
function bookCost(side, qty) {
  if (!state.book) return null;
  const levels = [...state.book[side === 'Bid' ? 'asks' : 'bids'].entries()].sort((a, b) =>
    side === 'Bid' ? Number(a[0]) - Number(b[0]) : Number(b[0]) - Number(a[0]),
  );
  let left = qty;
  let cost = 0;
  for (const [price, size] of levels) {
    const take = Math.min(left, Number(size));
    cost += take * Number(price);
    left -= take;
    if (left <= 1e-12) return cost;
  }
  return null;
}

function updateOrderSummary() {
  const m = market();
  if (!m) return;
  const type = $('#order-type').value;
  const qty = Number($('#order-qty').value);
  const price = Number($('#order-price').value);
  const qd = decimals(m.filters.price.tickSize) > 2 ? 6 : 2;
  const spend = state.side === 'Bid' || isPerp(m) ? m.quoteSymbol : m.baseSymbol; // perps margin in the quote
  const bal = state.capital[spend];
  $('#order-available').textContent = state.session ? `${bal ? bal.available : '0'} ${spend}` : '–';
  $('#order-triggers').textContent = triggerSummary(orderParams());
  let cost = null;
  if (qty > 0 && type === 'Limit' && price > 0) cost = qty * price;
  if (qty > 0 && type === 'Market') cost = bookCost(state.side, qty);
  const fees = state.account;
  const makerBps = fees ? Number(isPerp(m) ? fees.futuresMakerFee : fees.spotMakerFee) : null;
  const takerBps = fees ? Number(isPerp(m) ? fees.futuresTakerFee : fees.spotTakerFee) : null;
  if (cost === null) {
    $('#order-cost').textContent = type === 'Market' && qty > 0 ? 'more than the book holds' : '–';
    $('#order-fee').textContent = '–';
    $('#order-margin').textContent = '–';
    return;
  }
  $('#order-cost').textContent = `${type === 'Market' ? '≈ ' : ''}${fmt(cost, qd)} ${m.quoteSymbol}`;
  if (takerBps === null) {
    $('#order-fee').textContent = 'sign in to see your fee';
  } else {
    const postOnly = type === 'Limit' && $('#order-postonly').checked;
    const bps = postOnly ? makerBps : takerBps;
    const feeAsset = state.side === 'Bid' && !isPerp(m) ? m.baseSymbol : m.quoteSymbol;
    const feeQuote = (cost * bps) / 10000;
    const text = `${postOnly ? '' : 'up to '}${fmt(feeQuote, qd)} ${m.quoteSymbol} (${(bps / 100).toFixed(2)}%${
      feeAsset !== m.quoteSymbol ? `, paid in ${feeAsset}` : ''
    })`;
    $('#order-fee').textContent = postOnly ? text : `${text}; maker ${(makerBps / 100).toFixed(2)}%`;
  }
  if (isPerp(m)) {
    const imf = orderImf(m, cost);
    const lev = state.account ? `, leverage limit ${state.account.leverageLimit}×` : '';
    $('#order-margin').textContent = imf ? `≈ ${fmt(cost * imf, qd)} ${m.quoteSymbol} (IMF ${pctLevel(imf)}${lev})` : '–';
  } else {
    $('#order-margin').textContent = 'none (spot, fully funded)';
  }
}

async function submitOrder(event) {
  event.preventDefault();
  const button = $('#order-submit');
  showMsg('#order-msg', '');
  if (!state.session) return showMsg('#order-msg', 'Sign in first: "Start trading" or an API key.');
  const params = orderParams();
  const problem = orderProblem(params);
  if (problem) return showMsg('#order-msg', problem);
  button.disabled = true;
  try {
    const order = await trader.signed('POST', '/api/v1/order', 'orderExecute', params);
    const filled = Number(order.executedQuantity) > 0 ? `, filled ${order.executedQuantity}` : '';
    showMsg('#order-msg', `${order.side === 'Bid' ? 'Buy' : 'Sell'} ${order.quantity} ${order.status}${filled} (id ${order.id})`, 'ok');
    refreshPrivate();
  } catch (err) {
    showMsg('#order-msg', errorText(err));
  } finally {
    button.disabled = false;
  }
}

function setSide(side) {
  state.side = side;
  for (const b of $$('.side-toggle button')) b.classList.toggle('active', b.dataset.side === side);
  const button = $('#order-submit');
  const m = market();
  button.textContent = `${side === 'Bid' ? 'Buy' : 'Sell'} ${m ? m.baseSymbol : ''}`;
  button.className = `primary ${side === 'Bid' ? 'buy' : 'sell'}`;
  updateOrderSummary();
  refreshMaxSizeSoon();
}

function setOrderType() {
  const limit = $('#order-type').value === 'Limit';
  $('#price-field').hidden = !limit;
  $('#limit-options').hidden = !limit;
  $('#order-tif').disabled = $('#order-postonly').checked;
  updateOrderSummary();
  refreshMaxSizeSoon();
}

// ------------------------------------------------------------------ orders, history, fills

function renderOpenOrders() {
  patchChildren(
    $('#open-orders tbody'),
    state.openOrders.map((o) =>
      el(
        'tr',
        { dataset: { orderId: o.id } },
        el('td', {}, o.symbol),
        el('td', { class: o.side === 'Bid' ? 'up' : 'down' }, o.side === 'Bid' ? 'Buy' : 'Sell'),
        el('td', {}, `${o.orderType}${o.postOnly ? ' post-only' : ''}${o.reduceOnly ? ' reduce-only' : ''}${attachedText(o)}`),
        el('td', { class: 'price' }, `${o.price ?? 'market'}${o.status === 'TriggerPending' ? ` (trigger ${o.triggerPrice} ${TRIGGER_BY[o.triggerBy] || ''})` : ''}`),
        el('td', {}, o.quantity ?? o.triggerQuantity ?? ''),
        el('td', {}, o.executedQuantity),
        el('td', {}, o.timeInForce),
        el('td', {}, el('button', { class: 'small cancel', onclick: () => cancelOrder(o) }, 'Cancel')),
      ),
    ),
    (tr) => tr.dataset.orderId, // an order's id and market never change: the kept row's handler stays right
  );
  $('#cancel-all').disabled = !state.openOrders.some((o) => o.symbol === state.symbol);
  scheduleBook();
}

/** A resting parent's attached take profit / stop loss, e.g. " TP 180 / SL 120 (limit 119)". */
function attachedText(o) {
  const parts = [];
  for (const [prefix, name] of [['takeProfit', 'TP'], ['stopLoss', 'SL']]) {
    const trigger = o[`${prefix}TriggerPrice`];
    const limit = o[`${prefix}LimitPrice`];
    if (trigger) parts.push(`${name} ${trigger}${limit ? ` (limit ${limit})` : ''}`);
  }
  if (o.relatedOrderId) parts.push(`TP/SL of order ${o.relatedOrderId}`);
  return parts.length ? ` · ${parts.join(' / ')}` : '';
}

async function cancelOrder(o) {
  showMsg('#orders-msg', '');
  try {
    await trader.signed('DELETE', '/api/v1/order', 'orderCancel', { orderId: o.id, symbol: o.symbol });
    showMsg('#orders-msg', `Cancelled order ${o.id}`, 'ok');
  } catch (err) {
    showMsg('#orders-msg', errorText(err));
  }
  refreshPrivate();
}

async function cancelAll() {
  showMsg('#orders-msg', '');
  try {
    const cancelled = await trader.signed('DELETE', '/api/v1/orders', 'orderCancelAll', { symbol: state.symbol });
    showMsg('#orders-msg', `Cancelled ${Array.isArray(cancelled) ? cancelled.length : 0} order(s) on ${state.symbol}`, 'ok');
  } catch (err) {
    showMsg('#orders-msg', errorText(err));
  }
  refreshPrivate();
}

// ------------------------------------------------------------------ history tabs (paginated)

function orderHistoryRow(o) {
  return el(
    'tr',
    { dataset: { orderId: o.id } },
    el('td', {}, clock(o.createdAt)),
    el('td', {}, o.symbol),
    el('td', { class: o.side === 'Bid' ? 'up' : 'down' }, o.side === 'Bid' ? 'Buy' : 'Sell'),
    el('td', {}, o.orderType),
    el('td', {}, o.price ?? 'market'),
    el('td', {}, o.quantity ?? ''),
    el('td', {}, o.executedQuantity),
    el('td', {}, o.status),
  );
}

function fillRow(f) {
  return el(
    'tr',
    { dataset: { orderId: f.orderId, tradeId: f.tradeId } },
    el('td', {}, clock(f.timestamp)),
    el('td', {}, f.symbol),
    el('td', { class: f.side === 'Bid' ? 'up' : 'down' }, f.side === 'Bid' ? 'Buy' : 'Sell'),
    el('td', {}, f.price),
    el('td', {}, f.quantity),
    el('td', {}, `${f.fee} ${f.feeSymbol}`),
    el('td', {}, f.isMaker ? 'maker' : 'taker'),
  );
}

/** One funding payment of one position and hour: negative = paid, positive = received. */
function fundingRow(f) {
  return el(
    'tr',
    { dataset: { symbol: f.symbol } },
    el('td', { class: 'time' }, dateTime(f.intervalEndTimestamp)),
    el('td', {}, f.symbol),
    el('td', { class: 'rate' }, pct(f.fundingRate, 4)),
    signedCell(f.quantity, 'amount'),
  );
}

/** One settlement of unsettled PnL (with fees and funding) into the USDC balance. */
function settlementRow(s) {
  return el(
    'tr',
    { dataset: { source: s.source } },
    el('td', { class: 'time' }, dateTime(s.timestamp)),
    el('td', {}, s.source),
    signedCell(s.quantity, 'amount'),
  );
}

function positionHistoryRow(p) {
  const q = Number(p.netQuantity);
  const size = q ? `${q > 0 ? 'Long' : 'Short'} ${p.netQuantity.replace('-', '')}` : '–';
  return el(
    'tr',
    { dataset: { symbol: p.symbol, state: p.state, positionId: p.id } },
    el('td', {}, dateTime(p.openedAt)),
    el('td', {}, p.symbol),
    el('td', { class: `size ${q > 0 ? 'up' : q < 0 ? 'down' : ''}` }, size),
    el('td', { class: 'entry' }, p.entryPrice),
    el('td', {}, p.closingPrice ?? '–'),
    signedCell(p.cumulativePnlRealized, 'realized'),
    el('td', {}, `${p.fees} USDC`),
    signedCell(p.fundingQuantity, 'funding'),
    el('td', {}, p.closedVolume),
    el('td', { class: 'state' }, `${p.state}${p.liquidated ? ' (liquidated)' : ''}`),
    el('td', {}, p.closedAt ? dateTime(p.closedAt) : '–'),
  );
}

// data-tab -> where its rows come from; every history is read a page at a time with limit/offset
const HISTORY = {
  history: { table: '#order-history', path: '/wapi/v1/history/orders', instruction: 'orderHistoryQueryAll', row: orderHistoryRow },
  fills: { table: '#fills', path: '/wapi/v1/history/fills', instruction: 'fillHistoryQueryAll', row: fillRow },
  funding: { table: '#funding-history', path: '/wapi/v1/history/funding', instruction: 'fundingHistoryQueryAll', row: fundingRow },
  settlement: { table: '#settlement-history', path: '/wapi/v1/history/settlement', instruction: 'settlementHistoryQueryAll', row: settlementRow },
  'position-history': { table: '#position-history', path: '/wapi/v1/history/position', instruction: 'positionHistoryQueryAll', row: positionHistoryRow },
};
for (const h of Object.values(HISTORY)) Object.assign(h, { page: 0, size: 50, seq: 0 });

function activeTab() {
  const b = $('#order-tabs [data-tab].active');
  return b ? b.dataset.tab : null;
}

/** Reads one page of a history (one row more than shown, to know whether a next page exists). */
async function loadHistory(tab) {
  const h = HISTORY[tab];
  if (!h || !state.session) return;
  const seq = ++h.seq;
  try {
    const rows = await trader.signed('GET', h.path, h.instruction, { limit: h.size + 1, offset: h.page * h.size });
    if (seq !== h.seq || !state.session) return;
    renderHistoryTab(tab, rows.slice(0, h.size), rows.length > h.size);
  } catch (err) {
    showMsg('#orders-msg', errorText(err));
  }
}

function renderHistoryTab(tab, rows, hasNext) {
  const h = HISTORY[tab];
  $(`${h.table} tbody`).replaceChildren(...rows.map(h.row));
  const note = $(h.table).parentElement.querySelector('.empty-note');
  if (note) note.hidden = rows.length > 0 || h.page > 0;
  const pager = $(`.pager[data-pager='${tab}']`);
  $('.prev', pager).disabled = h.page === 0;
  $('.next', pager).disabled = !hasNext;
  $('.page-no', pager).textContent = `page ${h.page + 1}`;
  pager.hidden = h.page === 0 && rows.length === 0;
}

function clearHistories() {
  for (const [tab, h] of Object.entries(HISTORY)) {
    h.page = 0;
    h.seq += 1; // answers still on their way are dropped
    renderHistoryTab(tab, [], false);
  }
}

function wirePagers() {
  for (const [tab, h] of Object.entries(HISTORY)) {
    const pager = $(`.pager[data-pager='${tab}']`);
    $('.prev', pager).addEventListener('click', () => {
      h.page = Math.max(0, h.page - 1);
      loadHistory(tab);
    });
    $('.next', pager).addEventListener('click', () => {
      h.page += 1;
      loadHistory(tab);
    });
    $('select', pager).addEventListener('change', (e) => {
      h.size = Number(e.target.value);
      h.page = 0;
      loadHistory(tab);
    });
  }
}

function showTab(tab) {
  for (const x of $$('#order-tabs [data-tab]')) x.classList.toggle('active', x.dataset.tab === tab);
  for (const w of $$('.orders-panel .table-wrap')) w.hidden = w.dataset.tab !== tab;
  loadHistory(tab);
}

// ------------------------------------------------------------------ account

async function refreshPrivate() {
  if (!state.session) return;
  const keys = trader.keys;
  const perps = refreshPositions(); // read alongside the rest
  try {
    const [capital, orders, positions, account] = await Promise.all([
      trader.signed('GET', '/api/v1/capital', 'balanceQuery'),
      trader.signed('GET', '/api/v1/orders', 'orderQueryAll'),
      trader.signed('GET', '/api/v1/borrowLend/positions', 'borrowLendPositionQuery'),
      trader.signed('GET', '/api/v1/account', 'accountQuery'),
    ]);
    if (trader.keys !== keys) return; // the page switched wallets meanwhile
    state.capital = capital;
    state.account = account;
    state.openOrders = orders;
    state.lent = {};
    for (const p of positions) state.lent[p.symbol] = p.netQuantity;
    renderOpenOrders();
    loadHistory(activeTab()); // only the history tab on screen is read again
    renderBalances();
    updateOrderSummary();
    refreshMaxSizeSoon();
    if (!$('#page-lend').hidden) renderLendMarkets();
    if (!$('#page-account').hidden) refreshAccount();
  } catch (err) {
    showMsg('#orders-msg', errorText(err));
  }
  await perps;
}

const refreshSoon = debounce(refreshPrivate, 250);

// ------------------------------------------------------------------ perpetual positions

async function refreshPositions() {
  if (!state.session) return;
  try {
    const keys = trader.keys;
    const perps = await trader.signed('GET', '/api/v1/position', 'positionQuery');
    if (trader.keys !== keys) return;
    state.positions = Object.fromEntries(perps.map((p) => [p.symbol, p]));
    renderPositions();
  } catch (err) {
    showMsg('#orders-msg', errorText(err));
  }
}

/** account.positionUpdate: §5 keys; applied at once, then GET position (in refreshPrivate) for the liquidation price. */
function onPositionUpdate(d) {
  if (!d || !d.s) return;
  if (d.e === 'positionClosed' || Number(d.q) === 0) delete state.positions[d.s];
  else {
    const old = state.positions[d.s] || { estLiquidationPrice: '0' };
    state.positions[d.s] = {
      ...old,
      symbol: d.s,
      entryPrice: d.B,
      breakEvenPrice: d.b,
      markPrice: d.M,
      netQuantity: d.q,
      netExposureQuantity: d.Q,
      netExposureNotional: d.n,
      imf: d.f,
      mmf: d.m,
      pnlRealized: d.p,
      pnlUnrealized: d.P,
    };
  }
  renderPositions();
  refreshSoon();
}

function positionRows(closeMsg) {
  return Object.values(state.positions)
    .filter((p) => Number(p.netQuantity) !== 0)
    .sort((a, b) => a.symbol.localeCompare(b.symbol))
    .map((p) => {
      const q = Number(p.netQuantity);
      const upnl = Number(p.pnlUnrealized);
      const m = state.markets[p.symbol];
      const pd = m ? decimals(m.filters.price.tickSize) : 2;
      const margin = Math.abs(Number(p.netExposureNotional)) * Number(p.imf);
      return el(
        'tr',
        { dataset: { symbol: p.symbol, side: q > 0 ? 'long' : 'short' } },
        el('td', { class: 'symbol' }, p.symbol),
        el('td', { class: `size ${q > 0 ? 'up' : 'down'}` }, `${q > 0 ? 'Long' : 'Short'} ${p.netQuantity.replace('-', '')}`),
        el('td', { class: 'entry' }, fmt(p.entryPrice, pd)),
        el('td', { class: 'mark' }, fmt(p.markPrice, pd)),
        el('td', { class: `pnl ${upnl < 0 ? 'down' : 'up'}` }, `${upnl >= 0 ? '+' : ''}${fmt(upnl)} USDC`),
        el('td', { class: 'liq' }, Number(p.estLiquidationPrice) ? fmt(p.estLiquidationPrice, pd) : '–'),
        el('td', { class: 'margin' }, `${fmt(margin)} USDC (${pctLevel(p.imf)})`),
        el('td', {}, el('button', { class: 'small close', onclick: () => closePosition(p.symbol, closeMsg) }, 'Close')),
      );
    });
}

function renderPositions() {
  let n = 0;
  for (const [table, msg] of [['#positions', '#orders-msg'], ['#account-positions', '#account-positions-msg']]) {
    const rows = positionRows(msg);
    patchChildren($(`${table} tbody`), rows, (tr) => tr.dataset.symbol);
    $(table).parentElement.querySelector('.empty-note').hidden = rows.length > 0;
    n = rows.length; // the tab counts the rows shown (a zero-size entry is not a position)
  }
  $('#positions-tab').textContent = n ? `Positions (${n})` : 'Positions';
}

/** One click: a reduce-only market order for the whole position (as it is now), on the closing side. */
async function closePosition(symbol, msg) {
  showMsg(msg, '');
  const p = state.positions[symbol];
  if (!p) return;
  const q = Number(p.netQuantity);
  try {
    const order = await trader.signed('POST', '/api/v1/order', 'orderExecute', {
      symbol: p.symbol,
      side: q > 0 ? 'Ask' : 'Bid',
      orderType: 'Market',
      quantity: p.netQuantity.replace('-', ''),
      reduceOnly: true,
    });
    showMsg(msg, `Closing ${p.symbol}: ${order.status}, filled ${order.executedQuantity}`, 'ok');
  } catch (err) {
    showMsg(msg, errorText(err));
  }
  await refreshPrivate();
}

function renderBalances() {
  const assets = new Set([...Object.keys(state.capital), ...Object.keys(state.lent)]);
  const collateral = state.collateral ? Object.fromEntries(state.collateral.collateral.map((c) => [c.symbol, c])) : {};
  $('#balances tbody').replaceChildren(
    ...[...assets].sort().map((asset) => {
      const b = state.capital[asset] || { available: '0', locked: '0' };
      const lent = Number(state.lent[asset] || 0) > 0 ? state.lent[asset] : '0';
      // with autoLend on, the server counts the lend in `available` (orders and withdrawals redeem
      // it as they need): the lent column is then part of the available one, not added to it
      const autoLent = state.account && state.account.autoLend;
      const total = Number(b.available) + Number(b.locked) + (autoLent ? 0 : Number(lent));
      const c = collateral[asset];
      return el(
        'tr',
        { dataset: { asset } },
        el('td', {}, asset),
        el('td', { class: 'available' }, b.available),
        el('td', { class: 'locked' }, b.locked),
        el('td', { class: 'lent' }, lent),
        el('td', {}, String(Number(total.toPrecision(15)))),
        el('td', {}, c ? `${fmt(c.collateralValue)} USDC` : '–'),
      );
    }),
  );
}

async function refreshAccount() {
  if (!state.session) return;
  const keys = trader.keys;
  try {
    // the acting wallet's own figures (its key); balances and positions come from refreshPrivate
    const [summary, account, subaccounts] = await Promise.all([
      trader.signed('GET', '/api/v1/capital/collateral', 'collateralQuery'),
      trader.signed('GET', '/api/v1/account', 'accountQuery'),
      client.signed('GET', '/api/v1/subaccounts', 'subaccountQueryAll'),
    ]);
    if (trader.keys !== keys) return; // the page switched wallets meanwhile
    state.account = account; // fee rates and leverage limit of the wallet the orders come from
    state.collateral = summary;
    state.subaccounts = subaccounts;
    renderSubaccounts();
    $('#col-net-equity').textContent = `${fmt(summary.netEquity)} USDC`;
    $('#col-available').textContent = `${fmt(summary.netEquityAvailable)} USDC`;
    $('#col-locked').textContent = `${fmt(summary.netEquityLocked)} USDC`;
    $('#col-margin-fraction').textContent = summary.marginFraction === null ? '– (no positions)' : pctLevel(summary.marginFraction);
    const equity = Number(summary.netEquity);
    const exposure = Number(summary.netExposureFutures) + Number(summary.borrowLiability);
    const lev = equity > 0 ? exposure / equity : null;
    // small exposures against a large wallet still show: 0.00036×, not 0.00×
    $('#col-leverage').textContent = lev === null ? '–' : `${lev === 0 || lev >= 0.01 ? lev.toFixed(2) : lev.toPrecision(2)}×`;
    const upnl = Number(summary.pnlUnrealized);
    $('#col-upnl').textContent = `${upnl >= 0 ? '+' : ''}${fmt(upnl)} USDC`;
    $('#col-upnl').className = upnl < 0 ? 'down' : 'up';
    $('#col-fees').textContent = `${(Number(account.spotMakerFee) / 100).toFixed(2)}% / ${(Number(account.spotTakerFee) / 100).toFixed(2)}%`;
    renderLeverage(account);
    renderSettings(account);
    renderFeeTier(account);
    renderBalances();
    showMsg('#account-msg', '');
    refreshCapital();
    if (!$('#page-account').hidden) refreshCompliance();
  } catch (err) {
    showMsg('#account-msg', errorText(err));
  }
}

// ------------------------------------------------------------------ compliance (docs/compliance.md)

const PRODUCT_LABELS = { spot: 'Spot', margin: 'Margin and borrowing', perps: 'Perpetual futures', lending: 'Lending' };

function regionName(code) {
  if (!code) return '';
  try {
    const name = /^[A-Z]{2}$/.test(code) ? new Intl.DisplayNames(['en'], { type: 'region' }).of(code) : '';
    return name && name !== code ? `${name} (${code})` : code;
  } catch {
    return code;
  }
}

/** The owner's compliance profile: region, entity, level, and each product open or not with the reason. */
async function refreshCompliance() {
  if (!state.session) return;
  try {
    const p = await client.signed('GET', '/api/v1/account/compliance', 'accountComplianceQuery');
    $('#compliance-panel').dataset.level = p.level;
    $('#cp-region').textContent = p.region ? regionName(p.region) + (p.refused ? ' — refused' : '') : 'not declared';
    $('#cp-entity').textContent = `${p.entity.name} (${p.entity.licence})`;
    $('#cp-level').textContent = p.level;
    $('#cp-leverage').textContent = `${p.maxLeverage}×`;
    $('#cp-withdrawals').textContent = `${p.limits.withdrawnToday} / ${p.limits.withdrawalPerDay}`;
    state.travelRule = { threshold: p.limits.travelRuleThreshold, entity: p.entity.name };
    updateTravelRule();
    const rows = p.products.map((x) =>
      el(
        'tr',
        { dataset: { product: x.product, open: String(x.open) } },
        el('td', {}, PRODUCT_LABELS[x.product] || x.product),
        el('td', { class: x.open ? 'up' : 'down' }, x.open ? 'open' : 'closed'),
        el('td', { class: 'small' }, x.why),
      ),
    );
    patchChildren($('#compliance-products tbody'), rows, (tr) => tr.dataset.product);
    showMsg('#compliance-msg', '');
  } catch (err) {
    showMsg('#compliance-msg', inWords(err));
  }
}

/** The sign-up's region choices: every region the rules name, the refused ones apart, and "other". */
async function loadRegions() {
  const select = $('#signup-region');
  let listed;
  try {
    listed = await client.get('/api/v1/compliance/regions');
  } catch {
    return; // an exchange without the list: sign up without a region, as before
  }
  const option = (code, note) => el('option', { value: code }, `${regionName(code)}${note ? ` — ${note}` : ''}`);
  const served = el('optgroup', { label: 'Served' }, ...listed.regions.map((r) => option(r.region, `${r.entityName}, ${r.products.join(' + ')}`)));
  const refused = el('optgroup', { label: 'Not served' }, ...listed.refused.map((r) => option(r.region, 'refused')));
  select.append(served, refused, el('option', { value: 'other' }, 'Other region…'));
}

function signupRegion() {
  const chosen = $('#signup-region').value;
  return chosen === 'other' ? $('#signup-region-other').value.trim().toUpperCase() : chosen;
}

// ------------------------------------------------------------------ leverage limit (PATCH account)

/** A whole number from 1 to LEVERAGE_MAX (what `PATCH account` accepts), else null. */
function parseLeverage(text) {
  const t = String(text).trim();
  if (!/^\d{1,3}$/.test(t)) return null;
  const n = Number(t);
  return n >= 1 && n <= LEVERAGE_MAX ? n : null;
}

/** The shown account's limit and what it allows: position limit (equity × limit) and the IMF floor. */
function renderLeverage(account) {
  const lev = Number(account.leverageLimit);
  $('#lev-current').textContent = `${account.leverageLimit}×`;
  $('#col-position-limit').textContent = `${fmt(account.positionLimit)} USDC`;
  $('#col-min-imf').textContent = lev > 0 ? pctLevel(1 / lev) : '–';
  const key = `${state.acting}:${lev}`;
  if (state.shownLeverage !== key) {
    state.shownLeverage = key; // only when it changed, so a number being typed is not overwritten
    $('#lev-input').value = String(lev);
    $('#lev-range').value = String(lev);
  }
}

async function setLeverage(event) {
  event.preventDefault();
  showMsg('#lev-msg', '');
  const lev = parseLeverage($('#lev-input').value);
  if (lev === null) return showMsg('#lev-msg', `Leverage must be a whole number from 1 to ${LEVERAGE_MAX}.`);
  const params = { leverageLimit: String(lev) };
  $('#lev-set').disabled = true;
  try {
    await trader.signed('PATCH', '/api/v1/account', 'accountUpdate', params);
    showMsg('#lev-msg', `Leverage limit set to ${lev}×`, 'ok');
  } catch (err) {
    showMsg('#lev-msg', `Refused by the exchange: ${errorText(err)}`);
  } finally {
    $('#lev-set').disabled = false;
  }
  await refreshAccount();
  updateOrderSummary();
  refreshMaxSizeSoon();
}

/** The fee tier in force, why, the 30-day volume and what the next tier needs (GET /api/v1/account's
 * Rucksack extension fields; docs/api.md "Fee tiers"). Fees come in basis points. */
function renderFeeTier(account) {
  const bp = (value) => `${(Number(value) / 100).toFixed(4).replace(/0{1,2}$/, '')}%`; // 8 -> 0.08%, 5.4 -> 0.054%
  $('#ft-tier').textContent = account.feeTier;
  $('#ft-spot-fees').textContent = `${bp(account.spotMakerFee)} / ${bp(account.spotTakerFee)}`;
  $('#ft-futures-fees').textContent = `${bp(account.futuresMakerFee)} / ${bp(account.futuresTakerFee)}`;
  const why = [`volume tier ${account.volumeTier}`];
  if (account.vipLevel) why.push(`VIP ${account.vipLevel} (operator)`);
  if (account.nftVip) why.push(`NFT VIP ${account.nftVipLevel} (token ${account.nftVip.tokenId})`);
  $('#ft-why').textContent = why.join(', ');
  $('#ft-spot-volume').textContent = `${fmt(account.spotVolume30d)} USDC`;
  $('#ft-futures-volume').textContent = `${fmt(account.futuresVolume30d)} USDC`;
  const next = account.nextFeeTier;
  if (!next) {
    $('#ft-next').textContent = 'You are on the top volume tier.';
    return;
  }
  const needs = [];
  if (next.spotVolumeNeeded !== null) needs.push(`${fmt(next.spotVolumeNeeded)} USDC more spot volume`);
  if (next.futuresVolumeNeeded !== null) needs.push(`${fmt(next.futuresVolumeNeeded)} USDC more futures volume`);
  $('#ft-next').textContent = `${next.feeTier} at the next 00:00 UTC with ${needs.join(' or ')}`;
}

/** The acting wallet's automatic actions (`PATCH /api/v1/account` booleans), as checkboxes. */
function renderSettings(account) {
  for (const box of $$('#settings-panel input[data-setting]')) {
    if (!box.disabled) box.checked = Boolean(account[box.dataset.setting]); // not while a change is on its way
  }
}

async function setSetting(event) {
  const box = event.target;
  const name = box.dataset.setting;
  const label = box.parentElement.textContent.trim();
  showMsg('#settings-msg', '');
  box.disabled = true;
  try {
    await trader.signed('PATCH', '/api/v1/account', 'accountUpdate', { [name]: box.checked });
    showMsg('#settings-msg', `${label}: ${box.checked ? 'on' : 'off'} for ${walletName()}`, 'ok');
  } catch (err) {
    box.checked = !box.checked;
    showMsg('#settings-msg', `Refused by the exchange: ${errorText(err)}`);
  } finally {
    box.disabled = false;
  }
  await refreshPrivate(); // auto-lend moves idle balances into lends at once: balances and the account
}

// ------------------------------------------------------------------ subaccounts (Rucksack extension)

function renderSubaccounts() {
  const select = $('#sub-select');
  select.replaceChildren(
    el('option', { value: '0' }, 'Main account'),
    ...state.subaccounts.map((a) => el('option', { value: String(a.subaccountId) }, `${a.label || 'subaccount'} (#${a.subaccountId})`)),
  );
  select.value = String(state.acting);
  $('#xfer-to').disabled = $('#xfer-from').disabled = !state.acting;
  $('#page-account').dataset.view = String(state.acting);
  renderSubaccountKeys();
}

/** Every key bound to the main account's subaccounts, with the one this browser holds marked. */
function renderSubaccountKeys() {
  const held = (storedSession() || {}).subKeys || {};
  const rows = state.subaccounts.flatMap((a) =>
    a.apiKeys.map((key) =>
      el(
        'tr',
        { dataset: { key } },
        el('td', {}, walletName(a.subaccountId)),
        el('td', { class: 'mono' }, `${key.slice(0, 12)}…${held[a.subaccountId]?.apiKey === key ? ' · this browser' : ''}`),
        el('td', {}, el('button', { class: 'small revoke', onclick: () => revokeSubaccountKey(a.subaccountId, key) }, 'Revoke')),
      ),
    ),
  );
  patchChildren($('#sub-keys tbody'), rows, (tr) => tr.dataset.key);
  $('#sub-keys').parentElement.querySelector('.empty-note').hidden = rows.length > 0;
}

/** Unbind a subaccount's key (the main key's `DELETE /api/v1/subaccounts/apiKeys`). The page stops using
 * the key first when it is the one it acts with, so its own stream is never the one the exchange closes. */
async function revokeSubaccountKey(id, key) {
  showMsg('#sub-msg', '');
  if (trader.keys && trader.keys.apiKey === key) await actAs(0);
  try {
    await client.signed('DELETE', '/api/v1/subaccounts/apiKeys', 'subaccountApiKeyDelete', { subaccountId: id, publicKey: key });
    updateStoredSession((s) => {
      if (s.subKeys?.[id]?.apiKey === key) delete s.subKeys[id];
    });
    showMsg('#sub-msg', `Revoked key ${key.slice(0, 12)}… of ${walletName(id)}`, 'ok');
  } catch (err) {
    showMsg('#sub-msg', errorText(err));
  }
  state.subaccounts = await client.signed('GET', '/api/v1/subaccounts', 'subaccountQueryAll');
  renderSubaccounts();
}

/** "Main account" or "hedging (#5)": the wallet the page acts as. */
function walletName(id = state.acting) {
  if (!id) return 'Main account';
  const sub = state.subaccounts.find((a) => a.subaccountId === id);
  return `${(sub && sub.label) || 'subaccount'} (#${id})`;
}

/** Every place that names the acting wallet: the top bar, the order form, the orders panel, the Lend page. */
function renderActing() {
  const name = state.session ? walletName() : '';
  const key = trader.keys ? ` · key ${trader.keys.apiKey.slice(0, 6)}…` : '';
  for (const node of $$('.acting-wallet')) {
    node.textContent = name ? `Acting as ${name}${key}` : '';
    node.classList.toggle('sub', Boolean(state.acting));
  }
  document.body.dataset.acting = String(state.acting);
}

/** Reads or rewrites the stored session (main key, subaccount keys, acting wallet) where the main key is kept. */
function keyStore() {
  return localStorage.getItem(SESSION_KEY) ? localStorage : sessionStorage;
}

function storedSession() {
  return JSON.parse(keyStore().getItem(SESSION_KEY) || 'null');
}

function updateStoredSession(change) {
  const stored = storedSession();
  if (!stored) return;
  change(stored);
  keyStore().setItem(SESSION_KEY, JSON.stringify(stored));
}

/** The subaccount's key kept in this page while the exchange still lists it, else a fresh one bound by the main key. */
async function subaccountKeys(id) {
  state.subaccounts = await client.signed('GET', '/api/v1/subaccounts', 'subaccountQueryAll');
  const sub = state.subaccounts.find((a) => a.subaccountId === id);
  if (!sub) throw new ApiError(404, 'RESOURCE_NOT_FOUND', 'Subaccount not found');
  const held = ((storedSession() || {}).subKeys || {})[id];
  if (held && sub.apiKeys.includes(held.apiKey)) return { keys: await Keys.fromStrings(held.apiKey, held.secret), fresh: false };
  const keys = await Keys.generate(); // the seed never leaves this page, as for the main key
  await client.signed('POST', '/api/v1/subaccounts/apiKeys', 'subaccountApiKeyCreate', { subaccountId: id, publicKey: keys.apiKey });
  updateStoredSession((s) => {
    s.subKeys = { ...s.subKeys, [id]: { apiKey: keys.apiKey, secret: keys.secret() } };
  });
  sub.apiKeys.push(keys.apiKey);
  return { keys, fresh: true };
}

/** Clears what was read with the previous wallet's key. */
function clearPrivate() {
  Object.assign(state, { account: null, capital: {}, lent: {}, openOrders: [], positions: {}, collateral: null, shownLeverage: null });
  renderOpenOrders();
  renderPositions();
  clearHistories();
  clearCapital();
  renderBalances();
  updateOrderSummary();
}

/** The private streams, signed with the acting wallet's key (re-subscribing moves the connection to it). */
function subscribeActing() {
  streams.unsubscribePrivate();
  streams.subscribePrivate({
    'account.orderUpdate': () => refreshSoon(),
    'account.balanceUpdate': () => refreshSoon(),
    'account.positionUpdate': onPositionUpdate,
  });
}

/** Acts as subaccount `id` with its own key (made and registered when needed), or as the main account (0). */
async function actAs(id) {
  showMsg('#sub-msg', '');
  let ok = true;
  try {
    const got = id ? await subaccountKeys(id) : { keys: client.keys, fresh: false };
    trader.keys = got.keys;
    state.acting = id;
    if (got.fresh) showMsg('#sub-msg', `New key for ${walletName(id)} made in this browser and registered`, 'ok');
  } catch (err) {
    showMsg('#sub-msg', `Cannot act as subaccount #${id}: ${errorText(err)}`);
    [trader.keys, state.acting, ok] = [client.keys, 0, false];
  }
  updateStoredSession((s) => {
    s.acting = state.acting;
  });
  clearPrivate();
  renderSubaccounts();
  renderActing();
  subscribeActing();
  if ($('#page-account').hidden) await refreshAccount(); // on the Account page refreshPrivate reads it
  await refreshPrivate();
  return ok;
}

async function createSubaccount() {
  showMsg('#sub-msg', '');
  try {
    const label = $('#sub-label').value.trim();
    const created = await client.signed('POST', '/api/v1/subaccounts', 'subaccountCreate', { label });
    $('#sub-label').value = '';
    state.subaccounts.push({ ...created, apiKeys: [] });
    if (await actAs(created.subaccountId)) showMsg('#sub-msg', `Created subaccount #${created.subaccountId}; acting as it with a new key`, 'ok');
  } catch (err) {
    showMsg('#sub-msg', errorText(err));
  }
}

async function transferSub(toSub) {
  showMsg('#sub-msg', '');
  const symbol = $('#xfer-asset').value;
  const quantity = $('#xfer-qty').value.trim();
  if (!quantity) return showMsg('#sub-msg', 'Enter a quantity.');
  const params = { symbol, quantity };
  params[toSub ? 'toSubaccountId' : 'fromSubaccountId'] = state.acting;
  try {
    await client.signed('POST', '/api/v1/subaccounts/transfer', 'subaccountTransfer', params);
    $('#xfer-qty').value = '';
    showMsg('#sub-msg', `Moved ${quantity} ${symbol} ${toSub ? 'to' : 'from'} subaccount #${state.acting}`, 'ok');
  } catch (err) {
    showMsg('#sub-msg', errorText(err));
  }
  refreshPrivate(); // on the Account page, where the transfer buttons are, this reads the account's figures too
}

// ------------------------------------------------------------------ deposits and withdrawals (docs/chains.md)

/** The account page's custody panels, read for the acting wallet: assets once, the rest every refresh. */
async function refreshCapital() {
  if (!state.session || $('#page-account').hidden) return; // showing the page reads it
  if (!state.assets) {
    try {
      state.assets = await client.get('/api/v1/assets');
    } catch (err) {
      showMsg('#deposit-msg', `Cannot read the exchange's assets: ${inWords(err)}`);
      return;
    }
    fillCapitalAssets();
  }
  if (state.depositFor !== trader.keys) {
    state.depositFor = trader.keys;
    loadDepositAddress();
  }
  refreshWithdrawLimit();
  loadCapitalHistory();
}

/** The blockchains `symbol` may be deposited (`depositEnabled`) or withdrawn (`withdrawEnabled`) on. */
function chainsOf(symbol, flag) {
  const a = (state.assets || []).find((x) => x.symbol === symbol);
  return ((a && a.tokens) || []).filter((t) => t[flag]);
}

function fillCapitalAssets() {
  for (const [panel, flag, what] of [['deposit', 'depositEnabled', 'Deposits'], ['withdraw', 'withdrawEnabled', 'Withdrawals']]) {
    const select = $(`#${panel}-asset`);
    const usable = (state.assets || []).filter((a) => chainsOf(a.symbol, flag).length);
    select.replaceChildren(...usable.map((a) => el('option', { value: a.symbol }, a.symbol)));
    const none = usable.length === 0;
    $(`#${panel}-panel`).dataset.state = none ? 'no-chain' : 'ready';
    for (const node of $$(`#${panel}-panel select, #${panel}-panel input, #${panel}-panel button`)) node.disabled = none;
    showMsg(
      `#${panel}-msg`,
      none
        ? `${what} are off: this exchange has no blockchain attached (it runs without --chain-rpc), so no asset can move on chain.`
        : '',
      'info',
    );
    fillCapitalChains(panel);
  }
  $('#deposit-note').hidden = $('#deposit-panel').dataset.state === 'no-chain';
}

function fillCapitalChains(panel) {
  const flag = panel === 'deposit' ? 'depositEnabled' : 'withdrawEnabled';
  const select = $(`#${panel}-chain`);
  const keep = select.value;
  const tokens = chainsOf($(`#${panel}-asset`).value, flag);
  select.replaceChildren(...tokens.map((t) => el('option', { value: t.blockchain }, t.displayName || t.blockchain)));
  if (tokens.some((t) => t.blockchain === keep)) select.value = keep;
  if (panel === 'withdraw') {
    const t = tokens.find((x) => x.blockchain === select.value);
    $('#withdraw-min').textContent = t && t.minimumWithdrawal ? `(minimum ${t.minimumWithdrawal}, fee ${t.withdrawalFee || '0'})` : '';
  }
}

/** Custody errors in words: a server without custody says so; anything else is the exchange's refusal. */
function custodyErrorText(err, what) {
  if (err instanceof ApiError && (err.status === 503 || err.code === 'SERVICE_UNAVAILABLE')) {
    return `${what} are not available on this exchange: ${err.apiMessage}.`;
  }
  return `Refused by the exchange: ${errorText(err)}`;
}

let depositSeq = 0;

async function loadDepositAddress() {
  const seq = ++depositSeq;
  const keys = trader.keys;
  const blockchain = $('#deposit-chain').value;
  $('#deposit-address-row').hidden = true;
  $('#deposit-address').value = '';
  if (!blockchain || !state.session) return;
  try {
    const got = await trader.signed('GET', '/wapi/v1/capital/deposit/address', 'depositAddressQuery', { blockchain });
    if (seq !== depositSeq || trader.keys !== keys) return;
    $('#deposit-address').value = got.address;
    $('#deposit-address-row').hidden = false;
    showMsg('#deposit-msg', '');
  } catch (err) {
    if (seq === depositSeq) showMsg('#deposit-msg', custodyErrorText(err, 'Deposits'));
  }
}

async function copyDepositAddress() {
  const input = $('#deposit-address');
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    input.select(); // no clipboard permission: the address is selected for the user to copy
    if (!document.execCommand('copy')) return showMsg('#deposit-msg', 'Copying is blocked here: the address is selected, copy it yourself.');
  }
  showMsg('#deposit-msg', 'Address copied', 'ok');
}

let withdrawLimitSeq = 0;

/** `GET /api/v1/account/limits/withdrawal`: what margin lets leave the acting wallet now. */
async function refreshWithdrawLimit() {
  const out = $('#withdraw-limit');
  const symbol = $('#withdraw-asset').value;
  const seq = ++withdrawLimitSeq;
  if (!symbol || !state.session) {
    out.textContent = '–';
    delete out.dataset.qty;
    return;
  }
  try {
    const got = await trader.signed('GET', '/api/v1/account/limits/withdrawal', 'maxWithdrawalQuantity', { symbol });
    if (seq !== withdrawLimitSeq) return;
    out.textContent = `${got.maxWithdrawalQuantity} ${symbol}`;
    out.dataset.qty = got.maxWithdrawalQuantity;
  } catch (err) {
    if (seq === withdrawLimitSeq) out.textContent = `– (${errorText(err)})`;
  }
}

// ---- the Travel Rule (docs/compliance.md): the owner's entity needs the originator and the
// beneficiary for a chain withdrawal worth at least its threshold (USD at the index, the server's
// check); the page estimates the value at the last price and asks before sending, and a refusal
// that names the Travel Rule opens the form too (the estimate is only an estimate).

/** The withdrawal's USD value at the asset's last USDC price, or null when the page has no price. */
function withdrawValue() {
  const symbol = $('#withdraw-asset').value;
  const qty = Number($('#withdraw-qty').value);
  if (!symbol || !(qty > 0)) return null;
  if (symbol === 'USDC') return qty;
  const t = state.tickers[`${symbol}_USDC`];
  return t && Number(t.lastPrice) > 0 ? qty * Number(t.lastPrice) : null;
}

/** Show the Travel Rule fields when this withdrawal needs them (or `force`: the exchange said so). */
function updateTravelRule(force = false) {
  const box = $('#travel-rule');
  const rule = state.travelRule;
  let needed = force || box.dataset.forced === '1';
  if (!needed && rule && rule.threshold !== 'unlimited') {
    const threshold = Number(rule.threshold);
    const value = withdrawValue();
    needed = threshold === 0 || (value !== null && value >= threshold);
  }
  if (force) box.dataset.forced = '1';
  box.hidden = !needed;
  if (needed && rule) {
    $('#travel-rule-why').textContent =
      rule.threshold === 'unlimited' || Number(rule.threshold) === 0
        ? `${rule.entity} must send the originator and the beneficiary of every withdrawal with it (the Travel Rule).`
        : `${rule.entity} must send the originator and the beneficiary of a withdrawal worth ${rule.threshold} USD or more with it (the Travel Rule).`;
  }
  $('#tr-vasp-label').hidden = $('#tr-wallet-type').value !== 'hosted';
}

/** The form's Travel Rule details as Backpack's `recipientInformation` (JSON text, as the sdk sends
 * it), or a message naming what is missing. */
function travelRuleInfo() {
  const v = (id) => $(id).value.trim();
  const info = {
    originatorName: v('#tr-originator-name'),
    originatorAddress: v('#tr-originator-address'),
    beneficiaryName: v('#tr-beneficiary-name'),
    walletType: $('#tr-wallet-type').value,
  };
  if (info.walletType === 'hosted') info.beneficiaryVasp = v('#tr-beneficiary-vasp');
  if (!info.originatorName || !info.originatorAddress) return { missing: 'Enter your full name and address (the Travel Rule).' };
  if (!info.beneficiaryName) return { missing: "Enter the beneficiary's full name (the Travel Rule)." };
  if (info.walletType === 'hosted' && !info.beneficiaryVasp) {
    return { missing: "Name the beneficiary's exchange, or choose a self-hosted wallet (the Travel Rule)." };
  }
  return { text: JSON.stringify(info) };
}

function isTravelRuleRefusal(err) {
  return err instanceof ApiError && err.code === 'INVALID_CLIENT_REQUEST' && /Travel Rule/.test(err.apiMessage || '');
}

async function submitWithdraw(event) {
  event.preventDefault();
  showMsg('#withdraw-msg', '');
  const params = {
    symbol: $('#withdraw-asset').value,
    blockchain: $('#withdraw-chain').value,
    address: $('#withdraw-address').value.trim(),
    quantity: $('#withdraw-qty').value.trim(),
  };
  if (!params.symbol || !params.blockchain) return showMsg('#withdraw-msg', 'Choose an asset and a blockchain.');
  if (!params.address) return showMsg('#withdraw-msg', 'Enter the destination address.');
  if (!/^\d+(\.\d+)?$/.test(params.quantity) || !(Number(params.quantity) > 0)) {
    return showMsg('#withdraw-msg', 'Enter a positive quantity, e.g. 12.5.');
  }
  updateTravelRule();
  if (!$('#travel-rule').hidden) {
    const tr = travelRuleInfo();
    if (tr.missing) return showMsg('#withdraw-msg', tr.missing);
    params.recipientInformation = tr.text;
  }
  $('#withdraw-submit').disabled = true;
  try {
    const w = await trader.signed('POST', '/wapi/v1/capital/withdrawals', 'withdraw', params);
    showMsg('#withdraw-msg', `Withdrawal ${w.id}: ${w.quantity} ${w.symbol} to ${w.toAddress} on ${w.blockchain}: ${w.status}`, 'ok');
    $('#withdraw-qty').value = '';
    delete $('#travel-rule').dataset.forced;
    updateTravelRule();
  } catch (err) {
    if (isTravelRuleRefusal(err)) {
      updateTravelRule(true);
      return showMsg('#withdraw-msg', `The exchange needs the Travel Rule details for this withdrawal: fill them in below and send again. (${errorText(err)})`);
    }
    showMsg('#withdraw-msg', custodyErrorText(err, 'Withdrawals'));
  } finally {
    $('#withdraw-submit').disabled = false;
  }
  showCapitalTab('withdrawals');
  await refreshPrivate(); // balances, the max and both histories
}

function hashCell(hash) {
  return el('td', { class: 'hash mono', title: hash || '' }, hash || '–');
}

function depositRow(d) {
  return el(
    'tr',
    { dataset: { id: String(d.id), status: d.status } },
    el('td', {}, dateTime(d.createdAt)),
    el('td', {}, d.symbol),
    el('td', { class: 'qty' }, d.quantity),
    el('td', {}, d.source),
    el('td', { class: 'status' }, d.status),
    hashCell(d.transactionHash),
  );
}

function withdrawalRow(w) {
  return el(
    'tr',
    { dataset: { id: String(w.id), status: w.status } },
    el('td', {}, dateTime(w.createdAt)),
    el('td', {}, w.symbol),
    el('td', { class: 'qty' }, w.quantity),
    el('td', {}, w.blockchain || (w.isInternal ? 'internal' : '–')),
    el('td', { class: 'mono to', title: w.toAddress || '' }, w.toAddress || '–'),
    el('td', { class: `status ${w.status === 'refunded' || w.status === 'declined' ? 'down' : ''}`.trim() }, w.status),
    hashCell(w.transactionHash),
    el('td', { class: 'refund' }, w.refundReason || '–'), // Rucksack extension, when the server gives one
  );
}

let capitalSeq = 0;

async function loadCapitalHistory() {
  if (!state.session) return;
  const keys = trader.keys;
  const seq = ++capitalSeq;
  try {
    const [deposits, withdrawals] = await Promise.all([
      trader.signed('GET', '/wapi/v1/capital/deposits', 'depositQueryAll', { limit: 50 }),
      trader.signed('GET', '/wapi/v1/capital/withdrawals', 'withdrawalQueryAll', { limit: 50 }),
    ]);
    if (seq !== capitalSeq || trader.keys !== keys) return;
    const newest = (a, b) => String(b.createdAt).localeCompare(String(a.createdAt));
    renderCapitalTable('#deposit-history', deposits.sort(newest).map(depositRow));
    renderCapitalTable('#withdrawal-history', withdrawals.sort(newest).map(withdrawalRow));
    showMsg('#capital-history-msg', '');
  } catch (err) {
    if (seq === capitalSeq) showMsg('#capital-history-msg', inWords(err));
  }
}

function renderCapitalTable(table, rows) {
  $(`${table} tbody`).replaceChildren(...rows);
  $(table).parentElement.querySelector('.empty-note').hidden = rows.length > 0;
}

function showCapitalTab(tab) {
  for (const b of $$('#capital-tabs [data-tab]')) b.classList.toggle('active', b.dataset.tab === tab);
  for (const w of $$('#capital-history-panel [data-capital]')) w.hidden = w.dataset.capital !== tab;
}

function clearCapital() {
  state.depositFor = null;
  depositSeq += 1;
  capitalSeq += 1;
  $('#deposit-address-row').hidden = true;
  $('#deposit-address').value = '';
  $('#withdraw-limit').textContent = '–';
  renderCapitalTable('#deposit-history', []);
  renderCapitalTable('#withdrawal-history', []);
}

// ------------------------------------------------------------------ lend and borrow

async function loadLendMarkets() {
  try {
    state.lendMarkets = await client.get('/api/v1/borrowLend/markets');
    renderLendMarkets();
  } catch (err) {
    showMsg('#lend-msg', errorText(err));
  }
}

// Rucksack's markets carry `rateCurve` (an extension; Backpack publishes only optimalUtilization).
function curveAprs(c, u) {
  const [r0, r1, r2, opt, fee] = [c.baseApr, c.slope1Apr, c.slope2Apr, c.optimalUtilization, c.fee].map(Number);
  const borrow = u <= opt ? r0 + (r1 * u) / opt : r0 + r1 + (r2 * (u - opt)) / (1 - opt);
  return [borrow, borrow * u * (1 - fee)];
}

const SVG_NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(c ?? ''));
  return node;
}

// Borrow and lend APR against utilization 0..1, the optimal and max utilization dashed, the pool's
// current utilization marked on both curves.
function rateCurveSvg(m) {
  const c = m.rateCurve;
  if (!c) return '–';
  const [W, H, L, R, T, B] = [180, 90, 4, 4, 12, 14];
  const opt = Number(c.optimalUtilization);
  const u = Math.min(1, Math.max(0, Number(m.utilization) || 0));
  const top = Math.max(curveAprs(c, 1)[0], 1e-9);
  const x = (v) => (L + v * (W - L - R)).toFixed(1);
  const y = (r) => (H - B - (r / top) * (H - B - T)).toFixed(1);
  const points = (side) => [0, opt, 1].map((v) => `${x(v)},${y(curveAprs(c, v)[side])}`).join(' ');
  // the lend curve is quadratic in U: sample it
  const lendPts = Array.from({ length: 41 }, (_, i) => i / 40)
    .concat([opt])
    .sort((a, b) => a - b)
    .map((v) => `${x(v)},${y(curveAprs(c, v)[1])}`)
    .join(' ');
  const [nowBorrow, nowLend] = curveAprs(c, u);
  const vline = (v, cls) => svg('line', { class: cls, x1: x(v), x2: x(v), y1: T, y2: H - B });
  return svg(
    'svg',
    { class: 'rate-curve', viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': `${m.symbol} rate curve` },
    svg('title', {}, `${m.symbol}: borrow and lend APR vs utilization (now ${pctLevel(u)})`),
    svg('line', { class: 'axis', x1: x(0), x2: x(1), y1: H - B, y2: H - B }),
    vline(opt, 'optimal'),
    Number(c.maxUtilization) < 1 ? vline(Number(c.maxUtilization), 'max') : '',
    svg('polyline', { class: 'borrow', points: points(0) }),
    svg('polyline', { class: 'lend', points: lendPts }),
    vline(u, 'now'),
    svg('circle', { class: 'now borrow', cx: x(u), cy: y(nowBorrow), r: 3 }),
    svg('circle', { class: 'now lend', cx: x(u), cy: y(nowLend), r: 3 }),
    svg('text', { x: x(0), y: T - 3 }, `borrow APR ≤ ${(top * 100).toFixed(0)}%`),
    svg('text', { x: x(0), y: H - 3 }, '0'),
    svg('text', { x: x(1), y: H - 3, 'text-anchor': 'end' }, 'U 100%'),
  );
}

function renderLendMarkets() {
  const body = $('#lend-markets tbody');
  // kept rows keep their amount input, so a half-typed amount survives the table's refreshes
  patchChildren(
    body,
    state.lendMarkets.map((m) => {
      const position = Number(state.lent[m.symbol] || 0);
      const amount = el('input', { class: 'amount', inputmode: 'decimal', placeholder: m.stepSize, 'aria-label': `${m.symbol} amount` });
      const rowMsg = el('div', { class: 'msg', role: 'alert' });
      const [text, kind] = state.lendMsgs[m.symbol] || ['', ''];
      showMsg(rowMsg, text, kind);
      const act = (side) => lendAction(m.symbol, side, amount);
      return el(
        'tr',
        { dataset: { asset: m.symbol } },
        el('td', { class: 'asset' }, m.symbol),
        el('td', { 'data-label': 'Utilization' }, pctLevel(m.utilization)),
        el('td', { class: 'up', 'data-label': 'Lend APY' }, pctLevel(m.lendInterestRate)),
        el('td', { 'data-label': 'Borrow APY' }, pctLevel(m.borrowInterestRate)),
        el('td', { 'data-label': 'Total lent' }, m.lentQuantity),
        el('td', { 'data-label': 'Total borrowed' }, m.borrowedQuantity),
        el('td', { class: 'curve', 'data-label': 'Rate curve' }, rateCurveSvg(m)),
        el(
          'td',
          { class: 'position', 'data-label': 'Yours' },
          position > 0 ? `lent ${position}` : position < 0 ? `borrowed ${-position}` : '–',
        ),
        el('td', { class: 'amount-cell' }, amount),
        el(
          'td',
          { class: 'action-cell' },
          el(
            'div',
            { class: 'actions' },
            el('button', { class: 'small lend', onclick: () => act('Lend') }, position < 0 ? 'Repay' : 'Lend'),
            el('button', { class: 'small redeem', onclick: () => act('Borrow') }, position > 0 ? 'Redeem' : 'Borrow'),
            rowMsg,
          ),
        ),
      );
    }),
    (tr) => tr.dataset.asset,
  );
  for (const b of $$('button', body)) b.disabled = !state.session;
}

async function lendAction(symbol, side, input) {
  const quantity = input.value.trim();
  const lent = Number(state.lent[symbol] || 0);
  const done = side === 'Lend' ? (lent < 0 ? 'Repaid' : 'Lent') : lent > 0 ? 'Redeemed' : 'Borrowed';
  if (!quantity) state.lendMsgs[symbol] = ['Enter an amount.', 'error'];
  else {
    try {
      await trader.signed('POST', '/api/v1/borrowLend', 'borrowLendExecute', { symbol, side, quantity });
      state.lendMsgs[symbol] = [`${done} ${quantity} ${symbol}`, 'ok'];
      input.value = '';
    } catch (err) {
      state.lendMsgs[symbol] = [errorText(err), 'error'];
    }
  }
  renderLendMarkets();
  await refreshPrivate();
  await loadLendMarkets();
}

// ------------------------------------------------------------------ signing in

function saveSession(session, keys, persistent) {
  const stored = JSON.stringify({ ...session, secret: keys.secret() });
  (persistent ? localStorage : sessionStorage).setItem(SESSION_KEY, stored);
  (persistent ? sessionStorage : localStorage).removeItem(SESSION_KEY);
}

async function useKeys(keys, session) {
  client.keys = keys;
  state.session = session;
  $('#session-label').textContent = `${session.accountId ? `Account ${session.accountId} · ` : ''}key ${keys.apiKey.slice(0, 6)}…`;
  $('#start-trading').hidden = true;
  $('#signup-region').hidden = true;
  $('#signup-region-other').hidden = true;
  $('#signup-referral').hidden = true;
  $('#show-apikey').hidden = true;
  $('#sign-out').hidden = false;
  $('#apikey-form').hidden = true;
  document.body.classList.add('signed-in');
  await actAs(session.acting || 0); // the wallet chosen before a reload, with its stored key
  if (!$('#page-lend').hidden) renderLendMarkets();
  if (!$('#page-points').hidden) loadGrowth();
  if (!$('#page-vaults').hidden) loadVaults(client, trader, true);
}

function signOut() {
  localStorage.removeItem(SESSION_KEY);
  sessionStorage.removeItem(SESSION_KEY);
  streams.unsubscribePrivate();
  client.keys = null;
  trader.keys = null;
  Object.assign(state, { session: null, subaccounts: [], acting: 0 });
  document.body.classList.remove('signed-in');
  renderActing();
  $('#session-label').textContent = '';
  $('#start-trading').hidden = false;
  $('#signup-region').hidden = false;
  $('#signup-region-other').hidden = $('#signup-region').value !== 'other';
  $('#signup-referral').hidden = false;
  $('#show-apikey').hidden = false;
  $('#sign-out').hidden = true;
  clearPrivate();
  refreshMaxSize();
  renderLendMarkets();
}

async function startTrading() {
  const button = $('#start-trading');
  showMsg('#session-msg', '');
  button.disabled = true;
  try {
    const keys = await Keys.generate(); // the seed never leaves this page
    const region = signupRegion();
    const referralCode = $('#signup-referral').value.trim().toUpperCase(); // tied to its referrer for good
    const created = await client.request('POST', '/api/v1/sandbox/signup', { publicKey: keys.apiKey, label: 'web', region, referralCode });
    const session = { apiKey: keys.apiKey, accountId: created.accountId, sandbox: true };
    saveSession(session, keys, true);
    await useKeys(keys, session);
    const where = region ? ` as a resident of ${regionName(region)}: the Account page shows what is open to you` : '';
    showMsg('#session-msg', `Sandbox account funded${where}`, 'ok');
  } catch (err) {
    showMsg('#session-msg', signupErrorText(err, signupRegion()));
  } finally {
    button.disabled = false;
  }
}

function signupErrorText(err, region) {
  if (!(err instanceof ApiError)) return errorText(err);
  if (err.status === 400 && /referral/i.test(err.apiMessage)) return `The referral code was not accepted: ${err.apiMessage}.`;
  if (err.status === 403 && region) {
    return `Residents of ${regionName(region)} cannot sign up here: the exchange's rules refuse that region (${err.apiMessage}; ${err.code}).`;
  }
  if (err.status === 403 || err.status === 404) return 'This exchange is not in sandbox mode: sign in with an API key.';
  if (err.status === 400 && region) return `The region "${region}" was not accepted: ${err.apiMessage} (${err.code}). Use an ISO 3166 code such as BR.`;
  return inWords(err);
}

async function apiKeySignIn(event) {
  event.preventDefault();
  showMsg('#apikey-msg', '');
  try {
    const keys = await Keys.fromStrings($('#apikey-key').value, $('#apikey-secret').value);
    client.keys = keys;
    await client.signed('GET', '/api/v1/account', 'accountQuery'); // proves the key is known here
    const session = { apiKey: keys.apiKey, sandbox: false };
    saveSession(session, keys, $('#apikey-remember').checked);
    $('#apikey-secret').value = '';
    await useKeys(keys, session);
  } catch (err) {
    client.keys = null;
    showMsg('#apikey-msg', errorText(err));
  }
}

async function restoreSession() {
  const stored = localStorage.getItem(SESSION_KEY) || sessionStorage.getItem(SESSION_KEY);
  if (!stored) return;
  try {
    const s = JSON.parse(stored);
    const keys = await Keys.fromStrings(s.apiKey, s.secret);
    await useKeys(keys, { apiKey: s.apiKey, accountId: s.accountId, sandbox: s.sandbox, acting: s.acting });
  } catch (err) {
    showMsg('#session-msg', `Stored key not usable: ${errorText(err)}`);
  }
}

// ------------------------------------------------------------------ reserves (docs/reserves.md)

/** Base-10 atoms (a string, possibly beyond 2^53) as a decimal of whole units. */
function units(atoms, decimals) {
  const v = BigInt(atoms);
  const neg = v < 0n;
  const digits = (neg ? -v : v).toString().padStart(decimals + 1, '0');
  const whole = digits.slice(0, digits.length - decimals).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const frac = decimals ? digits.slice(digits.length - decimals).replace(/0+$/, '') : '';
  return (neg ? '-' : '') + whole + (frac ? '.' + frac : '');
}

async function loadReserves() {
  try {
    state.reserves = await client.get('/api/v1/reserves/snapshot');
    showMsg('#reserves-msg', '');
  } catch (err) {
    showMsg('#reserves-msg', reservesErrorText(err));
    return;
  }
  renderReserves();
  await loadChain();
}

/** The public chain of commitments (GET /api/v1/chain), verified here; the newest 20 records shown. */
async function loadChain() {
  let records;
  try {
    records = (await client.get('/api/v1/chain')).records;
  } catch (err) {
    showMsg('#chain-msg', inWords(err));
    return;
  }
  const verdict = await verifyChain(records);
  const table = $('#chain-table');
  table.dataset.verdict = verdict.ok ? 'pass' : 'fail';
  table.dataset.records = String(records.length);
  showMsg('#chain-msg', verdict.ok
    ? `${records.length} signed records, every signature and link verified in your browser`
    : `Chain verification FAILED: ${verdict.problems[0]}`, verdict.ok ? 'ok' : 'error');
  const snap = state.reserves && state.reserves.checkpoint;
  $('#por-checkpoint').textContent = snap
    ? `The snapshot above was cut at checkpoint seq ${snap.seq}, whose record carries its Merkle-sum root.`
    : '';
  $('#chain-table tbody').replaceChildren(
    ...records.slice(-20).reverse().map((r) => el('tr', { dataset: { seq: String(r.seq) } },
      el('td', {}, String(r.seq)),
      el('td', {}, new Date(Math.floor(r.ts_us / 1000)).toISOString().replace('T', ' ').slice(0, 19)),
      el('td', {}, String(r.segment.last - r.segment.first + 1)),
      el('td', {}, String(r.segment.size)),
      el('td', { class: 'mono' }, r.state_hash.slice(0, 16) + '…'),
      el('td', { class: 'mono liabilities' }, r.liabilities_root ? r.liabilities_root.slice(0, 16) + '…' : '–'))),
  );
}

/** When a snapshot was cut, e.g. "2026-12-07 22:58:03 UTC". */
function snapshotTime(snapshot) {
  return new Date(Math.floor(snapshot.ts_us / 1000)).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
}

function reservesErrorText(err) {
  if (err instanceof ApiError && err.code === 'RESOURCE_NOT_FOUND') {
    return 'No proof-of-reserves snapshot has been published yet: the exchange publishes one periodically, check back later.';
  }
  return inWords(err);
}

/** The proof endpoint's 404: the account is newer than the snapshot; said in words, with the snapshot's time. */
function notInSnapshotText() {
  const who = state.session && state.session.accountId ? `Your account (${state.session.accountId})` : 'Your account';
  if (!state.reserves) return `${who} is not in the latest proof-of-reserves snapshot.`;
  const { snapshot } = state.reserves;
  return `${who} is not in the latest snapshot (seq ${snapshot.seq}, cut at ${snapshotTime(snapshot)}): it was opened after ` +
    'that snapshot was taken. Your proof will be there from the next snapshot on.';
}

function renderReserves() {
  const { snapshot, reserves } = state.reserves;
  $('#por-seq').textContent = String(snapshot.seq);
  $('#por-time').textContent = snapshotTime(snapshot);
  $('#por-depth').textContent = String(snapshot.depth);
  $('#por-root').textContent = snapshot.root;
  $('#por-key').textContent = snapshot.public_key;
  const held = {};
  for (const h of (reserves && reserves.holdings) || []) held[h.asset] = (held[h.asset] || 0n) + BigInt(h.balance);
  $('#reserves-table tbody').replaceChildren(
    ...snapshot.assets.map((a) => {
      const net = BigInt(a.total_equity) - BigInt(a.total_debt);
      const have = held[a.symbol];
      const covered = have !== undefined && have >= net;
      const ratio = have === undefined ? '–' : net > 0n ? `${(Number((have * 10000n) / net) / 100).toFixed(2)}%` : '∞';
      return el('tr', { dataset: { asset: a.symbol, covered: String(covered) } },
        el('td', {}, a.symbol),
        el('td', { class: 'equity' }, units(a.total_equity, a.decimals)),
        el('td', { class: 'debt' }, units(a.total_debt, a.decimals)),
        el('td', { class: 'net' }, units(net.toString(), a.decimals)),
        el('td', { class: 'reserves' }, have === undefined ? '–' : units(have.toString(), a.decimals)),
        el('td', { class: covered ? 'coverage up' : 'coverage down' }, ratio),
        el('td', { class: 'muted' }, `${a.price} ${snapshot.price_asset}`));
    }),
  );
  const sources = new Set(((reserves && reserves.holdings) || []).map((h) => h.source));
  if (sources.size) $('#por-source').textContent = `Reserves source: ${[...sources].join(', ')}. Totals are the signed sums of every customer account's leaf.`;
}

async function checkProof() {
  showMsg('#proof-msg', '');
  delete $('#proof-msg').dataset.reason;
  $('#proof-result').hidden = true;
  $('#check-proof').disabled = true;
  try {
    if (!state.reserves) await loadReserves();
    if (!state.reserves) return;
    const got = await client.signed('GET', '/api/v1/reserves/proof', 'reservesProofQuery', {});
    if (got.seq !== state.reserves.seq) await loadReserves(); // a newer snapshot was published meanwhile
    if (got.included === false) { // opened after the snapshot: when it will be in one (the server's estimate)
      const due = got.nextSnapshotAt ? new Date(got.nextSnapshotAt).toISOString().replace('T', ' ').slice(0, 16) + ' UTC' : null;
      showMsg('#proof-msg', notInSnapshotText() + (due ? ` The next snapshot is due at ${due}.` : ''), 'info');
      $('#proof-msg').dataset.reason = 'not-in-snapshot';
      return;
    }
    const { snapshot } = state.reserves;
    const mine = (state.session && state.session.accountId) || got.account;
    const result = await verifyProof(snapshot, got.proof, mine);
    const decimals = Object.fromEntries(snapshot.assets.map((a) => [a.symbol, a.decimals]));
    $('#proof-balances tbody').replaceChildren(
      ...got.proof.assets.map((s, i) => el('tr', { dataset: { asset: s } }, el('td', {}, s),
        el('td', { class: 'equity' }, units(got.proof.equity[i], decimals[s])),
        el('td', { class: 'debt' }, units(got.proof.debt[i], decimals[s])))),
    );
    $('#proof-checks').replaceChildren(
      ...result.checks.map((c) => el('li', { class: c.ok ? 'pass' : 'fail', dataset: { check: c.name } }, `${c.name}: ${c.detail}`)),
    );
    $('#proof-result').hidden = false;
    $('#proof-result').dataset.verdict = result.ok ? 'pass' : 'fail';
    showMsg('#proof-msg', result.ok
      ? `Verified in your browser: account ${got.account} is in snapshot ${snapshot.seq}`
      : 'Verification FAILED: see the checks below', result.ok ? 'ok' : 'error');
  } catch (err) {
    if (err instanceof ApiError && err.code === 'RESOURCE_NOT_FOUND') {
      await loadReserves(); // name the snapshot the server answered from (a newer one may have been published)
      showMsg('#proof-msg', state.reserves ? notInSnapshotText() : reservesErrorText(err), 'info');
      $('#proof-msg').dataset.reason = state.reserves ? 'not-in-snapshot' : 'no-snapshot';
    } else {
      showMsg('#proof-msg', inWords(err));
    }
  } finally {
    $('#check-proof').disabled = false;
  }
}

// ------------------------------------------------------------------ wiring

function wire() {
  for (const b of $$('#nav button')) b.addEventListener('click', () => showPage(b.dataset.page));
  for (const b of $$('.side-toggle button')) b.addEventListener('click', () => setSide(b.dataset.side));
  for (const b of $$('#order-tabs [data-tab]')) b.addEventListener('click', () => showTab(b.dataset.tab));
  wirePagers();
  wireConsole();
  wireGrowth(client);
  $('#signup-referral').value = referralFromUrl();
  $('#order-type').addEventListener('change', setOrderType);
  $('#order-postonly').addEventListener('change', setOrderType);
  $('#order-reduceonly').addEventListener('change', refreshMaxSizeSoon);
  $('#order-price').addEventListener('input', refreshMaxSizeSoon);
  for (const id of ['#order-price', '#order-qty', '#order-trigger', '#order-tp', '#order-tp-limit', '#order-sl', '#order-sl-limit']) {
    $(id).addEventListener('input', updateOrderSummary);
  }
  for (const id of ['#order-trigger-by', '#order-tp-by', '#order-sl-by']) $(id).addEventListener('change', updateOrderSummary);
  $('#leverage-panel').addEventListener('submit', setLeverage);
  for (const box of $$('#settings-panel input[data-setting]')) box.addEventListener('change', setSetting);
  $('#lev-range').addEventListener('input', (e) => {
    $('#lev-input').value = e.target.value;
  });
  $('#lev-input').addEventListener('input', (e) => {
    const lev = parseLeverage(e.target.value);
    if (lev !== null) $('#lev-range').value = String(lev);
  });
  $('#order-form').addEventListener('submit', submitOrder);
  $('#cancel-all').addEventListener('click', cancelAll);
  for (const side of ['#book-asks', '#book-bids']) {
    $(side).addEventListener('click', (e) => {
      const row = e.target.closest('.level');
      if (!row) return;
      $('#order-type').value = 'Limit';
      $('#order-price').value = row.dataset.price;
      setOrderType();
    });
  }
  $('#chart-interval').addEventListener('change', (e) => {
    const old = state.interval;
    state.interval = e.target.value;
    startChart(state.symbol, old);
  });
  $('#start-trading').addEventListener('click', startTrading);
  $('#signup-region').addEventListener('change', () => {
    $('#signup-region-other').hidden = $('#signup-region').value !== 'other';
  });
  $('#show-apikey').addEventListener('click', () => {
    $('#apikey-form').hidden = !$('#apikey-form').hidden;
  });
  $('#apikey-cancel').addEventListener('click', () => {
    $('#apikey-form').hidden = true;
  });
  $('#apikey-form').addEventListener('submit', apiKeySignIn);
  $('#sign-out').addEventListener('click', signOut);
  $('#check-proof').addEventListener('click', checkProof);
  $('#sub-select').addEventListener('change', (e) => actAs(Number(e.target.value) || 0));
  $('#sub-create').addEventListener('click', createSubaccount);
  $('#xfer-to').addEventListener('click', () => transferSub(true));
  $('#xfer-from').addEventListener('click', () => transferSub(false));
  $('#deposit-asset').addEventListener('change', () => {
    fillCapitalChains('deposit');
    loadDepositAddress();
  });
  $('#deposit-chain').addEventListener('change', loadDepositAddress);
  $('#deposit-copy').addEventListener('click', copyDepositAddress);
  $('#withdraw-qty').addEventListener('input', () => updateTravelRule());
  $('#tr-wallet-type').addEventListener('change', () => updateTravelRule());
  $('#withdraw-asset').addEventListener('change', () => {
    fillCapitalChains('withdraw');
    refreshWithdrawLimit();
    updateTravelRule();
  });
  $('#withdraw-chain').addEventListener('change', () => fillCapitalChains('withdraw'));
  $('#withdraw-max').addEventListener('click', () => {
    const max = $('#withdraw-limit').dataset.qty;
    if (max) $('#withdraw-qty').value = max;
  });
  $('#withdraw-panel').addEventListener('submit', submitWithdraw);
  for (const b of $$('#capital-tabs [data-tab]')) b.addEventListener('click', () => showCapitalTab(b.dataset.tab));
  streams.onStatus = (up, problem) => {
    const dot = $('#ws-status');
    dot.className = up ? 'up' : 'down';
    dot.title = problem || (up ? 'live' : 'reconnecting');
  };
  streams.onReconnect = () => {
    if (state.symbol) selectMarket(state.symbol);
    refreshPrivate();
  };
}

async function main() {
  wire();
  clearHistories();
  $('#lev-max').textContent = String(LEVERAGE_MAX);
  $('#lev-range').max = String(LEVERAGE_MAX);
  setOrderType();
  try {
    await client.syncClock();
    trader.clockOffset = client.clockOffset;
    await loadMarkets();
    await loadRegions();
  } catch (err) {
    showMsg('#session-msg', `Exchange unreachable: ${errorText(err)}`);
    return;
  }
  setSide('Bid');
  const page = location.hash.slice(1);
  showPage(['trade', 'account', 'lend', 'vaults', 'reserves', 'points', 'console'].includes(page) ? page : 'trade');
  await restoreSession();
  setInterval(refreshTickers, 5000);
  setInterval(() => {
    if (Object.keys(state.positions).length) refreshPositions(); // marks and PnL move with the index
  }, 5000);
  setInterval(() => {
    if (!$('#page-lend').hidden) loadLendMarkets();
    if (!$('#page-vaults').hidden) loadVaults(client, trader, Boolean(state.session));
  }, 10000);
  setInterval(renderCountdown, 1000); // the funding countdown ticks every second
  setInterval(() => {
    // a withdrawal on its way changes status (sent, confirmed, refunded) without a balance change
    if (!$('#page-account').hidden && $('#withdrawal-history tbody tr[data-status="pending"]')) loadCapitalHistory();
  }, 3000);
  document.body.dataset.ready = '1';
}

main();
