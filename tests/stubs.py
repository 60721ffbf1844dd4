"""A local HTTP server for tests that exercise downloads (the ``http_stub`` fixture in
conftest.py): it serves only loopback, so download code runs for real without the network."""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class StubServer:
    """Serves ``routes``: path -> (status, body) or (status, body, headers); any other path is a
    404. Requests are recorded as (method, path, headers) in ``requests``. ``routes`` may be
    changed while it runs.

    A header may contradict the body on purpose, e.g. ``{"Content-Length": "1000"}`` with a
    shorter body makes a truncated download (the connection closes after each response)."""

    def __init__(self, routes=None):
        self.routes = dict(routes or {})
        self.requests = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="http_stub",
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def port(self):
        return self._server.server_address[1]

    @property
    def url(self):
        """Base URL, without a trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    def url_for(self, path):
        return self.url + "/" + path.lstrip("/")

    def paths(self):
        return [path for _, path, _ in self.requests]

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def respond(self, path):
        route = self.routes.get(path.split("?", 1)[0], (404, b"not found\n"))
        status, body, headers = (tuple(route) + ({},))[:3]
        return status, body, headers


def _handler_for(stub):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self._answer(send_body=True)

        def do_HEAD(self):
            self._answer(send_body=False)

        def _answer(self, send_body):
            stub.requests.append((self.command, self.path, dict(self.headers)))
            status, body, headers = stub.respond(self.path)
            self.send_response(status)
            headers = {"Content-Type": "application/octet-stream", "Content-Length": str(len(body)),
                       **headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if send_body:
                self.wfile.write(body)

        def log_message(self, *args):
            pass  # no per-request line on stderr

    return Handler
