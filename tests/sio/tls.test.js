// The real Node socket.io-client 2.5.0 against one of our Socket.IO servers over TLS (started by
// the Rust test that runs this: runtime-*/tests/tls.rs, which generates the certificates).
// Usage: node tests/sio/tls.test.js https://localhost:PORT CA.pem
// The server acks `echo` with its arguments. Scenarios: wss only and https polling + upgrade,
// verifying against the CA; no verification (rejectUnauthorized: false); refused without the CA.
// Prints one line per scenario and "N passed, N failed"; exits non-zero on any failure. Bounded:
// every wait has a timeout, and the whole run stops after 20 s.
'use strict';

const fs = require('fs');
const ioClient = require('socket.io-client');

const [url, caPath] = process.argv.slice(2);
if (!url || !caPath) {
  console.error('usage: node tls.test.js https://localhost:PORT CA.pem');
  process.exit(2);
}
const ca = fs.readFileSync(caPath);
setTimeout(() => {
  console.error('tls.test.js: overall timeout');
  process.exit(1);
}, 20000).unref();

function withTimeout(promise, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

function open(opts) {
  return ioClient(url, { forceNew: true, reconnection: false, timeout: 5000, ...opts });
}

// Connects, emits `echo` with an ack, checks the answer and the transport.
async function echo(opts, transport) {
  const socket = open(opts);
  try {
    await withTimeout(new Promise((resolve, reject) => {
      socket.on('connect', resolve);
      socket.on('connect_error', (e) => reject(new Error(`connect_error: ${e && e.message}`)));
    }), 5000, 'connect');
    if (transport === 'websocket') {
      await withTimeout(new Promise((resolve) => {
        const check = () => (socket.io.engine.transport.name === 'websocket' ? resolve() : setTimeout(check, 20));
        check();
      }), 5000, 'websocket transport');
    }
    const answer = await withTimeout(new Promise((resolve) => {
      socket.emit('echo', 'from node', { n: 1 }, (...args) => resolve(args));
    }), 5000, 'ack');
    const want = JSON.stringify(['from node', { n: 1 }]);
    if (JSON.stringify(answer) !== want) throw new Error(`ack ${JSON.stringify(answer)} != ${want}`);
  } finally {
    socket.close();
  }
}

async function refusedWithoutCa() {
  const socket = open({ transports: ['websocket'] });
  try {
    const outcome = await withTimeout(new Promise((resolve) => {
      socket.on('connect', () => resolve('connected'));
      socket.on('connect_error', (e) => resolve(`refused: ${e && e.message}`));
    }), 5000, 'refusal');
    if (outcome === 'connected') throw new Error('connected to an unverifiable server');
  } finally {
    socket.close();
  }
}

const scenarios = [
  ['wss only, CA verified', () => echo({ transports: ['websocket'], ca }, 'websocket')],
  ['https polling + upgrade, CA verified', () => echo({ transports: ['polling', 'websocket'], ca }, 'websocket')],
  ['https polling only, rejectUnauthorized false', () => echo({ transports: ['polling'], rejectUnauthorized: false }, 'polling')],
  ['refused without the CA', refusedWithoutCa],
];

(async () => {
  let passed = 0;
  let failed = 0;
  for (const [name, run] of scenarios) {
    try {
      await run();
      passed += 1;
      console.log(`ok - ${name}`);
    } catch (e) {
      failed += 1;
      console.log(`not ok - ${name}: ${e && e.stack}`);
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
})();
