/*
 * fastaio.Task on 3.12+: asyncio.Task itself, except on 3.12.0-3.12.4,
 * whose Task.get_coro() crashes after an eager start completed the task
 * (gh-122332).  There it is a subclass of asyncio.Task with the layout of
 * its base (no fields of its own), no __init__ of its own (construction
 * stays asyncio's C code) and a get_coro() that returns what the _coro
 * attribute returns: None once the eager start cleared the coroutine, as
 * get_coro() does from 3.12.5 on.
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
        if (!PyType_Check(base)
                || !PyType_HasFeature((PyTypeObject *)base,
                                      Py_TPFLAGS_HEAPTYPE)) {
            Py_DECREF(base);
            PyErr_SetString(PyExc_ImportError,
                            "fastaio._core needs asyncio.Task to be the C "
                            "Task of _asyncio");
            return -1;
        }
        st->task_base = base;   /* keeps the reference */
        task = PyType_FromModuleAndSpec(module, &task_spec, base);
        if (task == NULL) {
            return -1;
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
