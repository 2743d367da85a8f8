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
