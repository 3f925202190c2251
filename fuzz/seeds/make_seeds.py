#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/seeds/<target>/ (small, valid inputs per target).

The files are committed; rerun this only to change them:  python3 fuzz/seeds/make_seeds.py
Each input starts with the target's header bytes (chunking mode, seed, flags; see the target).
"""
import base64
import hashlib
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def frame(opcode, payload, fin=True, mask=None):
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    mbit = 0x80 if mask is not None else 0
    if n < 126:
        head = bytes([b0, mbit | n])
    elif n < 65536:
        head = bytes([b0, mbit | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, mbit | 127]) + struct.pack(">Q", n)
    if mask is None:
        return head + payload
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + bytes(mask) + body


def frames(mask):
    """A mixed stream: text, fragmented text with a ping in between, binary, pong, close."""
    m = mask
    return b"".join(
        [
            frame(0x1, "hello, wörld".encode(), mask=m),
            frame(0x1, b"frag", fin=False, mask=m),
            frame(0x9, b"ping!", mask=m),
            frame(0x0, "mented €".encode(), fin=True, mask=m),
            frame(0x2, bytes(range(200)), mask=m),
            frame(0xA, b"", mask=m),
            frame(0x8, struct.pack(">H", 1000) + b"bye", mask=m),
        ]
    )


def seeded_key(seed):
    """The Sec-WebSocket-Key glue_protocol::rand::SeededEntropy::new(seed) produces."""
    x = seed or 0x9E3779B97F4A7C15
    out = b""
    mask = (1 << 64) - 1
    for _ in range(2):
        x ^= (x << 13) & mask
        x ^= x >> 7
        x ^= (x << 17) & mask
        out += struct.pack("<Q", x)
    return base64.b64encode(out).decode()


def accept(key):
    guid = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
    return base64.b64encode(hashlib.sha1(key.encode() + guid).digest()).decode()


def main():
    # http_request: [mode, seed, flags] + bytes
    write("http_request", "get", b"\x00\x00\x00GET /a?b=1&c=%20 HTTP/1.1\r\nHost: x\r\n\r\n")
    write(
        "http_request",
        "pipelined",
        b"\x01\x05\x02POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
        b"GET /q HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    write(
        "http_request",
        "upgrade",
        b"\x03\x10\x01GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n\x81\x85abcd",
    )
    write(
        "http_request",
        "continue_http10",
        b"\x02\x07\x00PUT /x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok"
        b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    )

    # http_response: [mode, seed, methods (2 bits each: GET HEAD CONNECT POST), flags] + bytes
    write("http_response", "length", b"\x00\x00\x00\x00HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc")
    write(
        "http_response",
        "chunked",
        b"\x02\x03\x00\x01HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 1\r\n\r\n"
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
    )
    write(
        "http_response",
        "head_then_eof",
        b"\x01\x09\x01\x05HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
        b"HTTP/1.0 200 OK\r\n\r\nuntil the end",
    )
    write(
        "http_response",
        "switching",
        b"\x03\x21\x00\x00HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\n\r\n\x81\x02hi",
    )
    write("http_response", "connect", b"\x00\x00\x02\x00HTTP/1.1 200 Connection established\r\n\r\ntls")

    # ws_frame_*: [mode, seed, flags] + frames
    write("ws_frame_server", "masked_stream", b"\x00\x00\x00" + frames([0x37, 0xFA, 0x21, 0x3D]))
    write("ws_frame_server", "masked_bytewise_ka", b"\x01\x00\x01" + frames([1, 2, 3, 4]))
    write(
        "ws_frame_server",
        "bad_utf8",
        b"\x02\x04\x02" + frame(0x1, b"ok\xc3", fin=False, mask=[9, 9, 9, 9]) + frame(0x0, b"(", mask=[1, 1, 1, 1]),
    )
    # Over 4 KiB of masked payload in one chunk: unmasking goes block by block.
    large = frame(0x2, bytes(i % 251 for i in range(6001)), mask=[0xA1, 0x02, 0x53, 0xF4])
    write("ws_frame_server", "masked_large", b"\x00\x00\x00" + large)
    write("ws_frame_server", "masked_large_chunked", b"\xff\x01\x00" + large)
    write("ws_frame_client", "stream", b"\x00\x00\x00" + frames(None))
    write("ws_frame_client", "stream_chunked_ka", b"\x03\x11\x01" + frames(None))
    write("ws_frame_client", "long_binary", b"\x02\x05\x02" + frame(0x2, b"x" * 300))

    # ws_handshake: raw bytes
    write(
        "ws_handshake",
        "request",
        b"GET /chat?x=1 HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
        b"Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n",
    )
    key = seeded_key(1)
    write(
        "ws_handshake",
        "response",
        (
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept(key)}\r\nSec-WebSocket-Protocol: chat\r\n\r\n"
        ).encode(),
    )
    write("ws_handshake", "url", b"ws://example.com:9001/chat?x=1")
    write("ws_handshake", "url_v6", b"wss://[::1]:8443/a/b?c#frag")

    # ws_ops: inputs are `arbitrary` encodings of op lists, not written by hand here. The
    # committed seeds/ws_ops/* were picked from a fuzzing corpus (show one with
    # `cargo fuzz fmt ws_ops seeds/ws_ops/NAME`): a full closing handshake after messages,
    # messages then a frame over the tight limits, a keep-alive timeout, a close timeout.

if __name__ == "__main__":
    main()
