// Scenarios of the real Node socket.io-client 2.5.0 against `fixture gosf-demo` (the GOSF-style
// framework, issue 5). The hook log is read from the fixture's stdout (`hook <name> <json args>`).
'use strict';

const path = require('path');
const ioClient = require(path.join(__dirname, '..', 'sio', 'node_modules', 'socket.io-client'));
const { once, waitFor, sleep } = require(path.join(__dirname, '..', 'sio', 'harness'));

const KIND = 'gosf-demo';

function connect(t, server, transports = ['polling', 'websocket']) {
  const socket = ioClient(server.url, { forceNew: true, reconnection: false, timeout: 3000, transports });
  const st = { socket, events: [] };
  for (const ev of ['echo', 'say', 'announce', 'fail', 'panic', 'relay', 'connection', 'disconnection']) {
    socket.on(ev, (...args) => st.events.push([ev, ...args]));
  }
  st.of = (ev) => st.events.filter((e) => e[0] === ev).map((e) => e[1]);
  t.defer(() => socket.close());
  return once(socket, 'connect', 3000, 'connect').then(() => st);
}

function request(st, endpoint, ...args) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${endpoint}: no ack within 3000 ms`)), 3000);
    st.socket.emit(endpoint, ...args, (...ack) => {
      clearTimeout(timer);
      resolve(ack);
    });
  });
}

// The parsed hook lines of the server's stdout so far: [{name, args}].
function hooks(server) {
  return server.log
    .filter((l) => l.startsWith('> hook '))
    .map((l) => {
      const rest = l.slice('> hook '.length);
      const sp = rest.indexOf(' ');
      return { name: rest.slice(0, sp), args: JSON.parse(rest.slice(sp + 1)) };
    });
}

const scenarios = [];
function scenario(name, fn, timeout) {
  scenarios.push({ name: 'gosf/' + name, kind: KIND, fn, timeout });
}

for (const [mode, transports] of [['polling', ['polling']], ['websocket', ['websocket']], ['upgrade', ['polling', 'websocket']]]) {
  scenario(`echo-ack-and-event/${mode}`, async (t, server) => {
    const a = await connect(t, server, transports);
    const req = { id: 5, guid: 'g-1', uuid: 'u-1', text: 'hello', meta: { secret: 2 }, body: { a: 1, n: [1, 2] } };
    const expected = { id: 5, guid: 'g-1', uuid: 'u-1', success: true, text: 'hello', body: { a: 1, n: [1, 2] } };
    let eventFirst = false;
    const ack = await request(a, 'echo', req).then((r) => { eventFirst = a.of('echo').length === 1; return r; });
    t.deepEqual(ack, [expected], 'ack: ids echoed, text/body, meta stripped');
    t.ok(eventFirst, 'the event on the endpoint arrives before the ack (GOSF order)');
    t.deepEqual(a.of('echo'), [expected], 'the same response as an event on the endpoint');
    // Without an ack: only the event.
    a.socket.emit('echo', { uuid: 'u-2', text: 'x' });
    await waitFor(() => a.of('echo').length === 2, 2000, 'event-only response');
    t.deepEqual(a.of('echo')[1], { uuid: 'u-2', success: true, text: 'x' }, 'event-only: uuid echoed, no id/guid');
  });
}

scenario('ids-echo', async (t, server) => {
  const a = await connect(t, server);
  t.deepEqual(await request(a, 'echo', {}), [{ success: true }], 'no ids in → no ids out');
  t.deepEqual(await request(a, 'echo', { guid: 'only' }), [{ guid: 'only', success: true }], 'guid only');
  t.deepEqual(await request(a, 'echo', { ID: 9, Text: 'ci' }), [{ id: 9, success: true, text: 'ci' }], 'case-insensitive field names');
  t.deepEqual(await request(a, 'fail', { id: 3 }), [{ id: 3, success: false, text: 'E_FAIL' }], 'failure response echoes the id');
  t.deepEqual(await request(a, 'relay', { id: 4 }), [{ id: 4, success: false, text: 'E_MICROSERVICE' }], 'relay without microservices');
});

scenario('invalid-payloads', async (t, server) => {
  const a = await connect(t, server);
  const cases = [
    [[null], 'the message is null'],
    [['str'], 'must be an object'],
    [[42], 'must be an object'],
    [[[1, 2]], 'must be an object'],
    [[], 'got no argument'],
    [[{ id: 1 }, { id: 2 }], 'got 2 arguments'],
  ];
  for (const [args, text] of cases) {
    const [r] = await request(a, 'echo', ...args);
    t.equal(r.success, false, `${JSON.stringify(args)}: failure`);
    t.ok(r.text.includes(text), `${JSON.stringify(args)}: text ${r.text}`);
  }
  const [bad] = await request(a, 'echo', { id: 'x', guid: 'kept' });
  t.equal(bad.success, false, 'wrong field type: failure');
  t.equal(bad.guid, 'kept', 'wrong field type: the valid correlation fields are salvaged');
  t.deepEqual(await request(a, 'echo', { id: 8, text: 'alive' }), [{ id: 8, success: true, text: 'alive' }], 'still serving');
});

scenario('panic-controller', async (t, server) => {
  const a = await connect(t, server);
  t.deepEqual(await request(a, 'panic', { id: 1 }), [{ id: 1, success: false, text: 'E_INTERNAL' }], 'panic → failure');
  t.deepEqual(await request(a, 'echo', { id: 2 }), [{ id: 2, success: true }], 'same client still served');
  const b = await connect(t, server);
  t.deepEqual(await request(b, 'echo', { id: 3 }), [{ id: 3, success: true }], 'new clients still served');
  t.ok(a.socket.connected, 'the panicking client stays connected');
});

scenario('in-order', async (t, server) => {
  const a = await connect(t, server);
  const order = [];
  const all = [];
  for (let i = 1; i <= 30; i++) {
    all.push(new Promise((resolve) => a.socket.emit(i % 7 === 0 ? 'panic' : 'echo', { id: i }, (r) => { order.push(r.id); resolve(); })));
  }
  await Promise.all(all);
  t.deepEqual(order, Array.from({ length: 30 }, (_, i) => i + 1), 'acks in request order (panics included)');
  t.deepEqual(a.of('echo').map((m) => m.id), Array.from({ length: 30 }, (_, i) => i + 1).filter((i) => i % 7 !== 0), 'events in order');
});

scenario('rooms-and-broadcasts', async (t, server) => {
  const [a, b, c] = [await connect(t, server), await connect(t, server, ['websocket']), await connect(t, server, ['polling'])];
  // Broadcast `say`s carry a body; the `say` events without one are the responses to the
  // client's own `say` requests (double delivery).
  const said = (s) => s.of('say').filter((m) => m.body);
  await request(a, 'join', { text: 'r' });
  await request(b, 'join', { text: 'r' });
  t.deepEqual(await request(c, 'say', { text: 'r', body: { from: 'c' } }), [{ success: true }], 'say responds success');
  await waitFor(() => said(a).length === 1 && said(b).length === 1, 2000, 'a and b get c\'s say');
  t.deepEqual(said(a)[0], { success: true, text: 'r', body: { from: 'c' } }, 'say carries {text, body}');
  await request(a, 'say', { text: 'r', body: { from: 'a' } });
  await waitFor(() => said(b).length === 2, 2000, 'b gets a\'s say');
  await sleep(200);
  t.equal(said(a).length, 1, 'the sender is excluded from its client broadcast');
  t.equal(said(c).length, 0, 'non-members get nothing');
  t.deepEqual(a.of('say').filter((m) => !m.body), [{ success: true }], 'the say response itself');
  await request(c, 'announce', { text: 'all' });
  const announced = (s) => s.of('announce').filter((m) => m.text === 'all');
  await waitFor(() => [a, b, c].every((s) => announced(s).length === 1), 2000, 'announce reaches everyone');
  t.deepEqual(announced(c), [{ success: true, text: 'all' }], 'global broadcast includes the sender');
  t.deepEqual(announced(a), [{ success: true, text: 'all' }], 'and reaches the others');
  t.deepEqual(a.of('announce').length + b.of('announce').length, 2, 'others get no response event');
});

scenario('hook-order-and-args', async (t, server) => {
  await sleep(300); // let earlier scenarios' disconnects be logged first
  server.log.length = 0;
  const a = await connect(t, server, ['websocket']);
  const id = a.socket.id;
  await request(a, 'echo', { id: 5, text: 'hi', meta: { m: 1 } });
  await request(a, 'join', { text: 'room1' });
  await request(a, 'say', { text: 'room1', body: { k: 1 } });
  await request(a, 'announce', { text: 'ann' });
  a.socket.close();
  await waitFor(() => hooks(server).some((h) => h.name === 'disconnect'), 3000, 'disconnect hook');
  // This client's hooks, and the global broadcast hooks (which have no client argument).
  const hs = hooks(server).filter((h) => h.args[0] === id || h.name.endsWith('-broadcast') && !h.name.includes('client'));
  const names = hs.map((h) => h.name);
  const cycle = ['before-request', 'after-request', 'before-response', 'after-response'];
  t.deepEqual(names, [
    'connect',
    ...cycle, // echo
    ...cycle, // join
    'before-request', 'before-client-broadcast', 'after-client-broadcast', 'after-request', 'before-response', 'after-response',
    'before-request', 'before-broadcast', 'after-broadcast', 'after-request', 'before-response', 'after-response',
    'disconnect',
  ], 'hook order');
  t.deepEqual(hs[0].args, [id, { endpoint: 'connect', message: { success: false } }], 'connect(client, request)');
  t.deepEqual(hs[1].args, [id, { endpoint: 'echo', message: { id: 5, success: false, text: 'hi', meta: { m: 1 } } }], 'before-request(client, request)');
  t.deepEqual(hs[2].args[2], { success: true, text: 'hi', meta: { m: 1 } }, 'after-request: the response as returned');
  t.deepEqual(hs[4].args[2], { id: 5, success: true, text: 'hi' }, 'after-response: the response as sent');
  const cb = hs.find((h) => h.name === 'before-client-broadcast');
  t.deepEqual(cb.args, [id, 'say', 'room1', { success: true, text: 'room1', body: { k: 1 } }], 'client broadcast hook: (client, endpoint, room, message)');
  const gb = hs.find((h) => h.name === 'after-broadcast');
  t.deepEqual(gb.args, ['announce', '', { success: true, text: 'ann' }], 'broadcast hook: (endpoint, room, message)');
  t.deepEqual(hs[hs.length - 1].args, [id, { endpoint: 'disconnect', message: { success: false } }], 'disconnect(client, request)');
});

scenario('reserved-names', async (t, server) => {
  await server.restart();
  const startup = server.log.filter((l) => l.startsWith('> reserved '));
  for (const n of ['connection', 'disconnection', 'connect', 'disconnect', 'error']) {
    t.ok(startup.some((l) => l.startsWith(`> reserved ${n} refused:`)), `listen(${n}) refused`);
  }
  server.log.length = 0;
  const a = await connect(t, server);
  let acked = 0;
  a.socket.emit('connection', { id: 1 }, () => acked++);
  a.socket.emit('disconnection', { id: 2 }, () => acked++);
  await sleep(400);
  t.equal(acked, 0, 'reserved events are not answered');
  t.equal(a.events.length, 0, 'no response events');
  t.deepEqual(hooks(server).map((h) => h.name), ['connect'], 'clients cannot fire the connection hooks');
  t.ok(a.socket.connected, 'still connected');
  t.deepEqual(await request(a, 'echo', { id: 3 }), [{ id: 3, success: true }], 'still served');
});

module.exports = { scenarios, KIND };
