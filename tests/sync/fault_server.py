"""The real server, wrapped in a test-only ASGI fault middleware (app/server is not changed).

Started by faults.FaultServer(middleware=True) as ``python tests/sync/fault_server.py serve …``.
A request carrying the header ``X-Test-Fault`` is handled normally by the real application,
which commits; then the middleware replaces the answer:

* ``500-after-commit`` — a 500 with a non-protocol body, as a crashing proxy or a handler
  failing after COMMIT would give (SYNC_RESEARCH.md §4 T4 case c).
"""

from __future__ import annotations

import sys


class FaultMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        fault = None
        if scope["type"] == "http":
            fault = dict(scope.get("headers") or []).get(b"x-test-fault")
        if fault != b"500-after-commit":
            await self.app(scope, receive, send)
            return

        async def swallow(message):  # the real answer never leaves the server
            pass

        await self.app(scope, receive, swallow)
        body = b"Internal Server Error (fault after commit)"
        headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 500, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def main() -> int:
    from app.server import api, cli

    real = api.create_app

    def create_app(settings, engine=None):
        return FaultMiddleware(real(settings, engine))

    api.create_app = create_app  # cli._serve imports it from the module at call time
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
