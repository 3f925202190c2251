// Node socket.io@2.5.1 (Engine.IO 3 / Socket.IO protocol 4) benchmark server:
//   node sio-server.js --listen HOST:PORT
// Same event contract as src/bin/sio_server.rs (namespace `/`): `echo` (...args) acked with
// the same arguments; `join` (room; acked if asked); `bcast` (room, ...args) -> `bcast` (...args) to the
// room, then acked with no arguments. Default ping interval 25 s / timeout 20 s (set
// explicitly: socket.io 2's default timeout is 5 s), perMessageDeflate off.
'use strict';
const http = require('http');

const i = process.argv.indexOf('--listen');
const listen = i > 0 ? process.argv[i + 1] : '127.0.0.1:9602';
const sep = listen.lastIndexOf(':');
const host = listen.slice(0, sep);
const port = Number(listen.slice(sep + 1));

const server = http.createServer();
const io = require('socket.io')(server, {
  perMessageDeflate: false,
  httpCompression: false,
  pingInterval: 25000,
  pingTimeout: 20000,
  serveClient: false,
});

io.on('connection', (socket) => {
  socket.on('echo', (...args) => {
    const ack = args[args.length - 1];
    if (typeof ack === 'function') ack(...args.slice(0, -1));
  });
  socket.on('join', (room, ack) => {
    socket.join(room);
    if (typeof ack === 'function') ack();
  });
  socket.on('bcast', (room, ...args) => {
    const ack = typeof args[args.length - 1] === 'function' ? args.pop() : null;
    io.to(room).emit('bcast', ...args);
    if (ack) ack();
  });
});

server.listen({ host, port, backlog: 4096 }, () =>
  console.log(`sio-server.js (socket.io ${require('socket.io/package.json').version}) listening on ${host}:${port}`));
