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


/* 3.12: Task(..., eager_start=) runs the first step inside the constructor
   (gh-97696).  Before it fastaio needs a Task type of its own for that: a
   subclass of _asyncio.Task whose first step is taken by hand. */
#if PY_VERSION_HEX >= 0x030C0000
#  define FA_NATIVE_EAGER 1
#else
#  define FA_NATIVE_EAGER 0
#endif

/* 3.11: _asyncio.Task.__init__ takes context= and the Task has
   cancelling()/uncancel() (bpo-46752); on 3.9/3.10 fastaio adds both. */
#if PY_VERSION_HEX >= 0x030B0000
#  define FA_TASK_HAS_CONTEXT 1
#else
#  define FA_TASK_HAS_CONTEXT 0
#endif

/* Thread-local storage for the eager nesting depth (C11 / MSVC). */
#if defined(_MSC_VER)
#  define FA_THREAD_LOCAL __declspec(thread)
#else
#  define FA_THREAD_LOCAL _Thread_local
#endif

/* True when the calling thread is handling an exception (what
   sys.exc_info() reports).  3.11 added PyErr_GetHandledException. */
static inline int
fa_handling_exception(void)
{
#if PY_VERSION_HEX >= 0x030B0000
    PyObject *exc = PyErr_GetHandledException();   /* new or NULL */
    int busy = exc != NULL && exc != Py_None;
    Py_XDECREF(exc);
    return busy;
#else
    PyObject *type, *value, *tb;                   /* new */
    PyErr_GetExcInfo(&type, &value, &tb);
    int busy = value != NULL && value != Py_None;
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    return busy;
#endif
}

/* Py_NewRef is 3.10+. */
#if PY_VERSION_HEX < 0x030A0000
static inline PyObject *
fa_newref(PyObject *o)
{
    Py_INCREF(o);
    return o;
}
#  define Py_NewRef(o) fa_newref((PyObject *)(o))
#  define Py_XNewRef(o) ((o) == NULL ? NULL : fa_newref((PyObject *)(o)))
#endif

#endif  /* FASTAIO_COMPAT_H */
