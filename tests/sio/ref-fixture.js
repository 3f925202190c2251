#!/usr/bin/env node
// Node reference implementation of the Socket.IO v2 fixture kinds of `fixture` (same CLI and
// the same "listening on ADDR" line), used to validate the end-to-end tests and as the Node
// socket.io@2.5.1 peer:
//
//   node ref-fixture.js eio-echo [--runtime R] --listen 127.0.0.1:0
//     Engine.IO (engine.io 3.6) server at /engine.io/, pingInterval 300 ms, pingTimeout 200 ms,
//     max payload 1e6 bytes, any Origin accepted, echoes every message (text and binary).
//   node ref-fixture.js sio-e2e [--runtime R] --listen 127.0.0.1:0
//     Socket.IO (socket.io 2.5.1) server at /socket.io/, ping 300/200 ms, max payload 1e6,
//     ack timeout 200 ms, namespaces / and /custom (see handlers below); any other namespace
//     is refused with "Invalid namespace".
//
// --runtime is accepted and ignored (the Rust fixture picks tokio or std with it).
'use strict';

const http = require('http');

const PING_INTERVAL = 300;
const PING_TIMEOUT = 200;
const MAX_PAYLOAD = 1e6;
const ACK_TIMEOUT = 200;

function usage(msg) {
  console.error('ref-fixture: ' + msg);
  console.error('usage: node ref-fixture.js <eio-echo|sio-e2e> [--runtime R] [--listen HOST:PORT]');
  process.exit(2);
}

function parseArgs(argv) {
  const kind = argv[0];
  if (!kind) usage('missing kind');
  let listen = '127.0.0.1:0';
  for (let i = 1; i < argv.length; i += 2) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) usage(flag + ' needs a value');
    if (flag === '--listen') listen = value;
    else if (flag === '--runtime') { /* accepted for CLI compatibility */ } else usage('unknown flag ' + flag);
  }
  const colon = listen.lastIndexOf(':');
  if (colon < 0) usage('--listen wants HOST:PORT');
  const host = listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(listen.slice(colon + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) usage('bad port in ' + listen);
  return { kind, host, port };
}

function notFound(req, res) {
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('not found');
}

function eioEcho(server) {
  const engine = require('engine.io');
  // engine.io 3.x answers polling requests with Access-Control-Allow-Origin = the request's
  // Origin (+ Allow-Credentials), so any Origin is accepted without options.
  const eio = engine.attach(server, {
    path: '/engine.io',
    pingInterval: PING_INTERVAL,
    pingTimeout: PING_TIMEOUT,
    maxHttpBufferSize: MAX_PAYLOAD,
  });
  eio.on('connection', (socket) => {
    socket.on('message', (data) => socket.send(data));
  });
}

function sioE2e(server) {
  const io = require('socket.io')(server, {
    path: '/socket.io',
    serveClient: false,
    pingInterval: PING_INTERVAL,
    pingTimeout: PING_TIMEOUT,
    maxHttpBufferSize: MAX_PAYLOAD,
    origins: '*:*',
  });
  for (const nsp of [io.of('/'), io.of('/custom')]) {
    nsp.on('connection', (socket) => {
      socket.emit('auth', {});
      socket.on('message', (...args) => socket.emit('message-back', ...args));
      socket.on('message-with-ack', (...args) => {
        const ack = typeof args[args.length - 1] === 'function' ? args.pop() : null;
        if (ack) ack(...args);
      });
      socket.on('emit-with-ack', (...args) => {
        if (typeof args[args.length - 1] === 'function') args.pop();
        // socket.io 2.x has no ack timeout: a timer stands in for it. An answer after
        // ACK_TIMEOUT ms is ignored, so it never produces the follow-up event.
        let settled = false;
        const timer = setTimeout(() => { settled = true; }, ACK_TIMEOUT);
        socket.emit('emit-with-ack', ...args, (...answer) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          socket.emit('emit-with-ack', ...answer);
        });
      });
      socket.on('join', (room) => socket.join(room));
      socket.on('to-room', (room, ...rest) => socket.to(room).emit('to-room', ...rest));
    });
  }
}

function main() {
  const { kind, host, port } = parseArgs(process.argv.slice(2));
  const server = http.createServer(notFound);
  if (kind === 'eio-echo') eioEcho(server);
  else if (kind === 'sio-e2e') sioE2e(server);
  else usage('unknown kind ' + kind);
  server.on('error', (e) => {
    console.error('ref-fixture: ' + e.message);
    process.exit(1);
  });
  server.listen(port, host, () => {
    const a = server.address();
    const addr = a.family === 'IPv6' || a.family === 6 ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
    console.log(`${kind} (node) listening on ${addr}`);
  });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
}

main();
