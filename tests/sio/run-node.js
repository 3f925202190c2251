#!/usr/bin/env node
// Runner of the Node suites (real socket.io-client 2.5.0 / engine.io-client 3.5.6, and raw
// HTTP/WebSocket bad-input tests) against fixture servers started from a command template:
//
//   node run-node.js --server 'target/release/fixture {kind} --runtime tokio --listen {listen}'
//   node run-node.js --server 'node tests/sio/ref-fixture.js'   ("{kind} --listen {listen}" appended)
//   node run-node.js --ref                                        (the Node reference)
//   [--only SUBSTRING]  (or env ONLY) runs only scenarios whose name contains it
//
// Each kind (eio-echo, sio-e2e) gets its own server on a free 127.0.0.1 port chosen here and
// passed as {listen} (fixed, so scenarios can restart it on the same port). Prints one
// ok/FAIL line per scenario and "N passed, N failed"; exit code 1 on any failure. The servers
// are killed at the end, also on failure, timeout or signal.
'use strict';

const { parseCli, freePort, Server, runScenarios, progress } = require('./harness');

const SUITE_TIMEOUT_MS = 5 * 60 * 1000;
const servers = {};
let exiting = false;

// Runs once; later callers wait for the same run.
let stopping = null;
function stopAll() {
  if (!stopping) stopping = Promise.all(Object.values(servers).map((s) => s.stop().catch(() => {})));
  return stopping;
}

async function main() {
  const { template, only } = parseCli(process.argv.slice(2));
  console.log(`# server command: ${template}`);
  const scenarios = [
    ...require('./node-eio.test.js').scenarios,
    ...require('./node-sio.test.js').scenarios,
    ...require('./node-raw.test.js').scenarios,
  ];
  for (const kind of new Set(scenarios.map((s) => s.kind))) {
    servers[kind] = new Server(template, kind, await freePort());
  }
  const t0 = Date.now();
  const { passed, failed } = await runScenarios(scenarios, servers, { only });
  console.log(`# node suites took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return { passed, failed };
}

const suiteTimer = setTimeout(() => {
  console.log(`FAIL suite timed out after ${SUITE_TIMEOUT_MS / 1000} s`);
  console.log(`${progress.passed} passed, ${progress.failed + 1} failed`);
  exiting = true;
  stopAll().finally(() => process.exit(1));
}, SUITE_TIMEOUT_MS);

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    exiting = true;
    console.log(`FAIL interrupted by ${sig}`);
    console.log(`${progress.passed} passed, ${progress.failed + 1} failed`);
    stopAll().finally(() => process.exit(1));
  });
}
process.on('uncaughtException', (e) => {
  // A crash inside a client library (e.g. a malformed packet from the server) fails the run.
  console.log('FAIL uncaught exception: ' + (e && e.stack || e));
  console.log(`${progress.passed} passed, ${progress.failed + 1} failed`);
  stopAll().finally(() => process.exit(1));
});

main().then(async ({ passed, failed }) => {
  await stopAll();
  clearTimeout(suiteTimer);
  if (exiting) return;
  if (passed + failed === 0) {
    console.log('no scenario ran');
    failed = 1;
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}, async (e) => {
  console.log('FAIL ' + (e && e.stack || e));
  await stopAll();
  console.log('0 passed, 1 failed');
  process.exit(1);
});
