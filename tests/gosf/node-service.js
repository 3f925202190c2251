#!/usr/bin/env node
// A microservice on Node `socket.io@2.5.1` (from tests/sio/node_modules) speaking the GOSF
// Message envelope, for the microservice scenarios of micro.test.js:
//
//   node tests/gosf/node-service.js --listen 127.0.0.1:PORT
//
// Endpoint `echo`: acks `{success: true, text, body}` with the request's id/guid/uuid, as a
// GOSF `echo` would (only the ack: no event on the endpoint). A request whose text is
// `no-answer` is never answered (a caller's timeout). Prints `listening on HOST:PORT`.
'use strict';

const path = require('path');
const http = require('http');
const io = require(path.join(__dirname, '..', 'sio', 'node_modules', 'socket.io'));

const i = process.argv.indexOf('--listen');
const listen = i > 0 ? process.argv[i + 1] : '127.0.0.1:0';
const sep = listen.lastIndexOf(':');
const host = listen.slice(0, sep);
const port = Number(listen.slice(sep + 1));

const server = http.createServer();
const sio = io(server, { path: '/socket.io/' });
sio.on('connection', (socket) => {
  socket.on('echo', (msg, ack) => {
    if (typeof ack !== 'function') return;
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
      ack({ success: false, text: 'the message must be an object' });
      return;
    }
    if (msg.text === 'no-answer') return;
    const out = { success: true };
    for (const k of ['id', 'guid', 'uuid']) if (msg[k] !== undefined) out[k] = msg[k];
    if (msg.text) out.text = msg.text;
    if (msg.body !== undefined) out.body = msg.body;
    ack(out);
  });
});
server.listen(port, host, () => {
  const a = server.address();
  console.log(`node-service listening on ${a.address}:${a.port}`);
});
