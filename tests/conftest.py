"""Fixtures that run every test against each implementation of fastaio's
core (compiled and pure Python) and each kind of event loop."""
import asyncio
import gc
import os

import pytest

import fastaio
import implementations
from fastaio import _impl

if os.environ.get("FASTAIO_REQUIRE_EXTENSIONS", "") not in ("", "0"):
    assert _impl.ccore is not None, fastaio.WHY
if os.environ.get("FASTAIO_REQUIRE_UVLOOP", "") not in ("", "0"):
    assert implementations.uvloop is not None, \
        "uvloop is required but does not import"


@pytest.fixture(params=sorted(implementations.IMPLEMENTATIONS))
def fa(request):
    """The public API over one implementation of the core."""
    return implementations.IMPLEMENTATIONS[request.param]


@pytest.fixture(params=implementations.LOOP_KINDS)
def loop_kind(request):
    """fastaio-loop: ``new_event_loop()``; asyncio / uvloop: a plain loop of
    that kind on which ``install()`` ran."""
    return request.param


@pytest.fixture
def make_loop():
    """make_loop(fa, kind, install=True): a new loop of that kind."""
    return implementations.make_loop

@pytest.fixture
def run(fa, loop_kind):
    """run(main) runs ``main()`` on a fresh fastaio loop and closes it."""
    loops = []

    def runner(main, *, install=True, timeout=10):
        loop = implementations.make_loop(fa, loop_kind, install)
        loops.append(loop)
        asyncio.set_event_loop(None)

        async def guarded():
            return await asyncio.wait_for(main(), timeout)

        try:
            return loop.run_until_complete(guarded())
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    runner.kind = loop_kind
    yield runner
    for loop in loops:
        assert loop.is_closed()
    gc.collect()
