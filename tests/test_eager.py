"""Eager task semantics, and the CPython eager-task bugs fastaio must not
have (each test names its CPython issue)."""
import asyncio
import contextvars
import gc
import sys
import threading
import weakref

import pytest

from fastaio import _compat, _pycore

VAR = contextvars.ContextVar("VAR", default="unset")


def test_eager_child_finishes_inside_create_task(fa, run):
    log = []

    async def child():
        log.append("child")
        return 7

    async def main():
        task = fa.create_task(child())
        log.append("created")
        assert task.done()
        return task.result(), await task

    assert run(main) == (7, 7)
    assert log == ["child", "created"]


@pytest.mark.parametrize("how", ["loop.create_task", "asyncio.create_task",
                                 "fastaio.create_task", "ensure_future"])
def test_installed_loop_creates_eager_tasks(fa, run, how):
    async def child():
        return asyncio.current_task()

    async def main():
        coro = child()
        if how == "loop.create_task":
            task = asyncio.get_running_loop().create_task(coro)
        elif how == "asyncio.create_task":
            task = asyncio.create_task(coro)
        elif how == "ensure_future":
            task = asyncio.ensure_future(coro)
        else:
            task = fa.create_task(coro)
        assert task.done()
        assert task.result() is task
        assert isinstance(task, fa.Task)
        assert asyncio.isfuture(task)
        if _compat.PY312:
            assert isinstance(task, asyncio.Task)
        return True

    assert run(main)


def test_current_task_during_and_after_eager_step(fa, run):
    seen = {}

    async def child():
        seen["asyncio"] = asyncio.current_task()
        seen["fastaio"] = fa.current_task()
        seen["all"] = asyncio.all_tasks()
        await asyncio.sleep(0)
        seen["resumed"] = fa.current_task()

    async def main():
        me = asyncio.current_task()
        task = fa.create_task(child())
        assert not task.done()
        assert fa.current_task() is me
        assert asyncio.current_task() is me
        assert task in asyncio.all_tasks()
        await task
        assert seen["asyncio"] is seen["fastaio"] is seen["resumed"] is task
        assert task in seen["all"]
        assert task not in asyncio.all_tasks()

    run(main)


def test_eager_start_false_and_lazy_loop(fa, run):
    log = []

    async def child():
        log.append("child")

    async def main():
        task = fa.create_task(child(), eager_start=False)
        log.append("created")
        assert not task.done()
        await task

    run(main)
    assert log == ["created", "child"]


def test_factory_contract_kwargs(fa, run):
    """The factory takes name, context, eager_start (None = default) and
    passes unknown keywords on; callers of 3.9 to 3.15 and uvloop call it in
    all these ways."""
    async def child():
        return asyncio.current_task().get_name()

    async def main():
        loop = asyncio.get_running_loop()
        f = fa.eager_task_factory
        assert f(loop, child()).done()
        assert f(loop, child(), context=None).done()
        assert f(loop, child(), context=None, eager_start=None).done()
        t = f(loop, child(), name="n1", context=contextvars.copy_context(),
              eager_start=True)
        assert t.result() == "n1"
        t = f(loop, child(), eager_start=False)
        assert not t.done()
        await t
        coro = child()
        with pytest.raises(TypeError):
            f(loop, coro, unexpected=1)
        coro.close()

    run(main)


def test_arguments_of_one_task_do_not_reach_the_next(fa, run):
    """Every task gets its own name, context and start: what one creation
    passes is not seen by the next, nor by tasks made inside a first step."""
    async def child(inner=False):
        me = asyncio.current_task()
        nested = None
        if inner:
            nested = fa.create_task(child(), name="nested")
            assert nested.done()
            nested = nested.result()
        return me.get_name(), VAR.get(), nested

    async def main():
        loop = asyncio.get_running_loop()
        f = fa.eager_task_factory
        ctx = contextvars.copy_context()
        ctx.run(VAR.set, "given")
        t = f(loop, child(True), name="first", context=ctx)
        assert t.result() == ("first", "given", ("nested", "given", None))
        for _ in range(3):
            t = f(loop, child())
            assert t.done()
            name, value, _ = t.result()
            assert name.startswith("Task-") and value == "unset"
        t = f(loop, child(), eager_start=False)
        assert not t.done()
        await t
        t = fa.create_task(child())
        assert t.done() and t.result()[0].startswith("Task-")
        with pytest.raises(TypeError):
            f(loop, 42)
        t = fa.create_task(child(True), name="after")
        assert t.result() == ("after", "unset", ("nested", "unset", None))

    run(main)


def test_factory_keeps_no_loop_alive(fa, make_loop, loop_kind):
    """A closed loop whose tasks are gone is freed: creating tasks leaves
    no reference to it behind."""
    async def child():
        return 1

    async def main():
        for _ in range(5):
            assert await fa.create_task(child()) == 1
        t = fa.eager_task_factory(asyncio.get_running_loop(), child(),
                                  name="n", context=contextvars.copy_context())
        assert t.result() == 1

    loop = make_loop(fa, loop_kind)
    loop.run_until_complete(main())
    loop.close()
    ref = weakref.ref(loop)
    del loop
    gc.collect()
    assert ref() is None


def test_tasks_belong_to_the_loop_they_were_made_for(fa, run, make_loop):
    """A task the factory makes is bound to the loop it was given, whether
    that loop runs in this thread (its task starts now), in no thread (it
    starts once that loop runs) or in another thread (it starts there)."""
    async def child():
        return asyncio.get_running_loop()

    other = make_loop(fa, run.kind)
    try:
        async def main():
            loop = asyncio.get_running_loop()
            here = fa.eager_task_factory(loop, child())
            assert here.done() and here.get_loop() is loop
            assert here.result() is loop
            idle = fa.eager_task_factory(other, child())
            assert not idle.done() and idle.get_loop() is other
            return idle

        idle = run(main)
        assert other.run_until_complete(idle) is other

        made = {}

        async def in_other_thread():
            await asyncio.sleep(0)
            task = fa.create_task(child())
            made["done"] = task.done()
            made["task"] = task
            return await task

        thread = threading.Thread(
            target=lambda: made.setdefault(
                "result", other.run_until_complete(in_other_thread())))
        thread.start()

        async def meanwhile():
            task = fa.create_task(child())
            return task.done(), task.get_loop(), await task

        loop_ran = run(meanwhile)
        thread.join()
        assert loop_ran[0] and loop_ran[1] is loop_ran[2]
        assert loop_ran[1] is not other
        assert made["done"] and made["task"].get_loop() is other
        assert made["result"] is other
    finally:
        other.close()


def test_the_constructor_takes_the_loop_from_the_thread_where_it_can():
    """From 3.14.7 and 3.15.0rc1 (gh-154695) the compiled factory starts a
    task without passing the loop to asyncio.Task, which then takes it from
    the thread; before, that constructor cannot start such a task."""
    core = pytest.importorskip("fastaio._core",
                               reason="a build without the compiled core")
    v = sys.version_info
    expected = (v[:2] == (3, 14) and v >= (3, 14, 7, "final")
                or v >= (3, 15, 0, "candidate", 1))
    assert core.CTOR_LOOP_FROM_THREAD == int(expected)


def test_name_set_before_first_step(fa, run):
    """gh-128308, gh-143173: the eager step sees its name, and a rename
    inside it sticks."""
    async def child():
        first = asyncio.current_task().get_name()
        asyncio.current_task().set_name("renamed")
        return first

    async def main():
        t = fa.create_task(child(), name="given")
        assert (t.result(), t.get_name()) == ("given", "renamed")
        async with fa.TaskGroup() as tg:
            t2 = tg.create_task(child(), name="in-group")
        assert (t2.result(), t2.get_name()) == ("in-group", "renamed")
        if run.kind != "uvloop":
            # uvloop names a task only after its factory returned.
            t3 = asyncio.create_task(child(), name="via-asyncio")
            assert (t3.result(), t3.get_name()) == ("via-asyncio", "renamed")
        t4 = fa.create_task(child())
        assert t4.result().startswith("Task-")

    run(main)


def test_default_names_count_up(fa, run):
    """A task created without a name is "Task-<n>", n one more than the last
    such task's; the name is there inside the first step, in repr() and
    for set_name(); a name that is not a str is converted."""
    async def child():
        await asyncio.sleep(0)
        return asyncio.current_task().get_name()

    async def returns_name():
        return asyncio.current_task().get_name()

    async def main():
        numbers = []
        for make in (returns_name, child, returns_name):
            t = fa.create_task(make())
            name = t.get_name()
            assert name.startswith("Task-"), name
            assert f"name='{name}'" in repr(t)
            assert await t == name
            numbers.append(int(name[len("Task-"):]))
        assert numbers == list(range(numbers[0], numbers[0] + 3))
        t = fa.create_task(child())
        assert await t == f"Task-{numbers[-1] + 1}"
        t = fa.create_task(child(), name=42)
        assert t.get_name() == "42" and await t == "42"
        t = fa.create_task(child())
        t.set_name("later")
        assert await t == "later"

    run(main)


def test_eager_only_on_the_loop_thread(fa, run):
    """gh-155338: a factory call from a thread that does not run the loop
    starts the task lazily and leaves the loop's current task alone."""
    async def child():
        return asyncio.current_task()

    async def main():
        loop = asyncio.get_running_loop()
        # A lazy start from another thread is a call_soon() from that thread,
        # which asyncio's debug mode refuses, as it does for stdlib tasks.
        loop.set_debug(False)
        me = asyncio.current_task()
        made = {}
        gate = threading.Event()

        def in_thread():
            coro = child()
            made["task"] = fa.eager_task_factory(loop, coro)
            made["done"] = made["task"].done()
            gate.set()

        thread = threading.Thread(target=in_thread)
        thread.start()
        while not gate.is_set():
            await asyncio.sleep(0.001)
        thread.join()
        assert made["done"] is False
        assert asyncio.current_task() is me
        assert await made["task"] is made["task"]
        assert asyncio.current_task() is me

    run(main)


def test_non_context_is_a_type_error(fa, run):
    """gh-157301: a context that is not a Context fails at creation and the
    loop keeps working."""
    async def child():
        return 1

    async def main():
        coro = child()
        with pytest.raises(TypeError, match="contextvars.Context"):
            fa.create_task(coro, context={"not": "a context"})
        coro.close()
        for eager in (True, False):
            coro = child()
            with pytest.raises(TypeError):
                fa.eager_task_factory(asyncio.get_running_loop(), coro,
                                      context=42, eager_start=eager)
            coro.close()
        assert await fa.create_task(child()) == 1
        await asyncio.sleep(0)
        assert await fa.create_task(child()) == 1

    run(main)


def test_entered_context_starts_lazily(fa, run):
    """gh-157301: the creator's own (entered) context works as for lazy tasks
    instead of hanging the loop."""
    async def child():
        return VAR.get()

    async def main():
        VAR.set("parent")
        ctx = asyncio.current_task().get_context()
        task = fa.create_task(child(), context=ctx)
        assert not task.done()
        assert await task == "parent"
        assert await fa.create_task(child()) == "parent"

    run(main)


def test_context_isolation(fa, run):
    async def child():
        seen = VAR.get()
        VAR.set("child")
        return seen

    async def main():
        VAR.set("parent")
        assert await fa.create_task(child()) == "parent"
        assert VAR.get() == "parent"
        ctx = contextvars.copy_context()
        assert fa.create_task(child(), context=ctx).result() == "parent"
        assert ctx[VAR] == "child"

    run(main)


def test_get_coro_after_eager_completion(fa, run):
    """gh-122332: get_coro() after an eager start that finished the task."""
    async def child():
        return 1

    async def suspends():
        await asyncio.sleep(0)

    async def main():
        t = fa.create_task(child())
        assert t.done()
        assert t.get_coro() is None
        repr(t)
        coro = suspends()
        t2 = fa.create_task(coro)
        assert t2.get_coro() is coro
        await t2

    run(main)


def test_no_exception_state_leak(fa, run):
    """gh-155575: a task created in an except block does not see the
    creator's exception."""
    async def child():
        seen = sys.exc_info()[1]
        try:
            raise KeyError("child")
        except KeyError as exc:
            return seen, exc.__context__

    async def main():
        try:
            raise ValueError("creator")
        except ValueError:
            task = fa.create_task(child())
        assert await task == (None, None)

    run(main)


NO_EXCEPTION = (None, None, None)


def same_exc_info(a, b):
    return all(x is y for x, y in zip(a, b))


def test_task_created_in_except_block_starts_eagerly(fa, run):
    """gh-155575: the creator's exception is hidden from the first step,
    which runs inside create_task."""
    log = []

    async def child():
        log.append(("child", sys.exc_info()))
        return 1

    async def main():
        try:
            raise ValueError("creator")
        except ValueError:
            task = fa.create_task(child())
            log.append("created")
            assert task.done()
        return await task

    assert run(main) == 1
    assert log == [("child", NO_EXCEPTION), "created"]


def test_creator_keeps_its_exception(fa, run):
    """After create_task the creator's except block goes on as before:
    sys.exc_info(), chaining and a bare raise."""
    async def child():
        await asyncio.sleep(0)

    async def main():
        with pytest.raises(ValueError) as caught:
            try:
                raise ValueError("creator")
            except ValueError as exc:
                info = sys.exc_info()
                task = fa.create_task(child())
                assert not task.done()
                assert same_exc_info(sys.exc_info(), info)
                try:
                    raise KeyError("later")
                except KeyError as later:
                    assert later.__context__ is exc
                assert sys.exc_info()[1] is exc
                raise
        assert caught.value.__context__ is None
        assert sys.exc_info() == NO_EXCEPTION
        await task
        assert sys.exc_info() == NO_EXCEPTION

    run(main)


def test_error_of_first_step_in_except_block(fa, run):
    """A child that fails or is cancelled in its first step sees nothing of
    the creator's exception, which is intact afterwards."""
    async def fails():
        raise KeyError("child")

    async def fails_while_handling():
        try:
            raise KeyError("inner")
        except KeyError:
            raise ZeroDivisionError

    async def cancelled():
        raise asyncio.CancelledError

    async def main():
        try:
            raise ValueError("creator")
        except ValueError as exc:
            first = fa.create_task(fails())
            assert sys.exc_info()[1] is exc
            second = fa.create_task(fails_while_handling())
            assert sys.exc_info()[1] is exc
            third = fa.create_task(cancelled())
            assert sys.exc_info()[1] is exc
        assert first.done() and second.done() and third.done()
        assert isinstance(first.exception(), KeyError)
        assert first.exception().__context__ is None
        error = second.exception()
        assert isinstance(error, ZeroDivisionError)
        assert isinstance(error.__context__, KeyError)
        assert error.__context__.__context__ is None
        assert third.cancelled()

    run(main)


@pytest.mark.parametrize("exc_type", [KeyboardInterrupt, SystemExit])
def test_base_exception_out_of_hidden_first_step(fa, run, exc_type):
    """An exception the first step lets out reaches the creator once its
    exception is back, chained to it as any exception raised in its except
    block, unless it has a context of its own."""
    async def child():
        raise exc_type()

    async def child_handling():
        try:
            raise KeyError("child")
        except KeyError:
            raise exc_type()

    async def main():
        try:
            raise ValueError("creator")
        except ValueError as exc:
            with pytest.raises(exc_type) as caught:
                fa.create_task(child())
            assert caught.value.__context__ is exc
            assert sys.exc_info()[1] is exc
            with pytest.raises(exc_type) as caught:
                fa.create_task(child_handling())
            assert isinstance(caught.value.__context__, KeyError)
            assert caught.value.__context__.__context__ is None
            assert sys.exc_info()[1] is exc
        assert sys.exc_info() == NO_EXCEPTION
        assert await fa.create_task(asyncio.sleep(0, "ok")) == "ok"

    run(main)


def test_creation_error_in_except_block_is_chained(fa, run):
    """An error of create_task itself is chained to the creator's exception,
    as any error raised in an except block."""
    async def main():
        try:
            raise ValueError("creator")
        except ValueError as exc:
            with pytest.raises(TypeError) as caught:
                fa.create_task(42)
            assert caught.value.__context__ is exc
            assert sys.exc_info()[1] is exc

    run(main)


@pytest.mark.parametrize("creator_handles", ["nothing", "another", "same"])
def test_creator_awaited_in_outer_except_block(fa, run, creator_handles):
    """When the exception is handled by an outer frame (here a coroutine
    awaiting the creator), it cannot be hidden: the task starts lazily, as
    asyncio's tasks do, and its first step sees no exception."""
    log = []

    async def child():
        log.append(("child", sys.exc_info()))
        try:
            raise KeyError("child")
        except KeyError as exc:
            return exc.__context__

    async def create():
        task = fa.create_task(child())
        log.append(("created", task.done()))
        return task

    async def creator(outer):
        if creator_handles == "nothing":
            return await create()
        try:
            if creator_handles == "another":
                raise IndexError("creator")
            raise outer
        except BaseException as exc:
            info = sys.exc_info()
            task = await create()
            assert same_exc_info(sys.exc_info(), info)
            assert sys.exc_info()[1] is exc
            try:
                raise
            except BaseException as again:
                assert again is exc
            return task

    async def main():
        try:
            raise ValueError("outer")
        except ValueError as exc:
            task = await creator(exc)
            assert sys.exc_info()[1] is exc
        assert sys.exc_info() == NO_EXCEPTION
        assert await task is None

    run(main)
    assert log == [("created", False), ("child", NO_EXCEPTION)]


def test_outer_except_block_inside_an_eager_step(fa, run):
    """The same below a task that started eagerly: the exception handled
    by a frame between that eager step and the creator is found, and the
    new task starts lazily (fastaio remembers only that the stack under a
    running eager step holds no exception)."""
    log = []

    async def grandchild():
        log.append(("grandchild", sys.exc_info()))

    async def create():
        task = fa.create_task(grandchild())
        log.append(("created", task.done()))
        return task

    async def child():
        try:
            raise ValueError("child")
        except ValueError as exc:
            task = await create()
            assert sys.exc_info()[1] is exc
        await task
        return "done"

    async def main():
        task = fa.create_task(child())
        log.append(("child started", not task.done()))
        return await task

    assert run(main) == "done"
    assert log == [("created", False), ("child started", True),
                   ("grandchild", NO_EXCEPTION)]


def test_loop_run_in_except_block(fa, run):
    """When the loop itself runs in an except block, every task sees that
    exception, as asyncio's tasks do; tasks start lazily and nothing
    changes for the code that runs the loop."""
    async def child():
        return sys.exc_info()[1]

    async def main():
        task = fa.create_task(child())
        assert not task.done()
        return await task

    try:
        raise ValueError("runner")
    except ValueError as exc:
        info = sys.exc_info()
        assert run(main) is exc
        assert same_exc_info(sys.exc_info(), info)


def test_eager_child_creates_task_in_its_except_block(fa, run):
    """Hiding nests: an eager child that creates a task in its own except
    block starts it eagerly too, and each creator gets its exception
    back."""
    log = []

    async def grandchild():
        log.append(("grandchild", sys.exc_info()))

    async def child():
        log.append(("child", sys.exc_info()))
        try:
            raise KeyError("child")
        except KeyError as exc:
            task = fa.create_task(grandchild())
            log.append(("child after", task.done(), sys.exc_info()[1] is exc))
            assert exc.__context__ is None
        await asyncio.sleep(0)
        log.append(("child resumed", sys.exc_info()))

    async def main():
        try:
            raise ValueError("creator")
        except ValueError as exc:
            task = fa.create_task(child())
            log.append(("main after", task.done(), sys.exc_info()[1] is exc))
        await task

    run(main)
    assert log == [
        ("child", NO_EXCEPTION),
        ("grandchild", NO_EXCEPTION),
        ("child after", True, True),
        ("main after", False, True),
        ("child resumed", NO_EXCEPTION),
    ]


def test_pure_core_without_ctypes_starts_lazily(fa, run, monkeypatch):
    """Where the exception state cannot be set (no ctypes.pythonapi), the
    pure-Python core starts a task created in an except block lazily."""
    if fa.IMPLEMENTATION != "python":
        pytest.skip("a fallback of the pure-Python core")
    monkeypatch.setattr(_pycore, "_exc_info_setter", lambda: None)

    async def child():
        return sys.exc_info()

    async def main():
        try:
            raise ValueError("creator")
        except ValueError as exc:
            task = fa.create_task(child())
            assert not task.done()
            assert sys.exc_info()[1] is exc
        assert await task == NO_EXCEPTION
        assert fa.create_task(child()).done()

    run(main)


def _eager_chain(fa, depth):
    """main() of a chain of depth tasks, each created by the one before
    and awaited by it; it returns depth."""
    async def chain(n):
        if n == 0:
            return 0
        return 1 + await fa.create_task(chain(n - 1))

    async def main():
        return await fa.create_task(chain(depth))

    return main


def test_deep_eager_nesting_does_not_overflow(fa, run):
    """Eager creations nest on the C stack; past MAX_EAGER_DEPTH fastaio
    starts lazily instead of raising RecursionError (CPython raises at a
    depth of a few hundred)."""
    assert run(_eager_chain(fa, 3000)) == 3000


def test_deep_eager_nesting_under_a_low_recursion_limit(fa, run):
    """From 8 levels on, a task starts lazily where the stack takes more
    than three quarters of the recursion limit: 300 units above what the
    test itself uses hold fewer than MAX_EAGER_DEPTH eager levels."""
    main = _eager_chain(fa, 1000)
    frames = 0
    frame = sys._getframe()
    while frame is not None:
        frames += 1
        frame = frame.f_back
    units = frames * (2 if sys.version_info < (3, 12) else 1)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(units + 300)
    try:
        result = run(main)
    finally:
        sys.setrecursionlimit(limit)
    assert result == 1000


def test_depth_cap_value(fa):
    assert 16 <= fa.MAX_EAGER_DEPTH <= 1000


@pytest.mark.parametrize("exc_type", [KeyboardInterrupt, SystemExit])
def test_base_exception_in_eager_step_propagates(fa, run, exc_type):
    async def child():
        raise exc_type()

    async def main():
        me = asyncio.current_task()
        with pytest.raises(exc_type):
            fa.create_task(child())
        assert asyncio.current_task() is me
        assert fa.current_task() is me
        await asyncio.sleep(0)
        assert await fa.create_task(asyncio.sleep(0, "ok")) == "ok"

    run(main)


def test_exception_in_eager_step_is_stored(fa, run):
    async def child():
        raise ZeroDivisionError

    async def main():
        task = fa.create_task(child())
        assert task.done()
        with pytest.raises(ZeroDivisionError):
            await task

    run(main)


def test_cancel_counting(fa, run):
    """cancelling()/uncancel() with CPython 3.13+ semantics (gh-116720)."""
    if _compat.PY312 and not _compat.PY313:
        pytest.skip("fastaio.Task is asyncio.Task on 3.12, whose uncancel() "
                    "keeps a pending cancel")
    hit = []

    async def child():
        me = asyncio.current_task()
        assert me.cancelling() == 0
        me.cancel()
        me.cancel()
        assert me.cancelling() == 2
        assert me.uncancel() == 1
        assert me.uncancel() == 0
        await asyncio.sleep(0)     # no CancelledError: the request was undone
        hit.append(me.cancelling())
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError as exc:
            hit.append(exc.args)
            raise

    async def main():
        task = fa.create_task(child())
        await asyncio.sleep(0.01)
        task.cancel("bye")
        assert task.cancelling() == 1
        with pytest.raises(asyncio.CancelledError):
            await task
        assert task.cancelled()

    run(main)
    assert hit == [0, ("bye",)]


def test_awaits_foreign_futures(fa, run):
    async def child(fut):
        return await fut

    async def main():
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        task = fa.create_task(child(fut))
        assert not task.done()
        loop.call_soon(fut.set_result, "x")
        assert await task == "x"
        cfut = asyncio.wrap_future(
            __import__("concurrent.futures").futures.Future())
        cfut.set_result("y")
        assert await fa.create_task(child(cfut)) == "y"
        inner = fa.create_task(asyncio.sleep(0.001, "z"))
        assert await fa.create_task(child(inner)) == "z"

    run(main)


def test_gather_of_eager_tasks(fa, run):
    async def leaf(i):
        if i % 2:
            await asyncio.sleep(0)
        return i

    async def main():
        return await asyncio.gather(*(fa.create_task(leaf(i))
                                      for i in range(20)))

    assert run(main) == list(range(20))


def test_pending_task_destroyed_is_logged(fa, loop_kind):
    import gc
    from implementations import make_loop
    loop = make_loop(fa, loop_kind)
    seen = []
    loop.set_exception_handler(lambda loop, ctx: seen.append(ctx["message"]))

    async def forever():
        await loop.create_future()

    async def main():
        fa.create_task(forever())
        await asyncio.sleep(0)

    loop.run_until_complete(main())
    loop.close()
    gc.collect()
    assert "Task was destroyed but it is pending!" in seen
