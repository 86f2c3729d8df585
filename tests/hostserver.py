"""An HTTP server on the host's loopback that a guest reaches through QEMU's
NAT (as 10.0.2.2): every GET answers one fixed body."""
import http.server
import threading


def serve(body):
    """A running server on 127.0.0.1 (its port: server.server_address[1]);
    the caller ends it with server.shutdown() and server.server_close()."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
