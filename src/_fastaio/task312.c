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
    return PyObject_GetAttr(self, fa_state.str_coro);
}

static void
task_dealloc(PyObject *self)
{
    /* Whether or not the base's dealloc finalizes subclass instances, the
       "Task was destroyed but it is pending!" report runs once. */
    if (PyObject_CallFinalizerFromDealloc(self) < 0) {
        return;   /* resurrected */
    }
    ((PyTypeObject *)fa_state.task_base)->tp_dealloc(self);
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

/* Adds Task to module; returns it (new reference) or NULL. */
PyObject *
fa_task312_init(PyObject *module)
{
    PyObject *base = fa_import_attr("asyncio", "Task");   /* new */
    if (base == NULL) {
        return NULL;
    }
    PyObject *task = base;   /* new */
#if FA_MAY_NEED_GET_CORO_FIX
    if (FA_GET_CORO_CRASHES()) {
        if (!PyType_Check(base)
                || !(((PyTypeObject *)base)->tp_flags & Py_TPFLAGS_HAVE_GC)) {
            Py_DECREF(base);
            PyErr_SetString(PyExc_ImportError,
                            "fastaio._core needs asyncio.Task to be the C "
                            "Task of _asyncio");
            return NULL;
        }
        fa_state.task_base = base;   /* keeps the reference */
        task = PyType_FromSpecWithBases(&task_spec, base);
        if (task == NULL) {
            return NULL;
        }
    }
#endif
    if (PyModule_AddObject(module, "Task", Py_NewRef(task)) < 0) {
        Py_DECREF(task);   /* the reference AddObject did not take */
        Py_DECREF(task);
        return NULL;
    }
    return task;
}

#endif  /* FA_NATIVE_EAGER */
