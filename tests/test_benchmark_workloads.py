"""The benchmark workloads compute the same thing under every variant.

Correctness only, on small sizes: nothing here is timed.  The benchmarks
themselves run with ``python3 benchmarks/run.py``.
"""
import asyncio

import pytest

# benchmarks/ is on the path through pytest's ``pythonpath`` setting
# (pyproject.toml).
import async_tree
import test_micro as micro
import variants
import fastaio
from fastaio import _install

CASES = [(v, loop) for loop in variants.LOOPS for v in variants.VARIANTS
         if variants.available(v, loop) is None]


@pytest.mark.parametrize("variant,loop_name", CASES)
@pytest.mark.parametrize("shape", async_tree.SHAPES)
def test_async_tree_result(variant, loop_name, shape):
    ns = variants.setup(variant, loop_name)
    if shape == "TaskGroup" and ns.TaskGroup is None:
        pytest.skip("asyncio has no TaskGroup")
    loop = ns.new_loop()
    try:
        for leaf in async_tree.LEAVES:
            for _ in range(2):          # the cache is rebuilt every run
                _, result = async_tree.run_tree(loop, ns, shape, leaf, 3, 4)
                assert result == async_tree.expected(3, 4, leaf), leaf
    finally:
        loop.close()
        asyncio.set_event_loop(None)


def test_async_tree_expected_values():
    assert async_tree.expected(2, 3, "none") == 9
    assert async_tree.expected(1, 2, "memo") == 0 + 7


@pytest.mark.parametrize("variant,loop_name", CASES)
def test_micro_workloads_run(variant, loop_name):
    ns = variants.setup(variant, loop_name)
    loop = ns.new_loop()
    try:
        for bench, workload in micro.WORKLOADS.items():
            if variants.missing(ns, micro.NEEDS.get(bench, ())):
                continue
            loop.run_until_complete(workload(ns, loop, 2))
        assert not asyncio.all_tasks(loop)
    finally:
        loop.close()
        asyncio.set_event_loop(None)


def test_variant_order_rotates():
    assert variants.rotated("abcd", 1) == list("bcda")
    assert variants.rotated("abcd", 4) == list("abcd")
    assert variants.rotated([], 3) == []


def test_stdlib_variants_run_asyncio_own_methods():
    """After install() replaced loop methods and Handle._run process-wide,
    the stdlib variants still time asyncio's own: their loop class has the
    originals, and Handle._run is asyncio's while their loop runs."""
    fastaio_ns = variants.setup("fastaio c" if "c" in
                                variants.implementations() else
                                "fastaio python", "asyncio")
    fastaio_ns.new_loop().close()       # the replacements are made
    ns = variants.setup("stdlib default", "asyncio")
    loop = ns.new_loop()
    seen = []

    async def main():
        seen.append(vars(asyncio.events.Handle)["_run"])
        for name in ("create_task", "is_running", "get_debug", "call_soon"):
            seen.append((getattr(type(loop), name),
                         _install.asyncio_original("BaseEventLoop." + name)))

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    assert seen[0] is _install.asyncio_original("Handle._run")
    for method, original in seen[1:]:
        assert method is original


def test_timeout_benchmark_runs():
    """benchmarks/timeout_cost.py's setups handle their requests (aiohttp is
    needed only because the handler is server.py's)."""
    pytest.importorskip("aiohttp")
    import timeout_cost

    # As the script runs it: before 3.11 only fastaio's tasks can count
    # the cancellations that fastaio.timeout() needs.
    loop = fastaio.install(asyncio.new_event_loop())
    try:
        times = timeout_cost.measure(loop, 3, 2, 0)
        assert not asyncio.all_tasks(loop)
    finally:
        loop.close()
    names = {"no timeout", "fastaio.timeout", "bare fastaio.timeout"}
    if hasattr(asyncio, "timeout"):
        names |= {"asyncio.timeout", "bare asyncio.timeout"}
    assert set(times) == names
    assert all(len(ts) == 2 and min(ts) > 0 for ts in times.values())
