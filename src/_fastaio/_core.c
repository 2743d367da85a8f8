/*
 * fastaio._core: the compiled core of fastaio.
 *
 * Its pure-Python twin is python/fastaio/_pycore.py; every name defined here
 * behaves as the name of the same spelling there, and the test-suite runs
 * against both.  Names this module does not define come from the twin.
 *
 * What lives here:
 *   - current_task(): on 3.9-3.11 reads the running loop straight from the
 *     thread state (layout checked at import) and the current-task dict;
 *   - the eager task factory: a C callable that decides in C whether a task
 *     may start now and constructs it by vectorcall;
 *   - create_task_via_factory: loop.create_task for fastaio's loops, calling
 *     the factory without a Python frame;
 *   - loop_is_running, loop_get_debug: BaseEventLoop.is_running() and
 *     get_debug() without a Python frame (asyncio's Task constructor calls
 *     both for every task);
 *   - Task on 3.9-3.11: a subclass of _asyncio.Task that can take its first
 *     step inside the constructor (the C Task of these versions always
 *     schedules it).  See "Task (3.9-3.11)" below for how.
 *
 * Reference ownership: every PyObject* local is commented "new" (owned,
 * released on every path) or "borrowed" (kept alive by its container for the
 * whole use).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <structmember.h>   /* T_OBJECT, READONLY */

#include "compat.h"

/* Same value as fastaio._pycore.MAX_EAGER_DEPTH. */
#define MAX_EAGER_DEPTH 100

typedef struct {
    PyObject *get_running_loop;   /* asyncio.events._get_running_loop */
    PyObject *get_event_loop;     /* asyncio.events.get_event_loop */
    PyObject *pure_create_task;   /* _pycore.create_task_via_factory */
    PyObject *eager_code;         /* asyncio.eager_task_factory.__code__ */
    PyObject *str_loop, *str_name, *str_context, *str_eager_start;
    PyObject *str_task_factory, *str_closed, *str_call_soon;
    PyObject *str_get_debug, *str_is_running;
    PyObject *str_thread_id, *str_debug;
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

static core_state state;

/* Eager first steps now on this thread's C stack. */
static FA_THREAD_LOCAL int eager_depth;

/* ---------------------------------------------------------------------- */
/* the running loop                                                        */

#if !FA_NATIVE_CURRENT_TASK
/* 3.7-3.11 keep the running loop in the thread-state dict, wrapped in a
   holder object whose first field is the loop (the holder also records the
   pid, checked by CPython to ignore a loop inherited through fork()).  The
   layout is checked in check_holder_layout(); fork children use the slow
   path. */
typedef struct {
    PyObject_HEAD
    PyObject *loop;
} loop_holder;
#endif

/* The running loop of this thread, or None; a new reference. */
static PyObject *
running_loop(void)
{
#if !FA_NATIVE_CURRENT_TASK
    if (state.holder_type != NULL && !state.forked) {
        PyObject *ts_dict = PyThreadState_GetDict();   /* borrowed */
        if (ts_dict != NULL) {
            PyObject *holder = PyDict_GetItemWithError(
                ts_dict, state.running_key);            /* borrowed */
            if (holder == NULL) {
                if (PyErr_Occurred()) {
                    return NULL;
                }
                Py_RETURN_NONE;
            }
            if (Py_TYPE(holder) == state.holder_type) {
                return Py_NewRef(((loop_holder *)holder)->loop);
            }
        }
    }
#endif
    return PyObject_CallNoArgs(state.get_running_loop);
}

/* 1 if loop is the running loop of this thread, 0 if not, -1 on error. */
static int
is_running_here(PyObject *loop)
{
    PyObject *running = running_loop();   /* new */
    if (running == NULL) {
        return -1;
    }
    int res = running == loop;
    Py_DECREF(running);
    return res;
}

#if !FA_NATIVE_CURRENT_TASK
static int
check_holder_layout(void)
{
    PyObject *set = NULL, *probe = NULL, *res = NULL;   /* new */
    PyObject *current = PyObject_CallNoArgs(state.get_running_loop);
    if (current == NULL) {
        return -1;
    }
    int ok = 0;
    PyObject *expect = current;   /* borrowed from current or probe */
    if (current == Py_None) {
        set = PyObject_GetAttrString(PyImport_AddModule("asyncio.events"),
                                     "_set_running_loop");
        probe = PyList_New(0);
        if (set == NULL || probe == NULL) {
            goto done;
        }
        res = PyObject_CallOneArg(set, probe);
        if (res == NULL) {
            goto done;
        }
        Py_CLEAR(res);
        expect = probe;
    }
    PyObject *ts_dict = PyThreadState_GetDict();   /* borrowed */
    PyObject *holder = ts_dict == NULL ? NULL
        : PyDict_GetItemWithError(ts_dict, state.running_key);  /* borrowed */
    if (holder == NULL && PyErr_Occurred()) {
        goto restore;
    }
    if (holder != NULL
            && Py_TYPE(holder)->tp_basicsize >= (Py_ssize_t)sizeof(loop_holder)
            && strstr(Py_TYPE(holder)->tp_name, "RunningLoopHolder") != NULL
            && ((loop_holder *)holder)->loop == expect) {
        state.holder_type = Py_TYPE(holder);
        Py_INCREF(state.holder_type);
    }
    ok = 1;
restore:
    if (probe != NULL) {
        res = PyObject_CallOneArg(set, Py_None);
        if (res == NULL) {
            ok = 0;
        }
    }
done:
    Py_XDECREF(res);
    Py_XDECREF(set);
    Py_XDECREF(probe);
    Py_DECREF(current);
    return ok ? 0 : -1;
}

static PyObject *
after_fork_child(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(arg))
{
    state.forked = 1;
    Py_RETURN_NONE;
}
#endif

/* ---------------------------------------------------------------------- */
/* current_task                                                            */

#if !FA_NATIVE_CURRENT_TASK

PyDoc_STRVAR(current_task_doc,
"current_task(loop=None)\n--\n\n"
"Return the task running on loop (default: the running loop), or None.");

static PyObject *
current_task(PyObject *Py_UNUSED(module), PyObject *const *args,
             Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *loop = Py_None;   /* borrowed from the caller */
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);

    if (nargs + nkw > 1) {
        PyErr_Format(PyExc_TypeError,
                     "current_task() takes at most 1 argument (%zd given)",
                     nargs + nkw);
        return NULL;
    }
    if (nargs == 1) {
        loop = args[0];
    }
    else if (nkw == 1) {
        PyObject *key = PyTuple_GET_ITEM(kwnames, 0);   /* borrowed */
        if (!PyUnicode_Check(key)
                || PyUnicode_CompareWithASCIIString(key, "loop") != 0) {
            PyErr_Format(PyExc_TypeError,
                         "current_task() got an unexpected keyword "
                         "argument '%S'", key);
            return NULL;
        }
        loop = args[0];
    }

    PyObject *task;   /* borrowed from the dict */
    if (loop != Py_None) {
        task = PyDict_GetItemWithError(state.current_tasks, loop);
    }
    else {
        loop = running_loop();   /* new */
        if (loop == NULL) {
            return NULL;
        }
        if (loop == Py_None) {
            Py_DECREF(loop);
            PyErr_SetString(PyExc_RuntimeError, "no running event loop");
            return NULL;
        }
        task = PyDict_GetItemWithError(state.current_tasks, loop);
        Py_DECREF(loop);
    }
    if (task == NULL) {
        if (PyErr_Occurred()) {
            return NULL;
        }
        Py_RETURN_NONE;
    }
    return Py_NewRef(task);
}

#endif  /* !FA_NATIVE_CURRENT_TASK */

/* ---------------------------------------------------------------------- */
/* checks shared by the factory and the Task                               */

static int
check_context(PyObject *context)
{
    if (context != Py_None && !PyContext_CheckExact(context)) {
        PyErr_Format(PyExc_TypeError,
                     "context must be a contextvars.Context or None, not %s",
                     Py_TYPE(context)->tp_name);
        return -1;
    }
    return 0;
}

/* 1 if a task of loop may run its first step now (context aside), 0 if it
   must start lazily, -1 on error.  Same rules as _pycore._may_start_eagerly:
   only on the thread running loop (gh-155338), below the depth cap, and
   never while an exception is being handled (gh-155575). */
static int
may_start_eagerly(PyObject *loop)
{
    int here = is_running_here(loop);
    if (here <= 0) {
        return here;
    }
    if (eager_depth >= MAX_EAGER_DEPTH) {
        return 0;
    }
    return !fa_handling_exception();
}

#if FA_NATIVE_EAGER
/* 1 if context (None or a Context) can be entered now, 0 if it is entered
   already (gh-157301: the task must then start lazily), -1 on error. */
static int
context_enterable(PyObject *context)
{
    if (context == Py_None) {
        return 1;
    }
    if (PyContext_Enter(context) < 0) {
        if (!PyErr_ExceptionMatches(PyExc_RuntimeError)) {
            return -1;
        }
        PyErr_Clear();
        return 0;
    }
    return PyContext_Exit(context) < 0 ? -1 : 1;
}
#endif

/* ---------------------------------------------------------------------- */
/* Task (3.9-3.11)                                                         */

#if !FA_NATIVE_EAGER
/*
 * _asyncio.Task.__init__ of these versions ends with
 * loop.call_soon(<step callback>, context=<task context>) and registers the
 * task.  fastaio's Task runs that same __init__ with a stand-in loop (a
 * "catcher") whose call_soon() keeps the callback instead of scheduling it;
 * then it puts the real loop back into the task and either calls the
 * callback at once (eager start: CPython's own step code runs, with its
 * enter_task/leave_task) or schedules it on the real loop (lazy start).
 *
 * The task's fields fastaio touches (loop, coro, name, context,
 * must_cancel and, on 3.11, the cancel counter) are located at import by
 * building a probe task and are verified there; if anything differs the
 * module does not import and fastaio falls back to the pure-Python core.
 */

typedef struct {
    PyObject_HEAD
    PyObject *loop;     /* the real loop (new), or NULL for the probe */
    PyObject *step;     /* the callback given to call_soon (new) */
} CatcherObject;

static void
catcher_dealloc(CatcherObject *self)
{
    Py_XDECREF(self->loop);
    Py_XDECREF(self->step);
    PyObject_Free(self);
}

static PyObject *
catcher_get_debug(CatcherObject *self, PyObject *Py_UNUSED(arg))
{
    if (self->loop == NULL) {
        Py_RETURN_FALSE;
    }
    return PyObject_CallMethodNoArgs(self->loop, state.str_get_debug);
}

static PyObject *
catcher_call_soon(CatcherObject *self, PyObject *const *args,
                  Py_ssize_t nargs, PyObject *kwnames)
{
    if (nargs != 1 || self->step != NULL) {
        PyErr_SetString(PyExc_RuntimeError,
                        "fastaio: unexpected call_soon() while creating a "
                        "task");
        return NULL;
    }
    self->step = Py_NewRef(args[0]);
    Py_RETURN_NONE;
}

static PyMethodDef catcher_methods[] = {
    {"get_debug", (PyCFunction)catcher_get_debug, METH_NOARGS, NULL},
    {"call_soon", (PyCFunction)(void (*)(void))catcher_call_soon,
     METH_FASTCALL | METH_KEYWORDS, NULL},
    {NULL, NULL, 0, NULL}
};

static PyTypeObject CatcherType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "fastaio._core._StepCatcher",
    .tp_basicsize = sizeof(CatcherObject),
    .tp_dealloc = (destructor)catcher_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_methods = catcher_methods,
};

static CatcherObject *
catcher_new(PyObject *loop)
{
    CatcherObject *c = PyObject_New(CatcherObject, &CatcherType);
    if (c == NULL) {
        return NULL;
    }
    c->loop = Py_XNewRef(loop);
    c->step = NULL;
    return c;
}

/* fastaio's data after _asyncio.Task's. */
typedef struct {
    int num_cancels;     /* 3.9/3.10: cancel() requests not uncancelled */
    int done_eagerly;    /* the first step finished the task */
} task_extra;

static struct {
    PyTypeObject *base;           /* _asyncio.Task */
    initproc base_init;
    destructor base_dealloc;
    PyObject *base_cancel;        /* _asyncio.Task.cancel */
    PyObject *base_done;          /* _asyncio.Task.done */
    Py_ssize_t off_loop, off_coro, off_name, off_context, off_must_cancel;
    Py_ssize_t off_num_cancels;   /* 3.11 */
    Py_ssize_t off_extra;
} tk;

#define TASK_SLOT(self, off) (*(PyObject **)((char *)(self) + (off)))
#define TASK_INT(self, off) (*(int *)((char *)(self) + (off)))
#define TASK_EXTRA(self) ((task_extra *)((char *)(self) + tk.off_extra))

static PyTypeObject TaskType;

/* _asyncio.Task.__init__(self, coro, loop=loop, name=name[, context=]). */
static int
call_base_init(PyObject *self, PyObject *coro, PyObject *loop,
               PyObject *name, PyObject *context)
{
    PyObject *args = PyTuple_Pack(1, coro);   /* new */
    PyObject *kwargs = PyDict_New();          /* new */
    int rc = -1;
    if (args == NULL || kwargs == NULL) {
        goto done;
    }
    if (PyDict_SetItem(kwargs, state.str_loop, loop) < 0
            || (name != Py_None
                && PyDict_SetItem(kwargs, state.str_name, name) < 0)) {
        goto done;
    }
#if FA_TASK_HAS_CONTEXT
    if (context != Py_None
            && PyDict_SetItem(kwargs, state.str_context, context) < 0) {
        goto done;
    }
#endif
    rc = tk.base_init(self, args, kwargs);
done:
    Py_XDECREF(args);
    Py_XDECREF(kwargs);
    return rc;
}

/* loop.call_soon(step, context=context) */
static int
schedule_step(PyObject *loop, PyObject *step, PyObject *context)
{
    PyObject *args[3] = {loop, step, context};
    PyObject *handle = PyObject_VectorcallMethod(
        state.str_call_soon, args, 2 | PY_VECTORCALL_ARGUMENTS_OFFSET,
        state.kwnames_context);   /* new */
    if (handle == NULL) {
        return -1;
    }
    Py_DECREF(handle);
    return 0;
}

/* Run the first step of task now, in context, with the creator's task
   stepped aside; every path restores the current task and the context. */
static int
start_now(PyObject *task, PyObject *loop, PyObject *step, PyObject *context)
{
    if (PyContext_Enter(context) < 0) {
        if (!PyErr_ExceptionMatches(PyExc_RuntimeError)) {
            return -1;
        }
        /* Entered somewhere up the stack (gh-157301): start lazily. */
        PyErr_Clear();
        return schedule_step(loop, step, context);
    }
    PyObject *creator = PyDict_GetItemWithError(state.current_tasks, loop);
    if (creator != NULL) {
        Py_INCREF(creator);   /* new */
        if (PyDict_DelItem(state.current_tasks, loop) < 0) {
            Py_DECREF(creator);
            (void)PyContext_Exit(context);
            return -1;
        }
    }
    else if (PyErr_Occurred()) {
        (void)PyContext_Exit(context);
        return -1;
    }

    eager_depth++;
    PyObject *res = PyObject_CallNoArgs(step);   /* new */
    eager_depth--;

    PyObject *et = NULL, *ev = NULL, *etb = NULL;
    if (res == NULL) {
        PyErr_Fetch(&et, &ev, &etb);
    }
    int bad = 0;
    if (creator != NULL) {
        bad = PyDict_SetItem(state.current_tasks, loop, creator) < 0;
        Py_DECREF(creator);
    }
    if (!bad) {
        bad = PyContext_Exit(context) < 0;
    }
    else {
        (void)PyContext_Exit(context);
    }
    if (res == NULL) {
        /* The step's own error (KeyboardInterrupt, SystemExit) wins. */
        if (bad) {
            PyErr_Clear();
        }
        PyErr_Restore(et, ev, etb);
        return -1;
    }
    Py_DECREF(res);
    if (bad) {
        return -1;
    }
    PyObject *done = PyObject_CallOneArg(tk.base_done, task);   /* new */
    if (done == NULL) {
        return -1;
    }
    TASK_EXTRA(task)->done_eagerly = done == Py_True;
    Py_DECREF(done);
    return 0;
}

/* Task.__init__ once the arguments are parsed (all borrowed). */
static int
task_setup(PyObject *self, PyObject *coro, PyObject *loop, PyObject *name,
           PyObject *context, int eager_start)
{
    task_extra *extra = TASK_EXTRA(self);
    extra->num_cancels = 0;
    extra->done_eagerly = 0;
    if (check_context(context) < 0) {
        return -1;
    }

    PyObject *real_loop;   /* new, or NULL: not known yet */
    if (loop != Py_None) {
        real_loop = Py_NewRef(loop);
    }
    else {
        real_loop = running_loop();
        if (real_loop == NULL) {
            return -1;
        }
        if (real_loop == Py_None) {
            Py_CLEAR(real_loop);
        }
    }
    int eager = 0;
    if (eager_start && real_loop != NULL) {
        eager = may_start_eagerly(real_loop);
        if (eager < 0) {
            Py_DECREF(real_loop);
            return -1;
        }
    }
    int catch_step = eager || (!FA_TASK_HAS_CONTEXT && context != Py_None);
    if (!catch_step) {
        int rc = call_base_init(self, coro,
                                real_loop != NULL ? real_loop : loop,
                                name, context);
        Py_XDECREF(real_loop);
        return rc;
    }
    if (real_loop == NULL) {
        /* 3.9/3.10, context given, no loop: as asyncio would pick one. */
        real_loop = PyObject_CallNoArgs(state.get_event_loop);
        if (real_loop == NULL) {
            return -1;
        }
    }

    CatcherObject *catcher = catcher_new(real_loop);   /* new */
    if (catcher == NULL) {
        Py_DECREF(real_loop);
        return -1;
    }
    int rc = call_base_init(self, coro, (PyObject *)catcher, name, context);
    PyObject **loop_slot = &TASK_SLOT(self, tk.off_loop);
    if (*loop_slot == (PyObject *)catcher) {
        Py_SETREF(*loop_slot, Py_NewRef(real_loop));
    }
    else if (rc == 0) {
        PyErr_SetString(PyExc_SystemError,
                        "fastaio: _asyncio.Task did not keep its loop where "
                        "expected");
        rc = -1;
    }
    PyObject *step = catcher->step;   /* new (taken from the catcher) */
    catcher->step = NULL;
    Py_DECREF(catcher);
    if (rc == 0 && step == NULL) {
        PyErr_SetString(PyExc_SystemError,
                        "fastaio: _asyncio.Task did not schedule its first "
                        "step");
        rc = -1;
    }
    if (rc == 0) {
#if !FA_TASK_HAS_CONTEXT
        if (context != Py_None) {
            Py_SETREF(TASK_SLOT(self, tk.off_context), Py_NewRef(context));
        }
#endif
        PyObject *task_context = TASK_SLOT(self, tk.off_context); /* borrowed */
        rc = eager ? start_now(self, real_loop, step, task_context)
                   : schedule_step(real_loop, step, task_context);
    }
    Py_XDECREF(step);
    Py_DECREF(real_loop);
    return rc;
}

static int
task_init(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"coro", "loop", "name", "context",
                             "eager_start", NULL};
    PyObject *coro, *loop = Py_None, *name = Py_None;   /* borrowed */
    PyObject *context = Py_None;                         /* borrowed */
    int eager_start = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|$OOOp:Task", kwlist,
                                     &coro, &loop, &name, &context,
                                     &eager_start)) {
        return -1;
    }
    return task_setup(self, coro, loop, name, context, eager_start);
}

/* fastaio.Task(coro, loop=loop, name=name, context=context,
   eager_start=eager) for the factory, without the type call's argument
   tuple and dict: the same allocation and __init__ as calling the type. */
static PyObject *
task_new_for_factory(PyObject *coro, PyObject *loop, PyObject *name,
                     PyObject *context, int eager)
{
    PyObject *task = TaskType.tp_alloc(&TaskType, 0);   /* new */
    if (task == NULL) {
        return NULL;
    }
    if (task_setup(task, coro, loop, name, context, eager) < 0) {
        Py_DECREF(task);
        return NULL;
    }
    return task;
}

static void
task_dealloc(PyObject *self)
{
    /* _asyncio.Task's dealloc runs the finalizer (the "Task was destroyed
       but it is pending!" report) only for exact Tasks. */
    if (PyObject_CallFinalizerFromDealloc(self) < 0) {
        return;   /* resurrected */
    }
    tk.base_dealloc(self);
}

static PyObject *
task_get_coro(PyObject *self, PyObject *Py_UNUSED(arg))
{
    PyObject *coro = TASK_SLOT(self, tk.off_coro);   /* borrowed */
    if (TASK_EXTRA(self)->done_eagerly || coro == NULL) {
        Py_RETURN_NONE;
    }
    return Py_NewRef(coro);
}

static PyObject *
task_uncancel(PyObject *self, PyObject *Py_UNUSED(arg))
{
#if FA_TASK_HAS_CONTEXT
    int *num = &TASK_INT(self, tk.off_num_cancels);
#else
    int *num = &TASK_EXTRA(self)->num_cancels;
#endif
    /* 3.13 semantics (gh-116720): back at zero, a pending cancel() request
       is withdrawn too. */
    if (*num > 0) {
        *num -= 1;
        if (*num == 0) {
            TASK_INT(self, tk.off_must_cancel) = 0;
        }
    }
    return PyLong_FromLong(*num);
}

/* Task.get_context() is 3.12+ (gh-91150). */
static PyObject *
task_get_context(PyObject *self, PyObject *Py_UNUSED(arg))
{
    PyObject *context = TASK_SLOT(self, tk.off_context);   /* borrowed */
    if (context == NULL) {
        Py_RETURN_NONE;
    }
    return Py_NewRef(context);
}

#if !FA_TASK_HAS_CONTEXT
static PyObject *
task_cancelling(PyObject *self, PyObject *Py_UNUSED(arg))
{
    return PyLong_FromLong(TASK_EXTRA(self)->num_cancels);
}

static PyObject *
task_cancel(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
            PyObject *kwnames)
{
    PyObject *msg = Py_None;   /* borrowed */
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    if (nargs + nkw > 1) {
        PyErr_SetString(PyExc_TypeError,
                        "cancel() takes at most 1 argument");
        return NULL;
    }
    if (nargs + nkw == 1) {
        if (nkw == 1 && PyUnicode_CompareWithASCIIString(
                PyTuple_GET_ITEM(kwnames, 0), "msg") != 0) {
            PyErr_Format(PyExc_TypeError,
                         "cancel() got an unexpected keyword argument '%S'",
                         PyTuple_GET_ITEM(kwnames, 0));
            return NULL;
        }
        msg = args[0];
    }
    PyObject *res = PyObject_CallFunctionObjArgs(tk.base_cancel, self, msg,
                                                 NULL);   /* new */
    if (res == Py_True) {
        TASK_EXTRA(self)->num_cancels += 1;
    }
    return res;
}
#endif

static PyMethodDef task_methods[] = {
    {"get_coro", (PyCFunction)task_get_coro, METH_NOARGS,
     "Return the coroutine, or None once an eager start finished it."},
    {"uncancel", (PyCFunction)task_uncancel, METH_NOARGS,
     "Decrement the count of cancel() requests; return it."},
    {"get_context", (PyCFunction)task_get_context, METH_NOARGS,
     "Return the contextvars.Context the task runs in."},
#if !FA_TASK_HAS_CONTEXT
    {"cancelling", (PyCFunction)task_cancelling, METH_NOARGS,
     "Return the count of cancel() requests not yet uncancelled."},
    {"cancel", (PyCFunction)(void (*)(void))task_cancel,
     METH_FASTCALL | METH_KEYWORDS,
     "Request cancellation of the task; see asyncio.Task.cancel."},
#endif
    {NULL, NULL, 0, NULL}
};

PyDoc_STRVAR(task_doc,
"Task(coro, *, loop=None, name=None, context=None, eager_start=False)\n"
"--\n\n"
"asyncio.Task with CPython 3.14's interface on Python 3.9-3.11.\n\n"
"A subclass of asyncio.Task that can run its first step inside the\n"
"constructor (eager_start=True); adds context= and get_context() on 3.9\n"
"and 3.10, and cancelling()/uncancel() with 3.13 semantics.");

static PyTypeObject TaskType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "fastaio.Task",
    .tp_dealloc = task_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = task_doc,
    .tp_methods = task_methods,
    .tp_init = task_init,
};

/* Find fastaio's fields in _asyncio.Task with a probe task; 0 if all are
   where expected, -1 with ImportError otherwise. */
static int
locate_task_fields(void)
{
    const Py_ssize_t ptr = (Py_ssize_t)sizeof(PyObject *);
    const Py_ssize_t size = tk.base->tp_basicsize;
    PyObject *coro = NULL, *name = NULL, *probe = NULL, *res = NULL;
    PyObject *context = NULL;   /* all new */
    CatcherObject *catcher = NULL;
    int ok = 0;

    PyObject *sleep = PyObject_GetAttrString(PyImport_AddModule("asyncio"),
                                             "sleep");   /* new */
    if (sleep == NULL) {
        return -1;
    }
    PyObject *zero = PyLong_FromLong(0);   /* new */
    coro = zero == NULL ? NULL : PyObject_CallOneArg(sleep, zero);
    Py_XDECREF(zero);
    Py_DECREF(sleep);
    name = PyUnicode_FromString("fastaio-layout-probe");
    context = PyContext_New();
    catcher = catcher_new(NULL);
    if (coro == NULL || name == NULL || context == NULL || catcher == NULL) {
        goto done;
    }
    probe = tk.base->tp_new(&TaskType, NULL, NULL);
    if (probe == NULL
            || call_base_init(probe, coro, (PyObject *)catcher, name,
                              context) < 0) {
        goto done;
    }
    if (TASK_SLOT(probe, sizeof(PyObject)) != (PyObject *)catcher
            || catcher->step == NULL) {
        goto done;
    }
    tk.off_loop = sizeof(PyObject);
    tk.off_coro = 0;
    for (Py_ssize_t off = sizeof(PyObject); off + ptr <= size; off += ptr) {
        if (TASK_SLOT(probe, off) == coro) {
            if (tk.off_coro != 0) {
                goto done;   /* not unique */
            }
            tk.off_coro = off;
        }
    }
    /* must_cancel, log_destroy_pending (3.11: and the cancel counter) */
    const Py_ssize_t nints = FA_TASK_HAS_CONTEXT ? 3 : 2;
    if (tk.off_coro == 0
            || tk.off_coro + 3 * ptr + nints * (Py_ssize_t)sizeof(int)
               > size) {
        goto done;
    }
    tk.off_name = tk.off_coro + ptr;
    tk.off_context = tk.off_coro + 2 * ptr;
    tk.off_must_cancel = tk.off_coro + 3 * ptr;
    tk.off_num_cancels = tk.off_must_cancel + 2 * (Py_ssize_t)sizeof(int);
    if (TASK_SLOT(probe, tk.off_coro - ptr) != NULL   /* fut_waiter */
            || TASK_SLOT(probe, tk.off_name) != name
            || !PyContext_CheckExact(TASK_SLOT(probe, tk.off_context))
            || TASK_INT(probe, tk.off_must_cancel) != 0) {
        goto done;
    }
#if FA_TASK_HAS_CONTEXT
    if (TASK_SLOT(probe, tk.off_context) != context
            || TASK_INT(probe, tk.off_num_cancels) != 0) {
        goto done;
    }
#endif
    res = PyObject_CallOneArg(tk.base_cancel, probe);
    if (res != Py_True || TASK_INT(probe, tk.off_must_cancel) != 1) {
        goto done;
    }
#if FA_TASK_HAS_CONTEXT
    if (TASK_INT(probe, tk.off_num_cancels) != 1) {
        goto done;
    }
#endif
    ok = 1;
done:
    if (probe != NULL) {
        /* The probe never runs: no "destroyed but pending" report. */
        if (PyObject_SetAttrString(probe, "_log_destroy_pending",
                                   Py_False) < 0) {
            ok = 0;
        }
    }
    if (coro != NULL) {
        PyObject *r = PyObject_CallMethod(coro, "close", NULL);
        Py_XDECREF(r);
    }
    Py_XDECREF(res);
    Py_XDECREF(probe);
    Py_XDECREF((PyObject *)catcher);
    Py_XDECREF(coro);
    Py_XDECREF(name);
    Py_XDECREF(context);
    if (!ok) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ImportError,
                            "fastaio._core: _asyncio.Task has an unexpected "
                            "layout");
        }
        return -1;
    }
    return 0;
}

static int
init_task_type(PyObject *module)
{
    PyObject *base = PyObject_GetAttrString(PyImport_AddModule("asyncio"),
                                            "Task");   /* new */
    if (base == NULL) {
        return -1;
    }
    if (!PyType_Check(base)
            || strcmp(((PyTypeObject *)base)->tp_name, "_asyncio.Task") != 0
            || ((PyTypeObject *)base)->tp_init == NULL) {
        Py_DECREF(base);
        PyErr_SetString(PyExc_ImportError,
                        "fastaio._core needs asyncio.Task to be the C Task "
                        "of _asyncio");
        return -1;
    }
    tk.base = (PyTypeObject *)base;   /* keeps the reference */
    tk.base_init = tk.base->tp_init;
    tk.base_dealloc = tk.base->tp_dealloc;
    tk.base_cancel = PyObject_GetAttrString(base, "cancel");
    tk.base_done = PyObject_GetAttrString(base, "done");
    if (tk.base_cancel == NULL || tk.base_done == NULL) {
        return -1;
    }
    Py_ssize_t align = (Py_ssize_t)sizeof(void *);
    tk.off_extra = (tk.base->tp_basicsize + align - 1) / align * align;
    TaskType.tp_base = tk.base;
    TaskType.tp_basicsize = tk.off_extra + (Py_ssize_t)sizeof(task_extra);
    if (PyType_Ready(&CatcherType) < 0 || PyType_Ready(&TaskType) < 0) {
        return -1;
    }
    /* __module__ "fastaio" comes from tp_name. */
    if (locate_task_fields() < 0) {
        return -1;
    }
    Py_INCREF(&TaskType);
    if (PyModule_AddObject(module, "Task", (PyObject *)&TaskType) < 0) {
        Py_DECREF(&TaskType);
        return -1;
    }
    return 0;
}
#endif  /* !FA_NATIVE_EAGER */

/* ---------------------------------------------------------------------- */
/* the eager task factory                                                  */

typedef struct {
    PyObject_HEAD
    PyObject *ctor;          /* the task constructor */
    PyObject *closure;       /* (cell(ctor),): see factory_get_closure */
    vectorcallfunc vectorcall;
} FactoryObject;

static PyTypeObject FactoryType;

/* ctor(coro, loop=loop, [name=name,] [context=context,] eager_start=eager,
        **extra): name and context only when not None, as asyncio's own
   factory of 3.14 passes only what it was given (and every keyword costs
   the constructor time). */
static PyObject *
call_ctor(PyObject *ctor, PyObject *loop, PyObject *coro, PyObject *name,
          PyObject *context, PyObject *eager, PyObject *const *extra_values,
          PyObject *extra_names)
{
    Py_ssize_t nextra = extra_names == NULL ? 0 : PyTuple_GET_SIZE(extra_names);
    PyObject *small[1 + 5 + 8];
    PyObject **stack = small;
    int which = (name != Py_None) | ((context != Py_None) << 1);
    PyObject *kwnames = state.kwnames_ctor[which];   /* borrowed, or new */
    if (nextra > 0) {
        if (nextra > 8) {
            stack = PyMem_Malloc((size_t)(1 + 5 + nextra) * sizeof(PyObject *));
            if (stack == NULL) {
                return PyErr_NoMemory();
            }
        }
        kwnames = PySequence_Concat(kwnames, extra_names);
        if (kwnames == NULL) {
            if (stack != small) {
                PyMem_Free(stack);
            }
            return NULL;
        }
    }
    Py_ssize_t n = 1;
    stack[n++] = coro;
    stack[n++] = loop;
    if (name != Py_None) {
        stack[n++] = name;
    }
    if (context != Py_None) {
        stack[n++] = context;
    }
    stack[n++] = eager;
    for (Py_ssize_t i = 0; i < nextra; i++) {
        stack[n++] = extra_values[i];
    }
    PyObject *task = PyObject_Vectorcall(
        ctor, stack + 1, 1 | PY_VECTORCALL_ARGUMENTS_OFFSET, kwnames);
    if (nextra > 0) {
        Py_DECREF(kwnames);
        if (stack != small) {
            PyMem_Free(stack);
        }
    }
    return task;
}

/* The factory's work, once the arguments are sorted out.  eager_start is
   NULL when not given (None is treated the same: "eager"). */
static PyObject *
factory_create(FactoryObject *f, PyObject *loop, PyObject *coro,
               PyObject *name, PyObject *context, PyObject *eager_start,
               PyObject *const *extra_values, PyObject *extra_names)
{
    if (check_context(context) < 0) {
        return NULL;
    }
    int want = 1;
    if (eager_start != NULL && eager_start != Py_None) {
        want = PyObject_IsTrue(eager_start);
        if (want < 0) {
            return NULL;
        }
    }
#if FA_NATIVE_EAGER
    if (want) {
        int now = may_start_eagerly(loop);
        if (now > 0) {
            now = context_enterable(context);
        }
        if (now < 0) {
            return NULL;
        }
        if (now) {
            eager_depth++;
            PyObject *task = call_ctor(f->ctor, loop, coro, name, context,
                                       Py_True, extra_values, extra_names);
            eager_depth--;
            return task;
        }
        /* As asyncio's factory: an idle loop gets an eager request, which
           the constructor turns into a lazy start. */
        PyObject *running = PyObject_CallMethodNoArgs(
            loop, state.str_is_running);   /* new */
        if (running == NULL) {
            return NULL;
        }
        int is_running = PyObject_IsTrue(running);
        Py_DECREF(running);
        if (is_running < 0) {
            return NULL;
        }
        if (!is_running) {
            return call_ctor(f->ctor, loop, coro, name, context, Py_True,
                             extra_values, extra_names);
        }
    }
    return call_ctor(f->ctor, loop, coro, name, context, Py_False,
                     extra_values, extra_names);
#else
    /* fastaio's Task decides (and checks) eagerness itself. */
    if (f->ctor == (PyObject *)&TaskType && extra_names == NULL) {
        return task_new_for_factory(coro, loop, name, context, want);
    }
    return call_ctor(f->ctor, loop, coro, name, context,
                     want ? Py_True : Py_False, extra_values, extra_names);
#endif
}

static int
str_is(PyObject *key, PyObject *interned)
{
    return key == interned || PyUnicode_Compare(key, interned) == 0;
}

/* Sort keyword arguments into name/context/eager_start and the rest, then
   create the task.  args[nargs:] are the keyword values. */
static PyObject *
factory_dispatch(FactoryObject *f, PyObject *loop, PyObject *coro,
                 PyObject *const *kwvalues, PyObject *kwnames)
{
    PyObject *name = Py_None, *context = Py_None;   /* borrowed */
    PyObject *eager_start = NULL;                    /* borrowed */
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    PyObject *small[8];
    PyObject **extra_values = small;
    PyObject *extra_names = NULL;   /* new */
    Py_ssize_t nextra = 0;

    for (Py_ssize_t i = 0; i < nkw; i++) {
        PyObject *key = PyTuple_GET_ITEM(kwnames, i);   /* borrowed */
        if (str_is(key, state.str_name)) {
            name = kwvalues[i];
        }
        else if (str_is(key, state.str_context)) {
            context = kwvalues[i];
        }
        else if (str_is(key, state.str_eager_start)) {
            eager_start = kwvalues[i];
        }
        else {
            if (extra_names == NULL) {
                extra_names = PyTuple_New(nkw - i);
                if (extra_names == NULL) {
                    return NULL;
                }
                if (nkw - i > 8) {
                    extra_values = PyMem_Malloc(
                        (size_t)(nkw - i) * sizeof(PyObject *));
                    if (extra_values == NULL) {
                        Py_DECREF(extra_names);
                        return PyErr_NoMemory();
                    }
                }
            }
            PyTuple_SET_ITEM(extra_names, nextra, Py_NewRef(key));
            extra_values[nextra++] = kwvalues[i];
        }
        if (PyErr_Occurred()) {
            goto error;
        }
    }
    if (extra_names != NULL && nextra < PyTuple_GET_SIZE(extra_names)) {
        PyObject *cut = PyTuple_GetSlice(extra_names, 0, nextra);
        Py_SETREF(extra_names, cut);
        if (extra_names == NULL) {
            goto error;
        }
    }
    PyObject *task = factory_create(f, loop, coro, name, context,
                                    eager_start, extra_values, extra_names);
    Py_XDECREF(extra_names);
    if (extra_values != small) {
        PyMem_Free(extra_values);
    }
    return task;
error:
    Py_XDECREF(extra_names);
    if (extra_values != small) {
        PyMem_Free(extra_values);
    }
    return NULL;
}

static PyObject *
factory_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf,
                   PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError,
                     "eager_task_factory() takes 2 positional arguments "
                     "(loop, coro) but %zd were given", nargs);
        return NULL;
    }
    return factory_dispatch((FactoryObject *)self, args[0], args[1],
                            args + nargs, kwnames);
}

static int
factory_traverse(FactoryObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->ctor);
    Py_VISIT(self->closure);
    return 0;
}

static int
factory_clear(FactoryObject *self)
{
    Py_CLEAR(self->ctor);
    Py_CLEAR(self->closure);
    return 0;
}

static void
factory_dealloc(FactoryObject *self)
{
    PyObject_GC_UnTrack(self);
    (void)factory_clear(self);
    PyObject_GC_Del(self);
}

static PyObject *
factory_repr(FactoryObject *self)
{
    return PyUnicode_FromFormat("<fastaio eager_task_factory of %R>",
                                self->ctor);
}

/* anyio recognises asyncio's eager factory by its __code__ (3.12+) and
   then creates the tasks of its task groups lazily through the constructor
   found in __closure__[0]; on 3.9-3.11 it checks __code__ against None.
   fastaio's factory answers both the same way, so anyio treats it exactly
   as asyncio.eager_task_factory. */
static PyObject *
factory_get_closure(FactoryObject *self, void *Py_UNUSED(c))
{
    return Py_NewRef(self->closure);
}

static PyObject *
factory_get_code(FactoryObject *self, void *Py_UNUSED(c))
{
    if (state.eager_code == NULL) {
        PyErr_SetString(PyExc_AttributeError, "__code__");
        return NULL;
    }
    return Py_NewRef(state.eager_code);
}

static PyObject *
factory_get_name(FactoryObject *self, void *Py_UNUSED(c))
{
    return PyUnicode_FromString("eager_task_factory");
}

static PyGetSetDef factory_getset[] = {
    {"__closure__", (getter)factory_get_closure, NULL, NULL, NULL},
    {"__code__", (getter)factory_get_code, NULL, NULL, NULL},
    {"__name__", (getter)factory_get_name, NULL, NULL, NULL},
    {"__qualname__", (getter)factory_get_name, NULL, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static PyMemberDef factory_members[] = {
    {"_fastaio_task_constructor", T_OBJECT, offsetof(FactoryObject, ctor),
     READONLY, NULL},
    {NULL, 0, 0, 0, NULL}
};

PyDoc_STRVAR(factory_doc,
"A task factory that starts tasks eagerly; see create_eager_task_factory.");

static PyTypeObject FactoryType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "fastaio._core.EagerTaskFactory",
    .tp_basicsize = sizeof(FactoryObject),
    .tp_dealloc = (destructor)factory_dealloc,
    .tp_vectorcall_offset = offsetof(FactoryObject, vectorcall),
    .tp_repr = (reprfunc)factory_repr,
    .tp_call = PyVectorcall_Call,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC
                | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = factory_doc,
    .tp_traverse = (traverseproc)factory_traverse,
    .tp_clear = (inquiry)factory_clear,
    .tp_members = factory_members,
    .tp_getset = factory_getset,
};

static PyObject *
make_factory(PyObject *ctor)
{
    if (!PyCallable_Check(ctor)) {
        PyErr_Format(PyExc_TypeError,
                     "custom_task_constructor must be callable, not %s",
                     Py_TYPE(ctor)->tp_name);
        return NULL;
    }
#if !FA_NATIVE_EAGER
    if (PyType_Check(ctor)) {
        int sub = PyObject_IsSubclass(ctor, (PyObject *)&TaskType);
        if (sub < 0) {
            return NULL;
        }
        if (!sub) {
            PyErr_Format(PyExc_TypeError,
                         "%s cannot start eagerly on Python %d.%d; use "
                         "fastaio.Task or a subclass of it",
                         ((PyTypeObject *)ctor)->tp_name,
                         PY_MAJOR_VERSION, PY_MINOR_VERSION);
            return NULL;
        }
    }
#endif
    PyObject *cell = PyCell_New(ctor);   /* new */
    if (cell == NULL) {
        return NULL;
    }
    PyObject *closure = PyTuple_Pack(1, cell);   /* new */
    Py_DECREF(cell);
    if (closure == NULL) {
        return NULL;
    }
    FactoryObject *f = PyObject_GC_New(FactoryObject, &FactoryType);
    if (f == NULL) {
        Py_DECREF(closure);
        return NULL;
    }
    f->ctor = Py_NewRef(ctor);
    f->closure = closure;
    f->vectorcall = factory_vectorcall;
    PyObject_GC_Track(f);
    return (PyObject *)f;
}

PyDoc_STRVAR(create_eager_task_factory_doc,
"create_eager_task_factory(custom_task_constructor)\n--\n\n"
"Return a task factory that starts tasks eagerly.\n\n"
"The factory takes (loop, coro, *, name=None, context=None,\n"
"eager_start=None, **kwargs) on every Python version; eager_start None\n"
"means eager.  Other keyword arguments go to custom_task_constructor,\n"
"which must accept loop and eager_start keywords, and name and context\n"
"(passed only when not None).");

static PyObject *
create_eager_task_factory(PyObject *Py_UNUSED(module), PyObject *ctor)
{
    return make_factory(ctor);
}

/* ---------------------------------------------------------------------- */
/* loop.create_task for fastaio's loops                                    */

PyDoc_STRVAR(create_task_doc,
"create_task($self, coro, *, name=None, context=None, **kwargs)"
"\n--\n\n"
"loop.create_task for loops that run fastaio's factory: the factory gets\n"
"the name and the context before the task's first step.");

/* The pure-Python create_task_via_factory(loop, *args, **kwnames). */
static PyObject *
create_task_pure(PyObject *loop, PyObject *const *args, Py_ssize_t nargs,
                 PyObject *kwnames)
{
    Py_ssize_t n = nargs + (kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames));
    PyObject **stack = PyMem_New(PyObject *, n + 1);
    if (stack == NULL) {
        return PyErr_NoMemory();
    }
    stack[0] = loop;
    for (Py_ssize_t i = 0; i < n; i++) {
        stack[i + 1] = args[i];
    }
    PyObject *res = PyObject_Vectorcall(state.pure_create_task, stack,
                                        nargs + 1, kwnames);
    PyMem_Free(stack);
    return res;
}

/* A method of BaseEventLoop (a method descriptor: no bound method is made
   per call); args exclude the loop. */
static PyObject *
create_task_via_factory(PyObject *loop, PyObject *const *args,
                        Py_ssize_t nargs, PyObject *kwnames)
{
    if (nargs != 1) {
        PyErr_Format(PyExc_TypeError,
                     "create_task() takes 1 positional argument but %zd "
                     "were given", nargs);
        return NULL;
    }
    PyObject *factory = PyObject_GetAttr(loop, state.str_task_factory);
    if (factory == NULL) {
        return NULL;
    }
    if (Py_TYPE(factory) != &FactoryType) {
        /* Another factory, or none: the pure-Python version knows what
           each Python version's loop expects. */
        Py_DECREF(factory);
        return create_task_pure(loop, args, nargs, kwnames);
    }
    /* BaseEventLoop._check_closed(), without the call. */
    PyObject *closed = PyObject_GetAttr(loop, state.str_closed);   /* new */
    int is_closed = closed == NULL ? -1 : PyObject_IsTrue(closed);
    Py_XDECREF(closed);
    if (is_closed != 0) {
        if (is_closed > 0) {
            PyErr_SetString(PyExc_RuntimeError, "Event loop is closed");
        }
        Py_DECREF(factory);
        return NULL;
    }
    PyObject *task = factory_dispatch((FactoryObject *)factory, loop, args[0],
                                      args + nargs, kwnames);
    Py_DECREF(factory);
    return task;
}

/* ---------------------------------------------------------------------- */
/* BaseEventLoop.is_running() and get_debug() for fastaio's loops          */

PyDoc_STRVAR(loop_is_running_doc,
"is_running($self, /)\n--\n\n"
"True while the loop runs (BaseEventLoop.is_running, compiled).");

static PyObject *
loop_is_running(PyObject *loop, PyObject *Py_UNUSED(ignored))
{
    PyObject *thread_id = PyObject_GetAttr(loop, state.str_thread_id);
    if (thread_id == NULL) {
        return NULL;
    }
    int running = thread_id != Py_None;
    Py_DECREF(thread_id);
    return PyBool_FromLong(running);
}

PyDoc_STRVAR(loop_get_debug_doc,
"get_debug($self, /)\n--\n\n"
"The loop's debug flag (BaseEventLoop.get_debug, compiled).");

static PyObject *
loop_get_debug(PyObject *loop, PyObject *Py_UNUSED(ignored))
{
    return PyObject_GetAttr(loop, state.str_debug);
}

/* ---------------------------------------------------------------------- */
/* module                                                                  */

static PyMethodDef core_methods[] = {
#if !FA_NATIVE_CURRENT_TASK
    {"current_task", (PyCFunction)(void (*)(void))current_task,
     METH_FASTCALL | METH_KEYWORDS, current_task_doc},
    {"_after_fork_child", after_fork_child, METH_NOARGS, NULL},
#endif
    {"create_eager_task_factory", create_eager_task_factory, METH_O,
     create_eager_task_factory_doc},
    {NULL, NULL, 0, NULL}
};

/* Methods of asyncio.BaseEventLoop, exported under these module names as
   method descriptors. */
static struct {
    const char *export;
    PyMethodDef def;
} loop_methods[] = {
    {"create_task_via_factory",
     {"create_task", (PyCFunction)(void (*)(void))create_task_via_factory,
      METH_FASTCALL | METH_KEYWORDS, create_task_doc}},
    {"loop_is_running",
     {"is_running", loop_is_running, METH_NOARGS, loop_is_running_doc}},
    {"loop_get_debug",
     {"get_debug", loop_get_debug, METH_NOARGS, loop_get_debug_doc}},
};

static struct PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT,
    "fastaio._core",
    "The compiled core of fastaio (see fastaio._pycore for the specification).",
    -1,
    core_methods,
};

static int
init_state(void)
{
#define INTERN(field, text) \
    if ((state.field = PyUnicode_InternFromString(text)) == NULL) return -1
    INTERN(str_loop, "loop");
    INTERN(str_name, "name");
    INTERN(str_context, "context");
    INTERN(str_eager_start, "eager_start");
    INTERN(str_task_factory, "_task_factory");
    INTERN(str_closed, "_closed");
    INTERN(str_call_soon, "call_soon");
    INTERN(str_get_debug, "get_debug");
    INTERN(str_is_running, "is_running");
    INTERN(str_thread_id, "_thread_id");
    INTERN(str_debug, "_debug");
#undef INTERN
    state.kwnames_ctor[0] = PyTuple_Pack(2, state.str_loop,
                                         state.str_eager_start);
    state.kwnames_ctor[1] = PyTuple_Pack(3, state.str_loop, state.str_name,
                                         state.str_eager_start);
    state.kwnames_ctor[2] = PyTuple_Pack(3, state.str_loop,
                                         state.str_context,
                                         state.str_eager_start);
    state.kwnames_ctor[3] = PyTuple_Pack(4, state.str_loop, state.str_name,
                                         state.str_context,
                                         state.str_eager_start);
    state.kwnames_context = PyTuple_Pack(1, state.str_context);
    for (int i = 0; i < 4; i++) {
        if (state.kwnames_ctor[i] == NULL) {
            return -1;
        }
    }
    if (state.kwnames_context == NULL) {
        return -1;
    }
    state.get_running_loop = fa_import_attr("asyncio.events",
                                         "_get_running_loop");
    state.get_event_loop = fa_import_attr("asyncio.events", "get_event_loop");
    /* fastaio/__init__.py imports _pycore before the compiled core. */
    state.pure_create_task = fa_import_attr("fastaio._pycore",
                                         "create_task_via_factory");
    if (state.get_running_loop == NULL || state.get_event_loop == NULL
            || state.pure_create_task == NULL) {
        return -1;
    }
#if FA_NATIVE_EAGER
    PyObject *stdlib_factory = fa_import_attr("asyncio", "eager_task_factory");
    if (stdlib_factory == NULL) {
        return -1;
    }
    state.eager_code = PyObject_GetAttrString(stdlib_factory, "__code__");
    Py_DECREF(stdlib_factory);
    if (state.eager_code == NULL) {
        PyErr_Clear();   /* not a Python function: nothing to imitate */
    }
#endif
#if !FA_NATIVE_CURRENT_TASK
    state.current_tasks = fa_import_attr("asyncio.tasks", "_current_tasks");
    if (state.current_tasks == NULL) {
        return -1;
    }
    if (!PyDict_CheckExact(state.current_tasks)) {
        PyErr_SetString(PyExc_ImportError,
                        "asyncio.tasks._current_tasks is not a dict");
        return -1;
    }
    state.running_key = PyUnicode_InternFromString(
        "__asyncio_running_event_loop__");
    if (state.running_key == NULL || check_holder_layout() < 0) {
        return -1;
    }
#endif
    return 0;
}

PyMODINIT_FUNC
PyInit__core(void)
{
    /* asyncio must be fully imported before anything of _asyncio is touched:
       importing _asyncio first leaves asyncio half bound on 3.9-3.13. */
    PyObject *asyncio = PyImport_ImportModule("asyncio");   /* new */
    if (asyncio == NULL) {
        return NULL;
    }
    Py_DECREF(asyncio);

    if (state.str_loop == NULL && init_state() < 0) {
        return NULL;
    }
    if (PyType_Ready(&FactoryType) < 0) {
        return NULL;
    }

    PyObject *m = PyModule_Create(&core_module);   /* new */
    if (m == NULL) {
        return NULL;
    }
#ifdef Py_GIL_DISABLED
    /* Free-threaded builds (3.13+, PEP 703).  This path is 3.12+ code only:
       module state is written once, here; factory objects are immutable;
       the nesting depth is thread-local; everything else goes through
       CPython's own thread-safe calls. */
    if (PyUnstable_Module_SetGIL(m, Py_MOD_GIL_NOT_USED) < 0) {
        Py_DECREF(m);
        return NULL;
    }
#endif
    PyObject *ctor = NULL, *factory = NULL, *base_loop = NULL, *meth = NULL;
#if FA_NATIVE_CURRENT_TASK
    {
        PyObject *ct = fa_import_attr("asyncio", "current_task");   /* new */
        if (ct == NULL || PyModule_AddObject(m, "current_task", ct) < 0) {
            Py_XDECREF(ct);
            goto error;
        }
    }
    /* The Task of the pure core: asyncio.Task, or on 3.12.0-3.12.4 its
       subclass with a safe get_coro() (gh-122332). */
    ctor = fa_import_attr("fastaio._pycore", "Task");
#else
    {
        PyObject *os = PyImport_ImportModule("os");   /* new */
        PyObject *reg = os == NULL ? NULL
            : PyObject_GetAttrString(os, "register_at_fork");   /* new */
        Py_XDECREF(os);
        if (reg == NULL) {
            PyErr_Clear();   /* no fork() on this platform */
        }
        else {
            PyObject *cb = PyObject_GetAttrString(m, "_after_fork_child");
            PyObject *kw = cb == NULL ? NULL
                : Py_BuildValue("{sO}", "after_in_child", cb);
            PyObject *empty = PyTuple_New(0);
            PyObject *r = (kw == NULL || empty == NULL) ? NULL
                : PyObject_Call(reg, empty, kw);
            Py_XDECREF(cb);
            Py_XDECREF(kw);
            Py_XDECREF(empty);
            Py_DECREF(reg);
            if (r == NULL) {
                goto error;
            }
            Py_DECREF(r);
        }
    }
    if (init_task_type(m) < 0) {
        goto error;
    }
    ctor = Py_NewRef((PyObject *)&TaskType);
#endif
    if (ctor == NULL) {
        goto error;
    }
    factory = make_factory(ctor);
    Py_CLEAR(ctor);
    if (factory == NULL
            || PyModule_AddObject(m, "eager_task_factory", factory) < 0) {
        goto error;
    }
    factory = NULL;   /* the module has it */
    base_loop = fa_import_attr("asyncio.base_events", "BaseEventLoop");
    if (base_loop == NULL) {
        goto error;
    }
    if (!PyType_Check(base_loop)) {
        PyErr_SetString(PyExc_ImportError,
                        "asyncio.base_events.BaseEventLoop is not a class");
        goto error;
    }
    for (size_t i = 0; i < Py_ARRAY_LENGTH(loop_methods); i++) {
        meth = PyDescr_NewMethod((PyTypeObject *)base_loop,
                                 &loop_methods[i].def);
        if (meth == NULL
                || PyModule_AddObject(m, loop_methods[i].export, meth) < 0) {
            goto error;
        }
        meth = NULL;
    }
    Py_CLEAR(base_loop);
    if (PyModule_AddIntConstant(m, "NATIVE_CURRENT_TASK",
                                FA_NATIVE_CURRENT_TASK) < 0
            || PyModule_AddIntConstant(m, "MAX_EAGER_DEPTH",
                                       MAX_EAGER_DEPTH) < 0
#if !FA_NATIVE_CURRENT_TASK
            || PyModule_AddIntConstant(m, "FAST_RUNNING_LOOP",
                                       state.holder_type != NULL) < 0
#endif
            ) {
        goto error;
    }
    return m;
error:
    Py_XDECREF(ctor);
    Py_XDECREF(factory);
    Py_XDECREF(base_loop);
    Py_XDECREF(meth);
    Py_DECREF(m);
    return NULL;
}
