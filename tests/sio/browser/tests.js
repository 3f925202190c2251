// Browser side of browser.test.js: scenarios run by the socket.io-client 2.5.0 bundle
// against `fixture sio-e2e` on another origin. window.runScenario(name, serverUrl) resolves
// { ok, checks, error, info }; every scenario closes its sockets.
/* global io */
(function () {
  'use strict';
  var checks = 0;
  var sockets = [];

  function check(cond, msg) {
    checks++;
    if (!cond) throw new Error(msg);
  }
  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }
  function waitFor(pred, ms, what) {
    var deadline = Date.now() + ms;
    return new Promise(function (resolve, reject) {
      (function loop() {
        if (pred()) return resolve();
        if (Date.now() > deadline) return reject(new Error(what + ': not true within ' + ms + ' ms'));
        setTimeout(loop, 10);
      })();
    });
  }
  function bytes(arr) { return new Uint8Array(arr).buffer; }
  function hex(ab) {
    check(ab instanceof ArrayBuffer, 'expected an ArrayBuffer, got ' + Object.prototype.toString.call(ab));
    return Array.prototype.map.call(new Uint8Array(ab), function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
  }
  // JSON with ArrayBuffers as {hex}: deep comparison of received arguments.
  function norm(v) {
    if (v instanceof ArrayBuffer) return { hex: hex(v) };
    if (Array.isArray(v)) return v.map(norm);
    if (v && typeof v === 'object') {
      var o = {};
      Object.keys(v).forEach(function (k) { o[k] = norm(v[k]); });
      return o;
    }
    return v;
  }
  function same(a, b, msg) {
    var x = JSON.stringify(norm(a));
    var y = JSON.stringify(norm(b));
    check(x === y, msg + ': got ' + x.slice(0, 300) + ', want ' + y.slice(0, 300));
  }

  // Connects and records events; answer(args, ack) handles the server's emit-with-ack requests.
  function connect(url, opts, answer) {
    var o = { forceNew: true, reconnection: false, timeout: 5000 };
    for (var k in opts) o[k] = opts[k];
    var socket = io(url, o);
    sockets.push(socket);
    var st = { socket: socket, events: [], requests: [], errors: [] };
    ['auth', 'message-back', 'emit-with-ack'].forEach(function (ev) {
      socket.on(ev, function () {
        var args = Array.prototype.slice.call(arguments);
        if (ev === 'emit-with-ack' && typeof args[args.length - 1] === 'function') {
          var ack = args.pop();
          st.requests.push(args);
          if (answer) answer(args, ack);
          return;
        }
        st.events.push([ev].concat(args));
      });
    });
    socket.on('error', function (e) { st.errors.push(e); });
    st.of = function (ev) {
      return st.events.filter(function (e) { return e[0] === ev; }).map(function (e) { return e.slice(1); });
    };
    return waitFor(function () { return socket.connected && st.of('auth').length > 0; }, 5000, 'connect + auth ' + url)
      .then(function () { same(st.of('auth')[0], [{}], 'auth carries {}'); return st; });
  }

  async function roundTrip(st, args, what) {
    var before = st.of('message-back').length;
    st.socket.emit.apply(st.socket, ['message'].concat(args));
    await waitFor(function () { return st.of('message-back').length > before; }, 5000, what);
    same(st.of('message-back')[before], args, what);
  }
  function withAck(st, args) {
    return new Promise(function (resolve) {
      st.socket.emit.apply(st.socket, args.concat([function () { resolve(Array.prototype.slice.call(arguments)); }]));
    });
  }
  async function emitWithAck(st, args, want, what) {
    var before = st.of('emit-with-ack').length;
    st.socket.emit.apply(st.socket, ['emit-with-ack'].concat(args));
    await waitFor(function () { return st.of('emit-with-ack').length > before; }, 5000, what);
    same(st.of('emit-with-ack')[before], want, what);
  }

  var TEXT = ['line1\nline2 \\n literal', '\u2028 and \u2029', 'é€😀', '"quoted" \\ <script>&amp;', 'x'.repeat(3000)];

  var scenarios = {
    // XHR polling with binary payloads (the browser has XHR2: no b64).
    xhrBinary: async function (url) {
      var st = await connect(url, { transports: ['polling'] }, function (args, ack) { ack(bytes([7, 7]), { got: args[0] }); });
      var tr = st.socket.io.engine.transport;
      check(tr.name === 'polling' && tr.supportsBinary === true && tr.query.b64 === undefined, 'XHR polling with binary support');
      check(typeof tr.index === 'undefined' && !window.___eio, 'not JSONP');
      await roundTrip(st, [bytes([0, 1, 2, 250, 255])], 'ArrayBuffer echo');
      await roundTrip(st, ['t', { nested: bytes([9, 8, 7]), list: [bytes([1]), bytes([])], s: 'é😀' }], 'nested ArrayBuffers');
      same(await withAck(st, ['message-with-ack', bytes([5, 6]), 'x']), [bytes([5, 6]), 'x'], 'binary ack from the server');
      await emitWithAck(st, [bytes([3])], [bytes([7, 7]), { got: bytes([3]) }], 'binary ack from the browser');
      same(st.requests, [[bytes([3])]], 'binary request from the server');
      await roundTrip(st, TEXT, 'text with newlines, U+2028, emoji');
      check(st.socket.io.engine.transport.name === 'polling', 'still polling');
      same(st.errors, [], 'no error events');
      return { transport: 'xhr-polling' };
    },
    // Forced JSONP polling (script GETs, form POSTs).
    jsonp: async function (url) {
      var st = await connect(url, { transports: ['polling'], forceJSONP: true }, function (args, ack) { ack('answer', args[0]); });
      var tr = st.socket.io.engine.transport;
      check(tr.name === 'polling' && typeof tr.index === 'number' && Array.isArray(window.___eio), 'JSONP transport in use');
      await roundTrip(st, TEXT, 'text with newlines, U+2028, emoji over JSONP');
      for (var i = 0; i < TEXT.length; i++) await roundTrip(st, [TEXT[i]], 'JSONP text ' + i);
      same(await withAck(st, ['message-with-ack', 'a\nb', '\u2028']), ['a\nb', '\u2028'], 'ack over JSONP');
      await emitWithAck(st, ['q\n\u2029'], ['answer', 'q\n\u2029'], 'emit-with-ack over JSONP');
      await roundTrip(st, [bytes([1, 2, 3, 254])], 'binary (base64) over JSONP');
      same(st.errors, [], 'no error events');
      return { transport: 'jsonp-polling' };
    },
    // Default transports: upgrade to websocket, then echo.
    upgrade: async function (url) {
      var st = await connect(url, {});
      var engine = st.socket.io.engine;
      await waitFor(function () { return engine.transport.name === 'websocket'; }, 5000, 'upgrade to websocket');
      check(engine.transport.name === 'websocket', 'upgraded');
      await roundTrip(st, ['after upgrade', 'é😀\u2028'], 'text echo over websocket');
      await roundTrip(st, [bytes([1, 2, 3]), { b: bytes([4]) }], 'binary echo over websocket');
      same(await withAck(st, ['message-with-ack', 1, bytes([2])]), [1, bytes([2])], 'ack over websocket');
      var custom = await connect(url + '/custom', {});
      await roundTrip(custom, ['on custom'], '/custom echo');
      await sleep(700); // heartbeat windows pass without a disconnect
      check(st.socket.connected && custom.socket.connected, 'still connected');
      return { transport: engine.transport.name };
    },
  };

  window.runScenario = async function (name, url) {
    checks = 0;
    try {
      var info = await scenarios[name](url);
      if (checks === 0) throw new Error('the scenario asserted nothing');
      return { ok: true, checks: checks, info: info };
    } catch (e) {
      return { ok: false, checks: checks, error: String(e && e.stack || e) };
    } finally {
      sockets.splice(0).forEach(function (s) { try { s.close(); } catch (e) { /* ignore */ } });
    }
  };
  window.testsReady = true;
})();
