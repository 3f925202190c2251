// Scenarios of the real Node socket.io-client 2.5.0 against `fixture sio-e2e`, per transport
// mode (polling-only, websocket-only, upgrade = default transports).
'use strict';

const ioClient = require('socket.io-client');
const { once, waitFor, sleep } = require('./harness');

const MODES = {
  polling: ['polling'],
  websocket: ['websocket'],
  upgrade: ['polling', 'websocket'],
};
const RECORDED = ['auth', 'message-back', 'emit-with-ack', 'to-room'];

function baseOpts(mode, extra) {
  return { forceNew: true, reconnection: false, timeout: 3000, transports: MODES[mode], ...extra };
}

// Wraps a client socket: records the events of RECORDED (emit-with-ack requests, i.e. those
// with an ack function, go to `requests`), connection state, errors.
function record(t, socket, { answer } = {}) {
  const st = { socket, events: [], requests: [], errors: [], disconnects: [] };
  for (const ev of RECORDED) {
    socket.on(ev, (...args) => {
      if (ev === 'emit-with-ack' && typeof args[args.length - 1] === 'function') {
        const ack = args.pop();
        st.requests.push(args);
        if (answer) answer(args, ack);
        return;
      }
      st.events.push([ev, ...args]);
    });
  }
  socket.on('error', (e) => st.errors.push(e));
  socket.on('disconnect', (r) => st.disconnects.push(r));
  t.defer(() => socket.close());
  st.of = (ev) => st.events.filter((e) => e[0] === ev).map((e) => e.slice(1));
  return st;
}

async function connected(t, st, what = 'connect') {
  if (!st.socket.connected) await once(st.socket, 'connect', 3000, what);
  await waitFor(() => st.of('auth').length >= 1, 3000, what + ': auth event');
  t.deepEqual(st.of('auth')[0], [{}], what + ': auth carries {}');
}

async function connect(t, server, mode, nsp = '/', opts = {}) {
  const url = server.url + (nsp === '/' ? '' : nsp);
  const st = record(t, ioClient(url, baseOpts(mode, opts.client)), opts);
  await connected(t, st, `connect ${nsp}`);
  return st;
}

async function upgraded(t, st, mode) {
  const engine = st.socket.io.engine;
  if (mode !== 'upgrade') {
    t.equal(engine.transport.name, MODES[mode][0], 'transport');
    return;
  }
  await waitFor(() => engine.transport && engine.transport.name === 'websocket', 3000, 'upgrade to websocket');
  t.equal(engine.transport.name, 'websocket', 'upgraded to websocket');
}

// emit `message` and expect `message-back` with the same arguments.
async function roundTrip(t, st, args, what, ms = 5000) {
  const before = st.of('message-back').length;
  st.socket.emit('message', ...args);
  await waitFor(() => st.of('message-back').length > before, ms, what + ': message-back');
  t.deepEqual(st.of('message-back')[before], args, what + ': message-back arguments');
}

function withAck(socket, ...args) {
  return new Promise((resolve) => socket.emit(...args, (...answer) => resolve(answer)));
}

function bytes(n, seed) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

const MULTIBYTE = ['é', '€😀é', '😀'.repeat(200), '\u2028 \u2029', 'line1\nline2 \\n literal\r\t"quoted" \\ back', 'ü'.repeat(700)];

const scenarios = [];
for (const mode of Object.keys(MODES)) {
  const sc = (name, fn, extra = {}) => scenarios.push({ name: `sio/${name}/${mode}`, kind: 'sio-e2e', fn, ...extra });

  sc('connect-auth', async (t, server) => {
    // "/" and "/custom" multiplexed on one Engine.IO connection.
    const manager = new ioClient.Manager(server.url, baseOpts(mode));
    const root = record(t, manager.socket('/'));
    const custom = record(t, manager.socket('/custom'));
    t.defer(() => manager.close());
    await connected(t, root, 'connect /');
    await connected(t, custom, 'connect /custom');
    t.equal(root.socket.io, custom.socket.io, 'one manager for both namespaces');
    await roundTrip(t, custom, ['on custom'], '/custom');
    await roundTrip(t, root, ['on root'], '/');
    t.equal(root.of('message-back').length, 1, 'the /custom reply did not reach /');
    t.equal(custom.of('message-back').length, 1, 'the / reply did not reach /custom');
    await upgraded(t, root, mode);
    t.deepEqual(root.errors.concat(custom.errors), [], 'no error events');
  });

  sc('heartbeat', async (t, server) => {
    const st = await connect(t, server, mode);
    t.equal(st.socket.io.engine.pingInterval, 300, 'pingInterval');
    t.equal(st.socket.io.engine.pingTimeout, 200, 'pingTimeout');
    await sleep(1300); // > 2 × (pingInterval + pingTimeout): the client's pings keep it alive
    t.deepEqual(st.disconnects, [], 'no disconnect while the client pings');
    t.ok(st.socket.connected, 'still connected');
    await roundTrip(t, st, ['after 1.3 s'], 'after heartbeat');
  });

  sc('message', async (t, server) => {
    const st = await connect(t, server, mode);
    await roundTrip(t, st, ['a', 1, 2.5, -3, true, false, null, { b: [1, 'é😀', { c: null }] }, [], {}], 'several args');
    await roundTrip(t, st, [], 'no args');
    await upgraded(t, st, mode);
    const custom = await connect(t, server, mode, '/custom');
    await roundTrip(t, custom, ['x', { y: 'z' }], '/custom');
  });

  sc('message-with-ack', async (t, server) => {
    const st = await connect(t, server, mode);
    t.deepEqual(await withAck(st.socket, 'message-with-ack', 'x', { y: [2, 'é'] }, null), ['x', { y: [2, 'é'] }, null], 'ack args');
    t.deepEqual(await withAck(st.socket, 'message-with-ack'), [], 'ack without args');
    // Several acks in flight at once: each answer goes to its own callback.
    const answers = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map((i) => withAck(st.socket, 'message-with-ack', i, 'n' + i)));
    t.deepEqual(answers, [0, 1, 2, 3, 4, 5, 6, 7].map((i) => [i, 'n' + i]), 'concurrent acks');
    await upgraded(t, st, mode);
    const custom = await connect(t, server, mode, '/custom');
    t.deepEqual(await withAck(custom.socket, 'message-with-ack', 'on custom'), ['on custom'], 'ack on /custom');
  });

  sc('emit-with-ack', async (t, server) => {
    const answer = (args, ack) => ack('answer', ...args);
    const st = await connect(t, server, mode, '/', { answer });
    st.socket.emit('emit-with-ack', 'q', { n: 1 }, ['é😀']);
    await waitFor(() => st.of('emit-with-ack').length >= 1, 3000, 'follow-up emit-with-ack');
    t.deepEqual(st.requests, [['q', { n: 1 }, ['é😀']]], 'the server request carries the arguments');
    t.deepEqual(st.of('emit-with-ack'), [['answer', 'q', { n: 1 }, ['é😀']]], 'follow-up carries the ack answer');
    await upgraded(t, st, mode);
    const custom = await connect(t, server, mode, '/custom', { answer });
    custom.socket.emit('emit-with-ack', 'c');
    await waitFor(() => custom.of('emit-with-ack').length >= 1, 3000, 'follow-up on /custom');
    t.deepEqual(custom.of('emit-with-ack'), [['answer', 'c']], 'follow-up on /custom');
  });

  sc('server-ack-timeout', async (t, server) => {
    // The client answers the server's request after 400 ms (> the 200 ms ack timeout).
    let answeredAt = 0;
    const answer = (args, ack) => setTimeout(() => { answeredAt = Date.now(); ack('late', ...args); }, 400);
    const st = await connect(t, server, mode, '/', { answer });
    st.socket.emit('emit-with-ack', 'slow');
    await waitFor(() => answeredAt > 0, 3000, 'server request + late answer');
    t.deepEqual(st.requests, [['slow']], 'request received');
    await sleep(500);
    t.deepEqual(st.of('emit-with-ack'), [], 'no follow-up after a timed-out ack');
    t.ok(st.socket.connected, 'still connected');
    t.deepEqual(st.disconnects, [], 'no disconnect');
    await roundTrip(t, st, ['usable'], 'after the timeout');
    // And a prompt answer still works on the same connection.
    st.socket.off('emit-with-ack');
    const prompt = record(t, st.socket, { answer: (args, ack) => ack('prompt', ...args) });
    st.socket.emit('emit-with-ack', 'fast');
    await waitFor(() => prompt.of('emit-with-ack').length >= 1, 3000, 'follow-up of a prompt answer');
    t.deepEqual(prompt.of('emit-with-ack'), [['prompt', 'fast']], 'prompt answer follow-up');
  });

  sc('binary', async (t, server) => {
    const answer = (args, ack) => ack(Buffer.from('answer'), { inner: args[0] });
    const st = await connect(t, server, mode, '/', { answer });
    await roundTrip(t, st, [bytes(5, 1)], 'one Buffer');
    await roundTrip(t, st, ['text', bytes(300, 2), 3], 'Buffer between other args');
    await roundTrip(t, st, [{ a: bytes(10, 3), list: [bytes(0, 4), { deep: bytes(70000, 5) }], s: 'é😀' }], 'nested Buffers (3 attachments, one empty)');
    await roundTrip(t, st, [Array.from({ length: 10 }, (_, i) => bytes(i + 1, i))], '10 attachments (the limit)');
    const acked = await withAck(st.socket, 'message-with-ack', { b: bytes(4, 6) }, [bytes(2, 7)]);
    t.deepEqual(acked, [{ b: bytes(4, 6) }, [bytes(2, 7)]], 'binary ack from the server');
    st.socket.emit('emit-with-ack', bytes(3, 8));
    await waitFor(() => st.of('emit-with-ack').length >= 1, 3000, 'binary follow-up');
    t.deepEqual(st.requests, [[bytes(3, 8)]], 'binary request from the server');
    t.deepEqual(st.of('emit-with-ack'), [[Buffer.from('answer'), { inner: bytes(3, 8) }]], 'binary ack from the client, echoed');
    await upgraded(t, st, mode);
    await roundTrip(t, st, [bytes(7, 9), 'after'], 'Buffer after upgrade');
    const custom = await connect(t, server, mode, '/custom');
    await roundTrip(t, custom, [{ x: bytes(9, 10) }], 'Buffer on /custom');
  });

  sc('refused-namespace', async (t, server) => {
    const socket = ioClient(server.url + '/nope', baseOpts(mode));
    const st = record(t, socket);
    let connectedNope = false;
    socket.on('connect', () => { connectedNope = true; });
    await waitFor(() => st.errors.length > 0, 3000, 'error event on /nope');
    t.deepEqual(st.errors, ['Invalid namespace'], 'error "Invalid namespace"');
    await sleep(100);
    t.ok(!connectedNope, '/nope must not connect');
    // The Engine.IO connection stays usable: /custom on the same manager connects (the
    // client never asks for "/", whose CONNECT it already got and dropped).
    const custom = record(t, socket.io.socket('/custom'));
    await connected(t, custom, 'connect /custom after the refusal');
    await roundTrip(t, custom, ['after refusal'], '/custom after the refusal');
  });

  sc('rooms', async (t, server) => {
    const [a, b, c] = [await connect(t, server, mode), await connect(t, server, mode), await connect(t, server, mode)];
    const d = await connect(t, server, mode, '/custom'); // joins "r" on another namespace
    for (const s of [a, b, d]) s.socket.emit('join', 'r');
    // Packets of one client are handled in order: the ack means the join was processed.
    for (const s of [a, b, d]) t.deepEqual(await withAck(s.socket, 'message-with-ack', 'sync'), ['sync'], 'barrier ack');
    c.socket.emit('to-room', 'r', 'from c', { n: 1 }, bytes(3, 1));
    await waitFor(() => a.of('to-room').length >= 1 && b.of('to-room').length >= 1, 3000, 'to-room at a and b');
    a.socket.emit('to-room', 'r', 'from a');
    await waitFor(() => b.of('to-room').length >= 2, 3000, 'second to-room at b');
    await sleep(300);
    t.deepEqual(a.of('to-room'), [['from c', { n: 1 }, bytes(3, 1)]], 'a got c\'s message only (not its own)');
    t.deepEqual(b.of('to-room'), [['from c', { n: 1 }, bytes(3, 1)], ['from a']], 'b got both');
    t.deepEqual(c.of('to-room'), [], 'c (not in r, sender) got nothing');
    t.deepEqual(d.of('to-room'), [], 'd (in r on /custom) got nothing from /');
    d.socket.emit('to-room', 'r', 'from d');
    await sleep(300);
    t.equal(a.of('to-room').length + b.of('to-room').length, 3, '/custom room message did not reach /');
  });

  sc('1MB', async (t, server) => {
    const st = await connect(t, server, mode);
    await upgraded(t, st, mode);
    // Fits in 1e6 bytes with its framing (polling: 990016:42["message","..."]).
    const big = 'abcdefghij'.repeat(99000);
    await roundTrip(t, st, [big], '990000-char string', 10000);
    t.deepEqual(await withAck(st.socket, 'message-with-ack', big), [big], '990000-char string via ack');
    await roundTrip(t, st, [bytes(500000, 3)], '500000-byte Buffer', 10000);
  }, { timeout: 30000 });

  sc('oversize-disconnects', async (t, server) => {
    const st = await connect(t, server, mode);
    await upgraded(t, st, mode);
    st.socket.emit('message', 'y'.repeat(1000100));
    await waitFor(() => st.disconnects.length > 0, 3000, 'disconnect after a >1e6-byte message');
    t.ok(!st.socket.connected, 'disconnected');
    t.deepEqual(st.of('message-back'), [], 'the oversize message was not processed');
  });

  sc('multibyte', async (t, server) => {
    const st = await connect(t, server, mode);
    // Emitted in one tick: over polling they share one POST payload (UTF-16 lengths).
    const before = st.of('message-back').length;
    for (const s of MULTIBYTE) st.socket.emit('message', s, { [s]: s });
    await waitFor(() => st.of('message-back').length >= before + MULTIBYTE.length, 3000, 'multibyte replies');
    t.deepEqual(st.of('message-back').slice(before), MULTIBYTE.map((s) => [s, { [s]: s }]), 'multibyte strings intact and in order');
    t.deepEqual(await withAck(st.socket, 'message-with-ack', MULTIBYTE.join('')), [MULTIBYTE.join('')], 'multibyte via ack');
    await upgraded(t, st, mode);
  });

  sc('reconnect-after-restart', async (t, server) => {
    const manager = new ioClient.Manager(server.url, {
      ...baseOpts(mode), reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 300, randomizationFactor: 0,
    });
    t.defer(() => manager.close());
    const root = record(t, manager.socket('/'));
    const custom = record(t, manager.socket('/custom'));
    await connected(t, root, 'first connect /');
    await connected(t, custom, 'first connect /custom');
    const firstId = root.socket.id;
    await server.restart(); // killed, started again on the same port
    await waitFor(() => root.disconnects.length > 0, 3000, 'disconnect when the server dies');
    await waitFor(() => root.of('auth').length >= 2 && custom.of('auth').length >= 2, 8000, 'auth again after reconnecting');
    t.ok(root.socket.connected && custom.socket.connected, 'both namespaces reconnected');
    t.ok(root.socket.id !== firstId, 'new session id after the restart');
    await roundTrip(t, root, ['after restart'], '/ after restart');
    await roundTrip(t, custom, ['after restart'], '/custom after restart');
  }, { timeout: 20000 });
}

module.exports = { scenarios };
