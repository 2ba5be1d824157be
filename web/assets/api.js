// The exchange as any other client sees it: public REST, ED25519-signed private REST, and the
// WebSocket streams. Signing follows Backpack's rules (docs/api.md): instruction, the request's
// parameters sorted by key, then timestamp and window, signed with the 32-byte seed.
import * as ed from '/vendor/noble-ed25519.js';

export const WINDOW_MS = 5000;
const encoder = new TextEncoder();

export function b64encode(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

export function b64decode(text) {
  const raw = atob(text.trim());
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(`${code}: ${message}`);
    this.status = status;
    this.code = code;
    this.apiMessage = message;
  }
}

function render(value) {
  if (value === true) return 'true';
  if (value === false) return 'false';
  return String(value);
}

function cleaned(params) {
  const out = {};
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== '') out[k] = v;
  return out;
}

export function signingString(instruction, params, timestamp, window) {
  const pairs = Object.keys(params).sort().map((k) => `${k}=${render(params[k])}`);
  return `instruction=${instruction}${pairs.length ? '&' + pairs.join('&') : ''}&timestamp=${timestamp}&window=${window}`;
}

/** A key pair held in the browser: the API key (public) and the 32-byte seed. */
export class Keys {
  constructor(apiKey, seed) {
    this.apiKey = apiKey;
    this.seed = seed;
  }

  static async generate() {
    const seed = ed.utils.randomSecretKey();
    return new Keys(b64encode(await ed.getPublicKeyAsync(seed)), seed);
  }

  /** From a pasted key and secret; like ccxt, a 64-byte seed+public blob uses its first 32 bytes. */
  static async fromStrings(apiKey, secret) {
    let seed;
    try {
      seed = b64decode(secret);
    } catch {
      throw new Error('The secret is not base64.');
    }
    if (seed.length !== 32 && seed.length !== 64) throw new Error('The secret must decode to a 32-byte ED25519 seed.');
    seed = seed.slice(0, 32);
    const derived = b64encode(await ed.getPublicKeyAsync(seed));
    if (derived !== apiKey.trim()) throw new Error('This secret does not belong to that API key.');
    return new Keys(derived, seed);
  }

  secret() {
    return b64encode(this.seed);
  }

  async sign(message) {
    return b64encode(await ed.signAsync(encoder.encode(message), this.seed));
  }
}

export class Client {
  constructor(base = '') {
    this.base = base;
    this.keys = null;
    this.clockOffset = 0; // server time - local time, ms
  }

  async syncClock() {
    const t0 = Date.now();
    const server = Number(await this.request('GET', '/api/v1/time'));
    this.clockOffset = Math.round(server - (t0 + Date.now()) / 2);
  }

  now() {
    return Date.now() + this.clockOffset;
  }

  async request(method, path, params, headers = {}) {
    params = cleaned(params);
    let url = this.base + path;
    const init = { method, headers: { ...headers } };
    if (method === 'GET') {
      const query = new URLSearchParams(params).toString();
      if (query) url += '?' + query;
    } else {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(params);
    }
    let response;
    try {
      response = await fetch(url, init);
    } catch (exc) {
      throw new ApiError(0, 'NETWORK', `cannot reach the exchange (${exc.message})`);
    }
    const text = await response.text();
    let body = null;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    if (!response.ok) {
      const code = body && body.code ? body.code : `HTTP_${response.status}`;
      const message = body && body.message ? body.message : String(text).slice(0, 200);
      throw new ApiError(response.status, code, message);
    }
    return body;
  }

  get(path, params) {
    return this.request('GET', path, params);
  }

  async signed(method, path, instruction, params) {
    if (!this.keys) throw new ApiError(401, 'UNAUTHORIZED', 'Sign in first.');
    params = cleaned(params);
    const timestamp = this.now();
    const signature = await this.keys.sign(signingString(instruction, params, timestamp, WINDOW_MS));
    return this.request(method, path, params, {
      'X-API-Key': this.keys.apiKey,
      'X-Signature': signature,
      'X-Timestamp': String(timestamp),
      'X-Window': String(WINDOW_MS),
    });
  }

  /** The signature array a private WebSocket SUBSCRIBE carries. */
  async wsSignature() {
    const timestamp = this.now();
    const signature = await this.keys.sign(signingString('subscribe', {}, timestamp, WINDOW_MS));
    return [this.keys.apiKey, signature, String(timestamp), String(WINDOW_MS)];
  }
}

/** One WebSocket for every stream; re-subscribes after a reconnect. */
export class Streams {
  constructor(url, client) {
    this.url = url;
    this.client = client;
    this.handlers = new Map(); // stream -> callback(data)
    this.privateStreams = new Set();
    this.onReconnect = null;
    this.onStatus = null;
    this.socket = null;
    this.connect();
  }

  connect() {
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.onopen = () => {
      const open = [...this.handlers.keys()].filter((s) => !this.privateStreams.has(s));
      if (open.length) this.send({ method: 'SUBSCRIBE', params: open });
      if (this.privateStreams.size) this.subscribePrivate();
      if (this.onStatus) this.onStatus(true);
      if (this.onReconnect && this.wasOpen) this.onReconnect();
      this.wasOpen = true;
    };
    socket.onmessage = (event) => {
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch {
        return;
      }
      if (msg.error) {
        if (this.onStatus) this.onStatus(true, msg.error.message);
        return;
      }
      const handler = msg.stream && this.handlers.get(msg.stream);
      if (handler) handler(msg.data);
    };
    socket.onclose = () => {
      if (this.onStatus) this.onStatus(false);
      setTimeout(() => this.connect(), 1000);
    };
  }

  send(msg) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(msg));
  }

  subscribe(stream, handler) {
    this.handlers.set(stream, handler);
    this.send({ method: 'SUBSCRIBE', params: [stream] });
  }

  unsubscribe(stream) {
    if (this.handlers.delete(stream)) this.send({ method: 'UNSUBSCRIBE', params: [stream] });
    this.privateStreams.delete(stream);
  }

  /** `handlers`: a callback by private stream name; none (on reconnect) re-subscribes the streams held. */
  async subscribePrivate(handlers = {}) {
    for (const [s, handler] of Object.entries(handlers)) {
      this.privateStreams.add(s);
      this.handlers.set(s, handler);
    }
    if (!this.client.keys || !this.privateStreams.size) return;
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return; // onopen subscribes
    this.send({ method: 'SUBSCRIBE', params: [...this.privateStreams], signature: await this.client.wsSignature() });
  }

  unsubscribePrivate() {
    for (const s of [...this.privateStreams]) this.unsubscribe(s);
  }
}
