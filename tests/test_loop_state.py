"""The loop methods fastaio compiles (create_task, get_debug, is_running,
call_soon, and the task factory check of gather) read the loop's
_task_factory, _closed, _debug, _thread_id and _ready.  The compiled core
keeps those values between calls on 3.12+ with the GIL, and on 3.13+ with
the GIL reads them from the loop's __dict__ where its class allows (3.13.0,
a second loop); on 3.14's free-threaded build it reads them from the
values kept in the loop object itself, for the same classes.  Every way of
changing them, or of making a loop's class answer differently, must be
seen at the next call, exactly as a lookup by name sees it."""
import asyncio
import gc
import threading

import pytest

KINDS = ("fastaio-loop", "asyncio")


@pytest.fixture(params=KINDS)
def kind(request):
    return request.param


def new_loop(fa, kind, base=None, **attrs):
    base = base or (fa.EventLoop if kind == "fastaio-loop"
                    else asyncio.SelectorEventLoop)
    loop = type("Loop", (base,), attrs)() if attrs else base()
    if kind != "fastaio-loop":
        fa.install(loop)
    return loop


async def child(log, value):
    log.append(value)
    return value


def counting_create_task(loop, calls):
    """An instance create_task for loop: its class's, recording each
    coroutine in calls."""
    def create_task(coro, **kwargs):
        calls.append(coro)
        return type(loop).create_task(loop, coro, **kwargs)
    return create_task


def run(loop, main):
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


def test_debug_flag_changes_are_seen(fa, kind):
    loop = new_loop(fa, kind)

    async def main():
        seen = [loop.get_debug()]
        await asyncio.gather(child([], 1))
        loop.set_debug(True)
        seen.append(loop.get_debug())
        vars(loop)["_debug"] = False          # the dict itself
        seen.append(loop.get_debug())
        loop._debug = 1                       # any value, as it is
        seen.append(loop.get_debug())
        loop._debug = False
        return seen

    assert run(loop, main) == [False, True, False, 1]


def test_factory_changes_are_seen(fa, kind):
    loop = new_loop(fa, kind)

    async def main():
        log = []
        first = loop.create_task(child(log, 1))
        assert first.done()                   # eager
        factory = loop.get_task_factory()
        loop.set_task_factory(None)
        lazy = loop.create_task(child(log, 2))
        assert not lazy.done()
        await lazy
        loop._task_factory = factory          # set by name
        assert loop.create_task(child(log, 3)).done()
        del vars(loop)["_task_factory"]       # falls back to the class
        with pytest.raises(AttributeError):
            loop.get_task_factory()
        loop._task_factory = factory
        assert await asyncio.gather(child(log, 4)) == [4]
        return log

    assert run(loop, main) == [1, 2, 3, 4]


def test_is_running_follows_the_loop(fa, kind):
    loop = new_loop(fa, kind)
    assert not loop.is_running()

    async def main():
        return loop.is_running(), loop.create_task(child([], 1)).done()

    try:
        assert loop.run_until_complete(main()) == (True, True)
        assert not loop.is_running()
        assert loop.run_until_complete(main()) == (True, True)
    finally:
        loop.close()


def test_a_closed_loop_refuses_tasks(fa, kind):
    loop = new_loop(fa, kind)

    async def main():
        return await asyncio.gather(child([], 1))

    assert loop.run_until_complete(main()) == [1]
    loop.call_soon(print)                     # the handle cleared by close
    loop.close()
    coro = child([], 2)
    with pytest.raises(RuntimeError, match="closed"):
        loop.create_task(coro)
    coro.close()
    with pytest.raises(RuntimeError, match="closed"):
        loop.call_soon(print)


def test_a_replaced_dict_is_read(fa, kind):
    """loop.__dict__ = another dict, while something holds the old one."""
    loop = new_loop(fa, kind)

    async def main():
        await asyncio.gather(child([], 1))
        old = loop.__dict__
        loop.__dict__ = dict(old, _debug=True)
        assert loop.get_debug() is True
        assert old["_debug"] is False
        loop.set_debug(False)
        return loop.get_debug()

    assert run(loop, main) is False


def test_an_instance_create_task_is_called_by_gather(fa, kind):
    loop = new_loop(fa, kind)
    calls = []
    create_task = counting_create_task(loop, calls)

    async def main():
        assert await asyncio.gather(child([], 1)) == [1]
        loop.create_task = create_task
        assert await asyncio.gather(child([], 2), child([], 3)) == [2, 3]
        del loop.create_task
        assert await asyncio.gather(child([], 4)) == [4]
        return len(calls)

    assert run(loop, main) == 2


def test_a_missing_attribute_raises_as_by_name(fa, kind):
    """An instance without _debug: AttributeError, as the lookup by name
    gives, and the loop works again once the value is back."""
    loop = new_loop(fa, kind)

    async def main():
        await asyncio.gather(child([], 1))
        del loop._debug
        with pytest.raises(AttributeError, match="_debug"):
            loop.get_debug()
        loop._debug = False
        return await asyncio.gather(child([], 2))

    assert run(loop, main) == [2]


def test_class_attributes_take_precedence_where_python_says(fa, kind):
    """A data descriptor on the class wins over the instance's value."""
    loop = new_loop(fa, kind, _debug=property(lambda self: "class",
                                               lambda self, v: None))

    async def main():
        await asyncio.gather(child([], 1))
        return loop.get_debug()

    assert run(loop, main) == "class"


def test_changes_to_the_loop_class_are_seen(fa, kind):
    loop = new_loop(fa, kind, flag=0)
    cls = type(loop)

    async def main():
        await asyncio.gather(child([], 1))
        before = loop.get_debug()
        cls._debug = property(lambda self: "now")
        try:
            return before, loop.get_debug()
        finally:
            del cls._debug

    assert run(loop, main) == (False, "now")


def test_loops_one_after_another(fa, kind):
    """Each loop answers for itself, also a new one that may take the
    memory of a freed one."""
    answers = []
    for debug in (False, True, False, True):
        loop = new_loop(fa, kind)
        loop.set_debug(debug)

        async def main():
            await asyncio.gather(child([], 1))
            return loop.get_debug()

        answers.append((run(loop, main), loop.is_running()))
        del loop
        gc.collect()
    assert answers == [(False, False), (True, False), (False, False),
                       (True, False)]


def test_two_loops_in_turn(fa, kind):
    quiet, loud = new_loop(fa, kind), new_loop(fa, kind)
    loud.set_debug(True)

    async def main():
        return await asyncio.gather(child([], 1))

    try:
        for _ in range(3):
            assert quiet.get_debug() is False
            assert loud.get_debug() is True
            assert quiet.run_until_complete(main()) == [1]
            assert loud.run_until_complete(main()) == [1]
    finally:
        quiet.close()
        loud.close()


def test_loops_in_several_threads_at_once(fa, kind):
    """Each thread runs a loop of its own, with gathers of eager tasks,
    while the others run theirs: every loop sees its own state."""
    threads, results, barrier = 4, {}, threading.Barrier(4)

    async def node(depth, seen):
        if depth == 0:
            seen.append(asyncio.get_running_loop().get_debug())
            await asyncio.sleep(0)
            return 1
        parts = await asyncio.gather(*[node(depth - 1, seen)
                                       for _ in range(3)])
        return sum(parts)

    def worker(i):
        loop = new_loop(fa, kind)
        loop.set_debug(i % 2 == 1)
        barrier.wait()
        seen = []

        async def main():
            return [await node(4, seen) for _ in range(5)]

        results[i] = (run(loop, main), set(seen))

    workers = [threading.Thread(target=worker, args=(i,))
               for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert results == {i: ([81] * 5, {i % 2 == 1}) for i in range(threads)}


def test_the_cache_is_on_where_it_can_be():
    """On 3.12+ with the GIL; not on 3.13.0, whose dict watchers miss
    attribute stores (gh-125608)."""
    import sys
    import sysconfig
    core = pytest.importorskip("fastaio._core",
                               reason="a build without the compiled core")
    expected = (sys.version_info >= (3, 12)
                and sys.version_info[:3] != (3, 13, 0)
                and not sysconfig.get_config_var("Py_GIL_DISABLED"))
    assert core.LOOP_CACHE == int(expected)


def test_the_value_reads_are_on_where_they_can_be():
    """On the free-threaded build of 3.14 only, and only if they answered
    as the lookups by name do when the module was imported."""
    import sys
    import sysconfig
    core = pytest.importorskip("fastaio._core",
                               reason="a build without the compiled core")
    expected = (sys.version_info[:2] == (3, 14)
                and bool(sysconfig.get_config_var("Py_GIL_DISABLED")))
    assert core.LOOP_VALUE_READS == int(expected)


def test_attributes_that_left_the_object_are_read(fa, kind):
    """More attributes than the loop object keeps in place: its values move
    to a dict, where the next calls must find them, an instance
    create_task too."""
    loop = new_loop(fa, kind)
    calls = []
    create_task = counting_create_task(loop, calls)

    async def main():
        seen = [loop.get_debug()]
        await asyncio.gather(child([], 1))
        for i in range(64):
            setattr(loop, f"extra_{i}", i)
        loop.set_debug(True)
        seen.append(loop.get_debug())
        loop.set_debug(False)
        seen.append(loop.get_debug())
        seen.append(loop.is_running())
        loop.create_task = create_task
        seen += await asyncio.gather(child([], 2))
        del loop.create_task
        return seen + await asyncio.gather(child([], 3)) + [len(calls)]

    assert run(loop, main) == [False, True, False, True, 2, 3, 1]
    coro = child([], 3)
    with pytest.raises(RuntimeError, match="closed"):
        loop.create_task(coro)
    coro.close()


def test_loops_of_two_classes_in_turn(fa, kind):
    """Instances of two loop classes that store their attributes in another
    order: each loop's calls read that loop's values."""
    base = fa.EventLoop if kind == "fastaio-loop" else asyncio.SelectorEventLoop

    class First(base):
        def __init__(self):
            self.first = 1
            super().__init__()

    class Second(base):
        def __init__(self):
            self.a = self.b = self.c = 0
            super().__init__()

    loops = [First(), Second()]
    try:
        for loop in loops:
            if kind != "fastaio-loop":
                fa.install(loop)
        loops[1].set_debug(True)
        for _ in range(3):
            assert [loop.get_debug() for loop in loops] == [False, True]
            assert [loop.is_running() for loop in loops] == [False, False]
        loops[0].close()
        coro = child([], 1)
        with pytest.raises(RuntimeError, match="closed"):
            loops[0].create_task(coro)
        coro.close()

        async def main():
            assert loops[0].get_debug() is False
            return await asyncio.gather(child([], 2), child([], 3))

        assert loops[1].run_until_complete(main()) == [2, 3]
        assert loops[1].get_debug() is True
    finally:
        for loop in loops:
            loop.close()


@pytest.mark.parametrize("call", [
    lambda loop: loop.get_debug(1),
    lambda loop: loop.is_running(now=True),
    lambda loop: type(loop).get_debug(),
    lambda loop: loop.create_task(),
    lambda loop: loop.create_task(None, None),
])
def test_wrong_arguments_raise_type_error(fa, kind, call):
    loop = new_loop(fa, kind)
    try:
        with pytest.raises(TypeError):
            call(loop)
        assert loop.get_debug() is False
    finally:
        loop.close()
