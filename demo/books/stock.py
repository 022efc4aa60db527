#!/usr/bin/env python3
"""books demo: the stock service, an opaque TCP line protocol (the mesh must not parse it).

  STOCK <id>\\n   ->  <id> <count>\\n
  anything else  ->  ERR <reason>\\n     (the connection stays open)

Many lines per connection, answered in order; a line (newline included) is at most 1 KiB,
longer ones are discarded up to their newline and answered `ERR line too long`. A trailing \\r
is ignored.

Env: PORT (default 7070), LMESH_LISTEN_HOST, STOCK_DELAY_MS (default 0: added before each answer).
"""
import asyncio
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import meshenv  # noqa: E402

COUNTS = {1: 3, 2: 0, 3: 12, 4: 7}
LINE_LIMIT = 1024
DELAY = 0.0


def answer(line):
    """One request line (without its newline) -> one answer line (with it)."""
    if line.endswith(b"\r"):
        line = line[:-1]
    try:
        text = line.decode("ascii")
    except UnicodeDecodeError:
        return b"ERR not ascii\n"
    parts = text.split()
    if not parts:
        return b"ERR empty line\n"
    if parts[0] != "STOCK":
        return f"ERR unknown command {parts[0][:32]}\n".encode()
    if len(parts) != 2:
        return b"ERR usage: STOCK <id>\n"
    if not parts[1].isdigit() or len(parts[1]) > 9:
        return b"ERR id must be a number\n"
    book = int(parts[1])
    if book not in COUNTS:
        return f"ERR unknown id {book}\n".encode()
    return f"{book} {COUNTS[book]}\n".encode()


async def serve_connection(reader, writer):
    buf = bytearray()
    overlong = False              # discarding the rest of a too-long line
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            buf += data
            out = []
            while True:
                nl = buf.find(b"\n")
                if nl < 0:
                    if len(buf) >= LINE_LIMIT:
                        overlong = True
                        buf.clear()
                    break
                line = bytes(buf[:nl])
                del buf[:nl + 1]
                if overlong or nl + 1 > LINE_LIMIT:
                    overlong = False
                    out.append(b"ERR line too long\n")
                else:
                    out.append(answer(line))
            if out:
                if DELAY:
                    await asyncio.sleep(DELAY)
                writer.write(b"".join(out))
                await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    except Exception as e:        # a bug: log it, drop this connection, keep serving
        meshenv.log(f"connection error: {e!r}")
    finally:
        writer.close()


async def serve(host, port):
    try:
        server = await asyncio.start_server(serve_connection, host, port, reuse_address=True,
                                            backlog=128)
    except OSError as e:
        meshenv.die(f"cannot listen on {host}:{port}: {e.strerror or e}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    meshenv.log(f"stock (opaque line protocol), listening on {host}:{port}")
    await stop.wait()
    server.close()                # open connections are cancelled when asyncio.run returns


def main():
    global DELAY
    host, port = meshenv.listen_host(), meshenv.listen_port(7070)
    DELAY = meshenv.env_int("STOCK_DELAY_MS", 0, 0, 600_000) / 1000.0
    asyncio.run(serve(host, port))


if __name__ == "__main__":
    main()
