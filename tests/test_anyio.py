"""anyio (and so Starlette and FastAPI) under fastaio.

anyio's task groups need their children to start lazily: ``tg.start()``
registers the child's state after creating its task.  anyio recognises
asyncio's eager factory and then creates its tasks through the factory's
constructor without an eager start; fastaio's factory must be treated the
same way, on every Python version.
"""
import asyncio
import sys

import anyio
import pytest

from fastaio import _compat


def test_factory_presents_itself_as_asyncio_eager_factory(fa):
    factory = fa.eager_task_factory
    (cell,) = factory.__closure__
    assert cell.cell_contents is fa.Task
    if _compat.PY312:
        assert factory.__code__ is asyncio.eager_task_factory.__code__
    else:
        # anyio compares __code__ with None before 3.12.
        assert getattr(factory, "__code__", None) is None
    custom = fa.create_eager_task_factory(fa.Task)
    assert custom.__closure__[0].cell_contents is fa.Task


def test_anyio_task_group_start(fa, run):
    """tg.start() and start_soon() work, children start lazily inside
    anyio's group, and tasks outside it stay eager."""
    order = []

    async def child(name, task_status=anyio.TASK_STATUS_IGNORED):
        order.append(f"{name} runs")
        task_status.started(name.upper())
        await anyio.sleep(0)
        order.append(f"{name} ends")

    async def plain():
        order.append("plain runs")

    async def main():
        async with anyio.create_task_group() as tg:
            value = await tg.start(child, "a")
            order.append(f"started {value}")
            tg.start_soon(child, "b")
            order.append("after start_soon")
            t = asyncio.get_running_loop().create_task(plain())
            order.append(f"plain done at creation: {t.done()}")
        return order

    assert run(main) == [
        "a runs", "started A", "after start_soon", "plain runs",
        "plain done at creation: True", "a ends", "b runs", "b ends"]


def test_anyio_start_failure_and_cancel_scope(fa, run):
    """A child failing before started() reaches the caller of start(); a
    cancel scope around the group cancels its children."""

    async def fails(task_status=anyio.TASK_STATUS_IGNORED):
        raise ValueError("early")

    async def forever(task_status=anyio.TASK_STATUS_IGNORED):
        task_status.started()
        await anyio.sleep_forever()

    async def main():
        async with anyio.create_task_group() as tg:
            with pytest.raises(ValueError, match="early"):
                await tg.start(fails)
        with anyio.move_on_after(0.01) as scope:
            async with anyio.create_task_group() as tg:
                await tg.start(forever)
                tg.start_soon(forever)
        return scope.cancelled_caught

    assert run(main) is True


@pytest.mark.skipif(sys.version_info < (3, 12),
                    reason="asyncio.eager_task_factory is new in 3.12")
def test_same_order_as_asyncio_eager_factory(fa):
    """The event order of an anyio program under fastaio equals the order
    under asyncio.eager_task_factory."""

    def program(install):
        order = []

        async def child(name, task_status=anyio.TASK_STATUS_IGNORED):
            order.append(f"{name} runs")
            task_status.started()
            await anyio.sleep(0)
            order.append(f"{name} ends")

        async def main():
            install(asyncio.get_running_loop())
            async with anyio.create_task_group() as tg:
                await tg.start(child, "a")
                tg.start_soon(child, "b")
                order.append("body ends")

        asyncio.run(main())
        return order

    def stdlib(loop):
        loop.set_task_factory(asyncio.eager_task_factory)

    assert program(fa.install) == program(stdlib)
