# Declarations that compile python/fastaio/_tasks.py (Cython's pure-Python
# mode) into fastaio._ctasks, so that fastaio._ctaskgroups creates its tasks
# with C calls, and the compiled core's functions it calls are C globals.
cdef object _c_spawn, _c_task_factory, _c_later, _c_finished_ok
cdef object _c_runs_fastaio

cpdef bint is_fastaio_factory(factory)
cpdef task_factory_of(loop)
cpdef bint runs_fastaio_factory(loop)
cpdef later(func)
cpdef task_kwargs(kwargs, name, context)
cpdef create_task_on(loop, factory, coro, name, context, kwargs, plain)
cpdef spawn(loop, coro, name=*, context=*, kwargs=*)
cpdef need_cancel_counting(task, what)
cpdef bint finished_ok(task)
