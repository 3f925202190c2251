#!/usr/bin/env node
// Runner of the GOSF-style framework suite (gosf.test.js: real socket.io-client 2.5.0 against
// `fixture gosf-demo`; then micro.test.js: gosf-demo relaying to other gosf-demos, of both
// runtimes, and to a Node socket.io 2.5.1 service), reusing tests/sio/harness.js:
//
//   node tests/gosf/run.js --server 'target/release/fixture {kind} --runtime tokio --listen {listen}'
//   [--only SUBSTRING]
//
// Prints one ok/FAIL line per scenario and "N passed, N failed"; exit code 1 on any failure.
'use strict';

const path = require('path');
const { parseCli, freePort, Server, runScenarios, progress } = require(path.join(__dirname, '..', 'sio', 'harness'));
const { scenarios, KIND } = require('./gosf.test.js');
const { microScenarios, group } = require('./micro.test.js');

const SUITE_TIMEOUT_MS = 3 * 60 * 1000;
let server = null;

async function main() {
  const { template, only } = parseCli(process.argv.slice(2));
  console.log(`# server command: ${template}`);
  server = new Server(template, KIND, await freePort());
  const t0 = Date.now();
  const all = scenarios.concat(microScenarios(template));
  const r = await runScenarios(all, { [KIND]: server, micro: group }, { only });
  console.log(`# gosf suite took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return r;
}

function bail(msg) {
  console.log('FAIL ' + msg);
  console.log(`${progress.passed} passed, ${progress.failed + 1} failed`);
  (server ? server.stop() : Promise.resolve()).catch(() => {}).finally(() => process.exit(1));
}
const suiteTimer = setTimeout(() => bail(`suite timed out after ${SUITE_TIMEOUT_MS / 1000} s`), SUITE_TIMEOUT_MS);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => bail('interrupted by ' + sig));
process.on('uncaughtException', (e) => bail('uncaught exception: ' + (e && e.stack || e)));

main().then(async ({ passed, failed }) => {
  await server.stop().catch(() => {});
  clearTimeout(suiteTimer);
  if (passed + failed === 0) { console.log('no scenario ran'); failed = 1; }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}, async (e) => {
  console.log('FAIL ' + (e && e.stack || e));
  if (server) await server.stop().catch(() => {});
  console.log('0 passed, 1 failed');
  process.exit(1);
});
