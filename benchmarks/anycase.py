"""A server for memory benchmarks at scale: every case id exists and has one
comment, answered with no bookkeeping, so a million cases cost the server
nothing to hold.  ``python benchmarks/anycase.py`` prints its base URL, then
serves until stdin closes."""

from __future__ import annotations

import asyncio
import json
import sys

from aiohttp import web

CELL = {
    "id": "{id}",
    "type": "timeline_cell",
    "attributes": {
        "type": "COMMENT",
        "created_at": "2024-05-01T10:00:00.123456789Z",
        "content": "one comment",
        "cell_content": {"message": "one comment"},
        "author": {"type": "USER", "content": {"ID": "8146583c-0b5f-11ec-abf8-da7ad0900001", "name": "Bench"}},
    },
}
BEFORE, AFTER = json.dumps(CELL, separators=(",", ":")).encode().split(b"{id}")


async def timelines(request: web.Request) -> web.Response:
    cells = b""
    if request.query.get("page[number]", "0") == "0":
        cells = BEFORE + request.match_info["case_id"].encode() + b"-c" + AFTER
    return web.Response(body=b'{"data":[' + cells + b"]}", content_type="application/vnd.api+json")


async def main() -> None:
    app = web.Application()
    app.router.add_get("/api/v2/cases/{case_id:[^/]+}/timelines", timelines)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    print(f"http://{host}:{port}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
