/*
 * later(func): an awaitable that finishes at its first step, without
 * suspending: it calls func() then (when it is awaited, as a coroutine
 * runs its body) and returns what func returns, or raises what it raises.
 * For what is usually finished by the time it is awaited
 * (TaskGroup.__aenter__, and __aexit__ with nothing left to wait for).
 * Awaiting it costs no coroutine frame, and no StopIteration where the
 * caller uses am_send (3.10+).
 *
 * Reference ownership: see fastaio.h.
 */
#include "fastaio.h"

typedef struct {
    PyObject_HEAD
    PyObject *func;   /* new; NULL once called */
} ReadyObject;

/* What func() returns (new reference), once; NULL with an error set. */
static PyObject *
ready_take(ReadyObject *r)
{
    PyObject *func = r->func;
    if (func == NULL) {
        PyErr_SetString(PyExc_RuntimeError,
                        "cannot reuse already awaited awaitable");
        return NULL;
    }
    r->func = NULL;
    PyObject *res = PyObject_CallNoArgs(func);
    Py_DECREF(func);
    return res;
}

static PyObject *
ready_iternext(ReadyObject *r)
{
    PyObject *value = ready_take(r);   /* new */
    if (value == NULL) {
        return NULL;
    }
    if (value != Py_None) {
        /* StopIteration(value), built here so that a tuple or an
           exception is not taken for the exception's arguments. */
        PyObject *stop = PyObject_CallOneArg(PyExc_StopIteration, value);
        if (stop != NULL) {   /* new */
            PyErr_SetObject(PyExc_StopIteration, stop);
            Py_DECREF(stop);
        }
    }
    Py_DECREF(value);
    return NULL;
}

#if FA_HAVE_AM_SEND
static PySendResult
ready_am_send(ReadyObject *r, PyObject *arg, PyObject **result)
{
    *result = ready_take(r);
    return *result == NULL ? PYGEN_ERROR : PYGEN_RETURN;
}
#endif

static PyObject *
ready_send(ReadyObject *r, PyObject *arg)
{
    if (arg != Py_None && r->func != NULL) {
        PyErr_SetString(PyExc_TypeError,
                        "can't send non-None value to a just-started "
                        "coroutine");
        return NULL;
    }
    return ready_iternext(r);
}

/* throw(exc): the awaitable has not started anything, so the exception
   goes back to the caller as it is (as for a coroutine not yet started). */
static PyObject *
ready_throw(ReadyObject *r, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1 || nargs > 3) {
        PyErr_Format(PyExc_TypeError,
                     "throw expected at least 1 argument, got %zd", nargs);
        return NULL;
    }
    Py_CLEAR(r->func);
    PyObject *typ = args[0];
    PyObject *val = nargs > 1 ? args[1] : Py_None;
    if (PyExceptionInstance_Check(typ)) {
        PyErr_SetObject((PyObject *)Py_TYPE(typ), typ);
    }
    else if (PyExceptionClass_Check(typ)) {
        PyErr_SetObject(typ, val);
    }
    else {
        PyErr_SetString(PyExc_TypeError,
                        "exceptions must be classes or instances deriving "
                        "from BaseException");
    }
    return NULL;
}

static PyObject *
ready_close(ReadyObject *r, PyObject *Py_UNUSED(ignored))
{
    Py_CLEAR(r->func);
    Py_RETURN_NONE;
}

static PyObject *
ready_await(ReadyObject *r)
{
    return Py_NewRef(r);
}

static int
ready_traverse(ReadyObject *r, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(r));
    Py_VISIT(r->func);
    return 0;
}

static int
ready_clear(ReadyObject *r)
{
    Py_CLEAR(r->func);
    return 0;
}

static void
ready_dealloc(ReadyObject *r)
{
    PyTypeObject *tp = Py_TYPE(r);   /* borrowed until the final decref */
    PyObject_GC_UnTrack(r);
    ready_clear(r);
    tp->tp_free((PyObject *)r);
    Py_DECREF(tp);
}

static PyMethodDef ready_methods[] = {
    {"send", (PyCFunction)ready_send, METH_O, NULL},
    {"throw", (PyCFunction)(void (*)(void))ready_throw, METH_FASTCALL, NULL},
    {"close", (PyCFunction)ready_close, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL}
};

static PyType_Slot ready_slots[] = {
    {Py_tp_dealloc, ready_dealloc},
    {Py_tp_traverse, ready_traverse},
    {Py_tp_clear, ready_clear},
    {Py_tp_iter, PyObject_SelfIter},
    {Py_tp_iternext, ready_iternext},
    {Py_tp_methods, ready_methods},
    {Py_am_await, ready_await},
#if FA_HAVE_AM_SEND
    {Py_am_send, ready_am_send},
#endif
    {Py_tp_doc, (void *)PyDoc_STR(
        "An awaitable that returns func() without suspending.")},
    {0, NULL}
};

static PyType_Spec ready_spec = {
    "fastaio._core._Later",
    sizeof(ReadyObject),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | FA_TPFLAGS_DISALLOW_INSTANTIATION,
    ready_slots,
};

PyDoc_STRVAR(later_doc,
"later($module, func, /)\n--\n\n"
"An awaitable that calls func() when it is awaited and returns its\n"
"result at once, without suspending.");

static PyObject *
later(PyObject *module, PyObject *func)
{
    fa_state *st = fa_state_of_module(module);
    if (!PyCallable_Check(func)) {
        PyErr_SetString(PyExc_TypeError, "later() needs a callable");
        return NULL;
    }
    ReadyObject *r = PyObject_GC_New(ReadyObject, FA_TYPE(st, ready_type));
    if (r == NULL) {   /* new */
        return NULL;
    }
    r->func = Py_NewRef(func);
    PyObject_GC_Track(r);
    return (PyObject *)r;
}

static PyMethodDef ready_functions[] = {
    {"later", later, METH_O, later_doc},
    {NULL, NULL, 0, NULL}
};

int
fa_ready_init(fa_state *st, PyObject *module)
{
    st->ready_type = PyType_FromModuleAndSpec(module, &ready_spec, NULL);
    if (st->ready_type == NULL) {
        return -1;
    }
    FA_DISALLOW_INSTANTIATION(st->ready_type);
    return PyModule_AddFunctions(module, ready_functions);
}
