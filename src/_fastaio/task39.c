/*
 * fastaio.Task for CPython 3.9-3.11: a subclass of _asyncio.Task that can
 * take its first step inside the constructor (the C Task of these versions
 * always schedules it).  This is the part of the core that reads CPython's
 * private layout: the fields it touches are located and verified at import
 * (locate_task_fields), and the module does not import if they differ.
 *
 * Reference ownership: see fastaio.h.
 */
#include "fastaio.h"

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
    fa_state *st;       /* the state of the module of the catcher's type,
                           which the catcher keeps alive */
    PyObject *loop;     /* the real loop (new), or NULL for the probe */
    PyObject *step;     /* the callback given to call_soon (new) */
} CatcherObject;

static void
catcher_dealloc(CatcherObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);   /* borrowed until the final decref */
    Py_XDECREF(self->loop);
    Py_XDECREF(self->step);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyObject *
catcher_get_debug(CatcherObject *self, PyObject *Py_UNUSED(arg))
{
    if (self->loop == NULL) {
        Py_RETURN_FALSE;
    }
    return PyObject_CallMethodNoArgs(self->loop, self->st->str_get_debug);
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

static PyType_Slot catcher_slots[] = {
    {Py_tp_dealloc, catcher_dealloc},
    {Py_tp_methods, catcher_methods},
    {0, NULL}
};

static PyType_Spec catcher_spec = {
    "fastaio._core._StepCatcher",
    sizeof(CatcherObject),
    0,
    Py_TPFLAGS_DEFAULT | FA_TPFLAGS_DISALLOW_INSTANTIATION,
    catcher_slots,
};

static CatcherObject *
catcher_new(fa_state *st, PyObject *loop)
{
    CatcherObject *c = PyObject_New(CatcherObject,
                                    FA_TYPE(st, catcher_type));
    if (c == NULL) {
        return NULL;
    }
    c->st = st;
    c->loop = Py_XNewRef(loop);
    c->step = NULL;
    return c;
}

/* fastaio's data after _asyncio.Task's. */
typedef struct {
    int num_cancels;     /* 3.9/3.10: cancel() requests not uncancelled */
    int done_eagerly;    /* the first step finished the task */
} task_extra;

/* _asyncio.Task, the base of fastaio.Task, is st->task_base; the offsets
   of its fields are in the module state (fastaio.h). */

#define TASK_SLOT(self, off) (*(PyObject **)((char *)(self) + (off)))
#define TASK_INT(self, off) (*(int *)((char *)(self) + (off)))
#define TASK_EXTRA(st, self) \
    ((task_extra *)((char *)(self) + (st)->off_extra))


/* _asyncio.Task.__init__(self, coro, loop=loop, name=name[, context=]). */
static int
call_base_init(fa_state *st, PyObject *self, PyObject *coro, PyObject *loop,
               PyObject *name, PyObject *context)
{
    /* A task given no name gets its number now and its "Task-<number>"
       when first asked (task_get_name): the base would format the string
       for every task.  It is given an exact str meanwhile, which it keeps
       without converting. */
    int numbered = name == Py_None;
    PyObject *given = numbered ? st->empty_str : name;   /* borrowed */
    int rc = -1;
    PyObject *args = PyTuple_Pack(1, coro);   /* new */
    PyObject *kwargs = PyDict_New();          /* new */
    if (args == NULL || kwargs == NULL) {
        goto done;
    }
    if (PyDict_SetItem(kwargs, st->str_loop, loop) < 0
            || PyDict_SetItem(kwargs, st->str_name, given) < 0) {
        goto done;
    }
#if FA_TASK_HAS_CONTEXT
    if (context != Py_None
            && PyDict_SetItem(kwargs, st->str_context, context) < 0) {
        goto done;
    }
#endif
    rc = st->base_init(self, args, kwargs);
done:
    Py_XDECREF(args);
    Py_XDECREF(kwargs);
    if (rc == 0 && numbered) {
        PyObject *number = PyLong_FromUnsignedLongLong(
            ++st->task_name_counter);   /* new */
        if (number == NULL) {
            return -1;
        }
        Py_SETREF(TASK_SLOT(self, st->off_name), number);
    }
    return rc;
}

/* loop.call_soon(step, context=context) */
static int
schedule_step(fa_state *st, PyObject *loop, PyObject *step, PyObject *context)
{
    PyObject *args[3] = {loop, step, context};
    PyObject *handle = PyObject_VectorcallMethod(
        st->str_call_soon, args, 2 | PY_VECTORCALL_ARGUMENTS_OFFSET,
        st->kwnames_context);   /* new */
    if (handle == NULL) {
        return -1;
    }
    Py_DECREF(handle);
    return 0;
}

/* Run the first step of task now, in context, with the creator's task
   stepped aside and, if hiding (FA_EAGER_HIDING), the exception being
   handled hidden; every path restores the current task, the context and
   the exception being handled. */
static int
start_now(fa_state *st, PyObject *task, PyObject *loop, PyObject *step,
          PyObject *context, int hiding)
{
    if (PyContext_Enter(context) < 0) {
        if (!PyErr_ExceptionMatches(PyExc_RuntimeError)) {
            return -1;
        }
        /* Entered somewhere up the stack (gh-157301): start lazily. */
        PyErr_Clear();
        return schedule_step(st, loop, step, context);
    }
    PyObject *creator = PyDict_GetItemWithError(st->current_tasks, loop);
    if (creator != NULL) {
        Py_INCREF(creator);   /* new */
        if (PyDict_DelItem(st->current_tasks, loop) < 0) {
            Py_DECREF(creator);
            (void)PyContext_Exit(context);
            return -1;
        }
    }
    else if (PyErr_Occurred()) {
        (void)PyContext_Exit(context);
        return -1;
    }

    fa_handled hidden = {0};   /* new, while hidden */
    if (hiding) {
        fa_hide_handled(&hidden);
    }
    FA_EAGER_STEP_ENTER(clean);
    PyObject *res = PyObject_CallNoArgs(step);   /* new */
    FA_EAGER_STEP_LEAVE(clean);
    if (hiding) {
        fa_give_back_handled(&hidden);
    }

    PyObject *et = NULL, *ev = NULL, *etb = NULL;
    if (res == NULL) {
        PyErr_Fetch(&et, &ev, &etb);
    }
    int bad = 0;
    if (creator != NULL) {
        bad = PyDict_SetItem(st->current_tasks, loop, creator) < 0;
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
    PyObject *done = PyObject_CallOneArg(st->base_done, task);   /* new */
    if (done == NULL) {
        return -1;
    }
    TASK_EXTRA(st, task)->done_eagerly = done == Py_True;
    Py_DECREF(done);
    return 0;
}

/* Task.__init__ once the arguments are parsed (all borrowed). */
static int
task_setup(fa_state *st, PyObject *self, PyObject *coro, PyObject *loop, PyObject *name,
           PyObject *context, int eager_start)
{
    task_extra *extra = TASK_EXTRA(st, self);
    extra->num_cancels = 0;
    extra->done_eagerly = 0;
    if (fa_check_context(context) < 0) {
        return -1;
    }

    PyObject *real_loop;   /* new, or NULL: not known yet */
    if (loop != Py_None) {
        real_loop = Py_NewRef(loop);
    }
    else {
        real_loop = fa_running_loop(st);
        if (real_loop == NULL) {
            return -1;
        }
        if (real_loop == Py_None) {
            Py_CLEAR(real_loop);
        }
    }
    int eager = 0;
    if (eager_start && real_loop != NULL) {
        eager = fa_may_start_eagerly(st, real_loop);
        if (eager < 0) {
            Py_DECREF(real_loop);
            return -1;
        }
    }
    int catch_step = eager || (!FA_TASK_HAS_CONTEXT && context != Py_None);
    if (!catch_step) {
        int rc = call_base_init(st, self, coro,
                                real_loop != NULL ? real_loop : loop,
                                name, context);
        Py_XDECREF(real_loop);
        return rc;
    }
    if (real_loop == NULL) {
        /* 3.9/3.10, context given, no loop: as asyncio would pick one. */
        real_loop = PyObject_CallNoArgs(st->get_event_loop);
        if (real_loop == NULL) {
            return -1;
        }
    }

    CatcherObject *catcher = catcher_new(st, real_loop);   /* new */
    if (catcher == NULL) {
        Py_DECREF(real_loop);
        return -1;
    }
    int rc = call_base_init(st, self, coro, (PyObject *)catcher, name, context);
    PyObject **loop_slot = &TASK_SLOT(self, st->off_loop);
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
            Py_SETREF(TASK_SLOT(self, st->off_context), Py_NewRef(context));
        }
#endif
        PyObject *task_context = TASK_SLOT(self, st->off_context); /* borrowed */
        rc = eager ? start_now(st, self, real_loop, step, task_context,
                               eager == FA_EAGER_HIDING)
                   : schedule_step(st, real_loop, step, task_context);
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
    fa_state *st = fa_state_of_type(Py_TYPE(self));
    if (st == NULL) {
        return -1;
    }
    return task_setup(st, self, coro, loop, name, context, eager_start);
}

/* fastaio.Task(coro, loop=loop, name=name, context=context,
   eager_start=eager) for the factory, without the type call's argument
   tuple and dict: the same allocation and __init__ as calling the type. */
PyObject *
fa_task_new_for_factory(fa_state *st, PyObject *coro, PyObject *loop,
                        PyObject *name, PyObject *context, int eager)
{
    PyTypeObject *tp = FA_TYPE(st, task_type);   /* borrowed */
    PyObject *task = tp->tp_alloc(tp, 0);         /* new */
    if (task == NULL) {
        return NULL;
    }
    if (task_setup(st, task, coro, loop, name, context, eager) < 0) {
        Py_DECREF(task);
        return NULL;
    }
    return task;
}

static void task_dealloc(PyObject *self);
static int task_traverse(PyObject *self, visitproc visit, void *arg);

/* _asyncio.Task, found from an instance of fastaio.Task or of a subclass:
   the base of the type whose tp_dealloc is task_dealloc.  (Dealloc and
   traverse need no module state this way.) */
static PyTypeObject *
asyncio_task_of(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);   /* borrowed */
    while (tp->tp_dealloc != task_dealloc) {
        tp = tp->tp_base;
    }
    return tp->tp_base;
}

static void
task_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);   /* borrowed until the final decref */
    /* _asyncio.Task's dealloc runs the finalizer (the "Task was destroyed
       but it is pending!" report) only for exact Tasks. */
    if (PyObject_CallFinalizerFromDealloc(self) < 0) {
        return;   /* resurrected */
    }
    asyncio_task_of(self)->tp_dealloc(self);
    /* The static _asyncio.Task of these versions does not release the
       heap type of its instances. */
    Py_DECREF(tp);
}

static int
task_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    return asyncio_task_of(self)->tp_traverse(self, visit, arg);
}

static PyObject *
task_get_coro(PyObject *self, PyObject *Py_UNUSED(arg))
{
    fa_state *st = fa_state_of_type(Py_TYPE(self));
    if (st == NULL) {
        return NULL;
    }
    PyObject *coro = TASK_SLOT(self, st->off_coro);   /* borrowed */
    if (TASK_EXTRA(st, self)->done_eagerly || coro == NULL) {
        Py_RETURN_NONE;
    }
    return Py_NewRef(coro);
}

static PyObject *
task_uncancel(PyObject *self, PyObject *Py_UNUSED(arg))
{
    fa_state *st = fa_state_of_type(Py_TYPE(self));
    if (st == NULL) {
        return NULL;
    }
#if FA_TASK_HAS_CONTEXT
    int *num = &TASK_INT(self, st->off_num_cancels);
#else
    int *num = &TASK_EXTRA(st, self)->num_cancels;
#endif
    /* 3.13 semantics (gh-116720): back at zero, a pending cancel() request
       is withdrawn too. */
    if (*num > 0) {
        *num -= 1;
        if (*num == 0) {
            TASK_INT(self, st->off_must_cancel) = 0;
        }
    }
    return PyLong_FromLong(*num);
}

/* The base's get_name() returns its name field as it is; here a number
   left by call_base_init becomes "Task-<number>" on the first call. */
static PyObject *
task_get_name(PyObject *self, PyObject *Py_UNUSED(arg))
{
    fa_state *st = fa_state_of_type(Py_TYPE(self));
    if (st == NULL) {
        return NULL;
    }
    PyObject **slot = &TASK_SLOT(self, st->off_name);
    if (*slot == NULL) {
        Py_RETURN_NONE;
    }
    if (PyLong_CheckExact(*slot)) {
        PyObject *name = PyUnicode_FromFormat("Task-%S", *slot);  /* new */
        if (name == NULL) {
            return NULL;
        }
        Py_SETREF(*slot, name);
    }
    return Py_NewRef(*slot);
}

/* Task.get_context() is 3.12+ (gh-91150). */
static PyObject *
task_get_context(PyObject *self, PyObject *Py_UNUSED(arg))
{
    fa_state *st = fa_state_of_type(Py_TYPE(self));
    if (st == NULL) {
        return NULL;
    }
    PyObject *context = TASK_SLOT(self, st->off_context);   /* borrowed */
    if (context == NULL) {
        Py_RETURN_NONE;
    }
    return Py_NewRef(context);
}

#if !FA_TASK_HAS_CONTEXT
static PyObject *
task_cancelling(PyObject *self, PyObject *Py_UNUSED(arg))
{
    fa_state *st = fa_state_of_type(Py_TYPE(self));
    if (st == NULL) {
        return NULL;
    }
    return PyLong_FromLong(TASK_EXTRA(st, self)->num_cancels);
}

static PyObject *
task_cancel(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
            PyObject *kwnames)
{
    fa_state *st = fa_state_of_type(Py_TYPE(self));
    if (st == NULL) {
        return NULL;
    }
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
    PyObject *res = PyObject_CallFunctionObjArgs(st->base_cancel, self, msg,
                                                 NULL);   /* new */
    if (res == Py_True) {
        TASK_EXTRA(st, self)->num_cancels += 1;
    }
    return res;
}
#endif

static PyMethodDef task_methods[] = {
    {"get_coro", (PyCFunction)task_get_coro, METH_NOARGS,
     "Return the coroutine, or None once an eager start finished it."},
    {"get_name", (PyCFunction)task_get_name, METH_NOARGS,
     "Return the name of the task."},
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

/* Find fastaio's fields in _asyncio.Task with a probe task; 0 if all are
   where expected, -1 with ImportError otherwise. */
static int
locate_task_fields(fa_state *st)
{
    const Py_ssize_t ptr = (Py_ssize_t)sizeof(PyObject *);
    const Py_ssize_t size = FA_TYPE(st, task_base)->tp_basicsize;
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
    catcher = catcher_new(st, NULL);
    if (coro == NULL || name == NULL || context == NULL || catcher == NULL) {
        goto done;
    }
    probe = FA_TYPE(st, task_base)->tp_new(FA_TYPE(st, task_type), NULL, NULL);
    if (probe == NULL
            || call_base_init(st, probe, coro, (PyObject *)catcher, name,
                              context) < 0) {
        goto done;
    }
    if (TASK_SLOT(probe, sizeof(PyObject)) != (PyObject *)catcher
            || catcher->step == NULL) {
        goto done;
    }
    st->off_loop = sizeof(PyObject);
    st->off_coro = 0;
    for (Py_ssize_t off = sizeof(PyObject); off + ptr <= size; off += ptr) {
        if (TASK_SLOT(probe, off) == coro) {
            if (st->off_coro != 0) {
                goto done;   /* not unique */
            }
            st->off_coro = off;
        }
    }
    /* must_cancel, log_destroy_pending (3.11: and the cancel counter) */
    const Py_ssize_t nints = FA_TASK_HAS_CONTEXT ? 3 : 2;
    if (st->off_coro == 0
            || st->off_coro + 3 * ptr + nints * (Py_ssize_t)sizeof(int)
               > size) {
        goto done;
    }
    st->off_name = st->off_coro + ptr;
    st->off_context = st->off_coro + 2 * ptr;
    st->off_must_cancel = st->off_coro + 3 * ptr;
    st->off_num_cancels = st->off_must_cancel + 2 * (Py_ssize_t)sizeof(int);
    if (TASK_SLOT(probe, st->off_coro - ptr) != NULL   /* fut_waiter */
            || TASK_SLOT(probe, st->off_name) != name
            || !PyContext_CheckExact(TASK_SLOT(probe, st->off_context))
            || TASK_INT(probe, st->off_must_cancel) != 0) {
        goto done;
    }
#if FA_TASK_HAS_CONTEXT
    if (TASK_SLOT(probe, st->off_context) != context
            || TASK_INT(probe, st->off_num_cancels) != 0) {
        goto done;
    }
#endif
    res = PyObject_CallOneArg(st->base_cancel, probe);
    if (res != Py_True || TASK_INT(probe, st->off_must_cancel) != 1) {
        goto done;
    }
#if FA_TASK_HAS_CONTEXT
    if (TASK_INT(probe, st->off_num_cancels) != 1) {
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

int
fa_task39_init(fa_state *st, PyObject *module)
{
    PyObject *base = fa_c_task_type();   /* new */
    if (base == NULL) {
        return -1;
    }
    if (((PyTypeObject *)base)->tp_init == NULL) {
        Py_DECREF(base);
        PyErr_SetString(PyExc_ImportError,
                        "fastaio._core needs asyncio.Task.__init__ in C");
        return -1;
    }
    st->task_base = base;   /* keeps the reference */
    PyTypeObject *tb = (PyTypeObject *)base;   /* borrowed */
    st->base_init = tb->tp_init;
    st->base_cancel = PyObject_GetAttrString(base, "cancel");
    st->base_done = PyObject_GetAttrString(base, "done");
    if (st->base_cancel == NULL || st->base_done == NULL) {
        return -1;
    }
    st->catcher_type = PyType_FromModuleAndSpec(module, &catcher_spec, NULL);
    if (st->catcher_type == NULL) {
        return -1;
    }
    FA_DISALLOW_INSTANTIATION(st->catcher_type);

    /* fastaio's fields go after _asyncio.Task's, whose size is known only
       now: the spec is made here. */
    Py_ssize_t align = (Py_ssize_t)sizeof(void *);
    st->off_extra = (tb->tp_basicsize + align - 1) / align * align;
    PyType_Slot slots[] = {
        {Py_tp_dealloc, task_dealloc},
        {Py_tp_traverse, task_traverse},
        {Py_tp_clear, (void *)tb->tp_clear},
        {Py_tp_init, task_init},
        {Py_tp_methods, task_methods},
        {Py_tp_doc, (void *)task_doc},
        {0, NULL}
    };
    PyType_Spec spec = {
        "fastaio.Task",   /* __module__ "fastaio" comes from the name */
        (int)(st->off_extra + (Py_ssize_t)sizeof(task_extra)),
        0,
        Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
        slots,
    };
    PyObject *bases = PyTuple_Pack(1, base);   /* new; 3.9 wants a tuple */
    if (bases == NULL) {
        return -1;
    }
    st->task_type = PyType_FromModuleAndSpec(module, &spec, bases);
    Py_DECREF(bases);
    if (st->task_type == NULL) {
        return -1;
    }
    if (locate_task_fields(st) < 0) {
        return -1;
    }
    if (PyModule_AddObject(module, "Task", Py_NewRef(st->task_type)) < 0) {
        Py_DECREF(st->task_type);
        return -1;
    }
    return 0;
}
#endif  /* !FA_NATIVE_EAGER */
