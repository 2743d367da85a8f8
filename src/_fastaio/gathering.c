/*
 * gather() in C, on every version.
 *
 * The specification is gather() in python/fastaio/_pycore.py, which is
 * CPython 3.14's asyncio.gather: children that are already done when
 * gather() is called are accounted for at once (gh-97696, 3.12), the
 * arguments are wrapped for the running loop, and on 3.14+ each pending
 * child is recorded as awaited by the calling task (gh-91048).
 *
 * asyncio_gather() is what install() puts in place of asyncio.gather on
 * 3.12+: this gather on a loop that runs the compiled factory, the
 * interpreter's own everywhere else.
 *
 * Reference ownership: see fastaio.h.
 */
#include "fastaio.h"

/* asyncio.tasks.gather as the interpreter defined it: fastaio's install()
   replaces asyncio.gather by a wrapper that carries the original as
   _fastaio_original.  A new reference. */
static PyObject *
stdlib_gather(void)
{
    PyObject *gather = fa_import_attr("asyncio.tasks", "gather");   /* new */
    if (gather == NULL) {
        return NULL;
    }
    PyObject *original = PyObject_GetAttrString(gather, "_fastaio_original");
    if (original == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_AttributeError)) {
            Py_DECREF(gather);
            return NULL;
        }
        PyErr_Clear();
        return gather;
    }
    Py_DECREF(gather);
    return original;
}

/* What gather() keeps is in the module state (fastaio.h): the
   interpreter's gather, _ensure_future, _GatheringFuture, _get_loop,
   _get_running_loop, CancelledError and interned names. */

/* ---------------------------------------------------------------------- */
/* small helpers                                                           */

/* The future methods gather() and the TaskGroup call, in the order of the
   state's tables cfuture_methods and ctask_methods. */
enum {
    FA_FUT_DONE, FA_FUT_CANCELLED, FA_FUT_EXCEPTION, FA_FUT_RESULT,
    FA_FUT_MAKE_CANCELLED, FA_FUT_ADD_DONE_CALLBACK, FA_FUT_GET_LOOP,
    FA_FUT_COUNT
};

/* The interned name of the future method `which` (borrowed). */
static PyObject *
fut_method_name(fa_state *st, int which)
{
    switch (which) {
    case FA_FUT_DONE: return st->str_done;
    case FA_FUT_CANCELLED: return st->str_cancelled;
    case FA_FUT_EXCEPTION: return st->str_exception;
    case FA_FUT_RESULT: return st->str_result;
    case FA_FUT_MAKE_CANCELLED: return st->str_make_cancelled;
    case FA_FUT_ADD_DONE_CALLBACK: return st->str_add_done_callback;
    default: return st->str_get_loop;
    }
}

/* How to call fut's methods as Python code does: the table of its type's
   methods (borrowed), or NULL for calls by name.  A table when fut's type
   is exactly _asyncio.Future or _asyncio.Task (immutable types) and fut
   has no instance attribute: the names can then only find the type's own
   methods, which are called without the lookups.  Those C methods run no
   Python code, so the answer holds for several calls in a row.  On
   free-threaded builds another thread could be giving fut its first
   instance attribute meanwhile: the check only compares what it reads
   with NULL, and the calls are then as if they came before that store,
   which nothing orders against them. */
static PyObject *
fut_methods(fa_state *st, PyObject *fut)
{
    PyObject *table = NULL;   /* borrowed */
    if (Py_TYPE(fut) == FA_TYPE(st, ctask_type)) {
        table = st->ctask_methods;
    }
    else if (Py_TYPE(fut) == FA_TYPE(st, cfuture_type)) {
        table = st->cfuture_methods;
    }
    if (table != NULL && fa_no_instance_attrs(fut)) {
        return table;
    }
    return NULL;
}

/* descr(self) for a method descriptor of self's exact C type: the C
   function of its PyMethodDef called as the descriptor's vectorcall calls
   it once the arguments are checked.  Used for the methods without
   arguments that only read a future's state (done, cancelled, exception,
   result, _make_cancelled_error, get_loop): they run no Python code, so the
   recursion check is not needed either.  A calling convention not listed
   here goes through the descriptor. */
static PyObject *
call_descr_noargs(PyObject *descr, PyObject *self)
{
    if (Py_IS_TYPE(descr, &PyMethodDescr_Type)) {
        PyMethodDef *def = ((PyMethodDescrObject *)descr)->d_method;
        void (*f)(void) = (void (*)(void))def->ml_meth;
        switch (def->ml_flags & (METH_VARARGS | METH_FASTCALL | METH_NOARGS
                                 | METH_O | METH_KEYWORDS | METH_METHOD)) {
        case METH_NOARGS:
            return ((PyCFunction)f)(self, NULL);
        case METH_FASTCALL:
            return ((FA_CFUNC_FAST)f)(self, NULL, 0);
        case METH_FASTCALL | METH_KEYWORDS:
            return ((FA_CFUNC_FAST_KW)f)(self, NULL, 0, NULL);
        case METH_METHOD | METH_FASTCALL | METH_KEYWORDS:
            return ((PyCMethod)f)(self, PyDescr_TYPE(descr), NULL, 0, NULL);
        default:
            break;
        }
    }
    return PyObject_Vectorcall(descr, &self, 1, NULL);
}

/* fut.<method which>([arg]) (new reference), through methods (what
   fut_methods returned for fut). */
static PyObject *
fut_call(fa_state *st, PyObject *methods, PyObject *fut, int which,
         PyObject *arg)
{
    PyObject *args[2] = {fut, arg};
    size_t n = arg == NULL ? 1 : 2;
    if (methods != NULL) {
        PyObject *descr = PyTuple_GET_ITEM(methods, which);   /* borrowed */
        if (which != FA_FUT_ADD_DONE_CALLBACK) {
            return call_descr_noargs(descr, fut);
        }
        return PyObject_Vectorcall(descr, args, n, NULL);
    }
    return PyObject_VectorcallMethod(fut_method_name(st, which), args, n,
                                     NULL);
}

/* fut.<method which>() and its truth: 1, 0, or -1. */
static int
fut_truth(fa_state *st, PyObject *methods, PyObject *fut, int which)
{
    PyObject *r = fut_call(st, methods, fut, which, NULL);   /* new */
    if (r == NULL) {
        return -1;
    }
    int t = PyObject_IsTrue(r);
    Py_DECREF(r);
    return t;
}

/* Call a method without arguments and return its truth: 1, 0, or -1. */
static int
call_truth(PyObject *obj, PyObject *name)
{
    PyObject *r = PyObject_CallMethodNoArgs(obj, name);   /* new */
    if (r == NULL) {
        return -1;
    }
    int t = PyObject_IsTrue(r);
    Py_DECREF(r);
    return t;
}

/* Call a method with one argument and drop the result: 0 or -1. */
static int
call_one(PyObject *obj, PyObject *name, PyObject *arg)
{
    PyObject *r = PyObject_CallMethodOneArg(obj, name, arg);   /* new */
    Py_XDECREF(r);
    return r == NULL ? -1 : 0;
}

/* What a done child contributes to the result list (new reference). */
static PyObject *
child_result(fa_state *st, PyObject *child)
{
    PyObject *methods = fut_methods(st, child);   /* borrowed */
    int cancelled = fut_truth(st, methods, child, FA_FUT_CANCELLED);
    if (cancelled < 0) {
        return NULL;
    }
    if (cancelled) {
        PyObject *msg = PyObject_GetAttr(child, st->str_cancel_message);
        if (msg == NULL) {
            return NULL;
        }
        PyObject *err = PyObject_CallOneArg(
            st->cancelled_error, msg == Py_None ? st->empty_str : msg);
        Py_DECREF(msg);
        return err;
    }
    PyObject *error = fut_call(st, methods, child, FA_FUT_EXCEPTION, NULL);
    if (error != Py_None) {
        return error;   /* the exception, or NULL */
    }
    Py_DECREF(error);
    return fut_call(st, methods, child, FA_FUT_RESULT, NULL);
}

/* ---------------------------------------------------------------------- */
/* the done callback: one object per gather() call                         */

typedef struct {
    PyObject_HEAD
    fa_state *st;           /* the module state; the object's type keeps
                               the module alive */
    PyObject *outer;        /* the _GatheringFuture; NULL until made */
    PyObject *children;     /* list, one entry per argument */
    PyObject *cur_task;     /* the task that called gather() (3.14+), or
                               NULL */
    Py_ssize_t expected;    /* distinct children */
    Py_ssize_t finished;
    int return_exceptions;
    /* While gather() itself accounts for the children that were done when
       passed, outer is known to nobody else: then `settled` (whether this
       code completed outer) is outer.done(), and outer._cancel_requested
       is still the False it was made with. */
    int fresh;
    int settled;
    vectorcallfunc vectorcall;
} GatherState;


/* Account for one finished child; 0, or -1 with an exception set. */
static int
state_child_done(GatherState *gs, PyObject *child)
{
    fa_state *st = gs->st;
    gs->finished++;
#if FA_GATHER_AWAITED_BY
    if (gs->cur_task != NULL) {
        PyObject *args[2] = {child, gs->cur_task};
        PyObject *r = PyObject_Vectorcall(st->discard_awaited_by, args, 2,
                                          NULL);   /* new */
        if (r == NULL) {
            return -1;
        }
        Py_DECREF(r);
    }
#endif
    PyObject *outer = gs->outer;   /* borrowed: gs owns it */
    int outer_done = outer == NULL ? 1
        : gs->fresh ? gs->settled : call_truth(outer, st->str_done);
    if (outer_done < 0) {
        return -1;
    }
    PyObject *methods = fut_methods(st, child);   /* borrowed */
    if (outer_done) {
        /* Too early (an argument failed to wrap: bpo-46672) or too late:
           only mark the child's exception retrieved. */
        int cancelled = fut_truth(st, methods, child, FA_FUT_CANCELLED);
        if (cancelled < 0) {
            return -1;
        }
        if (!cancelled) {
            PyObject *r = fut_call(st, methods, child, FA_FUT_EXCEPTION, NULL);
            Py_XDECREF(r);
            return r == NULL ? -1 : 0;
        }
        return 0;
    }
    /* outer stays alive through st for the rest of this function. */
    if (!gs->return_exceptions) {
        int cancelled = fut_truth(st, methods, child, FA_FUT_CANCELLED);
        if (cancelled < 0) {
            return -1;
        }
        PyObject *error = cancelled
            ? fut_call(st, methods, child, FA_FUT_MAKE_CANCELLED, NULL)
            : fut_call(st, methods, child, FA_FUT_EXCEPTION, NULL);   /* new */
        if (error == NULL) {
            return -1;
        }
        if (error != Py_None) {
            int rc = call_one(outer, st->str_set_exception, error);
            Py_DECREF(error);
            gs->settled = 1;
            return rc;
        }
        Py_DECREF(error);
    }
    if (gs->finished < gs->expected) {
        return 0;
    }
    /* Every child is done: build the results.  The list is copied first
       so that code run by a child's methods cannot resize it under us. */
    PyObject *children = PySequence_List(gs->children);   /* new */
    if (children == NULL) {
        return -1;
    }
    Py_ssize_t n = PyList_GET_SIZE(children);
    PyObject *results = PyList_New(n);   /* new */
    if (results == NULL) {
        Py_DECREF(children);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = child_result(st, PyList_GET_ITEM(children, i));
        if (item == NULL) {
            Py_DECREF(results);
            Py_DECREF(children);
            return -1;
        }
        PyList_SET_ITEM(results, i, item);   /* steals item */
    }
    int rc;
    int cancel_requested = 0;
    if (!gs->fresh) {
        PyObject *requested = PyObject_GetAttr(outer,
                                               st->str_cancel_requested);
        cancel_requested = requested == NULL ? -1
            : PyObject_IsTrue(requested);
        Py_XDECREF(requested);
    }
    gs->settled = 1;
    if (cancel_requested < 0) {
        rc = -1;
    }
    else if (cancel_requested && n > 0) {
        /* A cancelled gather raises CancelledError whatever
           return_exceptions says (bpo-32684), built from the last child. */
        PyObject *error = PyObject_CallMethodNoArgs(
            PyList_GET_ITEM(children, n - 1), st->str_make_cancelled);
        rc = error == NULL ? -1 : call_one(outer, st->str_set_exception, error);
        Py_XDECREF(error);
    }
    else {
        rc = call_one(outer, st->str_set_result, results);
    }
    Py_DECREF(results);
    Py_DECREF(children);
    return rc;
}

static PyObject *
state_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf,
                 PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (nargs != 1 || (kwnames != NULL && PyTuple_GET_SIZE(kwnames) > 0)) {
        PyErr_SetString(PyExc_TypeError,
                        "gather's done callback takes one future");
        return NULL;
    }
    /* The callback may be the last thing holding the state. */
    Py_INCREF(self);
    int rc = state_child_done((GatherState *)self, args[0]);
    Py_DECREF(self);
    if (rc < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static int
state_traverse(GatherState *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->outer);
    Py_VISIT(self->children);
    Py_VISIT(self->cur_task);
    return 0;
}

static int
state_clear(GatherState *self)
{
    Py_CLEAR(self->outer);
    Py_CLEAR(self->children);
    Py_CLEAR(self->cur_task);
    return 0;
}

static void
state_dealloc(GatherState *self)
{
    PyTypeObject *tp = Py_TYPE(self);   /* borrowed until the final decref */
    PyObject_GC_UnTrack(self);
    state_clear(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyObject *
state_repr(GatherState *self)
{
    return PyUnicode_FromFormat("<fastaio gather callback: %zd of %zd done>",
                                self->finished, self->expected);
}

static PyMemberDef state_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(GatherState, vectorcall),
     READONLY, NULL},
    {NULL, 0, 0, 0, NULL}
};

static PyType_Slot state_slots[] = {
    {Py_tp_dealloc, state_dealloc},
    {Py_tp_call, PyVectorcall_Call},
    {Py_tp_repr, state_repr},
    {Py_tp_traverse, state_traverse},
    {Py_tp_clear, state_clear},
    {Py_tp_members, state_members},
    {0, NULL}
};

static PyType_Spec state_spec = {
    "fastaio._core.GatherCallback",
    sizeof(GatherState),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL
        | FA_TPFLAGS_DISALLOW_INSTANTIATION,
    state_slots,
};

/* ---------------------------------------------------------------------- */
/* gather()                                                                */

/* ensure_future(arg, loop=loop), with native coroutines going straight to
   loop.create_task() when the loop is known and not in debug mode; a new
   reference.  *fast is -1 until the loop's debug flag was read. */
static PyObject *
wrap(fa_state *st, PyObject *arg, PyObject *loop, int *fast)
{
    if (loop != Py_None && PyCoro_CheckExact(arg)) {
        if (*fast < 0) {
            int debug = call_truth(loop, st->str_get_debug);
            if (debug < 0) {
                return NULL;
            }
            *fast = !debug;
        }
        if (*fast) {
            /* loop.create_task(arg) where that is the core's
               create_task_via_factory: called without the lookup. */
            int core;
#if FA_LOOP_CACHE
            fa_loop_cache *c = fa_loop_cache_get(st, loop);   /* borrowed */
            if (c != NULL) {
                core = c->create_task_ours && !c->has_create_task;
            }
            else if (PyErr_Occurred()) {
                return NULL;
            }
            else
#endif
            core = fa_loop_create_task_is_core(st, loop);
            if (core < 0) {
                return NULL;
            }
            PyObject *task;   /* new */
            if (core) {
                PyObject *call[2] = {loop, arg};
                task = PyObject_Vectorcall(st->core_create_task, call, 2,
                                           NULL);
            }
            else {
                task = PyObject_CallMethodOneArg(loop, st->str_create_task,
                                                 arg);
            }
            if (task == NULL && PyErr_ExceptionMatches(PyExc_RuntimeError)) {
                FA_ERR_SAVE(saved);
                PyObject *r = PyObject_CallMethodNoArgs(arg, st->str_close);
                if (r == NULL) {
                    /* The close error is chained to the RuntimeError by
                       nothing else: report it, keep the original. */
                    PyErr_WriteUnraisable(arg);
                }
                Py_XDECREF(r);
                FA_ERR_RESTORE(saved);
            }
            return task;
        }
    }
    /* What _ensure_future(arg, loop=loop) returns for a future of
       asyncio's own C types without instance attributes (fut_methods):
       the future itself, when loop is None or the future's own loop.  A
       future of another loop gets its ValueError from the call below. */
    PyObject *methods = fut_methods(st, arg);   /* borrowed */
    if (methods != NULL) {
        if (loop == Py_None) {
            return Py_NewRef(arg);
        }
        PyObject *own = fut_call(st, methods, arg, FA_FUT_GET_LOOP,
                                 NULL);   /* new */
        if (own == NULL) {
            return NULL;
        }
        Py_DECREF(own);   /* arg keeps it */
        if (own == loop) {
            return Py_NewRef(arg);
        }
    }
    PyObject *args[2] = {arg, loop};
    return PyObject_Vectorcall(st->ensure_future, args, 1, st->kwnames_loop);
}

/* At most this many arguments are checked for repeats by an identity scan
   (quadratic) instead of a dict. */
#define FA_GATHER_SCAN_MAX 16

/* 1 if arg is of a type whose instances are equal only to themselves and
   hash by identity (a native coroutine, _asyncio.Future, _asyncio.Task,
   none of which defines __eq__ or __hash__): in a dict of such keys, a
   key is found only by itself. */
static int
compares_by_identity(fa_state *st, PyObject *arg)
{
    return PyCoro_CheckExact(arg)
        || (st->ctask_type != NULL && Py_IS_TYPE(arg, FA_TYPE(st, ctask_type)))
        || (st->cfuture_type != NULL
            && Py_IS_TYPE(arg, FA_TYPE(st, cfuture_type)));
}

/* child._log_destroy_pending = False: through the setter of
   _asyncio.Task's data descriptor for an exact Task (the descriptor
   PyObject_SetAttr would find first, its type being immutable), by name
   for anything else.  0, or -1. */
static int
set_log_destroy_pending(fa_state *st, PyObject *child)
{
    if (st->log_destroy_set != NULL
            && Py_IS_TYPE(child, FA_TYPE(st, ctask_type))) {
        return st->log_destroy_set(child, Py_False, st->log_destroy_closure);
    }
    return PyObject_SetAttr(child, st->str_log_destroy_pending, Py_False);
}

/* 1 if _GatheringFuture still has the tp_new and __init__ checked at
   import (see gathering_setup), 0 if not, -1 with an error set.  A new
   __new__ or __init__ changes the class's version tag, which
   fa_type_keeps_cached answers by. */
static int
gathering_fast(fa_state *st)
{
    PyTypeObject *tp = FA_TYPE(st, gathering_future);
    if (st->gathering_init == NULL
            || tp->tp_new != FA_TYPE(st, cfuture_type)->tp_new) {
        return 0;
    }
    return fa_type_keeps_cached(tp, st->str_init, st->gathering_init,
                                &st->gathering_version);
}

/* _GatheringFuture(children, loop=loop) (new reference).  While its class
   keeps the __init__ of every CPython from 3.9 to 3.15 (Future.__init__
   with loop=, then _children and _cancel_requested set, in that order),
   that body runs here without its frame and its super() lookup. */
static PyObject *
new_gathering_future(fa_state *st, PyObject *children, PyObject *loop)
{
    int fast = gathering_fast(st);
    if (fast < 0) {
        return NULL;
    }
    if (!fast) {
        PyObject *ctor_args[2] = {children, loop};
        return PyObject_Vectorcall(st->gathering_future, ctor_args, 1,
                                   st->kwnames_loop);
    }
    PyTypeObject *tp = FA_TYPE(st, gathering_future);
    PyObject *kwargs = PyDict_New();   /* new */
    if (kwargs == NULL || PyDict_SetItem(kwargs, st->str_loop, loop) < 0) {
        Py_XDECREF(kwargs);
        return NULL;
    }
    PyObject *outer = tp->tp_new(tp, st->empty_tuple, kwargs);   /* new */
    if (outer != NULL
            && (FA_TYPE(st, cfuture_type)->tp_init(outer, st->empty_tuple,
                                                   kwargs) < 0
                || PyObject_GenericSetAttr(outer, st->str_children,
                                           children) < 0
                || PyObject_GenericSetAttr(outer, st->str_cancel_requested,
                                           Py_False) < 0)) {
        Py_CLEAR(outer);
    }
    Py_DECREF(kwargs);
    return outer;
}

/* loop: the running loop or None (a new reference, taken over). */
static PyObject *
gather_impl(fa_state *st, PyObject *loop, PyObject *const *args,
            Py_ssize_t nargs, int return_exceptions)
{
    PyObject *seen = NULL, *outer = NULL;
    /* Where in gs->children the children that were done when wrapped are
       (one entry per distinct child): a small array on the stack for up
       to FA_GATHER_SCAN_MAX arguments, not a list that the gc tracks. */
    Py_ssize_t done_small[FA_GATHER_SCAN_MAX];
    Py_ssize_t *done_now = done_small;
    Py_ssize_t n_done = 0;
    GatherState *gs = PyObject_GC_New(GatherState,
                                      FA_TYPE(st, gather_callback_type));
    if (gs == NULL) {
        Py_DECREF(loop);
        return NULL;
    }
    gs->st = st;
    gs->outer = NULL;
    gs->children = PyList_New(0);
    gs->cur_task = NULL;
    gs->expected = gs->finished = 0;
    gs->return_exceptions = return_exceptions;
    gs->fresh = gs->settled = 0;
    gs->vectorcall = state_vectorcall;
    PyObject_GC_Track(gs);
    /* Arguments seen twice share one child, as the stdlib's dict of them
       decides; for a few arguments of types that compare by identity an
       identity scan decides the same. */
    int by_identity = nargs <= FA_GATHER_SCAN_MAX;
    for (Py_ssize_t i = 0; i < nargs && by_identity; i++) {
        by_identity = compares_by_identity(st, args[i]);
    }
    if (!by_identity) {
        seen = PyDict_New();
        if (seen == NULL) {
            goto error;
        }
    }
    if (nargs > FA_GATHER_SCAN_MAX) {
        done_now = PyMem_New(Py_ssize_t, nargs);
        if (done_now == NULL) {
            PyErr_NoMemory();
            goto error;
        }
    }
    if (gs->children == NULL) {
        goto error;
    }
#if FA_GATHER_AWAITED_BY
    if (loop != Py_None) {
        PyObject *task = PyObject_CallOneArg(st->current_task, loop); /* new */
        if (task == NULL) {
            goto error;
        }
        if (task == Py_None) {
            Py_DECREF(task);
        }
        else {
            gs->cur_task = task;
        }
    }
#endif
    int fast = -1;
    for (Py_ssize_t i = 0; i < nargs; i++) {
        PyObject *arg = args[i];   /* borrowed: the caller's */
        PyObject *child = NULL;   /* borrowed */
        if (seen != NULL) {
            child = PyDict_GetItemWithError(seen, arg);
        }
        else {
            for (Py_ssize_t j = 0; j < i; j++) {
                if (args[j] == arg) {
                    /* children has an entry per argument before i. */
                    child = PyList_GET_ITEM(gs->children, j);
                    break;
                }
            }
        }
        if (child != NULL) {
            if (PyList_Append(gs->children, child) < 0) {
                goto error;
            }
            continue;
        }
        if (PyErr_Occurred()) {
            goto error;   /* unhashable argument */
        }
        child = wrap(st, arg, loop, &fast);   /* new */
        if (child == NULL) {
            goto error;
        }
        if (loop == Py_None) {
            PyObject *methods = fut_methods(st, child);   /* borrowed */
            PyObject *child_loop = methods != NULL
                ? fut_call(st, methods, child, FA_FUT_GET_LOOP, NULL)
                : PyObject_CallOneArg(st->get_loop, child);   /* new */
            if (child_loop == NULL) {
                Py_DECREF(child);
                goto error;
            }
            Py_SETREF(loop, child_loop);
        }
        int rc = 0;
        if (child != arg) {
            /* Made here for a coroutine: nobody else can await it, so its
               "destroyed but pending" report would only be noise. */
            rc = set_log_destroy_pending(st, child);
        }
        gs->expected++;
        int done = rc < 0 ? -1
            : seen == NULL ? 0 : PyDict_SetItem(seen, arg, child);
        if (done == 0) {
            done = fut_truth(st, fut_methods(st, child), child,
                             FA_FUT_DONE);
        }
        if (done > 0) {
            /* It is appended to gs->children below. */
            done_now[n_done++] = PyList_GET_SIZE(gs->children);
        }
        else if (done == 0) {
#if FA_GATHER_AWAITED_BY
            if (gs->cur_task != NULL) {
                PyObject *add_args[2] = {child, gs->cur_task};
                PyObject *r = PyObject_Vectorcall(st->add_awaited_by,
                                                  add_args, 2, NULL);
                rc = r == NULL ? -1 : 0;
                Py_XDECREF(r);
            }
            if (rc == 0)
#endif
            {
                PyObject *r = fut_call(st, fut_methods(st, child), child,
                                       FA_FUT_ADD_DONE_CALLBACK,
                                       (PyObject *)gs);   /* new */
                rc = r == NULL ? -1 : 0;
                Py_XDECREF(r);
            }
        }
        else {
            rc = -1;
        }
        if (rc == 0) {
            rc = PyList_Append(gs->children, child);
        }
        Py_DECREF(child);
        if (rc < 0) {
            goto error;
        }
    }
    outer = new_gathering_future(st, gs->children, loop);   /* new */
    if (outer == NULL) {
        goto error;
    }
    gs->outer = Py_NewRef(outer);
    /* The children that were done already are accounted for now that
       outer exists; if all were, this completes outer before it is
       returned. */
    gs->fresh = 1;
    for (Py_ssize_t i = 0; i < n_done; i++) {
        /* Nothing but gather has outer yet, and gather only appends to
           gs->children: the index is still that child's. */
        if (done_now[i] >= PyList_GET_SIZE(gs->children)) {
            PyErr_SetString(PyExc_RuntimeError,
                            "gather()'s list of children shrank");
            gs->fresh = 0;
            goto error;
        }
        PyObject *child = Py_NewRef(PyList_GET_ITEM(gs->children,
                                                    done_now[i]));
        int rc = state_child_done(gs, child);
        Py_DECREF(child);
        if (rc < 0) {
            gs->fresh = 0;
            goto error;
        }
    }
    gs->fresh = 0;
    if (done_now != done_small) {
        PyMem_Free(done_now);
    }
    Py_XDECREF(seen);
    Py_DECREF(gs);
    Py_DECREF(loop);
    return outer;
error:
    Py_XDECREF(outer);
    if (done_now != done_small) {
        PyMem_Free(done_now);
    }
    Py_XDECREF(seen);
    Py_DECREF(gs);
    Py_DECREF(loop);
    return NULL;
}

/* The keywords of a gather() call: 0 with *return_exceptions set, 1 if the
   interpreter's gather must handle the call (no argument, 3.9's deprecated
   loop=, a bad keyword), -1 on error. */
static int
gather_keywords(fa_state *st, PyObject *const *args, Py_ssize_t nargs,
                PyObject *kwnames, int *return_exceptions)
{
    *return_exceptions = 0;
    if (nargs == 0) {
        return 1;
    }
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    for (Py_ssize_t i = 0; i < nkw; i++) {
        PyObject *key = PyTuple_GET_ITEM(kwnames, i);
        int eq = PyUnicode_Compare(key, st->str_return_exceptions);
        if (eq == -1 && PyErr_Occurred()) {
            return -1;
        }
        if (eq != 0) {
            return 1;
        }
        *return_exceptions = PyObject_IsTrue(args[nargs + i]);
        if (*return_exceptions < 0) {
            return -1;
        }
    }
    return 0;
}

/* gather() and asyncio_gather(): the C gather, or the interpreter's for a
   call only it handles (see gather_keywords) and, when only_compiled is
   set, for a running loop without the compiled factory (or none). */
static PyObject *
gather_call(PyObject *module, PyObject *const *args, size_t nargsf,
            PyObject *kwnames, int only_compiled)
{
    fa_state *st = fa_state_of_module(module);
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    int return_exceptions;
    int delegate = gather_keywords(st, args, nargs, kwnames,
                                   &return_exceptions);
    if (delegate < 0) {
        return NULL;
    }
    if (!delegate) {
        PyObject *loop = fa_running_loop(st);   /* new */
        if (loop == NULL) {
            return NULL;
        }
        int ours = !only_compiled ? 1
            : loop == Py_None ? 0 : fa_loop_runs_compiled_factory(st, loop);
        if (ours > 0) {
            return gather_impl(st, loop, args, nargs, return_exceptions);
        }
        Py_DECREF(loop);
        if (ours < 0) {
            return NULL;
        }
    }
    /* The stdlib picks the loop and warns as the interpreter's version
       does, rejects the keyword, or serves a loop without fastaio. */
    return PyObject_Vectorcall(st->stdlib_gather, args, nargsf, kwnames);
}

PyDoc_STRVAR(gather_doc,
"gather(*aws, return_exceptions=False)\n--\n\n"
"asyncio.gather as CPython 3.14 defines it, in C: children that are done\n"
"when passed are accounted for at once, and if all are, the returned\n"
"future is already done.");

static PyObject *
gather(PyObject *module, PyObject *const *args, size_t nargsf,
       PyObject *kwnames)
{
    return gather_call(module, args, nargsf, kwnames, 0);
}

PyDoc_STRVAR(asyncio_gather_doc,
"asyncio_gather(*aws, return_exceptions=False)\n--\n\n"
"What install() puts in place of asyncio.gather: gather() when the running\n"
"loop's task factory is the compiled fastaio factory, the interpreter's\n"
"asyncio.gather otherwise.");

static PyObject *
asyncio_gather(PyObject *module, PyObject *const *args, size_t nargsf,
               PyObject *kwnames)
{
    return gather_call(module, args, nargsf, kwnames, 1);
}

PyDoc_STRVAR(finished_ok_doc,
"finished_ok($module, fut, /)\n--\n\n"
"fut.done() and not fut.cancelled() and fut.exception() is None, as\n"
"fastaio._tasks.finished_ok (the test fastaio's TaskGroup makes on a new\n"
"child), with the calls of gather().");

static PyObject *
finished_ok(PyObject *module, PyObject *fut)
{
    fa_state *st = fa_state_of_module(module);
    PyObject *methods = fut_methods(st, fut);   /* borrowed */
    int ok = fut_truth(st, methods, fut, FA_FUT_DONE);
    if (ok > 0) {
        int cancelled = fut_truth(st, methods, fut, FA_FUT_CANCELLED);
        ok = cancelled < 0 ? -1 : !cancelled;
    }
    if (ok > 0) {
        PyObject *error = fut_call(st, methods, fut, FA_FUT_EXCEPTION, NULL);
        ok = error == NULL ? -1 : error == Py_None;
        Py_XDECREF(error);
    }
    if (ok < 0) {
        return NULL;
    }
    return PyBool_FromLong(ok);
}

static PyMethodDef gathering_methods[] = {
    {"gather", (PyCFunction)(void (*)(void))gather,
     METH_FASTCALL | METH_KEYWORDS, gather_doc},
    {"asyncio_gather", (PyCFunction)(void (*)(void))asyncio_gather,
     METH_FASTCALL | METH_KEYWORDS, asyncio_gather_doc},
    {"finished_ok", finished_ok, METH_O, finished_ok_doc},
    {NULL, NULL, 0, NULL}
};

/* *type and *methods (new references) for asyncio.<name> if it is the C
   type _asyncio.<name>, with its methods in FA_FUT_* order; both left NULL
   (the named calls) if asyncio runs the pure-Python type.  0, or -1. */
static int
fast_methods(fa_state *st, const char *name, PyObject **type,
             PyObject **methods)
{
    PyObject *t = fa_import_attr("asyncio", name);   /* new */
    if (t == NULL) {
        return -1;
    }
    if (!PyType_Check(t) || strncmp(((PyTypeObject *)t)->tp_name,
                                    "_asyncio.", 9) != 0) {
        Py_DECREF(t);
        return 0;
    }
    PyObject *table = PyTuple_New(FA_FUT_COUNT);   /* new */
    if (table == NULL) {
        Py_DECREF(t);
        return -1;
    }
    for (int i = 0; i < FA_FUT_COUNT; i++) {
        PyObject *m = PyObject_GetAttr(t, fut_method_name(st, i));
        if (m == NULL) {
            Py_DECREF(table);
            Py_DECREF(t);
            return -1;
        }
        PyTuple_SET_ITEM(table, i, m);   /* steals m */
    }
    *type = t;
    *methods = table;
    return 0;
}

/* st->gathering_init: _GatheringFuture.__init__ if gather() may run its
   body itself (new_gathering_future), that is if the class is the one of
   CPython 3.9-3.15: a direct subclass of _asyncio.Future that keeps its
   tp_new, whose __init__ is asyncio.tasks' function of the known
   signature and names.  st->log_destroy_set: the setter of
   _asyncio.Task._log_destroy_pending if it is a getset descriptor.  0, or
   -1 with an error set. */
static int
gathering_setup(fa_state *st)
{
    if (st->ctask_type != NULL) {
        PyObject *d = PyObject_GetAttr(st->ctask_type,
                                       st->str_log_destroy_pending); /* new */
        if (d == NULL) {
            return -1;
        }
        if (Py_IS_TYPE(d, &PyGetSetDescr_Type)
                && ((PyGetSetDescrObject *)d)->d_getset->set != NULL) {
            /* The type (held by st) keeps its descriptor's definition. */
            st->log_destroy_set = ((PyGetSetDescrObject *)d)->d_getset->set;
            st->log_destroy_closure =
                ((PyGetSetDescrObject *)d)->d_getset->closure;
        }
        Py_DECREF(d);
    }
    if (st->cfuture_type == NULL || !PyType_Check(st->gathering_future)) {
        return 0;
    }
    PyTypeObject *tp = FA_TYPE(st, gathering_future);
    PyTypeObject *base = FA_TYPE(st, cfuture_type);
    if (tp->tp_base != base || tp->tp_new != base->tp_new
            || base->tp_init == NULL) {
        return 0;
    }
    PyObject *init = PyObject_GetAttr((PyObject *)tp, st->str_init); /* new */
    if (init == NULL) {
        return -1;
    }
    int known = 0;
    if (PyFunction_Check(init)) {
        PyCodeObject *code = (PyCodeObject *)PyFunction_GET_CODE(init);
        PyObject *names = Py_BuildValue("(ssss)", "super", "__init__",
                                        "_children", "_cancel_requested");
        PyObject *code_names = PyObject_GetAttrString((PyObject *)code,
                                                      "co_names");
        PyObject *qualname = PyObject_GetAttr(init, st->str_qualname);
        PyObject *module = PyObject_GetAttr(init, st->str_module);
        if (names == NULL || code_names == NULL || qualname == NULL
                || module == NULL) {
            known = -1;
        }
        else {
            int eq[3] = {
                PyObject_RichCompareBool(names, code_names, Py_EQ),
                PyUnicode_CompareWithASCIIString(
                    qualname, "_GatheringFuture.__init__") == 0,
                PyUnicode_CompareWithASCIIString(
                    module, "asyncio.tasks") == 0,
            };
            known = eq[0] < 0 || PyErr_Occurred() ? -1
                : eq[0] && eq[1] && eq[2] && code->co_argcount == 2
                  && code->co_kwonlyargcount == 1;
        }
        Py_XDECREF(names);
        Py_XDECREF(code_names);
        Py_XDECREF(qualname);
        Py_XDECREF(module);
    }
    if (known > 0) {
        st->gathering_init = init;   /* takes the reference */
        return 0;
    }
    Py_DECREF(init);
    return known;
}

int
fa_gathering_init(fa_state *st, PyObject *module)
{
    if (fast_methods(st, "Future", &st->cfuture_type,
                     &st->cfuture_methods) < 0
            || fast_methods(st, "Task", &st->ctask_type,
                            &st->ctask_methods) < 0) {
        return -1;
    }
    st->stdlib_gather = stdlib_gather();
    st->ensure_future = fa_import_attr("asyncio.tasks", FA_ENSURE_FUTURE_NAME);
    st->gathering_future = fa_import_attr("asyncio.tasks", "_GatheringFuture");
    st->get_loop = fa_import_attr("asyncio.futures", "_get_loop");
    st->cancelled_error = fa_import_attr("asyncio", "CancelledError");
    if (st->stdlib_gather == NULL || st->ensure_future == NULL
            || st->gathering_future == NULL || st->get_loop == NULL
            || st->cancelled_error == NULL) {
        return -1;
    }
    if (gathering_setup(st) < 0) {
        return -1;
    }
#if FA_GATHER_AWAITED_BY
    st->current_task = fa_import_attr("asyncio", "current_task");
    st->add_awaited_by = fa_import_attr("asyncio.futures",
                                        "future_add_to_awaited_by");
    st->discard_awaited_by = fa_import_attr("asyncio.futures",
                                            "future_discard_from_awaited_by");
    if (st->current_task == NULL || st->add_awaited_by == NULL
            || st->discard_awaited_by == NULL) {
        return -1;
    }
#endif
    st->gather_callback_type = PyType_FromModuleAndSpec(module, &state_spec,
                                                        NULL);
    if (st->gather_callback_type == NULL) {
        return -1;
    }
    FA_DISALLOW_INSTANTIATION(st->gather_callback_type);
    return PyModule_AddFunctions(module, gathering_methods);
}
