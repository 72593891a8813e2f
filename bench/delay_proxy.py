#!/usr/bin/python3
"""A TCP proxy on loopback that adds latency, to measure a client against a distant server.

  delay_proxy.py PORTFILE TARGET_HOST TARGET_PORT RTT_MS

Listens on a free port of 127.0.0.1 (written to PORTFILE once listening) and forwards every
connection to TARGET_HOST:TARGET_PORT. Every chunk of bytes is held RTT_MS / 2 in each
direction before it is passed on, so a command and its answer take RTT_MS longer, as on a
link with that round-trip time; bytes are never held back behind one another (a chunk read
while an earlier one waits is sent RTT_MS / 2 after it arrived, not after the earlier one
left), so the bandwidth is not limited. TCP_NODELAY is set on both sides: the proxy adds
latency, never a Nagle stall of its own. The connection to the target is made at once, so a
session's set-up pays the delay once per direction like on a real link (the SYN's own
round trip is not delayed: the connect() to the proxy is local).
"""
import asyncio
import os
import socket
import sys

PORTFILE, HOST, PORT, RTT_MS = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
ONE_WAY = RTT_MS / 2000.0


def nodelay(writer):
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def pump(reader, writer):
    """Copy reader to writer, each chunk leaving ONE_WAY seconds after it arrived."""
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def deliver():
        while True:
            due, data = await queue.get()
            if data is None:
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()

    sender = asyncio.ensure_future(deliver())
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            queue.put_nowait((loop.time() + ONE_WAY, data))
    except (ConnectionError, OSError):
        pass
    queue.put_nowait((loop.time() + ONE_WAY, None))
    try:
        await sender
    except (ConnectionError, OSError):
        pass


async def handle(client_reader, client_writer):
    nodelay(client_writer)
    try:
        server_reader, server_writer = await asyncio.open_connection(HOST, PORT)
    except OSError:
        client_writer.close()
        return
    nodelay(server_writer)
    await asyncio.gather(pump(client_reader, server_writer), pump(server_reader, client_writer))
    for w in (client_writer, server_writer):
        try:
            w.close()
        except OSError:
            pass


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    with open(PORTFILE + ".tmp", "w") as f:
        f.write(str(port))
    os.rename(PORTFILE + ".tmp", PORTFILE)
    async with server:
        await server.serve_forever()


asyncio.run(main())
