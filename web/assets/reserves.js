// Proof of reserves, tier (a), verified in the browser: the same checks as
// src/rucksack/reserves/verify.py (check_snapshot + check_inclusion) with the hash layouts of
// src/rucksack/reserves/commitments.py, on WebCrypto's SHA-256 and HMAC-SHA256 and noble's ED25519.
//
//   uid_commit = HMAC-SHA256(salt, "rucksack-por-v1/uid" ‖ snapshot_id ‖ u64 account)
//   leaf = SHA256(0x00 ‖ "rucksack-por-v1" ‖ snapshot_id ‖ u64 index ‖ uid_commit ‖ u64 equity[K] ‖ u64 debt[K])
//   node = SHA256(0x01 ‖ "rucksack-por-v1" ‖ h_L ‖ u128 sums_L[2K] ‖ h_R ‖ u128 sums_R[2K])
//   snapshot signature: ED25519 over "rucksack-por-v1/snapshot\n" ‖ canonical_json(all fields but signature)
//
// Amounts are BigInt throughout (sums exceed 2^53). Nothing here talks to the network.
import * as ed from '/vendor/noble-ed25519.js';

const VERSION = 'rucksack-por-v1';
const enc = new TextEncoder();
const U64 = 1n << 64n;
const MAX_DEPTH = 40;

function hex(bytes) {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function unhex(text, n, what) {
  if (typeof text !== 'string' || !/^[0-9a-f]*$/.test(text) || text.length !== 2 * n) throw new Error(`${what}: expected ${n} bytes of hex`);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function uint(value, bytes) {
  const out = new Uint8Array(bytes);
  let v = BigInt(value);
  for (let i = bytes - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  if (v) throw new Error('value does not fit its field');
  return out;
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

async function hmac(key, message) {
  const k = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await crypto.subtle.sign('HMAC', k, message));
}

export async function uidCommit(salt, snapshotId, account) {
  return hmac(salt, concat(enc.encode(`${VERSION}/uid`), snapshotId, uint(account, 8)));
}

export async function leafHash(snapshotId, index, uid, equity, debt) {
  return sha256(concat(Uint8Array.of(0), enc.encode(VERSION), snapshotId, uint(index, 8), uid,
    ...equity.map((v) => uint(v, 8)), ...debt.map((v) => uint(v, 8))));
}

export async function nodeHash(left, leftSums, right, rightSums) {
  return sha256(concat(Uint8Array.of(1), enc.encode(VERSION), left, ...leftSums.map((v) => uint(v, 16)),
    right, ...rightSums.map((v) => uint(v, 16))));
}

/** Python's json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True). */
export function canonicalJson(value) {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new Error('non-integer number in a signed document');
    return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => (c === '\u007f' ? c : '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')));
  }
  if (Array.isArray(value)) return '[' + value.map(canonicalJson).join(',') + ']';
  const keys = Object.keys(value).sort();
  return '{' + keys.map((k) => canonicalJson(k) + ':' + canonicalJson(value[k])).join(',') + '}';
}

function atoms(values, k, limit, what) {
  if (!Array.isArray(values) || values.length !== k) throw new Error(`${what}: expected ${k} values`);
  return values.map((v) => {
    if (typeof v !== 'string' || !/^(0|[1-9][0-9]*)$/.test(v)) throw new Error(`${what}: not a base-10 amount`);
    const n = BigInt(v);
    if (n >= limit) throw new Error(`${what}: out of range`);
    return n;
  });
}

/**
 * Verify ``proof`` (the caller's inclusion proof) against the signed ``snapshot``.
 * Returns {ok, checks: [{name, ok, detail}]}; ``publicKey`` (hex) pins the exchange's key if given.
 */
export async function verifyProof(snapshot, proof, account, publicKey = null) {
  const checks = [];
  const add = (name, ok, detail) => {
    checks.push({ name, ok, detail });
    return ok;
  };
  const done = () => ({ ok: checks.every((c) => c.ok), checks });
  try {
    const signature = unhex(snapshot.signature, 64, 'signature');
    const key = unhex(snapshot.public_key, 32, 'public_key');
    const body = Object.fromEntries(Object.entries(snapshot).filter(([k]) => k !== 'signature'));
    const message = enc.encode(`${VERSION}/snapshot\n` + canonicalJson(body));
    const valid = await ed.verifyAsync(signature, message, key);
    if (!add('snapshot.signature', valid, valid ? 'signed by the key it names' : 'the signature does not match')) return done();
    if (publicKey && !add('snapshot.key', publicKey === snapshot.public_key, 'the pinned exchange key')) return done();
  } catch (err) {
    add('snapshot.format', false, err.message);
    return done();
  }
  try {
    const symbols = snapshot.assets.map((a) => a.symbol);
    const k = symbols.length;
    const depth = snapshot.depth;
    if (!Number.isInteger(depth) || depth < 1 || depth > MAX_DEPTH) throw new Error('bad depth');
    const snapshotId = unhex(snapshot.snapshot_id, 16, 'snapshot_id');
    const root = snapshot.root;
    const totals = [...atoms(snapshot.assets.map((a) => a.total_equity), k, 1n << 128n, 'total_equity'),
      ...atoms(snapshot.assets.map((a) => a.total_debt), k, 1n << 128n, 'total_debt')];
    if (proof.version !== VERSION) throw new Error('unsupported proof version');
    const same = proof.snapshot_id === snapshot.snapshot_id && proof.seq === snapshot.seq
      && JSON.stringify(proof.assets) === JSON.stringify(symbols);
    if (!add('proof.snapshot', same, same ? 'the proof is for this snapshot' : 'the proof is for another snapshot')) return done();
    if (!add('proof.account', proof.account === account, `the proof is for account ${proof.account}`)) return done();
    const salt = unhex(proof.salt, 32, 'salt');
    const equity = atoms(proof.equity, k, U64, 'equity');
    const debt = atoms(proof.debt, k, U64, 'debt');
    const index = proof.index;
    if (!Array.isArray(proof.path) || proof.path.length !== depth || !Number.isSafeInteger(index) || index < 0 || index >= 2 ** depth) {
      add('proof.path', false, `a path of ${proof.path && proof.path.length} steps at index ${index}; the tree has depth ${depth}`);
      return done();
    }
    let h = await leafHash(snapshotId, index, await uidCommit(salt, snapshotId, proof.account), equity, debt);
    let sums = [...equity, ...debt];
    for (let level = 0; level < depth; level++) {
      const step = proof.path[level];
      const limit = 1n << BigInt(64 + level);
      const sibling = unhex(step.hash, 32, `path[${level}].hash`);
      const sibSums = [...atoms(step.equity, k, limit, `path[${level}].equity`), ...atoms(step.debt, k, limit, `path[${level}].debt`)];
      h = Math.floor(index / 2 ** level) % 2 ? await nodeHash(sibling, sibSums, h, sums) : await nodeHash(h, sums, sibling, sibSums);
      sums = sums.map((v, i) => v + sibSums[i]);
    }
    if (!add('proof.root', hex(h) === root, hex(h) === root ? 'your leaf hashes up to the signed root' : `the path leads to ${hex(h)}, not the signed root`)) return done();
    const totalsOk = sums.every((v, i) => v === totals[i]);
    add('proof.totals', totalsOk, totalsOk ? "the path's sums equal the signed per-asset totals" : "the path's sums differ from the signed totals");
  } catch (err) {
    add('proof.format', false, err.message);
  }
  return done();
}

// ------------------------------------------------------------------ the chain of commitments
// The same checks as src/rucksack/reserves/chain.py check_chain:
//   record signature: ED25519 over "rucksack-chain-v1/record\n" ‖ canonical_json(all fields but signature)
//   record hash = SHA-256(canonical_json(record)); each record's prev_hash is the previous one's (64 zeros first)
//   seqs increase; each segment runs from right after the previous record's seq to its own.

const CHAIN_VERSION = 'rucksack-chain-v1';
export const GENESIS = '0'.repeat(64);

export async function recordHash(record) {
  return hex(await sha256(enc.encode(canonicalJson(record))));
}

/** Check a run of records (oldest first). Returns {ok, problems: [string]}; ``publicKey`` pins the key. */
export async function verifyChain(records, publicKey = null) {
  const problems = [];
  let key = publicKey;
  let prev = null;
  for (const [i, r] of records.entries()) {
    const where = `record ${i} (seq ${r.seq})`;
    try {
      const body = Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'signature'));
      const message = enc.encode(`${CHAIN_VERSION}/record\n` + canonicalJson(body));
      const valid = await ed.verifyAsync(unhex(r.signature, 64, 'signature'), message, unhex(r.public_key, 32, 'public_key'));
      if (!valid) problems.push(`${where}: the signature does not match the record`);
    } catch (err) {
      problems.push(`${where}: ${err.message}`);
    }
    if (key === null) key = r.public_key;
    else if (r.public_key !== key) problems.push(`${where}: signed by another key`);
    const seg = r.segment || {};
    if (r.version !== CHAIN_VERSION) problems.push(`${where}: not a ${CHAIN_VERSION} record`);
    if (seg.last !== r.seq) problems.push(`${where}: its segment does not end at its seq`);
    if (prev === null) {
      if (seg.first === 1 && r.prev_hash !== GENESIS) problems.push(`${where}: the first record does not start the chain`);
    } else {
      if (r.prev_hash !== await recordHash(prev)) problems.push(`${where}: prev_hash is not the hash of seq ${prev.seq}'s record`);
      if (!(r.seq > prev.seq)) problems.push(`${where}: seq does not increase`);
      else if (seg.first !== prev.seq + 1) problems.push(`${where}: its segment does not start right after seq ${prev.seq}`);
    }
    prev = r;
  }
  return { ok: problems.length === 0, problems };
}
