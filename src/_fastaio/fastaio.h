/*
 * Declarations shared by the C files of fastaio._core (module.c, factory.c,
 * task39.c, task312.c, gathering.c, barrier.c, ready.c, handles.c,
 * loopcache.c).
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
#include "instvalues.h"

/* Same value as fastaio._pycore.MAX_EAGER_DEPTH. */
#define MAX_EAGER_DEPTH 100
/* Same value as fastaio._pycore._STACK_CHECK_FROM: from this eager level
   on, a task starts lazily where the stack is near the recursion limit
   (fa_recursion_nearly_spent). */
#define FA_STACK_CHECK_FROM 8

/* The module state: what the core keeps from asyncio, its interned names
   and its types.  Every field below is a strong reference (NULL where a
   version does not use it); FA_STATE_OBJECTS lists them for the module's
   m_traverse and m_clear. */
#define FA_STATE_OBJECTS(X) \
    /* asyncio */ \
    X(get_running_loop)   /* asyncio.events._get_running_loop */ \
    X(get_event_loop)     /* asyncio.events.get_event_loop */ \
    X(base_loop)          /* asyncio.base_events.BaseEventLoop */ \
    X(base_create_task)   /* BaseEventLoop.create_task */ \
    X(base_get_task_factory)   /* BaseEventLoop.get_task_factory */ \
    X(base_is_closed)     /* BaseEventLoop.is_closed */ \
    X(eager_code)         /* asyncio.eager_task_factory.__code__ (3.12+) */ \
    X(task_base)          /* asyncio.Task when fastaio.Task subclasses it */ \
    X(base_cancel)        /* _asyncio.Task.cancel (3.9-3.11) */ \
    X(base_done)          /* _asyncio.Task.done (3.9-3.11) */ \
    X(current_tasks)      /* asyncio.tasks._current_tasks (3.9-3.11) */ \
    X(running_key)        /* thread-state key of the running loop holder */ \
    X(holder_type)        /* type of that holder; NULL: the slow path */ \
    X(stdlib_gather)      /* asyncio.gather as the interpreter defined it */ \
    X(ensure_future)      /* asyncio.tasks._ensure_future (3.9: public) */ \
    X(gathering_future)   /* asyncio.tasks._GatheringFuture */ \
    X(gathering_init)     /* its __init__ when gather may build it itself \
                             (gathering.c, gathering_fast); else NULL */ \
    X(get_loop)           /* asyncio.futures._get_loop */ \
    X(cancelled_error)    /* asyncio.CancelledError */ \
    X(current_task)       /* asyncio.current_task (3.14+, for gather) */ \
    X(add_awaited_by)     /* asyncio.futures.future_add_to_awaited_by (3.14+) */ \
    X(discard_awaited_by) /* ...future_discard_from_awaited_by (3.14+) */ \
    X(broken_error)       /* BrokenBarrierError */ \
    X(invalid_state)      /* asyncio.InvalidStateError */ \
    X(cfuture_type)       /* _asyncio.Future, or NULL (gather's fast calls) */ \
    X(ctask_type)         /* _asyncio.Task, or NULL */ \
    X(cfuture_methods)    /* its methods, in FA_FUT_* order (gathering.c) */ \
    X(ctask_methods)      /* the same for _asyncio.Task */ \
    /* call_soon (handles.c) */ \
    X(base_call_soon)     /* BaseEventLoop.call_soon, as found at import */ \
    X(base_call_soon_impl)     /* BaseEventLoop._call_soon */ \
    X(base_check_closed)  /* BaseEventLoop._check_closed */ \
    X(base_get_debug)     /* BaseEventLoop.get_debug, as found at import */ \
    X(core_get_debug)     /* this module's loop_get_debug */ \
    X(core_create_task)   /* this module's create_task_via_factory */ \
    X(events_dict)        /* vars(asyncio.events) */ \
    X(handle_type)        /* asyncio.events.Handle; NULL: no fast path */ \
    X(handle_init)        /* its __init__ */ \
    X(handle_run_orig)    /* its _run */ \
    X(format_callback_source) /* asyncio.format_helpers's */ \
    X(kwnames_debug)      /* ("debug",) */ \
    /* the module's types */ \
    X(factory_type) X(catcher_type) X(task_type) X(gather_callback_type) \
    X(barrier_type) X(op_type) X(ready_type) X(method_type) \
    /* interned names */ \
    X(str_loop) X(str_name) X(str_context) X(str_eager_start) \
    X(str_task_factory) X(str_closed) X(str_call_soon) X(str_get_debug) \
    X(str_is_running) X(str_thread_id) X(str_debug) \
    X(str_task_constructor) X(str_run) X(str_coro) \
    X(str_done) X(str_cancelled) X(str_exception) X(str_result) \
    X(str_set_result) X(str_set_exception) X(str_make_cancelled) \
    X(str_cancel_message) X(str_cancel_requested) X(str_add_done_callback) \
    X(str_get_loop) \
    X(str_log_destroy_pending) X(str_create_task) X(str_close) \
    X(str_return_exceptions) X(str_create_future) X(str_blocking) \
    X(str_module) X(str_qualname) X(str_get_task_factory) X(str_is_closed) \
    X(str_call_soon_impl) X(str_check_closed) X(str_ready) X(str_append) \
    X(str_handle) X(str_init) X(str_children) X(empty_str) X(empty_tuple) \
    /* ("loop", ["name",] ["context",] "eager_start"), by which of the two \
       optional ones are given; ("context",); ("loop",) */ \
    X(kwnames_ctor0) X(kwnames_ctor1) X(kwnames_ctor2) X(kwnames_ctor3) \
    X(kwnames_context) X(kwnames_loop) \
    /* {"eager_start": True} (FA_CTOR_LOOP_FROM_THREAD), or NULL */ \
    X(ctor_eager_kwargs)

/* loopcache.c: a loop's _task_factory, _closed, _debug, _thread_id and
   _ready, borrowed from its __dict__ while the state is FA_CACHE_VALID
   (the dict watcher makes it FA_CACHE_STALE before any change to the
   dict).  FA_CACHE_INCOMPLETE: the dict lacks one of them (the lookups by
   name answer) until it changes. */
#define FA_LOOP_ATTRS 5   /* fa_loop_attr_names */
#define FA_CACHE_STALE 0
#define FA_CACHE_VALID 1
#define FA_CACHE_INCOMPLETE 2
typedef struct fa_loop_cache {
    struct fa_loop_cache *next;   /* every state's cache (loopcache.c) */
    int active;          /* watcher is this state's dict watcher */
    int watcher;
    int state;
    PyObject *dict;      /* borrowed: the watched __dict__, NULL once freed */
    unsigned int type_version;   /* of the loop's type, when filled */
    unsigned int bad_version;    /* of the last type found not to qualify */
    int create_task_ours;   /* that type's create_task is the core's */
    int has_create_task;    /* the dict has a create_task */
    PyObject *task_factory, *closed, *debug, *thread_id, *ready;
} fa_loop_cache;

/* The slots of asyncio.events.Handle that handles.c fills. */
#define FA_HANDLE_SLOTS 7

typedef struct {
#define FA_FIELD(name) PyObject *name;
    FA_STATE_OBJECTS(FA_FIELD)
#undef FA_FIELD
    int forked;              /* in a child of fork(): slow running loop */
    /* 3.9-3.11: where _asyncio.Task keeps what fastaio.Task touches,
       located at import (task39.c). */
    initproc base_init;
    Py_ssize_t off_loop, off_coro, off_name, off_context, off_must_cancel;
    /* off_coro also on 3.12.0-3.12.4 (task312.c); 0 where not used. */
    Py_ssize_t off_num_cancels;   /* 3.11 */
    Py_ssize_t off_extra;         /* fastaio's fields after the base's */
    /* 3.9-3.11: the number of the last task named "Task-<number>" by
       fastaio.Task (task39.c, call_base_init). */
    unsigned long long task_name_counter;
    /* The answer of fa_loop_type_keeps (factory.c) for the last loop type
       asked about: its version tag in the high 32 bits (a tag names one
       type in one state), the FA_KEEPS_* bits in the low ones; one word,
       read and written whole (FA_LOAD_U64, FA_STORE_U64). */
    uint64_t loop_type_keeps;
    /* Offsets of the slots of asyncio.events.Handle that call_soon fills
       (handles.c), and the version tag of Handle when its __init__ was
       last seen unchanged (FA_LOAD_U32, FA_STORE_U32). */
    Py_ssize_t handle_off[FA_HANDLE_SLOTS];
    uint32_t handle_version;
    int format_takes_debug;   /* Handle._run passes debug= (3.13+) */
    /* The version tag of _GatheringFuture when it was last seen with the
       __init__ checked at import (gathering.c), and the setter of
       _asyncio.Task._log_destroy_pending (NULL: set by name). */
    uint32_t gathering_version;
    setter log_destroy_set;
    void *log_destroy_closure;
#if FA_LOOP_CACHE
    fa_loop_cache loop_cache;
#endif
#if FA_LOOP_VALUE_READS
    /* Whether fa_instance_value passed its check at import, and the slot
       of each of fa_loop_attr_names, then create_task, for the last loop
       type read (instvalues.h). */
    int value_reads;
    uint64_t value_slots[FA_LOOP_ATTRS + 1];
#endif
#if FA_CTOR_POOL
    /* Idle argument holders of the task constructor (factory.c,
       ctor_args_take), strong references: ctor_args[i] is (None,),
       ctor_kwargs[i] is {"loop": None, "name": None, "context": None,
       "eager_start": True}; ctor_pool_len of them are there. */
    PyObject *ctor_args[FA_CTOR_POOL];
    PyObject *ctor_kwargs[FA_CTOR_POOL];
    int ctor_pool_len;
#endif
    /* task_type makes its tasks with _asyncio.Task's own tp_new and
       tp_init (checked at import, 3.12+): only then does the factory call
       them itself (the pool, new_task_here). */
    int ctor_is_c_task;
} fa_state;

#define FA_TYPE(st, name) ((PyTypeObject *)(st)->name)

extern PyModuleDef fa_module_def;

/* The state of the module that defined type (or a base of it): borrowed,
   NULL with TypeError if none. */
static inline fa_state *
fa_state_of_type(PyTypeObject *type)
{
    PyObject *module = FA_GET_MODULE_BY_DEF(type, &fa_module_def);
    return module == NULL ? NULL : (fa_state *)PyModule_GetState(module);
}

static inline fa_state *
fa_state_of_module(PyObject *module)
{
    return (fa_state *)PyModule_GetState(module);
}

/* Eager first steps now on this thread's C stack.  A C thread-local, not
   module state: it counts C stack frames of this thread, which belong to
   the thread whichever module instance made them. */
extern FA_THREAD_LOCAL int fa_eager_depth;
/* While an eager first step runs: the top item of this thread's exception
   stack when it started, from which down no item held an exception (the
   step was allowed because of that, or after hiding the one the top item
   held).  Those items belong to frames under the step, which wait for it:
   they keep that state until it returns, so a nested check walks only the
   items above (fa_may_start_eagerly).  NULL when no step runs. */
extern FA_THREAD_LOCAL void *fa_exc_clean;

/* Around an eager first step that fa_may_start_eagerly allowed (after
   fa_hide_handled where it answered FA_EAGER_HIDING): the depth and the
   clean item; saved_clean keeps the outer step's item. */
#define FA_EAGER_STEP_ENTER(saved_clean) \
    void *saved_clean = fa_exc_clean; \
    fa_exc_clean = fa_exc_top(); \
    fa_eager_depth++
#define FA_EAGER_STEP_LEAVE(saved_clean) \
    fa_eager_depth--; \
    fa_exc_clean = saved_clean

/* module.c: the running loop and the checks shared by the factory and the
   Task. */
PyObject *fa_running_loop(fa_state *st);      /* new reference, or NULL */
PyObject *fa_require_running_loop(fa_state *st);   /* not None; or NULL */
int fa_check_context(PyObject *context);
int fa_check_base_loop(fa_state *st, PyObject *loop, const char *what);
PyObject *fa_c_task_type(void);   /* new reference, or NULL */
/* fa_may_start_eagerly's answer when the first step may run with the
   exception being handled hidden: fa_hide_handled before the step,
   fa_give_back_handled after it. */
#define FA_EAGER_HIDING 2
int fa_may_start_eagerly(fa_state *st, PyObject *loop);
void fa_hide_handled(fa_handled *hidden);
void fa_give_back_handled(fa_handled *hidden);
#if FA_NATIVE_EAGER
int fa_context_enterable(PyObject *context);
#endif

/* task39.c: fastaio.Task on 3.9-3.11. */
#if !FA_NATIVE_EAGER
PyObject *fa_task_new_for_factory(fa_state *st, PyObject *coro,
                                  PyObject *loop, PyObject *name,
                                  PyObject *context, int eager);
int fa_task39_init(fa_state *st, PyObject *module);
#endif

/* task312.c: fastaio.Task on 3.12+. */
#if FA_NATIVE_EAGER
int fa_task312_init(fa_state *st, PyObject *module);
#endif
#if FA_MAY_NEED_GET_CORO_FIX
void fa_task312_after_eager_start(fa_state *st, PyObject *task);
#endif

/* factory.c: the eager task factory and create_task_via_factory. */
int fa_factory_init(fa_state *st, PyObject *module);
/* 1 if loop's task factory is a compiled fastaio factory, 0 if not, -1 on
   error. */
int fa_loop_runs_compiled_factory(fa_state *st, PyObject *loop);

/* Which loop methods type(loop) keeps from BaseEventLoop (factory.c,
   fa_loop_type_keeps): bits, or -1 with an error set. */
#define FA_KEEPS_GET_TASK_FACTORY 1
#define FA_KEEPS_IS_CLOSED 2
#define FA_KEEPS_CALL_SOON 4      /* see fa_keeps_call_soon_parts */
/* A subclass of BaseEventLoop with the generic attribute lookup and none
   of fa_loop_attr_names in its MRO: its instances find those names in
   their __dict__ only. */
#define FA_KEEPS_DICT_ATTRS 8
/* Its create_task is the core's create_task_via_factory (install()). */
#define FA_KEEPS_CORE_CREATE_TASK 16
int fa_loop_type_keeps(fa_state *st, PyObject *loop);
/* loop.<name> (new reference), name one of fa_loop_attr_names: read from
   the loop's __dict__ (FA_LOOP_DICT_READS) or its inline values
   (FA_LOOP_VALUE_READS) where FA_KEEPS_DICT_ATTRS allows it, by name
   otherwise. */
PyObject *fa_loop_attr(fa_state *st, PyObject *loop, PyObject *name);
/* 1 if loop.create_task is the core's create_task_via_factory and can be
   called without the lookup (its type's, no instance attribute hides it),
   0 if not known to be, -1 on error. */
int fa_loop_create_task_is_core(fa_state *st, PyObject *loop);
/* *meth = type(loop).name (new reference), NULL where the type has none:
   0, or -1 with an error set. */
int fa_type_method(PyObject *loop, PyObject *name, PyObject **meth);
/* 1 if type(loop).name is base_meth, 0 if not (or missing), -1 on error. */
int fa_type_keeps_method(PyObject *loop, PyObject *name, PyObject *base_meth);
/* 1 if tp.name is expected, 0 if not, -1 on error; *version_seen keeps
   the version tag of tp when the answer was last 1, which answers without
   a lookup until tp or a base changes (read and written whole:
   FA_LOAD_U32, FA_STORE_U32). */
int fa_type_keeps_cached(PyTypeObject *tp, PyObject *name, PyObject *expected,
                         uint32_t *version_seen);
/* module.c: 1 if obj is a method() of this module wrapping func. */
int fa_is_core_method(fa_state *st, PyObject *obj, PyObject *func);

/* The instance attributes of a loop that the compiled loop methods read,
   in the order of fa_loop_cache's value fields. */
static inline void
fa_loop_attr_names(fa_state *st, PyObject *names[FA_LOOP_ATTRS])
{
    names[0] = st->str_task_factory;
    names[1] = st->str_closed;
    names[2] = st->str_debug;
    names[3] = st->str_thread_id;
    names[4] = st->str_ready;
}

/* loopcache.c (3.12+ with the GIL): the cached attributes of loop
   (borrowed), or NULL when they are not cached; fa_loop_cache_get fills
   the cache when it can (NULL with an error set on failure: callers check
   PyErr_Occurred() after a NULL). */
#if FA_LOOP_CACHE
int fa_loop_cache_init(fa_state *st);
void fa_loop_cache_clear(fa_state *st);
int fa_loop_cache_fill(fa_state *st, PyObject *loop);

static inline fa_loop_cache *
fa_loop_cached(fa_state *st, PyObject *loop)
{
    fa_loop_cache *c = &st->loop_cache;
    if (c->state != FA_CACHE_VALID
            || fa_type_version(Py_TYPE(loop)) != c->type_version) {
        return NULL;
    }
    PyObject **dictptr = _PyObject_GetDictPtr(loop);
    return dictptr != NULL && *dictptr == c->dict ? c : NULL;
}

static inline fa_loop_cache *
fa_loop_cache_get(fa_state *st, PyObject *loop)
{
    fa_loop_cache *c = fa_loop_cached(st, loop);
    if (c == NULL && fa_loop_cache_fill(st, loop) > 0) {
        c = &st->loop_cache;
    }
    return c;
}

/* The cached value of loop at offset field of fa_loop_cache, as a new
   reference in *value: 1; 0 when the cache does not hold loop (the
   caller reads the attribute by name); -1 with an error set. */
static inline int
fa_loop_cached_attr(fa_state *st, PyObject *loop, size_t field,
                    PyObject **value)
{
    fa_loop_cache *c = fa_loop_cache_get(st, loop);   /* borrowed */
    if (c == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    *value = Py_NewRef(*(PyObject **)((char *)c + field));
    return 1;
}
#endif

/* gathering.c, barrier.c, ready.c, handles.c */
int fa_gathering_init(fa_state *st, PyObject *module);
int fa_barrier_init(fa_state *st, PyObject *module);
int fa_ready_init(fa_state *st, PyObject *module);
int fa_handles_init(fa_state *st, PyObject *module);
int fa_keeps_call_soon_parts(fa_state *st, PyObject *loop);

#endif  /* FASTAIO_H */
