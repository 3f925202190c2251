// Raw HTTP/WebSocket tests (Node `http` and `ws`): handshake, errors, heartbeat timeout and
// bad input, against both fixture kinds. Where servers may legitimately differ (500 vs 400 for
// an overlapping poll, destroyed connection vs 413 for an oversize body, the answer to a POST
// with garbage), the class of outcome is asserted: the request is refused or ignored AND the
// session is closed promptly.
//
// "Closed promptly" is measured against the heartbeat: with pingInterval 300 + pingTimeout
// 200 a silent session dies 500 ms after the client's last packet anyway, so every violation
// is preceded by a ping (rearming the server's timer) and the close must be seen within
// CLOSE_WITHIN ms of that ping, well before the heartbeat would close it.
'use strict';

const { request, parseJson, PollSession, openWs, wsWait, encodePayload, decodePayload } = require('./rawio');
const { sleep } = require('./harness');

const BASE = { 'eio-echo': '/engine.io/', 'sio-e2e': '/socket.io/' };
const CLOSE_WITHIN = 400;

// Opens a polling session; for sio-e2e waits for 40 and the auth event. Then ping/pong.
async function session(t, server, kind) {
  const s = new PollSession(server.port, BASE[kind]);
  await s.open();
  t.ok(typeof s.sid === 'string' && s.sid.length > 0, 'handshake sid');
  if (kind === 'sio-e2e') {
    await s.pollUntil((r) => r.includes('40') && r.includes('42["auth",{}]'), 2000, 'CONNECT and auth');
  }
  await s.pingPong();
  return s;
}

// Starts a poll that stays pending (the session has nothing to send after a ping/pong).
function pendingGet(s) {
  const started = Date.now();
  return s.get(3000).then((res) => ({ ...res, ms: Date.now() - started, at: Date.now() }));
}

// The pending poll must be ended promptly: answered with a payload containing a close packet,
// or refused/destroyed.
function expectPollEnded(t, s, res, what) {
  const sinceLastPacket = res.at - s.lastSent;
  t.ok(sinceLastPacket < CLOSE_WITHIN,
    `${what}: the pending poll must end within ${CLOSE_WITHIN} ms of the violation (took ${sinceLastPacket} ms; the heartbeat would close at 500 ms)`);
  if (res.status === 200) {
    t.ok(res.packets.includes('1'), `${what}: the pending poll must carry a close packet, got ${JSON.stringify(res.body)}`);
  } else {
    t.ok(true, `${what}: pending poll ended with ${res.status || res.error}`);
  }
}

// Polling session + a violation POST: the POST is answered (200 ok, 4xx) or destroyed, the
// pending poll ends with a close, the sid is gone.
async function violatePolling(t, server, kind, bodies, what, headers) {
  const s = await session(t, server, kind);
  const poll = pendingGet(s);
  await sleep(20);
  for (const body of bodies) {
    const res = await s.post(body, headers);
    t.ok(res.error || res.status === 200 || (res.status >= 400 && res.status < 500),
      `${what}: POST answered ${JSON.stringify(res).slice(0, 200)}`);
  }
  expectPollEnded(t, s, await poll, what);
  await s.expectGone(t, what);
}

// WebSocket session + a violation message: the server closes the socket promptly.
async function violateWs(t, server, kind, frames, what) {
  const st = await openWs(`ws://127.0.0.1:${server.port}${BASE[kind]}?EIO=3&transport=websocket`);
  t.defer(() => st.ws.terminate());
  await wsWait(st, (s) => s.messages.length >= 1, 2000, 'open packet');
  const sid = JSON.parse(st.messages[0].slice(1)).sid;
  if (kind === 'sio-e2e') await wsWait(st, (s) => s.messages.includes('42["auth",{}]'), 2000, 'auth');
  st.ws.send('2');
  await wsWait(st, (s) => s.messages.includes('3'), 2000, 'pong');
  const sent = Date.now();
  for (const f of frames) st.ws.send(f);
  await wsWait(st, (s) => s.closed, 2000, what + ': server closes the websocket');
  t.ok(st.closed.at - sent < CLOSE_WITHIN, `${what}: closed within ${CLOSE_WITHIN} ms (took ${st.closed.at - sent} ms)`);
  const gone = new PollSession(server.port, BASE[kind]);
  gone.sid = sid;
  await gone.expectGone(t, what + ' (sid afterwards)');
}

const PH = (n) => `{"_placeholder":true,"num":${n}}`;
const BAD_SIO = [
  ['event-data-string', ['42"str"']],
  ['zero-attachments', ['45-["x"]']],
  ['11-attachments', [`411-["message",${Array.from({ length: 11 }, (_, i) => PH(i)).join(',')}]`]],
  ['empty-message', ['4']],
  ['missing-attachment-then-text', [`451-["message",${PH(0)}]`, '42["message","x"]']],
  ['binary-when-not-reconstructing', ['b4AQID']],
  ['bad-json', ['42["message",']],
];

const scenarios = [];
for (const kind of ['eio-echo', 'sio-e2e']) {
  const sc = (name, fn, extra = {}) => scenarios.push({ name: `raw/${kind}/${name}`, kind, fn, ...extra });
  const base = BASE[kind];

  sc('handshake', async (t, server) => {
    const origin = 'http://example.test:1234';
    const res = await request(server.port, { path: `${base}?EIO=3&transport=polling&b64=1`, headers: { Origin: origin } });
    t.equal(res.status, 200, 'polling handshake status');
    t.equal(res.headers['access-control-allow-origin'], origin, 'CORS: the Origin is echoed');
    t.equal(res.headers['access-control-allow-credentials'], 'true', 'CORS: credentials allowed');
    const packets = decodePayload(res.body);
    const open = JSON.parse(packets[0].slice(1));
    t.deepEqual(Object.keys(open).sort(), ['pingInterval', 'pingTimeout', 'sid', 'upgrades'], 'open packet keys');
    t.deepEqual([open.upgrades, open.pingInterval, open.pingTimeout], [['websocket'], 300, 200], 'open packet values (polling)');
    if (kind === 'sio-e2e') t.equal(packets[1], '40', 'CONNECT for / right after open');
    const st = await openWs(`ws://127.0.0.1:${server.port}${base}?EIO=3&transport=websocket`);
    t.defer(() => st.ws.terminate());
    await wsWait(st, (s) => s.messages.length >= (kind === 'sio-e2e' ? 2 : 1), 2000, 'ws open packet');
    const wsOpen = JSON.parse(st.messages[0].slice(1));
    t.deepEqual([wsOpen.upgrades, wsOpen.pingInterval, wsOpen.pingTimeout], [[], 300, 200], 'open packet values (websocket)');
    if (kind === 'sio-e2e') t.equal(st.messages[1], '40', 'CONNECT for / over websocket');
  });

  sc('wrong-sid', async (t, server) => {
    for (const method of ['GET', 'POST']) {
      const res = await request(server.port, {
        method, path: `${base}?EIO=3&transport=polling&sid=doesnotexist`, body: method === 'POST' ? '1:2' : undefined,
      });
      t.equal(res.status, 400, `${method} wrong sid status`);
      t.deepEqual(parseJson(res.body), { code: 1, message: 'Session ID unknown' }, `${method} wrong sid body`);
    }
    const err = await openWs(`ws://127.0.0.1:${server.port}${base}?EIO=3&transport=websocket&sid=doesnotexist`).then(() => null, (e) => e);
    t.ok(err && err.status === 400, `websocket with a wrong sid refused with 400 (got ${err && (err.status || err.message)})`);
  });

  sc('unknown-transport', async (t, server) => {
    for (const q of ['EIO=3&transport=foo', 'EIO=3']) {
      const res = await request(server.port, { path: `${base}?${q}` });
      t.equal(res.status, 400, `${q}: status`);
      t.deepEqual(parseJson(res.body), { code: 0, message: 'Transport unknown' }, `${q}: body`);
    }
  });

  sc('ping-timeout/polling', async (t, server) => {
    // A session whose client pings keeps living; one that stops pinging dies after
    // pingInterval + pingTimeout = 500 ms.
    const s = await session(t, server, kind);
    for (let i = 0; i < 5; i++) { await sleep(200); await s.pingPong(); }
    t.ok(true, 'alive for 1 s while pinging every 200 ms');
    const res = await pendingGet(s);
    const silent = res.at - s.lastSent;
    t.ok(silent >= 350 && silent < 1500, `closed after ${silent} ms of silence (expected ~500)`);
    if (res.status === 200) t.ok(res.packets.includes('1'), 'pending poll ends with a close packet: ' + res.body);
    await s.expectGone(t, 'after the ping timeout');
  });

  sc('ping-timeout/websocket', async (t, server) => {
    const st = await openWs(`ws://127.0.0.1:${server.port}${base}?EIO=3&transport=websocket`);
    const opened = Date.now();
    t.defer(() => st.ws.terminate());
    await wsWait(st, (s) => s.messages.length >= 1, 2000, 'open packet');
    const sid = JSON.parse(st.messages[0].slice(1)).sid;
    await wsWait(st, (s) => s.closed, 2000, 'server closes a silent websocket');
    const silent = st.closed.at - opened;
    t.ok(silent >= 350 && silent < 1500, `closed after ${silent} ms of silence (expected ~500)`);
    t.ok(!st.messages.includes('2'), 'the server never pings (revision 3)');
    const gone = new PollSession(server.port, base);
    gone.sid = sid;
    await gone.expectGone(t, 'after the ping timeout');
  });

  sc('overlapping-get', async (t, server) => {
    const s = await session(t, server, kind);
    const first = pendingGet(s);
    await sleep(30);
    const second = await s.get(3000);
    t.ok(second.error || second.status >= 400, `the second concurrent GET must be refused, got ${JSON.stringify(second)}`);
    s.lastSent = Date.now() - 30; // measure from the violation
    expectPollEnded(t, s, await first, 'first GET after an overlapping GET');
    await s.expectGone(t, 'overlapping GET');
  });

  sc('oversize-post', async (t, server) => {
    const big = encodePayload(['4' + 'z'.repeat(1000100)]);
    await violatePolling(t, server, kind, [big], 'oversize POST');
  });

  sc('garbage-payload', async (t, server) => {
    await violatePolling(t, server, kind, ['abc'], 'garbage payload "abc"');
  });

  sc('upgrade-never-completed', async (t, server) => {
    const s = await session(t, server, kind);
    const poll = pendingGet(s);
    await sleep(20);
    const st = await openWs(`ws://127.0.0.1:${server.port}${base}?EIO=3&transport=websocket&sid=${s.sid}`);
    t.defer(() => st.ws.terminate());
    st.ws.send('2probe');
    await wsWait(st, (x) => x.messages.includes('3probe'), 2000, '3probe');
    const released = await poll;
    t.equal(released.status, 200, 'pending poll answered during the probe');
    t.ok(released.packets.includes('6'), 'pending poll released with a noop: ' + released.body);
    // Never send 5: polling goes on working across several heartbeat windows.
    const msg = kind === 'sio-e2e' ? '42["message","still polling"]' : '4still polling';
    const reply = kind === 'sio-e2e' ? '42["message-back","still polling"]' : '4still polling';
    for (let i = 0; i < 4; i++) {
      const before = s.received.length;
      t.equal((await s.post([msg])).body, 'ok', 'POST while an upgrade is pending');
      await s.pollUntil((r) => r.slice(before).includes(reply), 2000, 'reply over polling');
      await s.pingPong();
      await sleep(150);
    }
    t.ok(!st.messages.some((m) => m !== '3probe' && m !== '3'), 'nothing but the probe answer went to the unfinished websocket: ' + JSON.stringify(st.messages));
    // Closing the session also ends the pending websocket.
    t.equal((await s.post(['1'])).body, 'ok', 'close POST');
    await wsWait(st, (x) => x.closed, 2000, 'the unfinished websocket is closed with the session');
    await s.expectGone(t, 'after close');
  });

  sc('upgrade-then-polling-refused', async (t, server) => {
    const s = await session(t, server, kind);
    const poll = pendingGet(s);
    await sleep(20);
    const st = await openWs(`ws://127.0.0.1:${server.port}${base}?EIO=3&transport=websocket&sid=${s.sid}`);
    t.defer(() => st.ws.terminate());
    st.ws.send('2probe');
    await wsWait(st, (x) => x.messages.includes('3probe'), 2000, '3probe');
    await poll;
    st.ws.send('5');
    await sleep(50);
    const msg = kind === 'sio-e2e' ? '42["message","on ws"]' : '4on ws';
    const reply = kind === 'sio-e2e' ? '42["message-back","on ws"]' : '4on ws';
    st.ws.send(msg);
    await wsWait(st, (x) => x.messages.includes(reply), 2000, 'reply over the upgraded websocket');
    t.ok(true, 'traffic on the upgraded websocket');
    const res = await s.get(2000);
    t.equal(res.status, 400, 'polling after the upgrade is refused');
    t.equal((parseJson(res.body) || {}).code, 3, 'error code 3 (Bad request): ' + res.body);
    const second = await openWs(`ws://127.0.0.1:${server.port}${base}?EIO=3&transport=websocket&sid=${s.sid}`).catch((e) => e);
    if (second instanceof Error) {
      t.ok(true, 'a second websocket for the upgraded sid is refused: ' + second.message);
    } else {
      t.defer(() => second.ws.terminate());
      await wsWait(second, (x) => x.closed, 2000, 'a second websocket for the upgraded sid is closed');
      t.ok(second.closed, 'second websocket closed');
    }
    st.ws.send('2');
    await wsWait(st, (x) => x.messages.includes('3'), 2000, 'the first websocket still works');
  });

  if (kind === 'sio-e2e') {
    for (const [name, frames] of BAD_SIO) {
      sc(`bad-sio/${name}/polling`, async (t, server) => {
        await violatePolling(t, server, kind, frames.map((f) => [f]), name);
      });
      sc(`bad-sio/${name}/websocket`, async (t, server) => {
        await violateWs(t, server, kind, frames, name);
      });
    }
  }
}

module.exports = { scenarios };
