/*
 * fastaio._core: the compiled core of fastaio.
 *
 * Its pure-Python twin is python/fastaio/_pycore.py; every name defined here
 * behaves as the name of the same spelling there, and the test-suite runs
 * against both.  Names this module does not define come from the twin.
 *
 * Reference ownership: every PyObject* local is commented "new" (owned,
 * released on every path) or "borrowed" (kept alive by its container for the
 * whole use).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "compat.h"

typedef struct {
    PyObject *get_running_loop;   /* asyncio.events._get_running_loop */
#if !FA_NATIVE_CURRENT_TASK
    PyObject *current_tasks;      /* asyncio.tasks._current_tasks (a dict) */
#endif
} core_state;

static core_state state;

/* ---------------------------------------------------------------------- */
/* current_task                                                            */

#if !FA_NATIVE_CURRENT_TASK

/* The loop named by the caller, or the running loop; a new reference. */
static PyObject *
resolve_loop(PyObject *loop)
{
    if (loop != Py_None) {
        Py_INCREF(loop);
        return loop;
    }
    loop = PyObject_CallNoArgs(state.get_running_loop);   /* new */
    if (loop == Py_None) {
        Py_DECREF(loop);
        PyErr_SetString(PyExc_RuntimeError, "no running event loop");
        return NULL;
    }
    return loop;
}

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

    loop = resolve_loop(loop);   /* new */
    if (loop == NULL) {
        return NULL;
    }
    PyObject *task = PyDict_GetItemWithError(state.current_tasks, loop);
    Py_DECREF(loop);
    if (task == NULL) {
        if (PyErr_Occurred()) {
            return NULL;
        }
        Py_RETURN_NONE;
    }
    Py_INCREF(task);
    return task;
}

#endif  /* !FA_NATIVE_CURRENT_TASK */

/* ---------------------------------------------------------------------- */
/* module                                                                  */

static PyMethodDef core_methods[] = {
#if !FA_NATIVE_CURRENT_TASK
    {"current_task", (PyCFunction)(void (*)(void))current_task,
     METH_FASTCALL | METH_KEYWORDS, current_task_doc},
#endif
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT,
    "fastaio._core",
    "The compiled core of fastaio (see fastaio._pycore for the specification).",
    -1,
    core_methods,
};

static PyObject *
import_attr(const char *module_name, const char *attr)
{
    PyObject *mod = PyImport_ImportModule(module_name);   /* new */
    if (mod == NULL) {
        return NULL;
    }
    PyObject *res = PyObject_GetAttrString(mod, attr);    /* new */
    Py_DECREF(mod);
    return res;
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

    if (state.get_running_loop == NULL) {
        state.get_running_loop = import_attr("asyncio.events",
                                             "_get_running_loop");
        if (state.get_running_loop == NULL) {
            return NULL;
        }
    }
#if !FA_NATIVE_CURRENT_TASK
    if (state.current_tasks == NULL) {
        state.current_tasks = import_attr("asyncio.tasks", "_current_tasks");
        if (state.current_tasks == NULL) {
            return NULL;
        }
        if (!PyDict_CheckExact(state.current_tasks)) {
            PyErr_SetString(PyExc_ImportError,
                            "asyncio.tasks._current_tasks is not a dict");
            Py_CLEAR(state.current_tasks);
            return NULL;
        }
    }
#endif

    PyObject *m = PyModule_Create(&core_module);   /* new */
    if (m == NULL) {
        return NULL;
    }
#if FA_NATIVE_CURRENT_TASK
    {
        PyObject *ct = import_attr("asyncio", "current_task");   /* new */
        if (ct == NULL || PyModule_AddObject(m, "current_task", ct) < 0) {
            Py_XDECREF(ct);
            Py_DECREF(m);
            return NULL;
        }
    }
#endif
    if (PyModule_AddIntConstant(m, "NATIVE_CURRENT_TASK",
                                FA_NATIVE_CURRENT_TASK) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
