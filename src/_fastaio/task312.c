/*
 * fastaio.Task on 3.12+: asyncio.Task itself.
 *
 * 3.12.0-3.12.4 crash in Task.get_coro() once an eager start completed the
 * task, because that start leaves the coroutine field NULL (gh-122332,
 * fixed in 3.12.5, whose get_coro() then returns None).  There the compiled
 * factory puts None into that field after such a start
 * (fa_task312_after_eager_start), so that tasks stay exact asyncio.Task
 * objects, which asyncio's C code handles on its fast paths.  The field's
 * offset is derived from the layout of those releases and checked at
 * import through the _coro getter; if the check fails, fastaio.Task is
 * instead a subclass of asyncio.Task with the layout of its base, no
 * __init__ of its own and a get_coro() that returns what _coro returns.
 *
 * Reference ownership: see fastaio.h.
 */
#include "fastaio.h"

#if FA_NATIVE_EAGER

#if FA_MAY_NEED_GET_CORO_FIX
static PyObject *
task_get_coro(PyObject *self, PyObject *Py_UNUSED(arg))
{
    fa_state *st = fa_state_of_type(Py_TYPE(self));
    if (st == NULL) {
        return NULL;
    }
    return PyObject_GetAttr(self, st->str_coro);
}

static void
task_dealloc(PyObject *self)
{
    /* Whether or not the base's dealloc finalizes subclass instances, the
       "Task was destroyed but it is pending!" report runs once. */
    if (PyObject_CallFinalizerFromDealloc(self) < 0) {
        return;   /* resurrected */
    }
    /* asyncio.Task: the base of the type whose tp_dealloc this is.  Its
       dealloc (a heap type's, on 3.12) releases the instance's type. */
    PyTypeObject *tp = Py_TYPE(self);   /* borrowed */
    while (tp->tp_dealloc != task_dealloc) {
        tp = tp->tp_base;
    }
    tp->tp_base->tp_dealloc(self);
}

static PyMethodDef task_methods[] = {
    {"get_coro", (PyCFunction)task_get_coro, METH_NOARGS,
     "Return the coroutine, or None once an eager start finished it."},
    {NULL, NULL, 0, NULL}
};

static PyType_Slot task_slots[] = {
    {Py_tp_methods, task_methods},
    {Py_tp_dealloc, task_dealloc},
    {Py_tp_doc, (void *)PyDoc_STR(
        "asyncio.Task whose get_coro() is safe after an eager start\n"
        "completed the task (CPython 3.12.0-3.12.4 crash there, "
        "gh-122332).")},
    {0, NULL}
};

static PyType_Spec task_spec = {
    "fastaio.Task",
    0,   /* the base's size: no fields of its own */
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    task_slots,
};
#endif  /* FA_MAY_NEED_GET_CORO_FIX */

#if FA_MAY_NEED_GET_CORO_FIX
/* 3.12.0-3.12.4 TaskObj: FutureObj's fields, then task_fut_waiter, then
   task_coro (Modules/_asynciomodule.c of those releases).  FutureObj ends
   with a pointer, so task_fut_waiter starts at sizeof(FutureObj), which is
   _asyncio.Future's basic size.  Returns the offset of task_coro, checked
   by writing a marker there in a zeroed Task (whose deallocation reads
   nothing else) and reading it back through the _coro getter; 0 if the
   layout is not the expected one (then nothing is ever written). */
static Py_ssize_t
find_coro_offset(fa_state *st, PyObject *task_type)
{
    PyObject *future = fa_import_attr("asyncio", "Future");   /* new */
    if (future == NULL) {
        return -1;
    }
    Py_ssize_t off = 0;
    PyTypeObject *ft = (PyTypeObject *)future;   /* borrowed */
    PyTypeObject *tt = (PyTypeObject *)task_type;
    if (!PyType_Check(future)
            || strcmp(ft->tp_name, "_asyncio.Future") != 0
            || strcmp(tt->tp_name, "_asyncio.Task") != 0
            || tt->tp_base != ft
            || ft->tp_basicsize % (Py_ssize_t)sizeof(PyObject *) != 0
            || tt->tp_basicsize
                < ft->tp_basicsize + 2 * (Py_ssize_t)sizeof(PyObject *)) {
        Py_DECREF(future);
        return 0;
    }
    Py_ssize_t guess = ft->tp_basicsize + (Py_ssize_t)sizeof(PyObject *);
    Py_DECREF(future);
    PyObject *probe = tt->tp_alloc(tt, 0);   /* new: all fields zero */
    if (probe == NULL) {
        return -1;
    }
    PyObject *marker = PyList_New(0);        /* new */
    if (marker == NULL) {
        Py_DECREF(probe);
        return -1;
    }
    PyObject **slot = (PyObject **)((char *)probe + guess);
    *slot = marker;   /* borrowed while it is there */
    PyObject *seen = PyObject_GetAttr(probe, st->str_coro);   /* new */
    *slot = NULL;
    if (seen == marker) {
        off = guess;
    }
    else if (seen == NULL) {
        off = -1;
    }
    Py_XDECREF(seen);
    Py_DECREF(marker);
    Py_DECREF(probe);
    return off;
}

/* After the factory's eager start of task (a new reference, or NULL):
   where that start completed the task and left its coroutine NULL, put
   None there, what get_coro() returns from 3.12.5 on. */
void
fa_task312_after_eager_start(fa_state *st, PyObject *task)
{
    if (st->off_coro > 0 && task != NULL
            && PyObject_TypeCheck(task, (PyTypeObject *)st->task_base)) {
        PyObject **slot = (PyObject **)((char *)task + st->off_coro);
        if (*slot == NULL) {
            *slot = Py_NewRef(Py_None);
        }
    }
}
#endif  /* FA_MAY_NEED_GET_CORO_FIX */

/* Adds Task to module and keeps it in the state. */
int
fa_task312_init(fa_state *st, PyObject *module)
{
    PyObject *base = fa_import_attr("asyncio", "Task");   /* new */
    if (base == NULL) {
        return -1;
    }
    PyObject *task = base;   /* new */
#if FA_MAY_NEED_GET_CORO_FIX
    if (FA_GET_CORO_CRASHES()) {
        Py_DECREF(base);
        base = fa_c_task_type();   /* new */
        if (base == NULL) {
            return -1;
        }
        st->task_base = base;   /* keeps the reference */
        st->off_coro = find_coro_offset(st, base);
        if (st->off_coro < 0) {
            return -1;
        }
        if (st->off_coro > 0) {
            task = Py_NewRef(base);   /* asyncio.Task itself */
        }
        else {
            task = PyType_FromModuleAndSpec(module, &task_spec, base);
            if (task == NULL) {
                return -1;
            }
        }
    }
#endif
    st->task_type = task;   /* keeps the reference */
    if (PyModule_AddObject(module, "Task", Py_NewRef(task)) < 0) {
        Py_DECREF(task);
        return -1;
    }
    return 0;
}

#endif  /* FA_NATIVE_EAGER */
