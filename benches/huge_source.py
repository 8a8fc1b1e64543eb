#!/usr/bin/env python3
"""Serve one endless-looking feed on loopback: GET / streams SIZE bytes (default 1 GiB) of an RSS
document, chunked, with no Content-Length, so that only a cap enforced while streaming stops it.

    python3 huge_source.py PORT [SIZE_BYTES]

Stops by itself after 10 minutes. Reports the bytes it managed to send on stderr.
"""
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
SIZE = int(sys.argv[2]) if len(sys.argv) > 2 else 1 << 30
CHUNK = b" " * (1 << 16)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        sent = 0
        try:
            head = b'<?xml version="1.0"?><rss version="2.0"><channel><title>huge</title>'
            self.wfile.write(b"%x\r\n%s\r\n" % (len(head), head))
            sent += len(head)
            while sent < SIZE:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK))
                sent += len(CHUNK)
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, socket.error):
            pass
        print(f"huge_source: sent {sent} bytes", file=sys.stderr, flush=True)


server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
threading.Timer(600, server.shutdown).start()
server.serve_forever()
