/*
 * The compiled Barrier of fastaio._core.
 *
 * The specification is class Barrier in python/fastaio/_pycore.py (built on
 * asyncio.Condition); this module reproduces its states, its error messages
 * and, loop iteration by loop iteration, when each waiter resumes:
 *
 *   - a waiter suspends on one future made by loop.create_future(); the
 *     barrier resolves the futures of all suspended waiters, in the order
 *     they suspended, wherever the Condition-based version calls
 *     notify_all(), and each waiter decides what to do from the barrier's
 *     state when its task resumes (as Condition.wait_for re-checks its
 *     predicate);
 *   - a waiter that leaves by an exception while suspended wakes the first
 *     other suspended waiter, which re-checks and suspends again at the end
 *     of the queue (asyncio.Condition.wait does this since 3.13, gh-112202);
 *   - arrival indices are unique within a round: a waiter cancelled while
 *     the barrier fills gives its index back and the next arrival takes the
 *     lowest index given back (gh-155233).
 *
 * Barrier.wait(), reset() and abort() return a small awaitable (a coroutine
 * in the sense of collections.abc.Coroutine, so create_task() and gather()
 * accept it) that does its work when first resumed, as a coroutine would.
 *
 * Reference ownership: every PyObject* local is commented "new" (owned,
 * released on every path) or "borrowed" (kept alive by its container for the
 * whole use).
 *
 * Free-threaded builds: the barrier's fields are only read and written inside
 * a critical section on the barrier; calls into Python (creating and
 * resolving futures) are made outside it.
 */
#include "fastaio.h"

/* What the barrier keeps (asyncio.InvalidStateError, BrokenBarrierError,
   interned names, its two types) is in the module state (fastaio.h). */

/* ---------------------------------------------------------------------- */
/* Barrier object                                                          */

enum { FILLING, DRAINING, RESETTING, BROKEN };
static const char *const state_names[] = {
    "filling", "draining", "resetting", "broken"};

typedef struct {
    PyObject_HEAD
    fa_state *st;            /* the module state; the type keeps the module
                                alive */
    Py_ssize_t parties;
    Py_ssize_t count;        /* tasks inside wait() past the entry gate */
    Py_ssize_t next_index;   /* next never-used index of this round */
    Py_ssize_t *free;        /* min-heap of indices given back */
    Py_ssize_t nfree;
    Py_ssize_t free_cap;
    int state;
    unsigned long long generation;   /* bumped by every notify_all */
    PyObject *loop;          /* the loop of the first suspension, or NULL */
    PyObject *waiters;       /* list of the suspended waiters' futures */
    PyObject *weakreflist;
} BarrierObject;

/* Futures taken out of the waiters list inside the critical section, to be
   resolved after it. */
typedef struct {
    PyObject *one;    /* new or NULL: the single waiter a failure wakes */
    PyObject *all;    /* new or NULL: the list notify_all took */
} wakeups;

static int
free_push(BarrierObject *b, Py_ssize_t index)
{
    if (b->nfree == b->free_cap) {
        Py_ssize_t cap = b->free_cap ? b->free_cap * 2 : 4;
        Py_ssize_t *mem = PyMem_Realloc(b->free, cap * sizeof(Py_ssize_t));
        if (mem == NULL) {
            return -1;
        }
        b->free = mem;
        b->free_cap = cap;
    }
    Py_ssize_t i = b->nfree++;
    while (i > 0) {
        Py_ssize_t parent = (i - 1) / 2;
        if (b->free[parent] <= index) {
            break;
        }
        b->free[i] = b->free[parent];
        i = parent;
    }
    b->free[i] = index;
    return 0;
}

static Py_ssize_t
free_pop(BarrierObject *b)
{
    Py_ssize_t top = b->free[0];
    Py_ssize_t last = b->free[--b->nfree];
    Py_ssize_t i = 0, n = b->nfree;
    for (;;) {
        Py_ssize_t child = 2 * i + 1;
        if (child >= n) {
            break;
        }
        if (child + 1 < n && b->free[child + 1] < b->free[child]) {
            child++;
        }
        if (last <= b->free[child]) {
            break;
        }
        b->free[i] = b->free[child];
        i = child;
    }
    if (n > 0) {
        b->free[i] = last;
    }
    return top;
}

/* All of the following run inside the barrier's critical section and call
   no Python code. */

static void
notify_all(BarrierObject *b, wakeups *w)
{
    b->generation++;
    if (b->waiters != NULL && PyList_GET_SIZE(b->waiters) > 0) {
        w->all = b->waiters;   /* ownership moves to w */
        b->waiters = NULL;
    }
}

/* Wake the first suspended waiter (a spurious wakeup). */
static void
notify_one(BarrierObject *b, wakeups *w)
{
    if (b->waiters != NULL && PyList_GET_SIZE(b->waiters) > 0) {
        w->one = PyList_GET_ITEM(b->waiters, 0);
        Py_INCREF(w->one);
        /* Cannot fail: deleting a slice of an existing list. */
        (void)PyList_SetSlice(b->waiters, 0, 1, NULL);
    }
}

static void
new_round(BarrierObject *b)
{
    b->next_index = 0;
    b->nfree = 0;
}

/* A task left wait(): the spec's _leave(). */
static void
leave(BarrierObject *b, wakeups *w)
{
    if (b->count == 0) {
        if (b->state == RESETTING || b->state == DRAINING) {
            b->state = FILLING;
        }
        new_round(b);
        notify_all(b, w);
    }
}

/* Remove fut from the waiters list if it is still there. */
static void
forget_future(BarrierObject *b, PyObject *fut)
{
    if (b->waiters == NULL) {
        return;
    }
    Py_ssize_t n = PyList_GET_SIZE(b->waiters);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (PyList_GET_ITEM(b->waiters, i) == fut) {
            (void)PyList_SetSlice(b->waiters, i, i + 1, NULL);
            return;
        }
    }
}

/* Outside the critical section: resolve the futures taken by notify_one and
   notify_all, skipping those already done (a cancelled waiter's), as
   asyncio.Condition does.  Errors cannot be reported to the caller, whose
   operation did take place; they are reported as unraisable. */
static void
resolve_one(fa_state *st, PyObject *fut)
{
    PyObject *res = PyObject_CallMethodOneArg(fut, st->str_set_result,
                                              Py_False);   /* new */
    if (res != NULL) {
        Py_DECREF(res);
    }
    else if (PyErr_ExceptionMatches(st->invalid_state)) {
        PyErr_Clear();
    }
    else {
        PyErr_WriteUnraisable(fut);
    }
}

static void
wake(fa_state *st, wakeups *w)
{
    if (w->one == NULL && w->all == NULL) {
        return;
    }
    FA_ERR_SAVE(saved);   /* new (or NULL): the pending exception */
    if (w->one != NULL) {
        resolve_one(st, w->one);
        Py_CLEAR(w->one);
    }
    if (w->all != NULL) {
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(w->all); i++) {
            resolve_one(st, PyList_GET_ITEM(w->all, i));
        }
        Py_CLEAR(w->all);
    }
    FA_ERR_RESTORE(saved);
}

static PyObject *
barrier_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    fa_state *st = fa_state_of_type(type);
    if (st == NULL) {
        return NULL;
    }
    BarrierObject *self = (BarrierObject *)PyType_GenericNew(type, args,
                                                             kwds);
    if (self != NULL) {
        self->st = st;
    }
    return (PyObject *)self;
}

static int
barrier_init(BarrierObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"parties", NULL};
    PyObject *parties;   /* borrowed from args */
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O:Barrier", kwlist,
                                     &parties)) {
        return -1;
    }
    Py_ssize_t n = PyNumber_AsSsize_t(parties, PyExc_OverflowError);
    if (n == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (n < 1) {
        PyErr_SetString(PyExc_ValueError, "parties must be >= 1");
        return -1;
    }
    PyObject *old_loop = NULL, *old_waiters = NULL;   /* new */
    FA_BEGIN_CRITICAL_SECTION(self);
    self->parties = n;
    self->count = 0;
    self->state = FILLING;
    new_round(self);
    old_loop = self->loop;
    old_waiters = self->waiters;
    self->loop = NULL;
    self->waiters = NULL;
    FA_END_CRITICAL_SECTION();
    Py_XDECREF(old_loop);
    Py_XDECREF(old_waiters);
    return 0;
}

static int
barrier_traverse(BarrierObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->loop);
    Py_VISIT(self->waiters);
    return 0;
}

static int
barrier_clear(BarrierObject *self)
{
    Py_CLEAR(self->loop);
    Py_CLEAR(self->waiters);
    return 0;
}

static void
barrier_dealloc(BarrierObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);   /* borrowed until the final decref */
    PyObject_GC_UnTrack(self);
    if (self->weakreflist != NULL) {
        PyObject_ClearWeakRefs((PyObject *)self);
    }
    barrier_clear(self);
    PyMem_Free(self->free);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyObject *
barrier_repr(BarrierObject *self)
{
    int st;
    Py_ssize_t waiting, parties;
    FA_BEGIN_CRITICAL_SECTION(self);
    st = self->state;
    waiting = st == FILLING ? self->count : 0;
    parties = self->parties;
    FA_END_CRITICAL_SECTION();

    PyObject *tp = (PyObject *)Py_TYPE(self);   /* borrowed */
    PyObject *module = PyObject_GetAttr(tp, self->st->str_module);   /* new */
    if (module == NULL) {
        return NULL;
    }
    PyObject *qualname = PyObject_GetAttr(tp, self->st->str_qualname);   /* new */
    if (qualname == NULL) {
        Py_DECREF(module);
        return NULL;
    }
    PyObject *res;   /* new */
    if (st == BROKEN) {
        res = PyUnicode_FromFormat("<%S.%S object at %p [broken]>",
                                   module, qualname, self);
    }
    else {
        res = PyUnicode_FromFormat("<%S.%S object at %p [%s, waiters:%zd/%zd]>",
                                   module, qualname, self, state_names[st],
                                   waiting, parties);
    }
    Py_DECREF(module);
    Py_DECREF(qualname);
    return res;
}

static PyObject *
barrier_get_parties(BarrierObject *self, void *Py_UNUSED(closure))
{
    return PyLong_FromSsize_t(self->parties);
}

static PyObject *
barrier_get_n_waiting(BarrierObject *self, void *Py_UNUSED(closure))
{
    Py_ssize_t n;
    FA_BEGIN_CRITICAL_SECTION(self);
    n = self->state == FILLING ? self->count : 0;
    FA_END_CRITICAL_SECTION();
    return PyLong_FromSsize_t(n);
}

/* CPython's BarrierTests read asyncio.Barrier's private _count. */
static PyObject *
barrier_get_count(BarrierObject *self, void *Py_UNUSED(closure))
{
    Py_ssize_t n;
    FA_BEGIN_CRITICAL_SECTION(self);
    n = self->count;
    FA_END_CRITICAL_SECTION();
    return PyLong_FromSsize_t(n);
}

static PyObject *
barrier_get_broken(BarrierObject *self, void *Py_UNUSED(closure))
{
    int broken;
    FA_BEGIN_CRITICAL_SECTION(self);
    broken = self->state == BROKEN;
    FA_END_CRITICAL_SECTION();
    return PyBool_FromLong(broken);
}

/* ---------------------------------------------------------------------- */
/* The awaitable returned by wait(), reset(), abort() and __aexit__()      */

enum { OP_WAIT, OP_RESET, OP_ABORT, OP_NOTHING };
enum { PH_INIT, PH_BLOCKED, PH_WAITING, PH_DONE };

typedef struct {
    PyObject_HEAD
    BarrierObject *barrier;   /* strong */
    PyObject *fut;            /* strong: the future suspended on, or NULL */
    int op;
    int phase;
    Py_ssize_t index;
} OpObject;

/* Outcome of one resumption: yield *out (a new reference), return *out (a
   new reference), or fail with an exception set. */
typedef enum { STEP_YIELD, STEP_RETURN, STEP_ERROR } step_result;

static PyObject *
new_op(BarrierObject *b, int op)
{
    OpObject *o = PyObject_GC_New(OpObject, FA_TYPE(b->st, op_type));   /* new */
    if (o == NULL) {
        return NULL;
    }
    Py_INCREF(b);
    o->barrier = b;
    o->fut = NULL;
    o->op = op;
    o->phase = PH_INIT;
    o->index = -1;
    PyObject_GC_Track(o);
    return (PyObject *)o;
}

static PyObject *
barrier_wait(BarrierObject *self, PyObject *Py_UNUSED(ignored))
{
    return new_op(self, OP_WAIT);
}

static PyObject *
barrier_reset(BarrierObject *self, PyObject *Py_UNUSED(ignored))
{
    return new_op(self, OP_RESET);
}

static PyObject *
barrier_abort(BarrierObject *self, PyObject *Py_UNUSED(ignored))
{
    return new_op(self, OP_ABORT);
}

static PyObject *
barrier_aexit(BarrierObject *self, PyObject *const *Py_UNUSED(args),
              Py_ssize_t Py_UNUSED(nargs))
{
    return new_op(self, OP_NOTHING);
}

static void
raise_broken(fa_state *st, const char *msg)
{
    PyErr_SetString(st->broken_error, msg);
}

/* A waiter that took an index leaves without passing the barrier (the
   spec's finally clause when not released). */
static int
give_back(BarrierObject *b, Py_ssize_t index, wakeups *w)
{
    int rc = 0;
    b->count--;
    if (b->state == FILLING) {
        rc = free_push(b, index);
    }
    leave(b, w);
    return rc;
}

/* The running loop, checked against the barrier's; binds the barrier to it
   on first use.  A new reference. */
static PyObject *
bound_loop(BarrierObject *b)
{
    PyObject *loop = fa_require_running_loop(b->st);   /* new */
    if (loop == NULL) {
        return NULL;
    }
    int ok;
    FA_BEGIN_CRITICAL_SECTION(b);
    if (b->loop == NULL) {
        Py_INCREF(loop);
        b->loop = loop;
    }
    ok = b->loop == loop;
    FA_END_CRITICAL_SECTION();
    if (!ok) {
        PyErr_Format(PyExc_RuntimeError,
                     "%R is bound to a different event loop", (PyObject *)b);
        Py_DECREF(loop);
        return NULL;
    }
    return loop;
}

/* Suspend: make a future on the running loop and queue it, unless the
   barrier was notified (generation moved) since the caller looked at it, in
   which case the future is resolved at once and the waiter re-checks on its
   next resumption, like a notified Condition waiter. */
static step_result
suspend(OpObject *o, unsigned long long generation, PyObject **out)
{
    BarrierObject *b = o->barrier;   /* borrowed from o */
    PyObject *loop = bound_loop(b);   /* new */
    if (loop == NULL) {
        return STEP_ERROR;
    }
    PyObject *fut = PyObject_CallMethodNoArgs(loop, b->st->str_create_future);
    Py_DECREF(loop);
    if (fut == NULL) {   /* fut: new */
        return STEP_ERROR;
    }
    if (PyObject_SetAttr(fut, b->st->str_blocking, Py_True) < 0) {
        Py_DECREF(fut);
        return STEP_ERROR;
    }
    int queued = 0, notified = 0;
    FA_BEGIN_CRITICAL_SECTION(b);
    if (b->generation != generation) {
        notified = 1;
    }
    else {
        if (b->waiters == NULL) {
            b->waiters = PyList_New(0);
        }
        if (b->waiters != NULL && PyList_Append(b->waiters, fut) == 0) {
            queued = 1;
        }
    }
    FA_END_CRITICAL_SECTION();
    if (notified) {
        resolve_one(b->st, fut);
    }
    else if (!queued) {
        Py_DECREF(fut);
        return STEP_ERROR;
    }
    Py_XSETREF(o->fut, fut);   /* the op keeps one reference */
    Py_INCREF(fut);
    *out = fut;
    return STEP_YIELD;
}

/* The entry gate and arrival (the spec's wait() up to the second wait_for),
   at the first resumption and after each wakeup while blocked. */
static step_result
wait_arrive(OpObject *o, PyObject **out)
{
    BarrierObject *b = o->barrier;   /* borrowed from o */
    wakeups w = {NULL, NULL};
    step_result res;
    unsigned long long generation;
    int failed = 0;

    FA_BEGIN_CRITICAL_SECTION(b);
    generation = b->generation;
    if (b->state == DRAINING || b->state == RESETTING) {
        o->phase = PH_BLOCKED;
        res = STEP_YIELD;
    }
    else if (b->state == BROKEN) {
        o->phase = PH_DONE;
        res = STEP_ERROR;
        failed = 1;
    }
    else {
        o->index = b->nfree > 0 ? free_pop(b) : b->next_index++;
        b->count++;
        if (b->count == b->parties) {
            /* The last arrival trips the barrier and leaves at once. */
            b->state = DRAINING;
            notify_all(b, &w);
            b->count--;
            leave(b, &w);
            o->phase = PH_DONE;
            res = STEP_RETURN;
        }
        else {
            o->phase = PH_WAITING;
            res = STEP_YIELD;
        }
    }
    FA_END_CRITICAL_SECTION();

    if (failed) {
        raise_broken(b->st, "Barrier aborted");
        return STEP_ERROR;
    }
    if (res == STEP_RETURN) {
        wake(b->st, &w);
        *out = PyLong_FromSsize_t(o->index);
        return *out == NULL ? STEP_ERROR : STEP_RETURN;
    }
    res = suspend(o, generation, out);
    if (res == STEP_ERROR && o->phase == PH_WAITING) {
        /* As the spec's finally clause: the index goes back. */
        int rc;
        FA_BEGIN_CRITICAL_SECTION(b);
        rc = give_back(b, o->index, &w);
        FA_END_CRITICAL_SECTION();
        if (rc < 0) {
            PyErr_NoMemory();
        }
        wake(b->st, &w);
    }
    if (res == STEP_ERROR) {
        o->phase = PH_DONE;
    }
    return res;
}

/* A waiter suspended after arriving resumed normally. */
static step_result
wait_resume(OpObject *o, PyObject **out)
{
    BarrierObject *b = o->barrier;   /* borrowed from o */
    wakeups w = {NULL, NULL};
    unsigned long long generation;
    int again = 0, broken = 0;

    FA_BEGIN_CRITICAL_SECTION(b);
    generation = b->generation;
    if (b->state == FILLING) {
        again = 1;   /* a spurious wakeup: wait again */
    }
    else {
        broken = b->state == BROKEN || b->state == RESETTING;
        b->count--;
        leave(b, &w);
    }
    FA_END_CRITICAL_SECTION();

    if (again) {
        step_result res = suspend(o, generation, out);
        if (res == STEP_ERROR) {
            int rc;
            FA_BEGIN_CRITICAL_SECTION(b);
            rc = give_back(b, o->index, &w);
            FA_END_CRITICAL_SECTION();
            if (rc < 0) {
                PyErr_NoMemory();
            }
            wake(b->st, &w);
            o->phase = PH_DONE;
        }
        return res;
    }
    o->phase = PH_DONE;
    wake(b->st, &w);
    if (broken) {
        raise_broken(b->st, "Abort or reset of barrier");
        return STEP_ERROR;
    }
    *out = PyLong_FromSsize_t(o->index);
    return *out == NULL ? STEP_ERROR : STEP_RETURN;
}

static step_result
op_reset_or_abort(OpObject *o, PyObject **out)
{
    BarrierObject *b = o->barrier;   /* borrowed from o */
    wakeups w = {NULL, NULL};
    FA_BEGIN_CRITICAL_SECTION(b);
    if (o->op == OP_ABORT) {
        b->state = BROKEN;
    }
    else if (b->count > 0) {
        b->state = RESETTING;
    }
    else {
        b->state = FILLING;
        new_round(b);
    }
    notify_all(b, &w);
    FA_END_CRITICAL_SECTION();
    wake(b->st, &w);
    Py_INCREF(Py_None);
    *out = Py_None;
    return STEP_RETURN;
}

static step_result
op_step(OpObject *o, PyObject **out)
{
    switch (o->phase) {
    case PH_INIT:
        if (o->op == OP_WAIT) {
            return wait_arrive(o, out);
        }
        o->phase = PH_DONE;
        if (o->op == OP_NOTHING) {
            Py_INCREF(Py_None);
            *out = Py_None;
            return STEP_RETURN;
        }
        return op_reset_or_abort(o, out);
    case PH_BLOCKED:
        Py_CLEAR(o->fut);
        return wait_arrive(o, out);
    case PH_WAITING:
        Py_CLEAR(o->fut);
        return wait_resume(o, out);
    default:
        PyErr_SetString(PyExc_RuntimeError,
                        "cannot reuse already awaited coroutine");
        return STEP_ERROR;
    }
}

/* Leave by an exception while suspended (throw(), close(), finalization):
   what the spec's finally clauses and asyncio.Condition.wait do. */
static void
op_abandon(OpObject *o)
{
    BarrierObject *b = o->barrier;   /* borrowed from o */
    PyObject *fut = o->fut;          /* new: taken from o */
    wakeups w = {NULL, NULL};
    int rc = 0;
    int phase = o->phase;
    o->fut = NULL;
    o->phase = PH_DONE;
    if (phase != PH_BLOCKED && phase != PH_WAITING) {
        Py_XDECREF(fut);
        return;
    }
    FA_BEGIN_CRITICAL_SECTION(b);
    if (fut != NULL) {
        forget_future(b, fut);
    }
    notify_one(b, &w);
    if (phase == PH_WAITING) {
        rc = give_back(b, o->index, &w);
    }
    FA_END_CRITICAL_SECTION();
    Py_XDECREF(fut);
    wake(b->st, &w);
    if (rc < 0) {
        PyErr_NoMemory();
        PyErr_WriteUnraisable((PyObject *)b);
    }
}

static PyObject *
op_iternext(OpObject *o)
{
    PyObject *out = NULL;   /* new */
    switch (op_step(o, &out)) {
    case STEP_YIELD:
        return out;
    case STEP_RETURN:
        if (out != Py_None) {
            PyErr_SetObject(PyExc_StopIteration, out);
        }
        Py_DECREF(out);
        return NULL;
    default:
        return NULL;
    }
}

#if FA_HAVE_AM_SEND
static PySendResult
op_am_send(OpObject *o, PyObject *arg, PyObject **result)
{
    switch (op_step(o, result)) {
    case STEP_YIELD:
        return PYGEN_NEXT;
    case STEP_RETURN:
        return PYGEN_RETURN;
    default:
        *result = NULL;
        return PYGEN_ERROR;
    }
}
#endif

static PyObject *
op_send(OpObject *o, PyObject *arg)
{
    if (o->phase == PH_INIT && arg != Py_None) {
        PyErr_SetString(PyExc_TypeError,
                        "can't send non-None value to a just-started "
                        "coroutine");
        return NULL;
    }
    return op_iternext(o);
}

static PyObject *
op_throw(OpObject *o, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1 || nargs > 3) {
        PyErr_Format(PyExc_TypeError,
                     "throw expected at least 1 argument, got %zd", nargs);
        return NULL;
    }
    PyObject *typ = args[0];                           /* borrowed */
    PyObject *val = nargs > 1 ? args[1] : Py_None;     /* borrowed */
    PyObject *tb = nargs > 2 ? args[2] : Py_None;      /* borrowed */

    if (tb != Py_None && !PyTraceBack_Check(tb)) {
        PyErr_SetString(PyExc_TypeError,
                        "throw() third argument must be a traceback object");
        return NULL;
    }
    op_abandon(o);

    if (PyExceptionClass_Check(typ)) {
        Py_INCREF(typ);
        Py_INCREF(val);
        PyObject *t = typ, *v = val, *b = NULL;   /* new */
        PyErr_NormalizeException(&t, &v, &b);
        Py_XDECREF(b);
        if (tb != Py_None && v != NULL) {
            PyException_SetTraceback(v, tb);
        }
        PyErr_Restore(t, v, tb != Py_None ? (Py_INCREF(tb), tb) : NULL);
        return NULL;
    }
    if (PyExceptionInstance_Check(typ)) {
        if (val != Py_None) {
            PyErr_SetString(PyExc_TypeError,
                            "instance exception may not have a separate "
                            "value");
            return NULL;
        }
        if (tb != Py_None) {
            PyException_SetTraceback(typ, tb);
        }
        PyErr_SetObject((PyObject *)Py_TYPE(typ), typ);
        return NULL;
    }
    PyErr_Format(PyExc_TypeError,
                 "exceptions must be classes or instances deriving from "
                 "BaseException, not %s", Py_TYPE(typ)->tp_name);
    return NULL;
}

static PyObject *
op_close(OpObject *o, PyObject *Py_UNUSED(ignored))
{
    op_abandon(o);
    Py_RETURN_NONE;
}

static PyObject *
op_await(OpObject *o)
{
    Py_INCREF(o);
    return (PyObject *)o;
}

static void
op_finalize(OpObject *o)
{
    if (o->phase != PH_BLOCKED && o->phase != PH_WAITING) {
        return;
    }
    FA_ERR_SAVE(saved);   /* new (or NULL): the pending exception */
    op_abandon(o);
    FA_ERR_RESTORE(saved);
}

static int
op_traverse(OpObject *o, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(o));
    Py_VISIT(o->barrier);
    Py_VISIT(o->fut);
    return 0;
}

static int
op_clear(OpObject *o)
{
    o->phase = PH_DONE;   /* a cleared op never touches its barrier again */
    Py_CLEAR(o->barrier);
    Py_CLEAR(o->fut);
    return 0;
}

static void
op_dealloc(OpObject *o)
{
    PyTypeObject *tp = Py_TYPE(o);   /* borrowed until the final decref */
    if (PyObject_CallFinalizerFromDealloc((PyObject *)o) < 0) {
        return;   /* resurrected */
    }
    PyObject_GC_UnTrack(o);
    op_clear(o);
    tp->tp_free((PyObject *)o);
    Py_DECREF(tp);
}

static PyObject *
op_get_name(OpObject *o, void *Py_UNUSED(closure))
{
    static const char *const names[] = {
        "Barrier.wait", "Barrier.reset", "Barrier.abort", "Barrier.__aexit__"};
    return PyUnicode_FromString(names[o->op]);
}

static PyMethodDef op_methods[] = {
    {"send", (PyCFunction)op_send, METH_O,
     PyDoc_STR("send(value) -> the next future to wait on; StopIteration "
               "carries the result.")},
    {"throw", (PyCFunction)(void (*)(void))op_throw, METH_FASTCALL,
     PyDoc_STR("throw(exc) -> leave the barrier and raise exc.")},
    {"close", (PyCFunction)op_close, METH_NOARGS,
     PyDoc_STR("close() -> leave the barrier if waiting.")},
    {NULL, NULL, 0, NULL}
};

static PyGetSetDef op_getset[] = {
    {"__name__", (getter)op_get_name, NULL, NULL, NULL},
    {"__qualname__", (getter)op_get_name, NULL, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static PyType_Slot op_slots[] = {
    {Py_tp_dealloc, op_dealloc},
    {Py_tp_traverse, op_traverse},
    {Py_tp_clear, op_clear},
    {Py_tp_finalize, op_finalize},
    {Py_tp_iter, PyObject_SelfIter},
    {Py_tp_iternext, op_iternext},
    {Py_tp_methods, op_methods},
    {Py_tp_getset, op_getset},
    {Py_am_await, op_await},
#if FA_HAVE_AM_SEND
    {Py_am_send, op_am_send},
#endif
    {Py_tp_doc, (void *)PyDoc_STR(
        "The awaitable returned by Barrier.wait(), reset() and abort().")},
    {0, NULL}
};

static PyType_Spec op_spec = {
    "fastaio._core._BarrierOp",
    sizeof(OpObject),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | FA_TPFLAGS_DISALLOW_INSTANTIATION,
    op_slots,
};

/* ---------------------------------------------------------------------- */

static PyMethodDef barrier_methods[] = {
    {"wait", (PyCFunction)barrier_wait, METH_NOARGS,
     PyDoc_STR("wait() -> awaitable: wait until parties tasks wait; the "
               "result is this task's index in the round.")},
    {"reset", (PyCFunction)barrier_reset, METH_NOARGS,
     PyDoc_STR("reset() -> awaitable: return the barrier to the empty "
               "state; waiters get BrokenBarrierError.")},
    {"abort", (PyCFunction)barrier_abort, METH_NOARGS,
     PyDoc_STR("abort() -> awaitable: break the barrier; current and future "
               "waiters get BrokenBarrierError.")},
    {"__aenter__", (PyCFunction)barrier_wait, METH_NOARGS, NULL},
    {"__aexit__", (PyCFunction)(void (*)(void))barrier_aexit, METH_FASTCALL,
     NULL},
    {NULL, NULL, 0, NULL}
};

static PyGetSetDef barrier_getset[] = {
    {"parties", (getter)barrier_get_parties, NULL,
     PyDoc_STR("Number of tasks required to trip the barrier."), NULL},
    {"n_waiting", (getter)barrier_get_n_waiting, NULL,
     PyDoc_STR("Number of tasks waiting while the barrier fills."), NULL},
    {"broken", (getter)barrier_get_broken, NULL,
     PyDoc_STR("True if the barrier is broken."), NULL},
    {"_count", (getter)barrier_get_count, NULL,
     PyDoc_STR("Number of tasks inside wait() past the entry gate."), NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static PyMemberDef barrier_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(BarrierObject, weakreflist),
     READONLY, NULL},
    {NULL, 0, 0, 0, NULL}
};

static PyType_Slot barrier_slots[] = {
    {Py_tp_new, barrier_new},
    {Py_tp_init, barrier_init},
    {Py_tp_dealloc, barrier_dealloc},
    {Py_tp_traverse, barrier_traverse},
    {Py_tp_clear, barrier_clear},
    {Py_tp_repr, barrier_repr},
    {Py_tp_methods, barrier_methods},
    {Py_tp_getset, barrier_getset},
    {Py_tp_members, barrier_members},
    {Py_tp_doc, (void *)PyDoc_STR(
        "Barrier(parties)\n--\n\n"
        "asyncio.Barrier with CPython 3.14's behaviour on every version; "
        "arrival indices are unique within a round even when a waiter is "
        "cancelled (gh-155233).")},
    {0, NULL}
};

static PyType_Spec barrier_spec = {
    "fastaio._core.Barrier",
    sizeof(BarrierObject),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    barrier_slots,
};

/* ---------------------------------------------------------------------- */
/* module                                                                  */

/* Adds Barrier and BrokenBarrierError to module. */
int
fa_barrier_init(fa_state *st, PyObject *module)
{
#define LOAD(field, expr) \
    if ((st->field = (expr)) == NULL) { return -1; }
    LOAD(invalid_state, fa_import_attr("asyncio", "InvalidStateError"));
#if FA_HAVE_ASYNCIO_BARRIER
    LOAD(broken_error, fa_import_attr("asyncio", "BrokenBarrierError"));
#else
    LOAD(broken_error, PyErr_NewExceptionWithDoc(
        "fastaio.BrokenBarrierError",
        "The barrier was aborted or reset while a task waited on it.",
        PyExc_RuntimeError, NULL));
#endif
    LOAD(barrier_type, PyType_FromModuleAndSpec(module, &barrier_spec, NULL));
    LOAD(op_type, PyType_FromModuleAndSpec(module, &op_spec, NULL));
#undef LOAD
    FA_DISALLOW_INSTANTIATION(st->op_type);
    /* Assigning __name__ makes tp_name the bare name, as for a class written
       in Python, so that messages such as "object Barrier can't be used in
       'await' expression" read the same for both implementations;
       __module__ stays what the spec's dotted name set. */
    PyObject *types[] = {st->barrier_type, st->op_type};   /* borrowed */
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        const char *dotted = ((PyTypeObject *)types[i])->tp_name;
        PyObject *name = PyUnicode_FromString(strrchr(dotted, '.') + 1);
        if (name == NULL                                       /* new */
                || PyObject_SetAttrString(types[i], "__name__", name) < 0) {
            Py_XDECREF(name);
            return -1;
        }
        Py_DECREF(name);
    }
    if (PyModule_AddObject(module, "Barrier",
                           Py_NewRef(st->barrier_type)) < 0) {
        Py_DECREF(st->barrier_type);
        return -1;
    }
    if (PyModule_AddObject(module, "BrokenBarrierError",
                           Py_NewRef(st->broken_error)) < 0) {
        Py_DECREF(st->broken_error);
        return -1;
    }
    return 0;
}
