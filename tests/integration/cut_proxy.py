"""A TCP proxy that cuts its first N connections after the server sent LIMIT bytes.

  cut_proxy.py LISTEN_PORT TARGET_PORT LIMIT N
Later connections pass untouched. Prints nothing; runs until killed.
"""
import socket, sys, threading

listen, target, limit, cuts = map(int, sys.argv[1:5])
count = [0]
lock = threading.Lock()


def pipe(src, dst, budget):
    sent = 0
    try:
        while True:
            data = src.recv(4096)
            if not data:
                break
            if budget is not None and sent + len(data) > budget:
                dst.sendall(data[: budget - sent])
                break
            dst.sendall(data)
            sent += len(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()


srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", listen))
srv.listen(16)
while True:
    c, _ = srv.accept()
    u = socket.create_connection(("127.0.0.1", target))
    with lock:
        count[0] += 1
        budget = limit if count[0] <= cuts else None
    threading.Thread(target=pipe, args=(u, c, budget), daemon=True).start()
    threading.Thread(target=pipe, args=(c, u, None), daemon=True).start()
