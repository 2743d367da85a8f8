"""Uses of fastaio's public API that a type checker must accept."""
import asyncio
import contextvars

import fastaio


async def number() -> int:
    return 1


async def text() -> str:
    return "a"


async def main() -> str:
    loop = fastaio.install(asyncio.get_running_loop())
    same: asyncio.AbstractEventLoop = loop
    fastaio.install(force=True)
    fastaio.uninstall(same)
    task: asyncio.Task[int] = fastaio.create_task(number(), name="n")
    eager: asyncio.Task[str] = fastaio.create_task(
        text(), eager_start=True, context=contextvars.copy_context())
    n: int = await task
    s: str = await eager
    pair = await fastaio.gather(number(), text())
    first: int = pair[0]
    second: str = pair[1]
    many: list[int] = await fastaio.gather(*[number() for _ in range(3)])
    mixed = await fastaio.gather(number(), return_exceptions=True)
    for item in mixed:
        if isinstance(item, BaseException):
            raise item
    barrier = fastaio.Barrier(1)
    index: int = await barrier.wait()
    parties: int = barrier.parties
    async with fastaio.TaskGroup() as tg:
        child: asyncio.Task[int] = tg.create_task(number())
    async with fastaio.timeout(1.5) as cm:
        cm.reschedule(None)
    async with fastaio.timeout_at(None):
        pass
    total: int = await fastaio.to_thread(sum, [1, 2])
    current = fastaio.current_task()
    if current is not None:
        current.get_name()
    try:
        pass
    except fastaio.BrokenBarrierError:
        pass
    except fastaio.TimeoutError:
        pass
    return f"{n}{s}{first}{second}{many}{index}{parties}{child}{total}"


result: str = fastaio.run(main())
with fastaio.Runner(loop_factory=fastaio.new_event_loop) as runner:
    again: str = runner.run(main())
loop: fastaio.EventLoop = fastaio.new_event_loop()
loop.set_task_factory(fastaio.eager_task_factory)
loop.set_task_factory(fastaio.create_eager_task_factory(fastaio.Task))
loop.close()
fastaio.unpatch_asyncio("gather")
implementation: str = fastaio.IMPLEMENTATION
