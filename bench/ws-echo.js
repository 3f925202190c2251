// Node `ws@8` echo server for the glue-rs benchmarks: node ws-echo.js --listen HOST:PORT
// Echoes every text and binary message (same type back). Default ws options
// (perMessageDeflate is off by default in ws@8).
'use strict';
const { WebSocketServer } = require('ws');

const i = process.argv.indexOf('--listen');
const listen = i > 0 ? process.argv[i + 1] : '127.0.0.1:9004';
const sep = listen.lastIndexOf(':');
const host = listen.slice(0, sep);
const port = Number(listen.slice(sep + 1));

const wss = new WebSocketServer({ host, port, backlog: 4096 });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});
wss.on('listening', () => console.log(`ws-echo.js (ws ${require('ws/package.json').version}) listening on ${host}:${port}`));
