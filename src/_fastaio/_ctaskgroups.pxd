# Declarations that compile python/fastaio/_taskgroups.py (Cython's
# pure-Python mode) into fastaio._ctaskgroups: the group's state in C
# fields, its helpers as C functions, and the task creation of
# fastaio._ctasks called directly.
from fastaio._ctasks cimport (finished_ok, later, need_cancel_counting,
                              runs_fastaio_factory, spawn)

cdef object _add_awaited_by, _discard_awaited_by

cdef bint _is_base_error(exc)


cdef class TaskGroup:
    cdef public bint _entered, _exiting, _aborting
    cdef public object _loop, _parent_task
    cdef public bint _parent_cancel_requested
    cdef public set _tasks
    cdef public list _errors
    cdef public object _base_error, _on_completed_fut
    cdef public bint _cancel_when_entered, _eager
    cdef object _done_callback
    cdef object __weakref__

    cpdef cancel(self)
    cdef _abort(self)
