"""Fixtures that run every test against each implementation of fastaio's
core (compiled and pure Python) and each kind of event loop."""
import asyncio
import gc
import os

import pytest

import fastaio

try:
    import uvloop
except ImportError:  # not installable on this interpreter or platform
    uvloop = None

IMPLEMENTATIONS = sorted(fastaio.implementations)
if os.environ.get("FASTAIO_REQUIRE_EXTENSIONS", "") not in ("", "0"):
    assert "c" in IMPLEMENTATIONS, fastaio.WHY
if os.environ.get("FASTAIO_REQUIRE_UVLOOP", "") not in ("", "0"):
    assert uvloop is not None, "uvloop is required but does not import"

# fastaio-loop: fastaio.new_event_loop(); asyncio / uvloop: a plain loop of
# that kind on which fastaio.install() ran.
LOOP_KINDS = ["fastaio-loop", "asyncio"] + (["uvloop"] if uvloop else [])


@pytest.fixture(params=IMPLEMENTATIONS)
def fa(request):
    """The public API over one implementation of the core."""
    return fastaio.implementations[request.param]


@pytest.fixture(params=LOOP_KINDS)
def loop_kind(request):
    return request.param


def make_loop(fa, kind, install=True):
    if kind == "fastaio-loop":
        loop = fa.new_event_loop()
    elif kind == "uvloop":
        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    if install and kind != "fastaio-loop":
        fa.install(loop)
    return loop


@pytest.fixture
def run(fa, loop_kind):
    """run(main) runs ``main()`` on a fresh fastaio loop and closes it."""
    loops = []

    def runner(main, *, install=True, timeout=10):
        loop = make_loop(fa, loop_kind, install)
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
