#!/usr/bin/env node
// Headless Chromium (playwright-core, /usr/bin/chromium) runs the socket.io-client 2.5.0
// browser bundle against `fixture sio-e2e`:
//
//   node browser.test.js --server 'target/release/fixture {kind} --runtime tokio --listen {listen}'
//   node browser.test.js --ref      [--only SUBSTRING]
//
// The page and the bundle (node_modules/socket.io-client/dist/socket.io.js) come from a tiny
// static server started here on another port, so every Socket.IO request is cross-origin
// (CORS with credentials). Besides the in-page checks, the network traffic is checked: XHR
// binary polling really exchanges application/octet-stream bodies, JSONP really uses script
// GETs with j= and form POSTs, the upgrade really opens a websocket.
'use strict';

const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const { parseCli, freePort, Server, withTimeout } = require('./harness');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SCENARIO_TIMEOUT_MS = 30000;
const SUITE_TIMEOUT_MS = 3 * 60 * 1000;

const STATIC = {
  '/': [path.join(__dirname, 'browser', 'index.html'), 'text/html; charset=utf-8'],
  '/tests.js': [path.join(__dirname, 'browser', 'tests.js'), 'application/javascript; charset=utf-8'],
  '/socket.io.js': [require.resolve('socket.io-client/dist/socket.io.js'), 'application/javascript; charset=utf-8'],
};

// Traffic checks per scenario (requests to the server under test seen by the page).
const TESTS = [
  {
    name: 'browser/xhr-binary-polling', fn: 'xhrBinary',
    traffic: (tr, t) => {
      t.ok(tr.every((r) => !/transport=websocket/.test(r.url)), 'no websocket');
      t.ok(tr.some((r) => r.method === 'GET' && /application\/octet-stream/.test(r.resType || '')), 'a poll answered with a binary payload (application/octet-stream)');
      t.ok(tr.some((r) => r.method === 'POST' && /application\/octet-stream/.test(r.reqType || '')), 'a binary POST (application/octet-stream)');
      t.ok(tr.filter((r) => r.status === 200).every((r) => r.acao === r.origin && r.acac === 'true'), 'CORS: Origin echoed with credentials on every response');
    },
  },
  {
    name: 'browser/jsonp-polling', fn: 'jsonp',
    traffic: (tr, t) => {
      t.ok(tr.length > 0 && tr.every((r) => !/transport=websocket/.test(r.url)), 'no websocket');
      t.ok(tr.filter((r) => r.method === 'GET').every((r) => /[?&]j=\d+/.test(r.url)), 'every GET carries j=');
      t.ok(tr.some((r) => r.method === 'GET' && /^___eio\[\d+\]\(/.test(r.body || '')), 'a GET answered with ___eio[j](...) script');
      t.ok(tr.some((r) => r.method === 'POST' && /application\/x-www-form-urlencoded/.test(r.reqType || '')), 'a form POST');
    },
  },
  {
    name: 'browser/upgrade', fn: 'upgrade',
    traffic: (tr, t) => {
      t.ok(tr.some((r) => /transport=polling/.test(r.url)), 'started with polling');
      t.ok(tr.some((r) => r.ws), 'opened a websocket');
    },
  },
];

const cleanups = [];
let theServer = null;
let passed = 0;
let failed = 0;

function startStatic(port) {
  const srv = http.createServer((req, res) => {
    const entry = STATIC[req.url.split('?')[0]];
    if (!entry) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { 'Content-Type': entry[1], 'Cache-Control': 'no-store' });
    res.end(fs.readFileSync(entry[0]));
  });
  return new Promise((resolve, reject) => {
    srv.on('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });
}

class Checks {
  constructor() { this.count = 0; this.failures = []; }
  ok(cond, msg) { this.count++; if (!cond) this.failures.push(msg); }
}

async function runTest(ctx, server, staticOrigin, test) {
  const page = await ctx.newPage();
  const log = [];
  const traffic = [];
  page.on('console', (m) => log.push('console.' + m.type() + ': ' + m.text()));
  page.on('pageerror', (e) => log.push('pageerror: ' + e.message));
  page.on('websocket', (ws) => { if (ws.url().includes('/socket.io/')) traffic.push({ url: ws.url(), ws: true }); });
  page.on('response', async (res) => {
    const req = res.request();
    if (!req.url().startsWith(server.url + '/socket.io/')) return;
    const h = res.headers();
    const entry = {
      url: req.url(), method: req.method(), status: res.status(), resType: h['content-type'],
      reqType: (req.headers()['content-type'] || ''), origin: staticOrigin,
      acao: h['access-control-allow-origin'], acac: h['access-control-allow-credentials'],
    };
    traffic.push(entry);
    if (req.method() === 'GET' && res.status() === 200 && !/octet-stream/.test(entry.resType || '')) {
      try { entry.body = (await res.text()).slice(0, 100); } catch (e) { /* page gone */ }
    }
  });
  try {
    await page.goto(staticOrigin + '/', { timeout: 10000 });
    await page.waitForFunction(() => window.testsReady === true && typeof window.io === 'function', null, { timeout: 10000 });
    const res = await withTimeout(page.evaluate(([fn, url]) => window.runScenario(fn, url), [test.fn, server.url]),
      SCENARIO_TIMEOUT_MS, test.name);
    if (res.ok) {
      await new Promise((r) => setTimeout(r, 100)); // let the last response events arrive
      const c = new Checks();
      test.traffic(traffic, c);
      if (c.failures.length) return { ok: false, error: 'traffic check failed: ' + c.failures.join('; '), log, traffic };
      res.checks += c.count;
    }
    return { ...res, log, traffic };
  } catch (e) {
    return { ok: false, error: String(e && e.stack || e), log, traffic };
  } finally {
    await page.close().catch(() => {});
  }
}

async function main() {
  const { template, only } = parseCli(process.argv.slice(2));
  console.log(`# server command: ${template}`);
  if (!fs.existsSync(CHROMIUM)) throw new Error('Chromium not found: ' + CHROMIUM);
  const { chromium } = require('playwright-core');

  const server = new Server(template, 'sio-e2e', await freePort());
  theServer = server;
  await server.start();
  const staticPort = await freePort();
  const staticSrv = await startStatic(staticPort);
  cleanups.push(() => new Promise((r) => staticSrv.close(r)));
  const staticOrigin = 'http://127.0.0.1:' + staticPort;
  console.log(`# page on ${staticOrigin}, server under test on ${server.url}`);

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'glue-sio-browser-'));
  cleanups.push(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const ctx = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 30000,
  });
  cleanups.unshift(() => ctx.close());
  console.log(`# browser: ${CHROMIUM} ${ctx.browser() ? ctx.browser().version() : ''}`);

  for (const test of TESTS) {
    if (only && !test.name.includes(only)) continue;
    const t0 = Date.now();
    if (!server.running()) await server.start();
    server.log.length = 0;
    const res = await runTest(ctx, server, staticOrigin, test);
    if (res.ok && !server.running()) { res.ok = false; res.error = 'the server process died'; }
    const ms = Date.now() - t0;
    if (res.ok) {
      passed++;
      console.log(`ok   ${test.name} (${ms} ms, ${res.checks} checks) ${JSON.stringify(res.info)}`);
    } else {
      failed++;
      console.log(`FAIL ${test.name} (${ms} ms)\n     ${String(res.error).split('\n').slice(0, 10).join('\n     ')}`);
      for (const l of res.log.slice(-20)) console.log('     | ' + l);
      for (const r of res.traffic.slice(-10)) console.log('     ~ ' + JSON.stringify(r).slice(0, 300));
      for (const l of server.log.slice(-15)) console.log('     ' + l);
    }
  }
}

// Runs once; later callers (signal handler, suite timer, end of main) wait for the same run.
let cleaning = null;
function cleanup() {
  if (!cleaning) {
    cleaning = (async () => {
      // The server first: killing it must never be skipped.
      if (theServer) await theServer.stop().catch(() => {});
      for (const f of cleanups.splice(0)) {
        try { await withTimeout(Promise.resolve().then(f), 10000, 'cleanup'); } catch (e) { /* best effort */ }
      }
    })();
  }
  return cleaning;
}

const suiteTimer = setTimeout(() => {
  console.log(`FAIL browser suite timed out after ${SUITE_TIMEOUT_MS / 1000} s`);
  failed++;
  cleanup().finally(() => { console.log(`${passed} passed, ${failed} failed`); process.exit(1); });
}, SUITE_TIMEOUT_MS);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    console.log(`FAIL interrupted by ${sig}`);
    console.log(`${passed} passed, ${failed + 1} failed`);
    cleanup().finally(() => process.exit(1));
  });
}

main().catch((e) => {
  failed++;
  console.log('FAIL ' + (e && e.stack || e));
}).finally(async () => {
  await cleanup();
  clearTimeout(suiteTimer);
  if (passed + failed === 0) { failed++; console.log('no test ran'); }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
});
