// Shared harness of the Socket.IO v2 end-to-end suites: server processes started from a
// command template, a tiny scenario runner (per-scenario timeout, assertion counting, cleanup),
// and waiting helpers. Everything runs on 127.0.0.1.
'use strict';

const { spawn } = require('child_process');
const assert = require('assert');
const net = require('net');
const path = require('path');

const REPO = path.resolve(__dirname, '..', '..');
const REF_TEMPLATE = `node ${path.join(__dirname, 'ref-fixture.js')} {kind} --listen {listen}`;

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
    }),
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

// "--server" value → full template with {kind} and {listen}; a template without {kind}
// gets " {kind} --listen {listen}" appended (e.g. "node tests/sio/ref-fixture.js").
function expandTemplate(template) {
  if (!template || !template.trim()) throw new Error('empty server command');
  if (template.includes('{kind}')) {
    if (!template.includes('{listen}')) throw new Error('server command has {kind} but no {listen}: ' + template);
    return template;
  }
  return template.trim() + ' {kind} --listen {listen}';
}

// Parses the common command line of the runners: --server CMD (or --server-cmd, or env
// SIO_SERVER_CMD), --ref (the Node reference), --only SUBSTRING (or env ONLY).
function parseCli(argv) {
  let server = process.env.SIO_SERVER_CMD || '';
  let only = process.env.ONLY || '';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--server' || a === '--server-cmd') server = argv[++i] || '';
    else if (a === '--ref') server = REF_TEMPLATE;
    else if (a === '--only') only = argv[++i] || '';
    else throw new Error('unknown argument ' + a + ' (use --server "CMD {kind} ... --listen {listen}", --ref, --only SUBSTR)');
  }
  if (!server) throw new Error('no server command: pass --server "CMD" (template with {kind} and {listen}, or a prefix to which "{kind} --listen {listen}" is appended), --ref, or set SIO_SERVER_CMD');
  return { template: expandTemplate(server), only };
}

// One fixture server process of one kind, on a fixed port so that it can be restarted on the
// same address. The command runs through /bin/sh (exec) in its own process group, with the
// repository root as working directory; it must print a line "... listening on HOST:PORT".
class Server {
  constructor(template, kind, port) {
    this.template = template;
    this.kind = kind;
    this.port = port;
    this.child = null;
    this.log = [];
    this.addr = null;
    this.startError = null;
  }

  get command() {
    return this.template.split('{kind}').join(this.kind).split('{listen}').join('127.0.0.1:' + this.port);
  }

  get url() {
    return 'http://127.0.0.1:' + this.port;
  }

  running() {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  keep(line) {
    this.log.push(line);
    if (this.log.length > 200) this.log.splice(0, this.log.length - 200);
  }

  async start() {
    if (this.running()) throw new Error('server already running');
    // A server that could not be started once is not retried for every scenario.
    if (this.startError) throw new Error('the server could not be started earlier: ' + this.startError);
    const deadline = Date.now() + 20000;
    for (let attempt = 1; ; attempt++) {
      const child = spawn('/bin/sh', ['-c', 'exec ' + this.command], {
        cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
      });
      this.child = child;
      this.keep(`--- started (pid ${child.pid}, try ${attempt}): ${this.command}`);
      const exited = new Promise((r) => child.once('exit', (code, sig) => r(`exited with ${sig || code}`)));
      child.on('error', (e) => this.keep('spawn error: ' + e.message));
      const listening = new Promise((resolve) => {
        let buf = '';
        const onData = (chunk) => {
          buf += chunk.toString();
          let nl;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            this.keep('> ' + line);
            const m = /listening on (\S+)/.exec(line);
            if (m) resolve(m[1]);
          }
        };
        child.stdout.on('data', onData);
      });
      child.stderr.on('data', (c) => { for (const l of c.toString().split('\n')) if (l) this.keep('! ' + l); });
      const left = Math.max(deadline - Date.now(), 1000);
      const res = await withTimeout(Promise.race([listening.then((a) => ({ addr: a })), exited.then((e) => ({ exit: e }))]),
        left, 'server start').catch((e) => ({ exit: e.message }));
      if (res.addr) {
        this.addr = res.addr;
        if (res.addr !== '127.0.0.1:' + this.port) {
          await this.stop();
          throw new Error(`server reports ${res.addr}, expected 127.0.0.1:${this.port}`);
        }
        return;
      }
      await this.stop();
      if (Date.now() >= deadline || attempt >= 10) {
        this.startError = res.exit;
        throw new Error(`server did not start (${res.exit}):\n  ${this.log.slice(-15).join('\n  ')}`);
      }
      await sleep(200); // e.g. the port is still in use after a restart: try again
    }
  }

  async stop() {
    const child = this.child;
    if (!child) return;
    this.child = null;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      try { process.kill(-child.pid, 'SIGKILL'); } catch (e) { try { child.kill('SIGKILL'); } catch (e2) { /* gone */ } }
      await withTimeout(exited, 5000, 'server exit').catch(() => {});
    }
    this.keep('--- stopped');
  }

  async restart() {
    await this.stop();
    await this.start();
  }
}

// Assertion context of one scenario: counts assertions (a scenario that asserts nothing
// fails) and runs the registered cleanups at the end.
class T {
  constructor(name) {
    this.name = name;
    this.count = 0;
    this.cleanups = [];
    this.notes = [];
  }
  defer(fn) { this.cleanups.push(fn); }
  note(s) { this.notes.push(s); }
  ok(cond, msg) { this.count++; assert.ok(cond, msg); }
  equal(a, b, msg) { this.count++; assert.strictEqual(a, b, msg); }
  deepEqual(a, b, msg) { this.count++; assert.deepStrictEqual(a, b, msg); }
  match(s, re, msg) { this.count++; assert.match(String(s), re, msg); }
  fail(msg) { this.count++; assert.fail(msg); }
  async cleanup() {
    for (const f of this.cleanups.splice(0).reverse()) {
      try { await f(); } catch (e) { /* best effort */ }
    }
  }
}

// Resolves with the arguments of the next `event` of `emitter`, rejects after ms.
function once(emitter, event, ms, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, handler);
      reject(new Error(`${what || 'event ' + event}: not received within ${ms} ms`));
    }, ms);
    function handler(...args) {
      clearTimeout(timer);
      emitter.off(event, handler);
      resolve(args);
    }
    emitter.on(event, handler);
  });
}

async function waitFor(pred, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > deadline) throw new Error(`${what}: not true within ${ms} ms`);
    await sleep(10);
  }
}

// Runs scenarios sequentially. A scenario: { name, kind, timeout?, fn(t, server) }.
// servers: kind → Server. Returns { passed, failed }.
// `progress` is updated as scenarios finish (read by a runner that must exit early).
const progress = { passed: 0, failed: 0 };
async function runScenarios(scenarios, servers, { only = '', defaultTimeout = 15000 } = {}) {
  let passed = 0;
  let failed = 0;
  for (const sc of scenarios) {
    if (only && !sc.name.includes(only)) continue;
    const server = servers[sc.kind];
    const t = new T(sc.name);
    const t0 = Date.now();
    let error = null;
    try {
      if (!server.running()) await server.start();
      server.log.length = 0;
      await withTimeout(sc.fn(t, server), sc.timeout || defaultTimeout, sc.name);
      if (t.count === 0) error = new Error('the scenario asserted nothing');
    } catch (e) {
      error = e;
    }
    await withTimeout(t.cleanup(), 5000, 'cleanup').catch(() => {});
    if (!error && !server.running()) error = new Error('the server process died during the scenario');
    const ms = Date.now() - t0;
    if (error) {
      failed++;
      progress.failed++;
      console.log(`FAIL ${sc.name} (${ms} ms)\n     ${String(error && error.stack || error).split('\n').slice(0, 12).join('\n     ')}`);
      for (const l of server.log.slice(-15)) console.log('     ' + l);
      if (!server.running()) await server.start().catch((e) => console.log('     restart failed: ' + e.message));
    } else {
      passed++;
      progress.passed++;
      const notes = t.notes.length ? ' [' + t.notes.join('; ') + ']' : '';
      console.log(`ok   ${sc.name} (${ms} ms, ${t.count} checks)${notes}`);
    }
  }
  return { passed, failed };
}

module.exports = {
  REPO, REF_TEMPLATE, sleep, withTimeout, freePort, expandTemplate, parseCli, Server, T, once, waitFor, runScenarios, progress,
};
