"""The task objects fastaio makes, and what creating them leaves behind."""
import asyncio
import contextvars
import gc
import tracemalloc

import pytest

from fastaio import _compat, _pycore

VAR = contextvars.ContextVar("VAR", default="unset")


def test_tasks_are_asyncio_tasks(fa, run):
    """The compiled core's tasks are asyncio.Task instances on every
    version; the pure-Python Task of 3.9-3.11 is only a future."""

    async def child():
        await asyncio.sleep(0)

    async def main():
        t = asyncio.get_running_loop().create_task(child())
        await t
        return type(t), isinstance(t, asyncio.Task), asyncio.isfuture(t)

    cls, is_task, is_future = run(main)
    assert is_future
    assert cls is fa.Task or issubclass(cls, fa.Task)
    assert is_task == (_compat.PY312 or fa.IMPLEMENTATION == "c")


def test_install_puts_fast_current_task_into_asyncio(fa, run):
    """Before 3.12, install() with the compiled core makes
    asyncio.current_task the C version; the result is the same."""

    async def main():
        return asyncio.current_task(), asyncio.tasks.current_task()

    me, also = run(main)
    assert me is also
    if not _compat.PY312 and fa.IMPLEMENTATION == "c":
        assert asyncio.current_task is fa.current_task
        assert asyncio.tasks.current_task is fa.current_task


@pytest.mark.skipif(_compat.PY312, reason="3.12+ uses asyncio's own C "
                    "current_task, which reads the thread state itself")
def test_compiled_current_task_reads_the_thread_state(fa):
    """The compiled core found the running-loop holder's layout it expects,
    so its current_task() reads the loop without a Python-level call."""
    if fa.IMPLEMENTATION != "c":
        assert fa.current_task is _pycore.current_task
        return
    from fastaio import _core
    assert _core.FAST_RUNNING_LOOP == 1


def test_base_exception_restores_context_and_task(fa, run):
    """A KeyboardInterrupt out of an eager first step leaves the creator's
    current task and context as they were."""

    async def child():
        VAR.set("child")
        raise KeyboardInterrupt

    async def main():
        VAR.set("parent")
        me = asyncio.current_task()
        ctx_before = contextvars.copy_context()
        with pytest.raises(KeyboardInterrupt):
            fa.create_task(child())
        same = dict(contextvars.copy_context()) == dict(ctx_before)
        return asyncio.current_task() is me, VAR.get(), same

    assert run(main) == (True, "parent", True)


def test_pending_task_destroyed_is_reported(fa, run, caplog):
    """A fastaio task dropped while pending is reported like asyncio's."""

    async def waits(fut):
        await fut

    def orphan():
        # The task waits on a future nobody else holds: once both are
        # dropped only the gc can find them, still pending.
        t = fa.create_task(waits(asyncio.get_running_loop().create_future()))
        assert not t.done()

    async def main():
        orphan()
        gc.collect()

    with caplog.at_level("ERROR", logger="asyncio"):
        run(main)
    assert any("Task was destroyed but it is pending" in r.getMessage()
               for r in caplog.records)


async def _done():
    return 1


async def _fails():
    raise ValueError


async def _suspends():
    await asyncio.sleep(0)


def _churn(fa, n):
    async def main():
        loop = asyncio.get_running_loop()
        for _ in range(n):
            await loop.create_task(_done())
            t = loop.create_task(_fails())
            try:
                await t
            except ValueError:
                pass
            t = loop.create_task(_suspends())
            t.cancel()
            try:
                await t
            except asyncio.CancelledError:
                pass
    return main


def test_eager_tasks_leak_nothing(fa, run):
    """Tasks that complete, fail, or are cancelled leave no objects or
    memory behind (gc object count and tracemalloc flat)."""
    n = 3000

    async def main():
        await _churn(fa, n)()                # warm-up: caches, free lists
        gc.collect()
        objects = len(gc.get_objects())
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            await _churn(fa, n)()
            gc.collect()
            grown = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        return len(gc.get_objects()) - objects, grown

    new_objects, grown = run(main, timeout=60)
    # 3 * n tasks went through; a leak of one object or 16 bytes per task
    # would show as thousands.
    assert new_objects < 200, new_objects
    assert grown < 64 * 1024, grown


def test_loops_in_several_threads(fa, loop_kind):
    """Loops running in several threads at once (free-threaded builds run
    them in parallel) each get their own eager tasks, current task and
    nesting depth."""
    import threading

    from implementations import make_loop

    async def leaf(i):
        assert asyncio.current_task().get_name() == f"leaf-{i}"
        if i % 3 == 0:
            await asyncio.sleep(0)
        return i

    async def main():
        total = 0
        for _ in range(20):
            tasks = [fa.create_task(leaf(i), name=f"leaf-{i}")
                     for i in range(100)]
            total += sum([await t for t in tasks])
        return total

    results, errors = [], []

    def worker():
        loop = make_loop(fa, loop_kind)
        try:
            results.append(loop.run_until_complete(main()))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            loop.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert results == [20 * sum(range(100))] * 4
