// Microservice scenarios (issue 5): `fixture gosf-demo` A, started with
// `--microservice svc=URL`, answers `relay` by calling `svc`'s `echo` with the request's
// message (failure `E_MICROSERVICE` on timeout/error). B is another gosf-demo (same runtime,
// and the other runtime: the runner's template with `--runtime` swapped) or the Node
// `socket.io@2.5.1` service tests/gosf/node-service.js. Every scenario starts its own
// processes on fresh ports; the driving client is the real socket.io-client 2.5.0.
'use strict';

const path = require('path');
const ioClient = require(path.join(__dirname, '..', 'sio', 'node_modules', 'socket.io-client'));
const { once, freePort, Server, sleep } = require(path.join(__dirname, '..', 'sio', 'harness'));

const KIND = 'gosf-demo';
// The fixture's call timeout (the default) and the slack allowed on top of it.
const CALL_TIMEOUT_MS = 2000;
const SLACK_MS = 1000;
const NODE_SERVICE = 'node tests/gosf/node-service.js --listen {listen}';

// The pseudo-server of these scenarios for runScenarios: their processes log into it.
const group = { log: [], running: () => true };

function runtimeOf(template) {
  const m = /--runtime (\S+)/.exec(template);
  return m ? m[1] : 'tokio';
}

function withRuntime(template, rt) {
  return template.replace(/--runtime \S+/, '--runtime ' + rt);
}

async function spawn(t, name, template, extra = '') {
  const s = new Server(template + extra, KIND, await freePort());
  const keep = s.keep.bind(s);
  s.keep = (l) => {
    keep(l);
    group.log.push(name + ' ' + l);
    if (group.log.length > 200) group.log.splice(0, group.log.length - 200);
  };
  t.defer(() => s.stop());
  await s.start();
  return s;
}

async function connect(t, server) {
  const socket = ioClient(server.url, { forceNew: true, reconnection: false, timeout: 3000, transports: ['websocket'] });
  t.defer(() => socket.close());
  await once(socket, 'connect', 3000, 'connect');
  return socket;
}

function relay(socket, msg) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const timer = setTimeout(() => reject(new Error('relay: no ack within 8000 ms')), 8000);
    socket.emit('relay', msg, (r) => {
      clearTimeout(timer);
      resolve({ r, ms: Date.now() - t0 });
    });
  });
}

// Relays until one succeeds (A's microservice connects in the background); returns the ms.
async function relayUntilOk(socket, ms, what) {
  const t0 = Date.now();
  for (let i = 1; ; i++) {
    const { r } = await relay(socket, { id: 1000 + i, text: 'probe' });
    if (r && r.success) return Date.now() - t0;
    if (Date.now() - t0 > ms) throw new Error(`${what}: relay still failing after ${ms} ms: ${JSON.stringify(r)}`);
    await sleep(100);
  }
}

function microScenarios(template) {
  const rt = runtimeOf(template);
  const other = rt === 'tokio' ? 'std' : 'tokio';
  const list = [];
  const scenario = (name, fn, timeout) => list.push({ name: 'gosf/micro/' + name, kind: 'micro', fn, timeout });
  const svcFlag = (b) => ` --microservice svc=${b.url}`;

  for (const target of [rt, other, 'node']) {
    scenario(`relay/${rt}->${target}`, async (t) => {
      const b = target === 'node' ? await spawn(t, 'B', NODE_SERVICE) : await spawn(t, 'B', withRuntime(template, target));
      const a = await spawn(t, 'A', template, svcFlag(b));
      t.ok(a.log.some((l) => l.includes('microservice svc ' + b.url) && !l.includes('error')), 'A registered svc');
      const c = await connect(t, a);
      t.note(`first relay ok after ${await relayUntilOk(c, 5000, 'first connection')} ms`);
      const req = { id: 7, guid: 'g-7', uuid: 'u-7', text: 'hello', meta: { m: 1 }, body: { a: 1, n: [1, 2] } };
      const { r } = await relay(c, req);
      t.deepEqual(r, { id: 7, guid: 'g-7', uuid: 'u-7', success: true, text: 'hello', body: { a: 1, n: [1, 2] } },
        'the service\'s echo through A (ids echoed, meta stripped)');
      const many = await Promise.all(Array.from({ length: 20 }, (_, i) => relay(c, { id: i + 1, text: 't' + i })));
      t.deepEqual(many.map(({ r: m }) => [m.id, m.success, m.text]), Array.from({ length: 20 }, (_, i) => [i + 1, true, 't' + i]),
        '20 pipelined relays each get their own answer');
      if (target === 'node') {
        // The service never answers: A's call times out.
        const { r: late, ms } = await relay(c, { id: 9, text: 'no-answer' });
        t.deepEqual(late, { id: 9, success: false, text: 'E_MICROSERVICE' }, 'unanswered call → E_MICROSERVICE');
        t.ok(ms >= CALL_TIMEOUT_MS - 100 && ms <= CALL_TIMEOUT_MS + SLACK_MS, `timeout after ${ms} ms (bound ${CALL_TIMEOUT_MS}..${CALL_TIMEOUT_MS + SLACK_MS})`);
        t.note(`timeout answered in ${ms} ms`);
        t.equal((await relay(c, { id: 10, text: 'after' })).r.success, true, 'served again after a timeout');
      }
    }, 30000);
  }

  scenario(`restart-and-stop/${rt}->${rt}`, async (t) => {
    const b = await spawn(t, 'B', template);
    const a = await spawn(t, 'A', template, svcFlag(b));
    const c = await connect(t, a);
    await relayUntilOk(c, 5000, 'first connection');
    t.equal((await relay(c, { id: 1, text: 'before' })).r.text, 'before', 'relay before the restart');
    await b.restart(); // same port
    const back = await relayUntilOk(c, 12000, 'after restarting B');
    t.note(`reconnected and relayed within ${back} ms of B's restart`);
    t.deepEqual((await relay(c, { id: 2, text: 'after' })).r, { id: 2, success: true, text: 'after' }, 'relay after the restart');
    await b.stop();
    const { r, ms } = await relay(c, { id: 3, text: 'gone' });
    t.deepEqual(r, { id: 3, success: false, text: 'E_MICROSERVICE' }, 'B stopped → E_MICROSERVICE');
    t.ok(ms <= CALL_TIMEOUT_MS + SLACK_MS, `answered in ${ms} ms (bound ${CALL_TIMEOUT_MS + SLACK_MS})`);
    t.note(`E_MICROSERVICE after B stopped in ${ms} ms`);
    t.ok(c.connected && a.running(), 'A stays up');
  }, 40000);

  return list;
}

module.exports = { microScenarios, group };
