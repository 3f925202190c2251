// Scenarios of the real Node engine.io-client 3.5.6 (the Engine.IO client under
// socket.io-client 2.5.0) against `fixture eio-echo`, per transport mode.
'use strict';

const eioClient = require('engine.io-client');
const { once, waitFor, sleep } = require('./harness');

const MODES = {
  polling: ['polling'],
  websocket: ['websocket'],
  upgrade: ['polling', 'websocket'],
};

// Opens a client; returns { socket, inbox, closed } (inbox: received messages as strings or
// Buffers, closed: null or the close reason).
async function connect(t, server, mode, extra = {}) {
  const socket = eioClient(server.url, { path: '/engine.io', transports: MODES[mode], ...extra });
  const st = { socket, inbox: [], closed: null };
  // An empty message (`4`) is delivered with undefined data by engine.io-client.
  socket.on('message', (d) => st.inbox.push(d === undefined ? '' : typeof d === 'string' ? d : Buffer.from(d)));
  socket.on('close', (reason) => { st.closed = reason || 'closed'; });
  t.defer(() => socket.close());
  await once(socket, 'open', 3000, 'engine.io open');
  return st;
}

async function upgraded(t, st, mode) {
  if (mode !== 'upgrade') return;
  await waitFor(() => st.socket.transport && st.socket.transport.name === 'websocket', 3000, 'upgrade to websocket');
  t.equal(st.socket.transport.name, 'websocket', 'upgraded to websocket');
}

async function echo(t, st, messages, what, ms = 5000) {
  const start = st.inbox.length;
  for (const m of messages) st.socket.send(m);
  await waitFor(() => st.inbox.length >= start + messages.length || st.closed, ms, what + ' echo');
  t.ok(!st.closed, `${what}: connection closed (${st.closed})`);
  const got = st.inbox.slice(start, start + messages.length);
  const want = messages.map((m) => (typeof m === 'string' ? m : Buffer.from(m)));
  t.deepEqual(got, want, what + ': echoed messages differ');
}

const MULTIBYTE = ['é', '€', '😀', 'a😀b€cé', '\u2028\u2029', 'line1\nline2\r\n\t"\\ \\n', '😀'.repeat(300), 'ü'.repeat(1000)];

const scenarios = [];
for (const mode of Object.keys(MODES)) {
  scenarios.push({
    name: `eio/handshake-heartbeat/${mode}`, kind: 'eio-echo',
    fn: async (t, server) => {
      const st = await connect(t, server, mode);
      t.equal(st.socket.pingInterval, 300, 'pingInterval from the handshake');
      t.equal(st.socket.pingTimeout, 200, 'pingTimeout from the handshake');
      // The client pings every 300 ms; the session must outlive several ping windows.
      await sleep(1300);
      t.ok(!st.closed, `closed during the heartbeat test: ${st.closed}`);
      await echo(t, st, ['still there'], 'after 1.3 s');
      await upgraded(t, st, mode);
    },
  });
  scenarios.push({
    name: `eio/text-echo/${mode}`, kind: 'eio-echo',
    fn: async (t, server) => {
      const st = await connect(t, server, mode);
      await echo(t, st, ['hello', '', '1', '{"a":[1,2]}', 'x'.repeat(5000)], 'text');
      await upgraded(t, st, mode);
      await echo(t, st, ['after upgrade/handshake'], 'text 2');
    },
  });
  scenarios.push({
    name: `eio/binary-echo/${mode}`, kind: 'eio-echo',
    fn: async (t, server) => {
      const st = await connect(t, server, mode);
      const bytes = Buffer.alloc(256);
      for (let i = 0; i < 256; i++) bytes[i] = i;
      await echo(t, st, [Buffer.from([1, 2, 3]), bytes, 'text between', Buffer.from([0xff]), Buffer.alloc(70000, 0xab)], 'binary');
      await upgraded(t, st, mode);
      await echo(t, st, [Buffer.from([4, 5, 6]), 'and text'], 'binary 2');
    },
  });
  scenarios.push({
    name: `eio/multibyte/${mode}`, kind: 'eio-echo',
    fn: async (t, server) => {
      const st = await connect(t, server, mode);
      // Sent in one tick: over polling they share one payload (UTF-16 lengths matter).
      await echo(t, st, MULTIBYTE, 'multibyte');
      await echo(t, st, [MULTIBYTE.join('|'), Buffer.from('é😀', 'utf8')], 'multibyte 2');
      await upgraded(t, st, mode);
    },
  });
  scenarios.push({
    name: `eio/1MB/${mode}`, kind: 'eio-echo',
    fn: async (t, server) => {
      const st = await connect(t, server, mode);
      await upgraded(t, st, mode);
      // Fits in 1e6 bytes with its framing (polling: "999000:4" + data).
      const big = 'abcdefghij'.repeat(99900);
      await echo(t, st, [big], '999000-char message', 10000);
      const bin = Buffer.alloc(600000, 0x5a); // base64 over Node polling: 800 004 bytes
      await echo(t, st, [bin], '600000-byte binary message', 10000);
    },
  });
  scenarios.push({
    name: `eio/oversize-closed/${mode}`, kind: 'eio-echo',
    fn: async (t, server) => {
      const st = await connect(t, server, mode);
      await upgraded(t, st, mode);
      await echo(t, st, ['before'], 'before oversize');
      st.socket.send('y'.repeat(1000100));
      await waitFor(() => st.closed, 3000, 'close after an oversize (1 000 100 bytes) message');
      t.ok(st.closed, 'closed');
      t.equal(st.inbox.filter((m) => m.length > 1000000).length, 0, 'the oversize message must not be echoed');
    },
  });
}

module.exports = { scenarios };
