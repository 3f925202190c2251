/*
 * glue.js: the glue-rs browser client for the glue protocol 1.9.1
 * (WebSocket, with HTTP long-polling "AjaxSocket" as fallback).
 *
 * Dependency-free, no build step. Defines the global function
 * glue(host, options), API- and wire-compatible with the glue.js 1.9.1
 * client, so it works with a glue-rs server and with a glue 1.9.1 server.
 * Deliberate differences from glue.js 1.9.1 (none is visible on the wire):
 *  - socket.send() returns 1 (sent), 0 (buffered) or -1 (discarded/refused);
 *  - close() always sticks, also when called during a reconnect delay;
 *  - exceptions in listeners and handlers are isolated (rethrown
 *    asynchronously) and never break the client's own bookkeeping;
 *  - the send buffer is flushed before the `connected` event, so messages
 *    keep the order in which send() was called;
 *  - discard callbacks get the data that was given to send();
 *  - state() reads "reconnecting" during a reconnect delay;
 *  - at most `reconnectAttempts` reconnect attempts (0 = endless);
 *  - forceSocketType is honoured on every attempt;
 *  - connectTimeout covers the whole connect, including the init reply;
 *  - AjaxSocket: one push request at a time (in order), a rejected push is
 *    an error, a poll timeout ("t") re-polls with the current token;
 *  - empty messages are delivered; socket.off() removes listeners.
 *
 * Part of glue-rs. Licensed under MIT OR Apache-2.0, at your option.
 */
(function (global) {
    'use strict';

    var VERSION = '1.9.1';
    var MAIN_CHANNEL = 'm';
    var WEBSOCKET = 'WebSocket';
    var AJAXSOCKET = 'AjaxSocket';
    var DISCONNECTED = 'disconnected';
    var CONNECTING = 'connecting';
    var RECONNECTING = 'reconnecting';
    var CONNECTED = 'connected';

    // AjaxSocket request timeouts (ms): init/push, and poll (server answers within 35 s).
    var SEND_TIMEOUT = 8000;
    var POLL_TIMEOUT = 45000;

    var DEFAULTS = {
        baseURL: '/glue/',
        forceSocketType: false,
        connectTimeout: 10000,
        pingInterval: 35000,
        pingReconnectTimeout: 5000,
        reconnect: true,
        reconnectDelay: 1000,
        reconnectDelayMax: 5000,
        reconnectAttempts: 10,
        resetSendBufferTimeout: 10000
    };

    function log(msg) {
        if (global.console && global.console.log) {
            global.console.log('glue: ' + msg);
        }
    }

    // Call a user function; an exception is reported asynchronously
    // (uncaught, so it shows in the console) and does not propagate.
    function safeCall(fn, self, args) {
        try {
            fn.apply(self, args || []);
        } catch (e) {
            setTimeout(function () { throw e; }, 0);
        }
    }

    // Channel data payload: LEN "&" NAME DATA, LEN in UTF-16 code units.
    function marshal(name, data) {
        return String(name.length) + '&' + name + data;
    }

    function unmarshal(payload) {
        var i = payload.indexOf('&');
        if (i < 1 || !/^[0-9]+$/.test(payload.substring(0, i))) {
            return null;
        }
        var len = parseInt(payload.substring(0, i), 10);
        var rest = payload.substring(i + 1);
        if (len > rest.length) {
            return null;
        }
        return { name: rest.substring(0, len), data: rest.substring(len) };
    }

    function decodeBinary(buf) {
        if (typeof TextDecoder !== 'undefined') {
            return new TextDecoder('utf-8').decode(buf);
        }
        return String(buf);
    }

    // ---- transports -------------------------------------------------------
    // Both transports call t.onOpen(), t.onMessage(str), t.onClose() and
    // t.onError(msg) (set by the socket) and offer open(), send(msg),
    // reset() (drop at once) and close() (send "cl", then drop).

    function WebSocketTransport(url) {
        var t = this;
        var ws = null;
        var detached = false;

        t.open = function () {
            try {
                ws = new global.WebSocket(url);
            } catch (e) {
                setTimeout(function () {
                    if (!detached) { t.onError('the websocket closed the connection with an error.'); }
                }, 0);
                return;
            }
            ws.binaryType = 'arraybuffer';
            ws.onopen = function () {
                if (!detached) { t.onOpen(); }
            };
            ws.onmessage = function (ev) {
                if (detached) { return; }
                t.onMessage(typeof ev.data === 'string' ? ev.data : decodeBinary(ev.data));
            };
            ws.onerror = function () {
                if (!detached) { t.onError('the websocket closed the connection with an error.'); }
            };
            ws.onclose = function () {
                if (!detached) { t.onClose(); }
            };
        };

        t.send = function (msg) {
            if (ws && ws.readyState === 1) { ws.send(msg); }
        };

        t.reset = function () {
            detached = true;
            if (ws) {
                ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
                try { ws.close(); } catch (e) { /* already closed */ }
                ws = null;
            }
        };

        t.close = function () {
            t.send('cl');
            t.reset();
        };
    }

    function AjaxTransport(url) {
        var t = this;
        var uid = null;
        var token = null;
        var poller = null;
        var pusher = null;
        var queue = [];
        var detached = false;  // no more callbacks to the socket
        var stopped = false;   // no more requests at all

        function request(body, timeout, done) {
            var x = new XMLHttpRequest();
            x.open('POST', url, true);
            x.responseType = 'text';
            x.timeout = timeout;
            x.onload = function () {
                if (!stopped) { done(x.status, x.responseText); }
            };
            x.onerror = function () { fail(); };
            x.ontimeout = function () { fail('timeout'); };
            x.send(body);
            return x;
        }

        function stop() {
            stopped = true;
            queue = [];
            if (poller) { poller.abort(); poller = null; }
            if (pusher) { pusher.abort(); pusher = null; }
        }

        function fail(err) {
            if (stopped) { return; }
            var wasDetached = detached;
            stop();
            detached = true;
            if (!wasDetached) {
                t.onError(err ? 'the ajax socket closed the connection with the error: ' + err
                              : 'the ajax socket closed the connection with an error.');
            }
        }

        function poll() {
            poller = request('o' + uid + '&' + token, POLL_TIMEOUT, function (status, body) {
                poller = null;
                if (detached) { return; }
                if (status === 200 && body === 't') { poll(); return; }
                if (status === 200 && body === 'c') {
                    stop();
                    detached = true;
                    t.onClose();
                    return;
                }
                var i = body.indexOf('&');
                if (status !== 200 || i < 0) {
                    fail('ajax socket: failed to split poll token from data!');
                    return;
                }
                token = body.substring(0, i);
                poll();
                t.onMessage(body.substring(i + 1));
            });
        }

        // One push at a time, so the server receives messages in send order.
        function pump() {
            if (pusher || stopped || queue.length === 0) {
                if (!pusher && detached && !stopped) { stop(); }
                return;
            }
            pusher = request('u' + uid + '&' + queue.shift(), SEND_TIMEOUT, function (status) {
                pusher = null;
                if (status !== 200) {
                    fail('ajax socket: push rejected with HTTP status ' + status);
                    return;
                }
                pump();
            });
        }

        t.open = function () {
            pusher = request('i', SEND_TIMEOUT, function (status, body) {
                pusher = null;
                var i = body.indexOf('&');
                if (status !== 200 || i < 0) {
                    fail('ajax socket: failed to split uid and poll token from data!');
                    return;
                }
                uid = body.substring(0, i);
                token = body.substring(i + 1);
                poll();
                t.onOpen();
            });
        };

        t.send = function (msg) {
            if (uid === null || stopped) { return; }
            queue.push(msg);
            pump();
        };

        t.reset = function () {
            detached = true;
            stop();
        };

        // Stop polling but let the queued pushes and the final "cl" go out.
        t.close = function () {
            if (uid === null || stopped) { t.reset(); return; }
            detached = true;
            if (poller) { poller.abort(); poller = null; }
            queue.push('cl');
            pump();
        };
    }

    // ---- the socket -------------------------------------------------------

    function glue(host, options) {
        var opts = {};
        var k;
        for (k in DEFAULTS) {
            if (Object.prototype.hasOwnProperty.call(DEFAULTS, k)) { opts[k] = DEFAULTS[k]; }
        }
        if (options) {
            for (k in options) {
                if (Object.prototype.hasOwnProperty.call(options, k) && options[k] !== undefined) {
                    opts[k] = options[k];
                }
            }
        }
        if (opts.reconnectDelayMax < opts.reconnectDelay) {
            opts.reconnectDelayMax = opts.reconnectDelay;
        }
        var base = String(opts.baseURL);
        if (base.charAt(0) !== '/') { base = '/' + base; }
        if (base.charAt(base.length - 1) !== '/') { base = base + '/'; }
        opts.baseURL = base;

        if (!host) {
            host = global.location.protocol + '//' + global.location.host;
        }
        host = String(host);
        if (host.indexOf('http://') !== 0 && host.indexOf('https://') !== 0) {
            log("invalid host: missing 'http://' or 'https://'!");
            return undefined;
        }
        var wsURL = (host.indexOf('https://') === 0 ? 'wss' + host.substring(5)
                                                    : 'ws' + host.substring(4)) + base + 'ws';
        var ajaxURL = host + base + 'ajax';

        var state = DISCONNECTED;
        var socketType;
        var socketID = '';
        var transport = null;
        var transportOpen = false;   // current transport is open
        var ready = false;           // init reply received on the current transport
        var stickyType = null;       // type of the last transport that connected
        var attempts = 0;            // reconnect attempts since the last connect
        var firstAttempt = true;
        var dontReconnect = false;   // server sent "dr"
        var closed = false;          // close() was called (until reconnect())
        var attemptTimer = null;
        var connectTimer = null;
        var pingTimer = null;
        var pongTimer = null;
        var sendBuffer = [];
        var bufferTimer = null;
        var bufferExpired = false;
        var listeners = {};
        var channels = {};
        var self;

        function emit(ev) {
            var ls = listeners[ev];
            if (!ls) { return; }
            var args = Array.prototype.slice.call(arguments, 1);
            ls = ls.slice();
            for (var i = 0; i < ls.length; i++) { safeCall(ls[i], self, args); }
        }

        function clearTimer(id) {
            if (id !== null) { clearTimeout(id); }
            return null;
        }

        function chooseType() {
            if (stickyType) { return stickyType; }
            var hasWS = typeof global.WebSocket === 'function' || typeof global.WebSocket === 'object';
            if (opts.forceSocketType === AJAXSOCKET || !hasWS) { return AJAXSOCKET; }
            if (opts.forceSocketType === WEBSOCKET) { return WEBSOCKET; }
            // Two failed WebSocket attempts: fall back to the AjaxSocket.
            return attempts > 1 ? AJAXSOCKET : WEBSOCKET;
        }

        function sendRaw(msg) {
            if (transport && transportOpen) { transport.send(msg); }
        }

        function armPing() {
            pingTimer = clearTimer(pingTimer);
            pongTimer = clearTimer(pongTimer);
            pingTimer = setTimeout(function () {
                pingTimer = null;
                sendRaw('pi');
                pongTimer = setTimeout(function () {
                    pongTimer = null;
                    emit('timeout');
                    lost();
                }, opts.pingReconnectTimeout);
            }, opts.pingInterval);
        }

        function dropTransport(graceful) {
            connectTimer = clearTimer(connectTimer);
            pingTimer = clearTimer(pingTimer);
            pongTimer = clearTimer(pongTimer);
            var t = transport;
            var wasOpen = transportOpen;
            transport = null;
            transportOpen = false;
            ready = false;
            socketID = '';
            if (t) {
                // "cl" also before the init reply: the server then drops the socket at once.
                if (graceful && wasOpen) { t.close(); } else { t.reset(); }
            }
        }

        // The connection is gone (error, close, timeout): reconnect or give up.
        function lost() {
            dropTransport(false);
            if (closed) { return; }
            if (opts.reconnect === false || dontReconnect ||
                    (opts.reconnectAttempts > 0 && attempts >= opts.reconnectAttempts)) {
                state = DISCONNECTED;
                emit('disconnected');
                return;
            }
            scheduleAttempt();
        }

        function scheduleAttempt() {
            attempts += 1;
            state = RECONNECTING;
            var delay = Math.min(opts.reconnectDelay * attempts, opts.reconnectDelayMax);
            attemptTimer = clearTimer(attemptTimer);
            attemptTimer = setTimeout(attempt, delay);
        }

        function attempt() {
            attemptTimer = null;
            if (closed) { return; }
            socketType = chooseType();
            var t = socketType === WEBSOCKET ? new WebSocketTransport(wsURL) : new AjaxTransport(ajaxURL);
            transport = t;
            t.onOpen = function () {
                if (t !== transport) { return; }
                transportOpen = true;
                armPing();
                t.send('in' + JSON.stringify({ version: VERSION }));
            };
            t.onMessage = function (msg) {
                if (t === transport) { handleMessage(msg); }
            };
            t.onClose = function () {
                if (t === transport) { lost(); }
            };
            t.onError = function (msg) {
                if (t !== transport) { return; }
                emit('error', [msg], msg);
                if (t === transport) { lost(); }
            };

            if (firstAttempt) {
                firstAttempt = false;
                state = CONNECTING;
                emit('connecting');
            } else {
                state = RECONNECTING;
                emit('reconnecting');
            }
            if (t !== transport) { return; }  // a listener closed the socket
            connectTimer = setTimeout(function () {
                connectTimer = null;
                if (t !== transport) { return; }
                emit('connect_timeout');
                if (t === transport) { lost(); }
            }, opts.connectTimeout);
            t.open();
        }

        function handleInit(payload) {
            if (ready) { return; }
            var data = null;
            try { data = JSON.parse(payload); } catch (e) { data = null; }
            if (!data || !data.socketID) {
                log('socket initialization failed: invalid initialization data received');
                close();
                return;
            }
            connectTimer = clearTimer(connectTimer);
            socketID = String(data.socketID);
            ready = true;
            attempts = 0;
            stickyType = socketType;
            state = CONNECTED;
            flushSendBuffer();
            emit('connected');
        }

        function handleMessage(msg) {
            armPing();
            if (msg.length < 2) {
                log('received invalid data from server: data is too short.');
                return;
            }
            var cmd = msg.substring(0, 2);
            var payload = msg.substring(2);
            switch (cmd) {
            case 'pi':
                sendRaw('po');
                break;
            case 'po':
                break;
            case 'iv':
                log('server replied with an invalid request notification!');
                break;
            case 'dr':
                dontReconnect = true;
                log("server replied with a don't automatically reconnect request (incompatible protocol version?)");
                break;
            case 'in':
                handleInit(payload);
                break;
            case 'cd':
                var v = unmarshal(payload);
                if (!v) {
                    log('server sent an invalid channel data message: ' + payload);
                    break;
                }
                var ch = channels[v.name];
                if (!ch) {
                    log("channel '" + v.name + "' does not exist: message dropped");
                    break;
                }
                if (ch.handler) { safeCall(ch.handler, ch.instance, [v.data]); }
                break;
            default:
                log("received invalid data from server with command '" + cmd + "'");
            }
        }

        // ---- send buffer --------------------------------------------------

        function discard(entry) {
            if (typeof entry.cb === 'function') { safeCall(entry.cb, self, [entry.data]); }
        }

        function startBufferTimer() {
            if (bufferTimer !== null || bufferExpired) { return; }
            bufferTimer = setTimeout(function () {
                bufferTimer = null;
                bufferExpired = true;
                var list = sendBuffer;
                sendBuffer = [];
                if (list.length === 0) { return; }
                for (var i = 0; i < list.length; i++) { discard(list[i]); }
                emit('discard_send_buffer');
            }, opts.resetSendBufferTimeout);
        }

        function flushSendBuffer() {
            bufferTimer = clearTimer(bufferTimer);
            bufferExpired = false;
            var list = sendBuffer;
            sendBuffer = [];
            for (var i = 0; i < list.length; i++) { transport.send(list[i].msg); }
        }

        function channelSend(name, data, cb) {
            if (data === undefined || data === null || data === '') { return -1; }
            data = String(data);
            var msg = 'cd' + marshal(name, data);
            if (transport && ready && state === CONNECTED) {
                transport.send(msg);
                return 1;
            }
            var entry = { msg: msg, data: data, cb: cb };
            if (bufferExpired) {
                discard(entry);
                return -1;
            }
            startBufferTimer();
            sendBuffer.push(entry);
            return 0;
        }

        function getChannel(name) {
            if (!name) { return false; }
            name = String(name);
            var ch = channels[name];
            if (!ch) {
                ch = { handler: null };
                ch.instance = {
                    onMessage: function (fn) { ch.handler = typeof fn === 'function' ? fn : null; },
                    send: function (data, cb) { return channelSend(name, data, cb); }
                };
                channels[name] = ch;
            }
            return ch.instance;
        }

        // ---- public API -----------------------------------------------------

        function close() {
            if (closed) { return; }
            closed = true;
            var active = transport !== null || attemptTimer !== null || state !== DISCONNECTED;
            attemptTimer = clearTimer(attemptTimer);
            dropTransport(true);
            state = DISCONNECTED;
            if (active) { emit('disconnected'); }
        }

        function reconnect() {
            if (state !== DISCONNECTED) { return; }
            closed = false;
            dontReconnect = false;
            attempts = 0;
            scheduleAttempt();
        }

        var main = getChannel(MAIN_CHANNEL);

        self = {
            version: function () { return VERSION; },
            type: function () { return socketType; },
            state: function () { return state; },
            socketID: function () { return socketID; },
            send: function (data, cb) { return main.send(data, cb); },
            onMessage: function (fn) { main.onMessage(fn); },
            on: function (ev, fn) {
                if (typeof fn !== 'function') { return; }
                (listeners[ev] = listeners[ev] || []).push(fn);
            },
            off: function (ev, fn) {
                if (arguments.length === 0) { listeners = {}; return; }
                var ls = listeners[ev];
                if (!ls) { return; }
                if (arguments.length === 1) { delete listeners[ev]; return; }
                for (var i = 0; i < ls.length; i++) {
                    if (ls[i] === fn) { ls.splice(i, 1); break; }
                }
            },
            reconnect: reconnect,
            close: close,
            channel: getChannel
        };

        socketType = chooseType();
        attemptTimer = setTimeout(attempt, 0);
        return self;
    }

    global.glue = glue;
    if (typeof module !== 'undefined' && module.exports) {
        module.exports = glue;
    }
})(typeof window !== 'undefined' ? window : this);
