/*
 * Declarations shared by the C files of fastaio._core (module.c, factory.c,
 * task39.c, task312.c, gathering.c, barrier.c).
 *
 * Reference ownership: every PyObject* local is commented "new" (owned,
 * released on every path) or "borrowed" (kept alive by its container for the
 * whole use); the same holds for the fields below.
 */
#ifndef FASTAIO_H
#define FASTAIO_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <structmember.h>   /* T_OBJECT, READONLY */

#include "compat.h"

/* Same value as fastaio._pycore.MAX_EAGER_DEPTH. */
#define MAX_EAGER_DEPTH 100

/* What the core keeps from asyncio, and its interned names (all new). */
typedef struct {
    PyObject *get_running_loop;   /* asyncio.events._get_running_loop */
    PyObject *get_event_loop;     /* asyncio.events.get_event_loop */
    PyObject *base_loop;          /* asyncio.base_events.BaseEventLoop */
    PyObject *base_create_task;   /* BaseEventLoop.create_task */
    PyObject *task_base;          /* 3.12.0-3.12.4: asyncio.Task, the base
                                     of fastaio.Task; else NULL */
    PyObject *eager_code;         /* asyncio.eager_task_factory.__code__ */
    PyObject *str_loop, *str_name, *str_context, *str_eager_start;
    PyObject *str_task_factory, *str_closed, *str_call_soon;
    PyObject *str_get_debug, *str_is_running;
    PyObject *str_thread_id, *str_debug;
    PyObject *str_task_constructor;   /* "_fastaio_task_constructor" */
    PyObject *str_run, *str_coro;
    PyObject *kwnames_ctor[4];    /* ("loop", ["name",] ["context",]
                                     "eager_start"), by which of the two
                                     optional ones are given */
    PyObject *kwnames_context;    /* ("context",) */
#if !FA_NATIVE_CURRENT_TASK
    PyObject *current_tasks;      /* asyncio.tasks._current_tasks (a dict) */
    PyObject *running_key;        /* the thread-state dict key of the
                                     running loop holder */
    PyTypeObject *holder_type;    /* type of that holder; NULL: use the
                                     slow path (layout not as expected) */
    int forked;                   /* in a child of fork(): slow path */
#endif
} core_state;

extern core_state fa_state;

/* Eager first steps now on this thread's C stack. */
extern FA_THREAD_LOCAL int fa_eager_depth;

/* module.c: the running loop and the checks shared by the factory and the
   Task. */
PyObject *fa_running_loop(void);              /* new reference, or NULL */
int fa_check_context(PyObject *context);
int fa_may_start_eagerly(PyObject *loop);
#if FA_NATIVE_EAGER
int fa_context_enterable(PyObject *context);
#endif

/* task39.c: fastaio.Task on 3.9-3.11. */
#if !FA_NATIVE_EAGER
extern PyTypeObject fa_TaskType;
PyObject *fa_task_new_for_factory(PyObject *coro, PyObject *loop,
                                  PyObject *name, PyObject *context,
                                  int eager);
int fa_task39_init(PyObject *module);
#endif

/* task312.c: fastaio.Task on 3.12+ (new reference to the class). */
#if FA_NATIVE_EAGER
PyObject *fa_task312_init(PyObject *module);
#endif

/* factory.c: the eager task factory and create_task_via_factory. */
int fa_factory_init(PyObject *module, PyObject *task_ctor);

/* gathering.c, barrier.c */
int fa_gathering_init(PyObject *module);
int fa_barrier_init(PyObject *module);

#endif  /* FASTAIO_H */
