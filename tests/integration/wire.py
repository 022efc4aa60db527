"""HTTP/1.1 framing shared by the test upstreams and the raw test client.

Deliberately strict and small: a buffered socket reader, head parsing, and a body
reader for the three framings (Content-Length, chunked, until-close). Header names
and values are str (latin-1), bodies are bytes.
"""
import socket
import struct
import zlib

CRLF = b"\r\n"
HEAD_END = b"\r\n\r\n"


class Truncated(Exception):
    """The peer closed before the bytes the framing promised arrived."""


class Headers(list):
    """Ordered (name, value) pairs; lookups ignore case, duplicates are kept."""

    def get(self, name, default=None):
        values = self.get_all(name)
        return values[0] if values else default

    def get_all(self, name):
        name = name.lower()
        return [v for k, v in self if k.lower() == name]

    def has(self, name):
        return bool(self.get_all(name))

    def tokens(self, name):
        """Comma-separated tokens of every `name` header, lower-cased."""
        return [t.strip().lower() for v in self.get_all(name) for t in v.split(",") if t.strip()]

    def encode(self):
        return b"".join(f"{k}: {v}\r\n".encode("latin-1") for k, v in self)


class SockReader:
    """Buffered reads from a socket, so a head and the body after it can be split exactly."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def _fill(self, size=65536):
        data = self.sock.recv(size)
        if not data:
            return False
        self.buf += data
        return True

    def read_until(self, delim, limit=1 << 20):
        """Bytes up to and including `delim`; b"" on a clean EOF before any byte."""
        start = 0
        while True:
            idx = self.buf.find(delim, start)
            if idx >= 0:
                end = idx + len(delim)
                out = bytes(self.buf[:end])
                del self.buf[:end]
                return out
            if len(self.buf) > limit:
                raise ValueError(f"no {delim!r} within {limit} bytes")
            start = max(0, len(self.buf) - len(delim) + 1)
            if not self._fill():
                if self.buf:
                    raise Truncated(f"EOF after {len(self.buf)} bytes while waiting for {delim!r}")
                return b""

    def read_exact(self, n):
        while len(self.buf) < n:
            if not self._fill(max(65536, min(n - len(self.buf), 1 << 20))):
                raise Truncated(f"EOF with {len(self.buf)} of {n} bytes read")
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read_some(self, size=1 << 20):
        """Whatever is buffered, else one recv; b"" at EOF."""
        if not self.buf and not self._fill(size):
            return b""
        out = bytes(self.buf[:size])
        del self.buf[:size]
        return out

    def read_to_eof(self):
        while self._fill():
            pass
        out = bytes(self.buf)
        self.buf.clear()
        return out


def parse_headers(lines):
    headers = Headers()
    for line in lines:
        name, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"header line without a colon: {line!r}")
        headers.append((name.strip(), value.strip()))
    return headers


def split_head(raw):
    """(start line, Headers) from a raw head that ends with CRLF CRLF."""
    lines = raw.decode("latin-1").split("\r\n")
    return lines[0], parse_headers([l for l in lines[1:] if l])


def body_kind(headers, *, status=None, method=None):
    """('none'|'length'|'chunked'|'close', length) per RFC 9112 section 6.3."""
    if status is not None and (method == "HEAD" or 100 <= status < 200 or status in (204, 304)):
        return "none", 0
    if "chunked" in headers.tokens("transfer-encoding"):
        return "chunked", 0
    if headers.has("content-length"):
        return "length", int(headers.get("content-length"))
    return ("none", 0) if status is None else ("close", 0)


class Body:
    """Streams one message body off a SockReader; `trailers` is filled for chunked bodies."""

    def __init__(self, reader, kind, length=0):
        self.reader, self.kind, self.remaining = reader, kind, length
        self.trailers = Headers()
        self.done = kind == "none" or (kind == "length" and length == 0)
        self._chunk_left = 0

    def chunks(self, size=1 << 20):
        while not self.done:
            data = self._next(size)
            if data:
                yield data

    def read_all(self):
        return b"".join(self.chunks())

    def _next(self, size):
        if self.kind == "length":
            data = self.reader.read_some(min(size, self.remaining))
            if not data:
                raise Truncated(f"EOF with {self.remaining} body bytes missing")
            self.remaining -= len(data)
            self.done = self.remaining == 0
            return data
        if self.kind == "close":
            data = self.reader.read_some(size)
            self.done = not data
            return data
        return self._next_chunked(size)

    def _next_chunked(self, size):
        if self._chunk_left == 0:
            line = self.reader.read_until(CRLF, limit=4096)
            if not line:
                raise Truncated("EOF before a chunk-size line")
            size_field = line[:-2].split(b";", 1)[0].strip()
            self._chunk_left = int(size_field, 16)
            if self._chunk_left == 0:
                self._read_trailers()
                self.done = True
                return b""
        data = self.reader.read_some(min(size, self._chunk_left))
        if not data:
            raise Truncated(f"EOF inside a chunk ({self._chunk_left} bytes missing)")
        self._chunk_left -= len(data)
        if self._chunk_left == 0 and self.reader.read_exact(2) != CRLF:
            raise ValueError("chunk data not followed by CRLF")
        return data

    def _read_trailers(self):
        lines = []
        while True:
            line = self.reader.read_until(CRLF, limit=65536)
            if not line:
                raise Truncated("EOF inside the trailer section")
            if line == CRLF:
                break
            lines.append(line[:-2].decode("latin-1"))
        self.trailers = parse_headers(lines)


def chunk(data):
    return b"%x\r\n%s\r\n" % (len(data), data)


def last_chunk(trailers=()):
    return b"0\r\n" + Headers(trailers).encode() + CRLF


def set_linger_reset(sock):
    """Make close() send RST instead of FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


class PatternStream:
    """A deterministic byte stream for big transfers: 1 MiB blocks, each starting with
    its own index so that a lost, repeated or reordered block changes the CRC."""

    BLOCK = 1 << 20
    _FILLER = bytes((i * 131 + 7) % 251 for i in range(BLOCK))

    def __init__(self, total):
        self.total = total

    def blocks(self):
        sent, index = 0, 0
        while sent < self.total:
            block = struct.pack(">Q", index) + self._FILLER[8:]
            block = block[: self.total - sent]
            sent += len(block)
            index += 1
            yield block


class Digest:
    """Byte count + CRC-32, cheap enough for a GiB."""

    def __init__(self):
        self.count, self.crc = 0, 0

    def update(self, data):
        self.count += len(data)
        self.crc = zlib.crc32(data, self.crc)

    def as_tuple(self):
        return self.count, self.crc
