// Points and affiliates (docs/points.md, docs/web.md): the season's leaderboard, the personal
// points page (points, rank, the open week, the weeks distributed) and the referral dashboard
// (the account's code and share link, its rate, the accounts it referred with their volume,
// fees and the earnings from them, owed and paid). Reads the Rucksack-extension endpoints with the
// main account's key (points and referrals belong to the main account).
import { ApiError } from '/assets/api.js';
import { el, patchChildren } from '/assets/dom.js';

const $ = (sel, root = document) => root.querySelector(sel);
let client = null; // the page's main-account client (app.js), set by wireGrowth

function say(target, text, kind = 'error') {
  const node = $(target);
  node.textContent = text || '';
  node.dataset.kind = text ? kind : '';
}

function words(err) {
  return err instanceof ApiError ? `${err.apiMessage} (${err.code})` : String(err && err.message ? err.message : err);
}

function when(ms) {
  return ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 16) + ' UTC' : '—';
}

function day(ms) {
  return ms ? new Date(ms).toISOString().slice(0, 10) : '';
}

async function loadSeasons() {
  const s = await client.get('/api/v1/points/seasons');
  const current = s.seasons.find((x) => x.current);
  $('#points-season').textContent = current ? current.name : 'between seasons';
  $('#points-schedule').textContent =
    `Next snapshot ${when(s.nextSnapshot)} (Thursday 00:00 UTC), next distribution ${when(s.nextDistribution)} (Friday 02:00 UTC).`;
  patchChildren(
    $('#points-seasons tbody'),
    s.seasons.map((x) =>
      el('tr', { dataset: { key: x.name, current: x.current ? '1' : '' } },
        el('td', {}, x.name), el('td', {}, day(x.start)), el('td', {}, x.end ? day(x.end) : 'open'),
        el('td', {}, x.current ? 'running' : '')),
    ),
    (row) => row.dataset.key,
  );
  return current ? current.name : null;
}

async function loadLeaderboard(season) {
  const board = await client.get('/api/v1/points/leaderboard', season ? { season, limit: 100 } : { limit: 100 });
  $('#points-ranked').textContent = `${board.ranked} ranked`;
  patchChildren(
    $('#points-leaderboard tbody'),
    board.entries.map((e) =>
      el('tr', { dataset: { key: String(e.accountId), account: String(e.accountId) } },
        el('td', {}, String(e.position)), el('td', {}, `#${e.accountId}`), el('td', { class: 'num' }, e.points),
        el('td', { class: `rank rank-${(e.rank || '').toLowerCase()}` }, e.rank || '')),
    ),
    (row) => row.dataset.key,
  );
  $('#points-leaderboard-empty').hidden = board.entries.length > 0;
}

async function loadMine() {
  const mine = await client.signed('GET', '/api/v1/points', 'pointsQuery');
  $('#my-points').textContent = mine.points;
  $('#my-rank').textContent = mine.rank || 'unranked';
  $('#my-position').textContent = mine.position ? `#${mine.position} of ${mine.ranked}` : `— of ${mine.ranked}`;
  const w = mine.openWeek;
  $('#my-open-week').textContent =
    `This week so far: ${w.volume} USDC qualifying volume, ${w.lendUsdcHours} USDC-hours lent, ${w.holdUsdcHours} USDC-hours held` +
    (mine.pending ? `; ${mine.pending.points} points waiting for Friday's distribution` : '');
  patchChildren(
    $('#my-weeks tbody'),
    [...mine.weeks].reverse().map((x) =>
      el('tr', { dataset: { key: String(x.weekEnd) } },
        el('td', {}, day(x.weekEnd)), el('td', { class: 'num' }, x.volume), el('td', { class: 'num' }, x.lend),
        el('td', { class: 'num' }, x.hold), el('td', { class: 'num' }, x.points)),
    ),
    (row) => row.dataset.key,
  );
}

async function loadReferral() {
  const r = await client.signed('GET', '/api/v1/referral', 'referralQuery');
  $('#ref-code').textContent = r.code || 'none yet';
  $('#ref-create-form').hidden = Boolean(r.code);
  $('#ref-link').value = r.code ? `${location.origin}/?ref=${r.code}` : '';
  $('#ref-link-row').hidden = !r.code;
  $('#ref-rate').textContent = `${(Number(r.rate) * 100).toFixed(2).replace(/\.?0+$/, '')}%${r.approvedRate ? ' (approved affiliate)' : ''}`;
  $('#ref-by').textContent = r.referredBy ? `#${r.referredBy}` : '—';
  $('#ref-earnings').textContent = r.earnings;
  $('#ref-owed').textContent = r.owed;
  $('#ref-paid').textContent = r.paid;
  patchChildren(
    $('#ref-referred tbody'),
    r.referred.map((x) =>
      el('tr', { dataset: { key: String(x.accountId), account: String(x.accountId) } },
        el('td', {}, `#${x.accountId}`), el('td', {}, day(x.since)), el('td', { class: 'num' }, x.volume),
        el('td', { class: 'num' }, x.fees), el('td', { class: 'num' }, x.earnings)),
    ),
    (row) => row.dataset.key,
  );
  $('#ref-referred-empty').hidden = r.referred.length > 0;
}

/** The Points page: public parts always, the personal parts when signed in. */
export async function loadGrowth() {
  say('#points-msg', '');
  try {
    const season = await loadSeasons();
    await loadLeaderboard(season);
  } catch (err) {
    say('#points-msg', `Points could not be loaded: ${words(err)}`);
  }
  const signedIn = Boolean(client && client.keys);
  $('#points-mine').hidden = !signedIn;
  $('#ref-panel').hidden = !signedIn;
  $('#points-signin').hidden = signedIn;
  if (!signedIn) return;
  try {
    await Promise.all([loadMine(), loadReferral()]);
  } catch (err) {
    say('#points-msg', `Your points could not be loaded: ${words(err)}`);
  }
}

async function createCode(event) {
  event.preventDefault();
  say('#ref-msg', '');
  try {
    const made = await client.signed('POST', '/api/v1/referral/code', 'referralCodeCreate', { code: $('#ref-new-code').value.trim() });
    say('#ref-msg', `Your referral code is ${made.code}`, 'ok');
    await loadReferral();
  } catch (err) {
    say('#ref-msg', `The code was not accepted: ${words(err)}`);
  }
}

/** The referral code a visitor arrived with (`?ref=CODE`), for the sign-up. */
export function referralFromUrl() {
  return (new URLSearchParams(location.search).get('ref') || '').trim().toUpperCase();
}

export function wireGrowth(mainClient) {
  client = mainClient;
  $('#ref-create-form').addEventListener('submit', createCode);
}
