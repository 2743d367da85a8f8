"""The aiohttp application of the server benchmark.

``GET /`` fans out to FANOUT coroutines with ``asyncio.gather`` (so FANOUT
tasks per request, created by the loop's task factory); 9 in 10 of them hit
an in-process cache, the tenth stands for a backend call (one trip through
the loop, ``await asyncio.sleep(0)``).  The handler answers with a small
JSON body.

    python benchmarks/server.py --variant "fastaio c" --loop uvloop

serves on 127.0.0.1 only, on an ephemeral port that it prints as
``PORT <n>`` once it accepts connections, and stops by itself after
``--max-seconds`` (or on SIGTERM/SIGINT).  ``benchmarks/run.py`` starts one
such process per variant and loads it with wrk.
"""
import argparse
import asyncio
import signal
import sys

from aiohttp import web

import variants

FANOUT = 10
CACHE = {f"key{i}": {"id": i, "name": f"item {i}"} for i in range(FANOUT)
         if i % 10 != 9}


async def fetch(key):
    value = CACHE.get(key)
    if value is None:                   # the 10 % that are not cached
        await asyncio.sleep(0)          # stands for the backend round trip
        value = {"id": key, "name": "fetched"}
    return value


async def handler(request):
    items = await asyncio.gather(*[fetch(f"key{i}") for i in range(FANOUT)])
    return web.json_response({"n": len(items), "items": items})


def make_app():
    app = web.Application()
    app.router.add_get("/", handler)
    return app


async def serve(max_seconds):
    runner = web.AppRunner(make_app(), access_log=None,
                           handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    print(f"PORT {port}", flush=True)
    stop = asyncio.get_running_loop().create_future()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or
                                stop.set_result(None))
    loop.call_later(max_seconds, lambda: stop.done() or
                    stop.set_result(None))
    try:
        await stop
    finally:
        await runner.cleanup()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variant", default=variants.BASELINE,
                        choices=variants.VARIANTS)
    parser.add_argument("--loop", default="asyncio", choices=variants.LOOPS)
    parser.add_argument("--max-seconds", type=float, default=300.0)
    args = parser.parse_args(argv)
    ns = variants.setup(args.variant, args.loop)
    loop = ns.new_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(serve(args.max_seconds))
    finally:
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
