#!/usr/bin/env python3
"""An HTTPS collector on 127.0.0.1 answering as proxies in front of a SIEM do (nginx, Logstash's
http input, Splunk HEC): 100 Continue and 103 Early Hints before the final answer, whose body is
chunked (with chunk extensions and a trailer field), written in pieces. Requires a client
certificate from the CA. For test_server_forward: the port goes to PORT_FILE once listening;
each request's body is appended to LOG, and "connection N" marks each new connection, so the
test sees whether the forwarder kept the connection after a chunked answer.
Usage: chunked_collector.py PORT_FILE LOG CERT KEY CA"""
import http.server
import json
import os
import ssl
import sys
import time

port_file, log, cert, key, ca = sys.argv[1:6]
connections = 0


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        global connections
        super().setup()
        connections += 1
        with open(log, "a") as f:
            f.write(f"connection {connections}\n")

    def log_message(self, *args):
        pass

    def send_piece(self, data):
        self.wfile.write(data)
        self.wfile.flush()
        time.sleep(0.01)  # separate TLS records: the forwarder reads the answer in pieces

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        lines = body.decode().splitlines()
        with open(log, "a") as f:
            f.writelines(line + "\n" for line in lines)
        verdict = json.dumps({"stored": len(lines) - 1, "rejected": 1,
                              "errors": [{"line": 1, "error": "collector refused line 1"}]})
        self.send_piece(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.send_piece(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
        self.send_piece(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b"Transfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n")
        data = verdict.encode()
        half = len(data) // 2
        self.send_piece(b"%x;piece=1\r\n%s\r\n" % (half, data[:half]))
        self.send_piece(b"%X ; piece=\"two \\\"b\\\"\"\r\n%s\r\n" % (len(data) - half, data[half:]))
        self.send_piece(b"0\r\nX-Checksum: 1234\r\n\r\n")


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ctx.load_verify_locations(ca)
ctx.verify_mode = ssl.CERT_REQUIRED
server.socket = ctx.wrap_socket(server.socket, server_side=True)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))  # renamed: the test never reads half of it
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
