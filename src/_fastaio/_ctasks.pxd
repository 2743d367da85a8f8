# Declarations that compile python/fastaio/_tasks.py (Cython's pure-Python
# mode) into fastaio._ctasks, so that fastaio._ctaskgroups creates its tasks
# with C calls.
cpdef bint is_fastaio_factory(factory)
cpdef task_kwargs(kwargs, name, context)
cpdef create_task_on(loop, factory, coro, name, context, kwargs, plain)
cpdef spawn(loop, coro, name=*, context=*, kwargs=*)
cpdef need_cancel_counting(task, what)
