#!/usr/bin/env python3
"""relay.py: the origin namespace's door. The SigV4 front listens on 127.0.0.1 only (it must
never listen beyond it); the test bed's nodes and tier reach it at the origin namespace's own
address through this TCP relay: LISTEN_ADDR:PORT -> 127.0.0.1:FRONT_PORT, bytes moved with
splice(2) through a pipe, one thread per direction of each connection. Relays bytes only: never
parses or changes a request (the front sees the Host the daemons signed), never connects anywhere
but 127.0.0.1. Prints "relay listening on ADDR:PORT" once it accepts.
usage: relay.py LISTEN_ADDR PORT FRONT_PORT
"""
import os
import socket
import sys
import threading

CHUNK = 1 << 20


def pump(src, dst):
    """Moves bytes from SRC to DST until SRC's end or an error; then ends DST's writing side."""
    r, w = os.pipe()
    try:
        while True:
            n = os.splice(src.fileno(), w, CHUNK)
            if n == 0:
                break
            while n:
                n -= os.splice(r, dst.fileno(), n)
    except OSError:
        pass
    finally:
        os.close(r)
        os.close(w)
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def serve(conn, front_port):
    try:
        up = socket.create_connection(("127.0.0.1", front_port))
    except OSError:
        conn.close()
        return
    for s in (conn, up):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    back = threading.Thread(target=pump, args=(up, conn), daemon=True)
    back.start()
    pump(conn, up)
    back.join()
    conn.close()
    up.close()


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: relay.py LISTEN_ADDR PORT FRONT_PORT")
    addr, port, front_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(512)
    print("relay listening on %s:%d" % (addr, port), flush=True)
    while True:
        conn, _ = ls.accept()
        threading.Thread(target=serve, args=(conn, front_port), daemon=True).start()


if __name__ == "__main__":
    main()
