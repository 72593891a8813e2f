#!/usr/bin/python3
"""Slow clients for t0012-trust-http.sh, as an attacker holding connections open would be.

  trickle.py crowd PORT N SECONDS
      N connections spread over the source addresses 127.0.0.2-127.0.0.6, each sending the
      line of a request and then one header line every 4 s, reconnecting when the server
      closes (after 2 s when it refused the connection at once). After 3 s, /healthz is
      fetched from 127.0.0.1 every 0.25 s until SECONDS have passed. Prints one line:
        peak=P peak_per_address=A cut=C refused=R probes=N failed=F max_ms=M
      P: connections of the crowd held (open for over a second) at once at most; A: the
      same for the busiest address; C: held connections the server closed; R: connections
      closed within a second; F: probes that got no 200; M: the slowest probe, in ms.
  trickle.py one PORT headers|body INTERVAL SECONDS
      One client trickling header lines (or, once its headers are in, body bytes) every
      INTERVAL seconds for at most SECONDS. Prints "closed after S" (the server cut it after
      S seconds) or "still open".
"""
import asyncio
import resource
import sys
import time

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

SOURCES = ["127.0.0.%d" % i for i in range(2, 7)]


async def crowd(port, n, seconds):
    state = {"open": 0, "peak": 0, "cut": 0, "refused": 0, "per": {s: 0 for s in SOURCES},
             "peak_per": 0}
    stop = time.monotonic() + seconds

    async def one(source):
        while time.monotonic() < stop:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port,
                                                              local_addr=(source, 0))
            except OSError:
                await asyncio.sleep(2)
                continue
            held = False
            try:
                writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                await writer.drain()
                k = 0
                while time.monotonic() < stop:
                    try:
                        data = await asyncio.wait_for(reader.read(1024), 1 if not held else 4)
                        if not data:
                            break
                    except asyncio.TimeoutError:
                        if not held:
                            held = True
                            state["open"] += 1
                            state["per"][source] += 1
                            state["peak"] = max(state["peak"], state["open"])
                            state["peak_per"] = max(state["peak_per"], state["per"][source])
                        k += 1
                        writer.write(b"X-Trickle-%d: a\r\n" % k)
                        await writer.drain()
            except OSError:
                pass
            finally:
                if held:
                    state["open"] -= 1
                    state["per"][source] -= 1
                writer.close()
            if time.monotonic() >= stop:
                break
            if held:
                state["cut"] += 1
            else:
                state["refused"] += 1
                await asyncio.sleep(2)

    async def probes():
        await asyncio.sleep(3)
        results = []
        while time.monotonic() < stop:
            t0 = time.monotonic()
            ok = False
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", port, local_addr=("127.0.0.1", 0)), 3)
                writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                await writer.drain()
                head = await asyncio.wait_for(reader.read(64), 3)
                ok = head.startswith(b"HTTP/1.1 200")
                writer.close()
            except (OSError, asyncio.TimeoutError):
                pass
            results.append((ok, time.monotonic() - t0))
            await asyncio.sleep(0.25)
        return results

    tasks = [asyncio.create_task(one(SOURCES[i % len(SOURCES)])) for i in range(n)]
    results = await probes()
    await asyncio.gather(*tasks)
    failed = sum(1 for ok, _ in results if not ok)
    worst = max((t for _, t in results), default=0)
    print("peak=%d peak_per_address=%d cut=%d refused=%d probes=%d failed=%d max_ms=%d" % (
        state["peak"], state["peak_per"], state["cut"], state["refused"], len(results), failed,
        worst * 1000))


async def one_client(port, phase, interval, seconds):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    if phase == "headers":
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    else:
        writer.write(b"POST /sms/generic HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000\r\n\r\n{")
    await writer.drain()
    k = 0
    while time.monotonic() - started < seconds:
        try:
            data = await asyncio.wait_for(reader.read(1024), interval)
            if not data:
                print("closed after %d" % round(time.monotonic() - started))
                return
        except asyncio.TimeoutError:
            k += 1
            try:
                writer.write(b"X-Trickle-%d: a\r\n" % k if phase == "headers" else b" ")
                await writer.drain()
            except OSError:
                print("closed after %d" % round(time.monotonic() - started))
                return
        except OSError:
            print("closed after %d" % round(time.monotonic() - started))
            return
    print("still open")


if __name__ == "__main__":
    if sys.argv[1] == "crowd":
        asyncio.run(crowd(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])))
    else:
        asyncio.run(one_client(int(sys.argv[2]), sys.argv[3], float(sys.argv[4]),
                               float(sys.argv[5])))
