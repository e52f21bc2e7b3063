"""A webhook receiver for bench/run: a minimal HTTP/1.1 server on 127.0.0.1 (asyncio, keep-alive)
that answers 200 at once and records, for every delivery, when it arrived and how old its event
was (arrival minus the event's occurredAt)."""
import asyncio
import datetime
import re
import socket
import threading
import time

OCCURRED = re.compile(rb'"occurredAt"\s*:\s*"([^"]+)"')
LENGTH = re.compile(rb"(?i)content-length:\s*(\d+)")


class Receiver:
    def __init__(self):
        self.arrivals, self.ages = [], []
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_until_complete, args=(self._serve(sock),), daemon=True).start()

    async def _serve(self, sock):
        server = await asyncio.start_server(self._handle, sock=sock)
        async with server:
            await server.serve_forever()

    async def _handle(self, reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                body = await reader.readexactly(int(LENGTH.search(head).group(1)))
                now = time.time()
                occurred = OCCURRED.search(body)
                if occurred:
                    self.ages.append(now - datetime.datetime.fromisoformat(occurred.group(1).decode()).timestamp())
                self.arrivals.append(now)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError, AttributeError):
            pass
        finally:
            writer.close()

    def reset(self):
        self.arrivals, self.ages = [], []

    def wait_quiet(self, quiet=2.0, limit=120.0):
        """Waits until nothing arrived for `quiet` seconds; returns when the last delivery came."""
        start = time.time()
        while time.time() - start < limit:
            last = self.arrivals[-1] if self.arrivals else start
            if time.time() - last >= quiet:
                return last
            time.sleep(0.2)
        return self.arrivals[-1] if self.arrivals else start
