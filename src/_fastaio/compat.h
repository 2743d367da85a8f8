/*
 * Every CPython version difference the compiled core depends on, in one
 * place.  Each macro cites the CPython release whose behaviour it tracks.
 */
#ifndef FASTAIO_COMPAT_H
#define FASTAIO_COMPAT_H

#include <Python.h>

#if PY_VERSION_HEX < 0x03090000
#  error "fastaio needs CPython 3.9 or newer"
#endif

/* 3.12: asyncio.current_task() is implemented in C (gh-100344); before it,
   the current task of each loop lives in the dict
   asyncio.tasks._current_tasks, shared with _asyncio's C helpers. */
#if PY_VERSION_HEX >= 0x030C0000
#  define FA_NATIVE_CURRENT_TASK 1
#else
#  define FA_NATIVE_CURRENT_TASK 0
#endif

#endif  /* FASTAIO_COMPAT_H */

/* ------------------------------------------------------------------------
 * Barrier (src/_fastaio/_barrier.c).  Kept in its own guarded section.
 * ---------------------------------------------------------------------- */
#ifndef FASTAIO_COMPAT_BARRIER_H
#define FASTAIO_COMPAT_BARRIER_H

/* 3.10: the am_send slot and PySendResult (bpo-41756) let an awaitable
   return its result to the awaiting coroutine without a StopIteration. */
#if PY_VERSION_HEX >= 0x030A0000
#  define FA_HAVE_AM_SEND 1
#else
#  define FA_HAVE_AM_SEND 0
#endif

/* 3.13: free-threaded builds (PEP 703) define Py_GIL_DISABLED; there the
   barrier's fields are guarded by a per-object critical section and the
   module declares that it does not need the GIL.  With the GIL the macros
   only open and close a block. */
#if defined(Py_GIL_DISABLED) && PY_VERSION_HEX >= 0x030D0000
#  define FA_FREE_THREADED 1
#  define FA_BEGIN_CRITICAL_SECTION(op) \
    Py_BEGIN_CRITICAL_SECTION((PyObject *)(op))
#  define FA_END_CRITICAL_SECTION() Py_END_CRITICAL_SECTION()
#else
#  define FA_FREE_THREADED 0
#  define FA_BEGIN_CRITICAL_SECTION(op) {
#  define FA_END_CRITICAL_SECTION() }
#endif

/* 3.12: PyErr_Fetch/PyErr_Restore are deprecated for the single-object
   PyErr_GetRaisedException/PyErr_SetRaisedException (gh-101578). */
#if PY_VERSION_HEX >= 0x030C0000
#  define FA_ERR_SAVE(saved) PyObject *saved = PyErr_GetRaisedException()
#  define FA_ERR_RESTORE(saved) PyErr_SetRaisedException(saved)
#else
#  define FA_ERR_SAVE(saved) \
    PyObject *saved##_t, *saved##_v, *saved##_tb; \
    PyErr_Fetch(&saved##_t, &saved##_v, &saved##_tb)
#  define FA_ERR_RESTORE(saved) \
    PyErr_Restore(saved##_t, saved##_v, saved##_tb)
#endif

#endif  /* FASTAIO_COMPAT_BARRIER_H */
