// Raw Engine.IO rev 3 access for the bad-input tests: HTTP requests with Node's `http`
// (a fresh connection each, no agent), text payload codec (lengths in UTF-16 code units, which
// is what JavaScript string lengths are), polling sessions in base64 mode (b64=1, so every
// response is a text payload), and WebSockets with the `ws` package (engine.io's own).
'use strict';

const http = require('http');
const WebSocket = require('ws');

function encodePayload(packets) {
  return packets.map((p) => `${p.length}:${p}`).join('');
}

function decodePayload(text) {
  const out = [];
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    if (colon < 0) throw new Error('bad payload (no colon): ' + JSON.stringify(text.slice(0, 200)));
    const lenText = text.slice(i, colon);
    if (!/^[0-9]+$/.test(lenText)) throw new Error('bad payload length ' + JSON.stringify(lenText));
    const len = Number(lenText);
    const packet = text.slice(colon + 1, colon + 1 + len);
    if (packet.length !== len) throw new Error('bad payload (short packet): ' + JSON.stringify(text.slice(0, 200)));
    out.push(packet);
    i = colon + 1 + len;
  }
  return out;
}

// One HTTP request on a fresh connection. Resolves { status, headers, body (string) } or
// { error } when the connection fails/is destroyed; rejects only on timeout.
function request(port, { method = 'GET', path, body, headers = {}, timeout = 5000 }) {
  return new Promise((resolve, reject) => {
    const opts = { host: '127.0.0.1', port, method, path, headers: { ...headers }, agent: false };
    if (body !== undefined) {
      const buf = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
      opts.headers['Content-Length'] = buf.length;
      if (!opts.headers['Content-Type']) opts.headers['Content-Type'] = 'text/plain;charset=UTF-8';
      body = buf;
    }
    let settled = false;
    const done = (v) => { if (!settled) { settled = true; clearTimeout(timer); resolve(v); } };
    const req = http.request(opts, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => done({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (e) => done({ error: e.code || e.message }));
      res.on('aborted', () => done({ error: 'aborted' }));
    });
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      req.destroy();
      reject(new Error(`${method} ${path}: no answer within ${timeout} ms`));
    }, timeout);
    req.on('error', (e) => done({ error: e.code || e.message }));
    if (body !== undefined) {
      // A server may destroy the connection while a big body is still being written.
      req.write(body, () => {});
    }
    req.end();
  });
}

function parseJson(s) {
  try { return JSON.parse(s); } catch (e) { return undefined; }
}

// A polling session driven by hand.
class PollSession {
  constructor(port, base) {
    this.port = port;
    this.base = base; // '/socket.io/' or '/engine.io/'
    this.sid = null;
    this.handshake = null;
    this.received = []; // every packet received so far, in order
    this.lastSent = 0; // time of the last request that carried client packets (or the handshake)
  }

  url(extra = '') {
    return `${this.base}?EIO=3&transport=polling&b64=1${this.sid ? '&sid=' + this.sid : ''}${extra}`;
  }

  async open() {
    const res = await request(this.port, { path: this.url() });
    if (res.error || res.status !== 200) throw new Error('handshake failed: ' + JSON.stringify(res));
    const packets = decodePayload(res.body);
    if (!packets[0] || packets[0][0] !== '0') throw new Error('handshake without open packet: ' + res.body);
    this.handshake = JSON.parse(packets[0].slice(1));
    this.sid = this.handshake.sid;
    this.lastSent = Date.now();
    this.received.push(...packets.slice(1));
    return packets;
  }

  // GET (a poll). Resolves { status, body, packets?, error? }.
  async get(timeout = 5000) {
    const res = await request(this.port, { path: this.url(), timeout });
    if (res.status === 200) {
      res.packets = decodePayload(res.body);
      this.received.push(...res.packets);
    }
    return res;
  }

  // POST raw body text (or a list of packets, encoded as a text payload).
  async post(body, headers = {}) {
    const text = Array.isArray(body) ? encodePayload(body) : body;
    const res = await request(this.port, { method: 'POST', path: this.url(), body: text, headers });
    this.lastSent = Date.now();
    return res;
  }

  // Polls until pred(received packets) holds.
  async pollUntil(pred, ms, what) {
    const deadline = Date.now() + ms;
    while (!pred(this.received)) {
      if (Date.now() > deadline) throw new Error(`${what}: not received within ${ms} ms; got ${JSON.stringify(this.received)}`);
      const res = await this.get(Math.max(deadline - Date.now(), 100));
      if (res.status !== 200) throw new Error(`${what}: poll answered ${JSON.stringify(res)}`);
    }
  }

  // Ping (POST 2) and poll until the pong (3) arrives: proves the session is alive and
  // rearms the server's heartbeat timer.
  async pingPong() {
    const before = this.received.length;
    const res = await this.post(['2']);
    if (res.status !== 200 || res.body !== 'ok') throw new Error('ping POST answered ' + JSON.stringify(res));
    await this.pollUntil((r) => r.slice(before).includes('3'), 2000, 'pong');
  }

  // Asserts that the session no longer exists: a request with its sid gets 400 code 1
  // (retried briefly: the server may remove the session asynchronously).
  async expectGone(t, what, ms = 500) {
    const deadline = Date.now() + ms;
    let res;
    for (;;) {
      res = await request(this.port, { method: 'POST', path: this.url(), body: encodePayload(['2']) });
      if (res.status === 400) break;
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    t.equal(res.status, 400, `${what}: a request with the old sid must get 400, got ${JSON.stringify(res)}`);
    const j = parseJson(res.body);
    t.equal(j && j.code, 1, `${what}: error code 1 (Session ID unknown) expected, got ${res.body}`);
  }
}

// Opens a WebSocket and collects its messages. Resolves once open (or rejects with the HTTP
// status of a refused upgrade).
function openWs(url, timeout = 3000) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const state = { ws, messages: [], closed: null, waiters: [] };
    const timer = setTimeout(() => { ws.terminate(); reject(new Error('ws open timeout: ' + url)); }, timeout);
    ws.on('message', (data, isBinary) => {
      state.messages.push(isBinary ? Buffer.from(data) : data.toString());
      for (const w of state.waiters.splice(0)) w();
    });
    ws.on('close', (code) => {
      state.closed = { code, at: Date.now() };
      for (const w of state.waiters.splice(0)) w();
    });
    ws.on('open', () => { clearTimeout(timer); resolve(state); });
    ws.on('unexpected-response', (req, res) => {
      clearTimeout(timer);
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const err = new Error(`ws upgrade refused with HTTP ${res.statusCode}`);
        err.status = res.statusCode;
        err.body = Buffer.concat(chunks).toString();
        reject(err);
      });
      req.destroy();
    });
    ws.on('error', (e) => { clearTimeout(timer); if (!state.closed) reject(e); });
  });
}

// Waits until pred(state) holds for an openWs() state.
function wsWait(state, pred, ms, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: not seen within ${ms} ms; messages ${JSON.stringify(state.messages.map(String)).slice(0, 500)}`)), ms);
    const check = () => {
      if (pred(state)) { clearTimeout(timer); resolve(); return; }
      state.waiters.push(check);
    };
    check();
  });
}

module.exports = { encodePayload, decodePayload, request, parseJson, PollSession, openWs, wsWait };
