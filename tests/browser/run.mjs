// Chromium end-to-end tests: runs the scenarios of www/tests.js in headless Chromium
// (playwright-core, system /usr/bin/chromium) against `fixture glue-echo`, once per
// runtime. Env: FIXTURE (default target/release/fixture, relative to the repo root),
// RUNTIMES (default "tokio,std"), ONLY (substring filter on test names),
// GLUE_JS_UNDER_TEST (path of another glue.js, e.g. the upstream 1.9.1 client).
// Exits non-zero on any failure; a missing fixture or browser is a failure.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const FIXTURE = path.resolve(repo, process.env.FIXTURE || 'target/release/fixture');
const RUNTIMES = (process.env.RUNTIMES || 'tokio,std').split(',').filter(Boolean);
const ONLY = process.env.ONLY || '';
const UNDER_TEST = process.env.GLUE_JS_UNDER_TEST ? path.resolve(process.env.GLUE_JS_UNDER_TEST) : null;
const FIXES = !UNDER_TEST;
const SCENARIO_TIMEOUT_MS = 45000;
const SUITE_TIMEOUT_MS = 10 * 60 * 1000;

// name, page scenario, argument; fixture transports, --allow-origin, fresh fixture.
const WS = 'WebSocket';
const AJAX = 'AjaxSocket';
const TESTS = [
  { name: 'websocket', fn: 'transport', arg: { force: false, expect: WS } },
  { name: 'ajax-forced', fn: 'transport', arg: { force: AJAX, expect: AJAX } },
  { name: 'channels-ws', fn: 'channels', arg: { force: WS } },
  { name: 'channels-ajax', fn: 'channels', arg: { force: AJAX } },
  { name: 'presend-order-ws', fn: 'presend', arg: { force: WS } },
  { name: 'presend-order-ajax', fn: 'presend', arg: { force: AJAX } },
  { name: 'server-close-ws', fn: 'serverClose', arg: { force: WS } },
  { name: 'server-close-ajax', fn: 'serverClose', arg: { force: AJAX } },
  { name: 'client-close-ws', fn: 'clientClose', arg: { force: WS }, fresh: true },
  { name: 'client-close-ajax', fn: 'clientClose', arg: { force: AJAX }, fresh: true },
  { name: 'restart-ws', fn: 'restart', arg: { force: WS } },
  { name: 'restart-ajax', fn: 'restart', arg: { force: AJAX } },
  { name: 'discard-ws', fn: 'discard', arg: { force: WS } },
  { name: 'discard-ajax', fn: 'discard', arg: { force: AJAX } },
  { name: 'burst-1000-ws', fn: 'burst', arg: { force: WS } },
  { name: 'burst-1000-ajax', fn: 'burst', arg: { force: AJAX } },
  { name: 'big-2MiB-ws', fn: 'big', arg: { force: WS } },
  { name: 'fallback-to-ajax', fn: 'fallback', arg: {}, transports: 'ajax' },
  { name: 'cross-origin-allowed', fn: 'crossOrigin', arg: { allowed: true }, allowOrigin: true },
  { name: 'cross-origin-refused', fn: 'crossOrigin', arg: { allowed: false } },
];

const cleanups = [];
let failed = 0;
let passed = 0;
const skippedChecks = [];

function fatal(msg) {
  console.error('FATAL: ' + msg);
  process.exitCode = 1;
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(what + ': timed out after ' + ms + ' ms')), ms); }),
  ]).finally(() => clearTimeout(timer));
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// One fixture process (restartable on the same port).
class Fixture {
  constructor(runtime, port, staticDir) {
    this.runtime = runtime;
    this.port = port;
    this.staticDir = staticDir;
    this.config = null;
    this.child = null;
    this.log = [];
  }

  get origin() {
    return 'http://127.0.0.1:' + this.port;
  }

  running() {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  // config: "ws,ajax", "ajax", ... plus " allow-origin" for --allow-origin '*'.
  async start(config) {
    if (this.running()) throw new Error('fixture already running');
    this.config = config;
    const [transports, allow] = config.split(' ');
    const args = ['glue-echo', '--runtime', this.runtime, '--listen', '127.0.0.1:' + this.port,
      '--static', this.staticDir, '--base', '/glue/', '--transports', transports];
    if (allow) args.push('--allow-origin', '*');
    const deadline = Date.now() + 15000;
    for (let tryNo = 1; ; tryNo++) {
      const child = spawn(FIXTURE, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      this.child = child;
      const keep = (buf) => {
        for (const line of buf.toString().split('\n')) if (line) this.log.push(line);
        if (this.log.length > 200) this.log.splice(0, this.log.length - 200);
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      child.on('error', (e) => this.log.push('spawn error: ' + e.message));
      this.log.push(`--- started ${FIXTURE} ${args.join(' ')} (pid ${child.pid}, try ${tryNo})`);
      // Ready when it serves the test page.
      while (Date.now() < deadline) {
        if (!this.running()) break;
        try {
          const res = await fetch(this.origin + '/index.html', { signal: AbortSignal.timeout(1000) });
          await res.arrayBuffer();
          if (res.status === 200) return;
          this.log.push('readiness probe: HTTP ' + res.status);
        } catch (e) { /* not listening yet */ }
        await sleep(25);
      }
      await this.kill();
      if (Date.now() >= deadline || tryNo >= 10) {
        throw new Error('fixture did not become ready (serve /index.html) on ' + this.origin + ' after ' + tryNo + ' tries');
      }
      await sleep(100); // e.g. address still in use: try again
    }
  }

  async kill() {
    const child = this.child;
    if (!child) return;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await withTimeout(exited, 5000, 'fixture exit');
    }
    this.log.push('--- killed/exited: ' + (child.signalCode || child.exitCode));
    this.child = null;
  }
}

function launchArgs(userDataDir) {
  return {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 30000,
  };
}

async function checkServedClient(fx) {
  // The fixture serves our client at <base>glue.js: byte-identical to js/glue.js.
  const res = await fetch(fx.origin + '/glue/glue.js', { signal: AbortSignal.timeout(5000) });
  const body = Buffer.from(await res.arrayBuffer());
  const want = fs.readFileSync(path.join(repo, 'js', 'glue.js'));
  if (res.status !== 200) throw new Error('GET /glue/glue.js: HTTP ' + res.status);
  const ct = res.headers.get('content-type') || '';
  if (!/javascript/.test(ct)) throw new Error('GET /glue/glue.js: Content-Type ' + JSON.stringify(ct));
  if (!body.equals(want)) throw new Error('GET /glue/glue.js differs from js/glue.js (' + body.length + ' vs ' + want.length + ' bytes; the server embeds the client at build time: rebuild the fixture)');
  return { bytes: body.length, contentType: ct };
}

async function runPageTest(ctx, fx, test, clientURL) {
  const page = await ctx.newPage();
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push('console.' + m.type() + ': ' + m.text()));
  page.on('pageerror', (e) => consoleLines.push('pageerror: ' + e.message));
  try {
    await page.exposeBinding('harness', async (_src, cmd) => {
      if (cmd === 'kill') { await fx.kill(); return 'killed'; }
      if (cmd === 'start') { await fx.start(fx.config); return 'started'; }
      throw new Error('unknown harness command ' + cmd);
    });
    const url = fx.origin + '/index.html' + (clientURL ? '?client=' + encodeURIComponent(clientURL) : '');
    await page.goto(url, { timeout: 10000 });
    await page.waitForFunction(() => window.testsReady === true || window.loadError, null, { timeout: 10000 });
    const loadError = await page.evaluate(() => window.loadError || null);
    if (loadError) throw new Error(loadError);
    const res = await withTimeout(
      page.evaluate(([fn, arg, fixes]) => window.runScenario(fn, arg, fixes), [test.fn, test.arg, FIXES]),
      SCENARIO_TIMEOUT_MS, test.name);
    res.console = consoleLines;
    return res;
  } catch (e) {
    return { ok: false, skipped: [], error: String(e && e.stack || e), console: consoleLines };
  } finally {
    await page.close().catch(() => {});
  }
}

function report(name, ms, res) {
  if (res.ok) {
    passed++;
    const info = res.info && Object.keys(res.info).length ? ' ' + JSON.stringify(res.info) : '';
    console.log(`ok   ${name} (${ms} ms)${info}`);
  } else {
    failed++;
    console.log(`FAIL ${name} (${ms} ms)\n     ${String(res.error).split('\n').join('\n     ')}`);
    for (const l of (res.console || []).slice(-30)) console.log('     | ' + l);
    for (const l of (res.fixtureLog || [])) console.log('     > ' + l);
  }
  for (const s of res.skipped || []) {
    skippedChecks.push(name + ': ' + s);
    console.log(`     skipped (upstream client defect): ${s}`);
  }
}

async function main() {
  if (!fs.existsSync(FIXTURE)) {
    throw new Error('fixture binary not found: ' + FIXTURE + ' (build it: cargo build --release -p glue-tests --bin fixture, or set FIXTURE)');
  }
  if (!fs.existsSync(CHROMIUM)) throw new Error('Chromium not found: ' + CHROMIUM);
  const { chromium } = require('playwright-core');

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'glue-browser-'));
  cleanups.push(() => fs.rmSync(tmp, { recursive: true, force: true }));
  let staticDir = path.join(here, 'www');
  let clientURL = null;
  if (UNDER_TEST) {
    // Serve the pages together with the client under test from a temp dir.
    staticDir = path.join(tmp, 'www');
    fs.mkdirSync(staticDir);
    for (const f of fs.readdirSync(path.join(here, 'www'))) fs.copyFileSync(path.join(here, 'www', f), path.join(staticDir, f));
    fs.copyFileSync(UNDER_TEST, path.join(staticDir, 'client-under-test.js'));
    clientURL = '/client-under-test.js';
    console.log(`client under test: ${UNDER_TEST} (checks of our fixes of upstream client defects are skipped)`);
  } else {
    console.log('client under test: js/glue.js served by the fixture at /glue/glue.js');
  }

  const userDataDir = path.join(tmp, 'chromium-profile');
  fs.mkdirSync(userDataDir);
  const ctx = await chromium.launchPersistentContext(userDataDir, launchArgs());
  cleanups.unshift(() => ctx.close().catch(() => {}));
  console.log(`browser: ${CHROMIUM} ${ctx.browser() ? ctx.browser().version() : ''}`.trim());

  const started = Date.now();
  for (const runtime of RUNTIMES) {
    const port = await freePort();
    const fx = new Fixture(runtime, port, staticDir);
    cleanups.unshift(() => fx.kill().catch(() => {}));
    console.log(`# runtime ${runtime}: fixture on ${fx.origin}`);

    if (!UNDER_TEST && (!ONLY || 'served-client'.includes(ONLY))) {
      const t0 = Date.now();
      let res;
      try {
        await fx.start('ws,ajax');
        res = { ok: true, info: await checkServedClient(fx) };
      } catch (e) {
        res = { ok: false, error: String(e && e.stack || e), fixtureLog: fx.log.slice(-20) };
      }
      report(`${runtime}/served-client`, Date.now() - t0, res);
    }

    for (const test of TESTS) {
      const name = `${runtime}/${test.name}`;
      if (ONLY && !name.includes(ONLY)) continue;
      const t0 = Date.now();
      const config = (test.transports || 'ws,ajax') + (test.allowOrigin ? ' allow-origin' : '');
      let res;
      try {
        if (test.fresh || !fx.running() || fx.config !== config) {
          await fx.kill();
          await fx.start(config);
        }
        fx.log.length = 0;
        res = await runPageTest(ctx, fx, test, clientURL);
      } catch (e) {
        res = { ok: false, skipped: [], error: String(e && e.stack || e) };
      }
      if (!res.ok) res.fixtureLog = fx.log.slice(-20);
      report(name, Date.now() - t0, res);
    }
    await fx.kill();
  }
  console.log(`# suite took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (skippedChecks.length) {
    console.log(`# ${skippedChecks.length} checks skipped because they test our fixes of upstream glue.js defects`);
  }
  if (passed + failed === 0) {
    failed++;
    console.log('no test ran (ONLY=' + JSON.stringify(ONLY) + ')');
  }
}

async function cleanup() {
  for (const f of cleanups.splice(0)) {
    try { await f(); } catch (e) { /* best effort */ }
  }
}

const suiteTimer = setTimeout(() => {
  fatal('suite timed out after ' + SUITE_TIMEOUT_MS / 1000 + ' s');
  cleanup().finally(() => process.exit(1));
}, SUITE_TIMEOUT_MS);

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => { cleanup().finally(() => process.exit(1)); });
}

try {
  await main();
} catch (e) {
  fatal(String(e && e.stack || e));
  failed++;
} finally {
  await cleanup();
  clearTimeout(suiteTimer);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
