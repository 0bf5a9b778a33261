"""A static file server on 127.0.0.1 for download tests (tests never touch the network)."""

from __future__ import annotations

import functools
import http.server
import threading


class FileServer:
    """Serves the files under ``root`` at ``url`` from a background thread; ``requests`` lists the paths asked
    for, in order. ``close()`` stops it."""

    def __init__(self, root):
        self.root, self.requests = root, []
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                server.requests.append(self.path)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                     functools.partial(Handler, directory=str(root)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        # A short poll interval: shutdown() waits for the next poll, and every download test closes a server.
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
