#!/usr/bin/env python3
"""notify_listener.py SOCKET LOG DAEMON_SOCK PAUSE_FILE SECONDS: systemd's side of sd_notify, for
tests. Binds a unix datagram socket at SOCKET (what NOTIFY_SOCKET names) and appends one line
per datagram to LOG: "pid=SENDER MSG" (newlines in MSG as '|', the sender's PID from
SCM_CREDENTIALS, as systemd checks NotifyAccess=main). On READY=1 it connects to DAEMON_SOCK
right away, before reading on, and adds " connect=ok" or " connect=ERRNO": whether the daemon's
socket served when it said so. While PAUSE_FILE exists it reads nothing (the sender's queue
fills, as when PID 1 is busy). Exits after SECONDS at most."""
import errno
import os
import socket
import struct
import sys
import time

path, log, daemon_sock, pause, seconds = sys.argv[1:6]
deadline = time.monotonic() + float(seconds)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(path)
s.settimeout(0.05)
with open(log, "a", buffering=1) as out:
    while time.monotonic() < deadline:
        if os.path.exists(pause):
            time.sleep(0.05)
            continue
        try:
            msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
        except socket.timeout:
            continue
        pid = "?"
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = str(struct.unpack("iII", data[:12])[0])
        text = msg.decode(errors="replace")
        line = "pid=%s %s" % (pid, text.replace("\n", "|"))
        if "READY=1" in text.split("\n"):
            c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            try:
                c.connect(daemon_sock)
                line += " connect=ok"
            except OSError as e:
                line += " connect=" + errno.errorcode.get(e.errno, str(e.errno))
            finally:
                c.close()
        out.write(line + "\n")
