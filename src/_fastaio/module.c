/*
 * fastaio._core: the compiled core of fastaio.
 *
 * Its pure-Python twin is python/fastaio/_pycore.py; every name defined here
 * behaves as the name of the same spelling there, and the test-suite runs
 * against both.  Names this module does not define come from the twin.
 *
 * It is one extension module built from several C files:
 *   - module.c (this file): the module, the state it keeps from asyncio,
 *     current_task() (on 3.9-3.11 it reads the running loop straight from
 *     the thread state, layout checked at import, and the current-task
 *     dict), the checks shared by the factory and the Task, and
 *     loop_is_running, loop_get_debug: BaseEventLoop.is_running() and
 *     get_debug() without a Python frame (asyncio's Task constructor calls
 *     both for every task);
 *   - factory.c: the eager task factory and create_task_via_factory;
 *   - task39.c: Task on 3.9-3.11, a subclass of _asyncio.Task that can
 *     take its first step inside the constructor;
 *   - task312.c: Task on 3.12+ (a subclass on 3.12.0-3.12.4 only);
 *   - gathering.c: gather() (3.14's) on every version, and the calls of a
 *     future's methods it shares with the TaskGroup (finished_ok);
 *   - barrier.c: Barrier and BrokenBarrierError;
 *   - ready.c: later(), the awaitable of TaskGroup's enter and quick exit;
 *   - handles.c: loop_call_soon and handle_run, BaseEventLoop.call_soon
 *     with its non-debug path compiled and Handle._run without its frame.
 *   - loopcache.c: the loop attributes those methods keep between calls
 *     (3.12+ with the GIL), kept exact by a dict watcher; its callback,
 *     which is given no context, finds the caches through a process-wide
 *     list of pointers into the module states.
 * The C code imports asyncio only, never a Python module of fastaio.
 *
 * The module uses multi-phase initialisation (PEP 489): everything it keeps
 * is in its module state (fa_state, fastaio.h) and every type is a heap
 * type made from a spec with the module, so that each module object is
 * independent.  Objects reach the state through a pointer they keep (the
 * factory, the gather callback, the barrier, the step catcher: their type
 * keeps the module alive), module functions through the module, and type
 * methods through their type (FA_GET_MODULE_BY_DEF).  The one C-level
 * global is the eager nesting depth, a thread-local (see fastaio.h).
 *
 * Reference ownership: every PyObject* local is commented "new" (owned,
 * released on every path) or "borrowed" (kept alive by its container for the
 * whole use).
 */
#include "fastaio.h"

/* See fastaio.h: per thread, not per module. */
FA_THREAD_LOCAL int fa_eager_depth;
FA_THREAD_LOCAL void *fa_exc_clean;

/* ---------------------------------------------------------------------- */
/* the running loop                                                        */

#if !FA_NATIVE_CURRENT_TASK
/* 3.7-3.11 keep the running loop in the thread-state dict, wrapped in a
   holder object whose first field is the loop (the holder also records the
   pid, checked by CPython to ignore a loop inherited through fork()).  The
   layout is checked in check_holder_layout(st); fork children use the slow
   path. */
typedef struct {
    PyObject_HEAD
    PyObject *loop;
} loop_holder;
#endif

/* The running loop of this thread, or None; a new reference. */
PyObject *
fa_running_loop(fa_state *st)
{
#if !FA_NATIVE_CURRENT_TASK
    if (st->holder_type != NULL && !st->forked) {
        PyObject *ts_dict = PyThreadState_GetDict();   /* borrowed */
        if (ts_dict != NULL) {
            PyObject *holder = PyDict_GetItemWithError(
                ts_dict, st->running_key);            /* borrowed */
            if (holder == NULL) {
                if (PyErr_Occurred()) {
                    return NULL;
                }
                Py_RETURN_NONE;
            }
            if ((PyObject *)Py_TYPE(holder) == st->holder_type) {
                return Py_NewRef(((loop_holder *)holder)->loop);
            }
        }
    }
#endif
    return PyObject_CallNoArgs(st->get_running_loop);
}

/* The running loop of this thread (a new reference), or NULL with
   RuntimeError("no running event loop") as asyncio.get_running_loop(). */
PyObject *
fa_require_running_loop(fa_state *st)
{
    PyObject *loop = fa_running_loop(st);   /* new */
    if (loop == Py_None) {
        Py_DECREF(loop);
        PyErr_SetString(PyExc_RuntimeError, "no running event loop");
        return NULL;
    }
    return loop;
}

/* 1 if loop is the running loop of this thread, 0 if not, -1 on error. */
static int
is_running_here(fa_state *st, PyObject *loop)
{
    PyObject *running = fa_running_loop(st);   /* new */
    if (running == NULL) {
        return -1;
    }
    int res = running == loop;
    Py_DECREF(running);
    return res;
}

#if !FA_NATIVE_CURRENT_TASK
static int
check_holder_layout(fa_state *st)
{
    PyObject *set = NULL, *probe = NULL, *res = NULL;   /* new */
    PyObject *current = PyObject_CallNoArgs(st->get_running_loop);
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
        : PyDict_GetItemWithError(ts_dict, st->running_key);  /* borrowed */
    if (holder == NULL && PyErr_Occurred()) {
        goto restore;
    }
    if (holder != NULL
            && Py_TYPE(holder)->tp_basicsize >= (Py_ssize_t)sizeof(loop_holder)
            && strstr(Py_TYPE(holder)->tp_name, "RunningLoopHolder") != NULL
            && ((loop_holder *)holder)->loop == expect) {
        st->holder_type = Py_NewRef((PyObject *)Py_TYPE(holder));
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
after_fork_child(PyObject *module, PyObject *Py_UNUSED(arg))
{
    fa_state_of_module(module)->forked = 1;
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
current_task(PyObject *module, PyObject *const *args,
             Py_ssize_t nargs, PyObject *kwnames)
{
    fa_state *st = fa_state_of_module(module);
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
        task = PyDict_GetItemWithError(st->current_tasks, loop);
    }
    else {
        loop = fa_require_running_loop(st);   /* new */
        if (loop == NULL) {
            return NULL;
        }
        task = PyDict_GetItemWithError(st->current_tasks, loop);
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

int
fa_check_context(PyObject *context)
{
    if (context != Py_None && !PyContext_CheckExact(context)) {
        PyErr_Format(PyExc_TypeError,
                     "context must be a contextvars.Context or None, not %s",
                     Py_TYPE(context)->tp_name);
        return -1;
    }
    return 0;
}

/* Where the exception being handled is (fa_handled, compat.h), when there
   is one: FA_EAGER_HIDING if the top item of the exception stack holds it
   (the item of the creator's coroutine, or the thread's own if no coroutine
   runs), so that emptying that item hides it from an eager first step; 0
   if an outer frame holds it (the creator is awaited in an except block of
   another coroutine, or the loop runs in one), or holds another one, which
   emptying the top item would show.  The top item is emptied to find out,
   and given back unless the item below holds the very same exception: then
   it stays empty, which sys.exc_info() and a bare raise cannot tell apart.
   handled: the exception being handled; its references are taken. */
static int
where_handled(fa_handled *handled)
{
    fa_handled below;   /* new */
    fa_handled_set_none();
    fa_handled_get(&below);
    int rule = below.value == NULL ? FA_EAGER_HIDING : 0;
    if (rule == 0 && fa_handled_same(&below, handled)) {
        fa_handled_release(handled);
    }
    else {
        fa_handled_set(handled);
    }
    fa_handled_release(&below);
    return rule;
}

/* 1 if a task of loop may run its first step now (context aside),
   FA_EAGER_HIDING if it may with the exception being handled hidden
   (fa_hide_handled), 0 if it must start lazily, -1 on error.  Same rules
   as _pycore._may_start_eagerly: only on the thread running loop
   (gh-155338), below the depth cap and, from FA_STACK_CHECK_FROM levels
   on, away from the recursion limit, and never where the first step would
   see the creator's exception (gh-155575). */
int
fa_may_start_eagerly(fa_state *st, PyObject *loop)
{
    int here = is_running_here(st, loop);
    if (here <= 0) {
        return here;
    }
    if (fa_eager_depth >= MAX_EAGER_DEPTH
            || (fa_eager_depth >= FA_STACK_CHECK_FROM
                && fa_recursion_nearly_spent())) {
        return 0;
    }
    if (fa_handled_none_above(fa_exc_clean)) {
        return 1;
    }
    fa_handled handled;   /* new */
    fa_handled_get(&handled);
    return handled.value == NULL ? 1 : where_handled(&handled);
}

/* Before an eager first step that fa_may_start_eagerly allowed with
   FA_EAGER_HIDING: *hidden takes the exception being handled and the top
   item of the exception stack, which held it, is emptied. */
void
fa_hide_handled(fa_handled *hidden)
{
    fa_handled_get(hidden);
    fa_handled_set_none();
}

/* After that step, on every path: the top item holds *hidden again (its
   references are taken).  An exception on its way out of the creation (one
   the first step let out, such as KeyboardInterrupt, or an error of the
   task constructor) is then raised again as if in the creator's except
   block when it has no __context__ of its own: PyErr_SetObject chains it
   to the creator's exception as a raise statement would, breaking cycles
   the same way. */
void
fa_give_back_handled(fa_handled *hidden)
{
    if (!PyErr_Occurred()) {
        fa_handled_set(hidden);
        return;
    }
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *exc = PyErr_GetRaisedException();   /* new */
    fa_handled_set(hidden);
    PyObject *context = PyException_GetContext(exc);   /* new or NULL */
    if (context == NULL) {
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        Py_DECREF(exc);
    }
    else {
        Py_DECREF(context);
        PyErr_SetRaisedException(exc);
    }
#else
    PyObject *type, *exc, *tb;   /* new */
    PyErr_Fetch(&type, &exc, &tb);
    PyErr_NormalizeException(&type, &exc, &tb);
    fa_handled_set(hidden);
    if (exc == NULL || !PyExceptionInstance_Check(exc)) {
        PyErr_Restore(type, exc, tb);
        return;
    }
    if (tb != NULL) {
        PyException_SetTraceback(exc, tb);
    }
    PyObject *context = PyException_GetContext(exc);   /* new or NULL */
    if (context == NULL) {
        PyErr_SetObject(type, exc);
        Py_DECREF(type);
        Py_DECREF(exc);
        Py_XDECREF(tb);
    }
    else {
        Py_DECREF(context);
        PyErr_Restore(type, exc, tb);
    }
#endif
}

#if FA_NATIVE_EAGER
/* 1 if context (None or a Context) can be entered now, 0 if it is entered
   already (gh-157301: the task must then start lazily), -1 on error. */
int
fa_context_enterable(PyObject *context)
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
/* BaseEventLoop.is_running() and get_debug() for fastaio's loops          */

/*
 * The loop methods (these two and create_task_via_factory in factory.c) are
 * functions of the module that take the loop as their first argument;
 * install() makes them methods of BaseEventLoop (through method(), below),
 * so a call runs no Python frame, and they read the loop's attributes
 * through the interned names of the module state.
 */

/* asyncio.Task (new reference) if it is the C Task of _asyncio, a GC
   type; NULL with ImportError otherwise (the Task code of 3.9-3.11 and of
   3.12.0-3.12.4 builds on that type). */
PyObject *
fa_c_task_type(void)
{
    PyObject *base = fa_import_attr("asyncio", "Task");   /* new */
    if (base == NULL) {
        return NULL;
    }
    if (!PyType_Check(base)
            || strcmp(((PyTypeObject *)base)->tp_name, "_asyncio.Task") != 0
            || !PyType_HasFeature((PyTypeObject *)base, Py_TPFLAGS_HAVE_GC)) {
        Py_DECREF(base);
        PyErr_SetString(PyExc_ImportError,
                        "fastaio._core needs asyncio.Task to be the C Task "
                        "of _asyncio");
        return NULL;
    }
    return base;
}

/* 0 if loop is a BaseEventLoop; -1 with TypeError otherwise. */
int
fa_check_base_loop(fa_state *st, PyObject *loop, const char *what)
{
    if (PyObject_TypeCheck(loop, (PyTypeObject *)st->base_loop)) {
        return 0;
    }
    PyErr_Format(PyExc_TypeError,
                 "%s() needs an asyncio.BaseEventLoop, not %.200s",
                 what, Py_TYPE(loop)->tp_name);
    return -1;
}

PyDoc_STRVAR(loop_is_running_doc,
"loop_is_running($module, loop, /)\n--\n\n"
"BaseEventLoop.is_running(loop), compiled: True while the loop runs.");

static PyObject *
loop_is_running(PyObject *module, PyObject *loop)
{
    fa_state *st = fa_state_of_module(module);
    PyObject *thread_id = NULL;   /* new */
    int hit = 0;
#if FA_LOOP_CACHE
    hit = fa_loop_cached_attr(st, loop, offsetof(fa_loop_cache, thread_id),
                              &thread_id);
    if (hit < 0) {
        return NULL;
    }
#endif
    if (!hit) {
        if (fa_check_base_loop(st, loop, "is_running") < 0) {
            return NULL;
        }
        thread_id = fa_loop_attr(st, loop, st->str_thread_id);
    }
    if (thread_id == NULL) {
        return NULL;
    }
    int running = thread_id != Py_None;
    Py_DECREF(thread_id);
    return PyBool_FromLong(running);
}

PyDoc_STRVAR(loop_get_debug_doc,
"loop_get_debug($module, loop, /)\n--\n\n"
"BaseEventLoop.get_debug(loop), compiled: the loop's debug flag.");

static PyObject *
loop_get_debug(PyObject *module, PyObject *loop)
{
    fa_state *st = fa_state_of_module(module);
#if FA_LOOP_CACHE
    PyObject *debug;   /* new */
    int hit = fa_loop_cached_attr(st, loop, offsetof(fa_loop_cache, debug),
                                  &debug);
    if (hit != 0) {
        return hit > 0 ? debug : NULL;
    }
#endif
    if (fa_check_base_loop(st, loop, "get_debug") < 0) {
        return NULL;
    }
    return fa_loop_attr(st, loop, st->str_debug);
}

/* method(func): func as a method of a class, as a method descriptor (the
   kind of object a C method of a built-in type is): a call
   loop.name(...) passes the loop and the arguments straight to func, with
   no bound method made per call (Py_TPFLAGS_METHOD_DESCRIPTOR), and
   CPython's attribute caches treat it as a method. */
typedef struct {
    PyObject_HEAD
    PyObject *func;            /* new */
    vectorcallfunc vectorcall;
    /* For a func that is a builtin function taking one argument (METH_O)
       or a vector with keywords: its C function and self (borrowed from
       func), called without the builtin's own dispatch. */
    PyCFunction cfunc;
    PyObject *cself;
} MethodObject;

static PyObject *
method_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf,
                  PyObject *kwnames)
{
    return PyObject_Vectorcall(((MethodObject *)self)->func, args, nargsf,
                               kwnames);
}

/* func(instance), for a METH_O func: what its builtin would call, after
   the same check of the arguments (anything else goes through it). */
static PyObject *
method_vectorcall_o(PyObject *self, PyObject *const *args, size_t nargsf,
                    PyObject *kwnames)
{
    MethodObject *m = (MethodObject *)self;
    if (PyVectorcall_NARGS(nargsf) != 1
            || (kwnames != NULL && PyTuple_GET_SIZE(kwnames) != 0)) {
        return PyObject_Vectorcall(m->func, args, nargsf, kwnames);
    }
    return m->cfunc(m->cself, args[0]);
}

static PyObject *
method_vectorcall_fastkw(PyObject *self, PyObject *const *args,
                         size_t nargsf, PyObject *kwnames)
{
    MethodObject *m = (MethodObject *)self;
    /* As the builtin's call: user code may run inside. */
    if (Py_EnterRecursiveCall(" while calling a Python object")) {
        return NULL;
    }
    PyObject *res = ((FA_CFUNC_FAST_KW)(void (*)(void))m->cfunc)(
        m->cself, args, PyVectorcall_NARGS(nargsf), kwnames);
    Py_LeaveRecursiveCall();
    return res;
}

static PyObject *
method_descr_get(PyObject *self, PyObject *obj, PyObject *type)
{
    if (obj == NULL || obj == Py_None) {
        return Py_NewRef(self);
    }
    return PyMethod_New(self, obj);
}

static PyObject *
method_get_func(MethodObject *self, void *Py_UNUSED(c))
{
    return Py_NewRef(self->func);
}

static PyObject *
method_get_attr_of_func(MethodObject *self, void *name)
{
    return PyObject_GetAttrString(self->func, (const char *)name);
}

static PyObject *
method_repr(MethodObject *self)
{
    return PyUnicode_FromFormat("<fastaio method %R>", self->func);
}

static int
method_traverse(MethodObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->func);
    return 0;
}

static int
method_clear(MethodObject *self)
{
    Py_CLEAR(self->func);
    return 0;
}

static void
method_dealloc(MethodObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);   /* borrowed until the final decref */
    PyObject_GC_UnTrack(self);
    method_clear(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyGetSetDef method_getset[] = {
    {"__func__", (getter)method_get_func, NULL, NULL, NULL},
    {"__name__", (getter)method_get_attr_of_func, NULL, NULL, "__name__"},
    {"__qualname__", (getter)method_get_attr_of_func, NULL, NULL,
     "__qualname__"},
    {"__doc__", (getter)method_get_attr_of_func, NULL, NULL, "__doc__"},
    {NULL, NULL, NULL, NULL, NULL}
};

static PyMemberDef method_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(MethodObject, vectorcall),
     READONLY, NULL},
    {NULL, 0, 0, 0, NULL}
};

static PyType_Slot method_slots[] = {
    {Py_tp_dealloc, method_dealloc},
    {Py_tp_repr, method_repr},
    {Py_tp_traverse, method_traverse},
    {Py_tp_clear, method_clear},
    {Py_tp_call, PyVectorcall_Call},
    {Py_tp_descr_get, method_descr_get},
    {Py_tp_getset, method_getset},
    {Py_tp_members, method_members},
    {Py_tp_doc, (void *)PyDoc_STR(
        "A function of fastaio._core as a method: its first argument is the "
        "instance.")},
    {0, NULL}
};

static PyType_Spec method_spec = {
    "fastaio._core._Method",
    sizeof(MethodObject),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL
        | Py_TPFLAGS_METHOD_DESCRIPTOR | FA_TPFLAGS_DISALLOW_INSTANTIATION,
    method_slots,
};

int
fa_is_core_method(fa_state *st, PyObject *obj, PyObject *func)
{
    return Py_IS_TYPE(obj, FA_TYPE(st, method_type))
        && ((MethodObject *)obj)->func == func;
}

PyDoc_STRVAR(method_doc,
"method($module, func, /)\n--\n\n"
"func as a method of a class: a call through an instance passes the\n"
"instance first (install() makes the core's loop functions methods of\n"
"BaseEventLoop with it).");

static PyObject *
method(PyObject *module, PyObject *func)
{
    fa_state *st = fa_state_of_module(module);
    if (!PyCallable_Check(func)) {
        PyErr_SetString(PyExc_TypeError, "method() needs a callable");
        return NULL;
    }
    MethodObject *m = PyObject_GC_New(MethodObject,
                                      FA_TYPE(st, method_type));
    if (m == NULL) {   /* new */
        return NULL;
    }
    m->func = Py_NewRef(func);
    m->vectorcall = method_vectorcall;
    m->cfunc = NULL;
    m->cself = NULL;
    if (PyCFunction_CheckExact(func)) {
        int flags = PyCFunction_GET_FLAGS(func)
            & (METH_VARARGS | METH_FASTCALL | METH_NOARGS | METH_O
               | METH_KEYWORDS | METH_METHOD);
        if (flags == METH_O) {
            m->vectorcall = method_vectorcall_o;
        }
        else if (flags == (METH_FASTCALL | METH_KEYWORDS)) {
            m->vectorcall = method_vectorcall_fastkw;
        }
        if (m->vectorcall != method_vectorcall) {
            m->cfunc = PyCFunction_GET_FUNCTION(func);
            m->cself = PyCFunction_GET_SELF(func);
        }
    }
    PyObject_GC_Track(m);
    return (PyObject *)m;
}

/* ---------------------------------------------------------------------- */
/* module                                                                  */

static PyMethodDef core_methods[] = {
#if !FA_NATIVE_CURRENT_TASK
    {"current_task", (PyCFunction)(void (*)(void))current_task,
     METH_FASTCALL | METH_KEYWORDS, current_task_doc},
    {"_after_fork_child", after_fork_child, METH_NOARGS, NULL},
#endif
    {"loop_is_running", loop_is_running, METH_O, loop_is_running_doc},
    {"loop_get_debug", loop_get_debug, METH_O, loop_get_debug_doc},
    {"method", method, METH_O, method_doc},
    {NULL, NULL, 0, NULL}
};

static int
init_state(fa_state *st)
{
#define INTERN(field, text) \
    if ((st->field = PyUnicode_InternFromString(text)) == NULL) return -1
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
    INTERN(str_task_constructor, "_fastaio_task_constructor");
    INTERN(str_run, "run");
    INTERN(str_coro, "_coro");
    INTERN(str_done, "done");
    INTERN(str_cancelled, "cancelled");
    INTERN(str_exception, "exception");
    INTERN(str_result, "result");
    INTERN(str_set_result, "set_result");
    INTERN(str_set_exception, "set_exception");
    INTERN(str_make_cancelled, "_make_cancelled_error");
    INTERN(str_cancel_message, "_cancel_message");
    INTERN(str_cancel_requested, "_cancel_requested");
    INTERN(str_add_done_callback, "add_done_callback");
    INTERN(str_get_loop, "get_loop");
    INTERN(str_log_destroy_pending, "_log_destroy_pending");
    INTERN(str_create_task, "create_task");
    INTERN(str_close, "close");
    INTERN(str_return_exceptions, "return_exceptions");
    INTERN(str_create_future, "create_future");
    INTERN(str_blocking, "_asyncio_future_blocking");
    INTERN(str_module, "__module__");
    INTERN(str_qualname, "__qualname__");
    INTERN(str_get_task_factory, "get_task_factory");
    INTERN(str_is_closed, "is_closed");
    INTERN(str_children, "_children");
    INTERN(str_init, "__init__");
#undef INTERN
    st->empty_str = PyUnicode_FromString("");
    st->empty_tuple = PyTuple_New(0);
    st->kwnames_ctor0 = PyTuple_Pack(2, st->str_loop, st->str_eager_start);
    st->kwnames_ctor1 = PyTuple_Pack(3, st->str_loop, st->str_name,
                                     st->str_eager_start);
    st->kwnames_ctor2 = PyTuple_Pack(3, st->str_loop, st->str_context,
                                     st->str_eager_start);
    st->kwnames_ctor3 = PyTuple_Pack(4, st->str_loop, st->str_name,
                                     st->str_context, st->str_eager_start);
    st->kwnames_context = PyTuple_Pack(1, st->str_context);
    st->kwnames_loop = PyTuple_Pack(1, st->str_loop);
    if (st->empty_str == NULL || st->empty_tuple == NULL
            || st->kwnames_ctor0 == NULL
            || st->kwnames_ctor1 == NULL || st->kwnames_ctor2 == NULL
            || st->kwnames_ctor3 == NULL || st->kwnames_context == NULL
            || st->kwnames_loop == NULL) {
        return -1;
    }
    st->get_running_loop = fa_import_attr("asyncio.events",
                                          "_get_running_loop");
    st->get_event_loop = fa_import_attr("asyncio.events", "get_event_loop");
    if (st->get_running_loop == NULL || st->get_event_loop == NULL) {
        return -1;
    }
    st->base_loop = fa_import_attr("asyncio.base_events", "BaseEventLoop");
    if (st->base_loop == NULL) {
        return -1;
    }
    if (!PyType_Check(st->base_loop)) {
        PyErr_SetString(PyExc_ImportError,
                        "asyncio.base_events.BaseEventLoop is not a class");
        return -1;
    }
    /* What _pycore takes at import as _base_create_task. */
    st->base_create_task = PyObject_GetAttrString(st->base_loop,
                                                  "create_task");
    if (st->base_create_task == NULL) {
        return -1;
    }
    /* The methods whose work spawn() does without calling them. */
    st->base_get_task_factory = PyObject_GetAttr(st->base_loop,
                                                 st->str_get_task_factory);
    st->base_is_closed = PyObject_GetAttr(st->base_loop, st->str_is_closed);
    if (st->base_get_task_factory == NULL || st->base_is_closed == NULL) {
        return -1;
    }
#if FA_NATIVE_EAGER
    PyObject *stdlib_factory = fa_import_attr("asyncio", "eager_task_factory");
    if (stdlib_factory == NULL) {
        return -1;
    }
    st->eager_code = PyObject_GetAttrString(stdlib_factory, "__code__");
    Py_DECREF(stdlib_factory);
    if (st->eager_code == NULL) {
        PyErr_Clear();   /* not a Python function: nothing to imitate */
    }
#endif
#if !FA_NATIVE_CURRENT_TASK
    st->current_tasks = fa_import_attr("asyncio.tasks", "_current_tasks");
    if (st->current_tasks == NULL) {
        return -1;
    }
    if (!PyDict_CheckExact(st->current_tasks)) {
        PyErr_SetString(PyExc_ImportError,
                        "asyncio.tasks._current_tasks is not a dict");
        return -1;
    }
    st->running_key = PyUnicode_InternFromString(
        "__asyncio_running_event_loop__");
    if (st->running_key == NULL || check_holder_layout(st) < 0) {
        return -1;
    }
#endif
    return 0;
}

#if !FA_NATIVE_CURRENT_TASK
/* os.register_at_fork(after_in_child=module._after_fork_child) */
static int
register_fork_handler(PyObject *m)
{
    PyObject *os = PyImport_ImportModule("os");   /* new */
    PyObject *reg = os == NULL ? NULL
        : PyObject_GetAttrString(os, "register_at_fork");   /* new */
    Py_XDECREF(os);
    if (reg == NULL) {
        PyErr_Clear();   /* no fork() on this platform */
        return 0;
    }
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
        return -1;
    }
    Py_DECREF(r);
    return 0;
}
#endif

/* Py_mod_exec (PEP 489): fill the state and the module. */
static int
core_exec(PyObject *m)
{
    fa_state *st = fa_state_of_module(m);
    /* asyncio must be fully imported before anything of _asyncio is touched:
       importing _asyncio first leaves asyncio half bound on 3.9-3.13. */
    PyObject *asyncio = PyImport_ImportModule("asyncio");   /* new */
    if (asyncio == NULL) {
        return -1;
    }
    Py_DECREF(asyncio);
    if (init_state(st) < 0) {
        return -1;
    }
#if FA_LOOP_CACHE
    if (fa_loop_cache_init(st) < 0) {
        return -1;
    }
#endif
#if FA_LOOP_VALUE_READS
    st->value_reads = fa_values_init();
    if (st->value_reads < 0) {
        return -1;
    }
#endif
#if FA_NATIVE_CURRENT_TASK
    {
        PyObject *ct = fa_import_attr("asyncio", "current_task");   /* new */
        if (ct == NULL || PyModule_AddObject(m, "current_task", ct) < 0) {
            Py_XDECREF(ct);
            return -1;
        }
    }
    /* asyncio.Task, or on 3.12.0-3.12.4 its subclass with a safe
       get_coro() (gh-122332). */
    if (fa_task312_init(st, m) < 0) {
        return -1;
    }
#else
    if (register_fork_handler(m) < 0 || fa_task39_init(st, m) < 0) {
        return -1;
    }
#endif
    if (fa_factory_init(st, m) < 0) {
        return -1;
    }
    st->method_type = PyType_FromModuleAndSpec(m, &method_spec, NULL);
    if (st->method_type == NULL) {
        return -1;
    }
    FA_DISALLOW_INSTANTIATION(st->method_type);
    if (fa_gathering_init(st, m) < 0 || fa_barrier_init(st, m) < 0
            || fa_ready_init(st, m) < 0 || fa_handles_init(st, m) < 0) {
        return -1;
    }
    if (PyModule_AddIntConstant(m, "NATIVE_CURRENT_TASK",
                                FA_NATIVE_CURRENT_TASK) < 0
            || PyModule_AddIntConstant(m, "MAX_EAGER_DEPTH",
                                       MAX_EAGER_DEPTH) < 0
            || PyModule_AddIntConstant(m, "FAST_CALL_SOON",
                                       st->handle_type != NULL) < 0
#if FA_LOOP_CACHE
            || PyModule_AddIntConstant(m, "LOOP_CACHE",
                                       st->loop_cache.active) < 0
#else
            || PyModule_AddIntConstant(m, "LOOP_CACHE", 0) < 0
#endif
#if FA_LOOP_VALUE_READS
            || PyModule_AddIntConstant(m, "LOOP_VALUE_READS",
                                       st->value_reads) < 0
#else
            || PyModule_AddIntConstant(m, "LOOP_VALUE_READS", 0) < 0
#endif
            || PyModule_AddIntConstant(m, "CTOR_LOOP_FROM_THREAD",
                                       st->ctor_eager_kwargs != NULL) < 0
#if !FA_NATIVE_CURRENT_TASK
            || PyModule_AddIntConstant(m, "FAST_RUNNING_LOOP",
                                       st->holder_type != NULL) < 0
#endif
            ) {
        return -1;
    }
    return 0;
}

static int
core_traverse(PyObject *m, visitproc visit, void *arg)
{
    fa_state *st = fa_state_of_module(m);
#define FA_VISIT(name) Py_VISIT(st->name);
    FA_STATE_OBJECTS(FA_VISIT)
#undef FA_VISIT
#if FA_CTOR_POOL
    for (int i = 0; i < st->ctor_pool_len; i++) {
        Py_VISIT(st->ctor_args[i]);
        Py_VISIT(st->ctor_kwargs[i]);
    }
#endif
    return 0;
}

static int
core_clear(PyObject *m)
{
    fa_state *st = fa_state_of_module(m);
#if FA_LOOP_CACHE
    fa_loop_cache_clear(st);
#endif
#define FA_CLEAR(name) Py_CLEAR(st->name);
    FA_STATE_OBJECTS(FA_CLEAR)
#undef FA_CLEAR
#if FA_CTOR_POOL
    while (st->ctor_pool_len > 0) {
        st->ctor_pool_len--;
        Py_CLEAR(st->ctor_args[st->ctor_pool_len]);
        Py_CLEAR(st->ctor_kwargs[st->ctor_pool_len]);
    }
#endif
    return 0;
}

static void
core_free(void *m)
{
    (void)core_clear((PyObject *)m);
}

static PyModuleDef_Slot core_slots[] = {
    {Py_mod_exec, core_exec},
    FA_MOD_GIL_SLOT
    {0, NULL}
};

PyModuleDef fa_module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "fastaio._core",
    .m_doc = "The compiled core of fastaio (see fastaio._pycore for the "
             "specification).",
    .m_size = sizeof(fa_state),
    .m_methods = core_methods,
    .m_slots = core_slots,
    .m_traverse = core_traverse,
    .m_clear = core_clear,
    .m_free = core_free,
};

PyMODINIT_FUNC
PyInit__core(void)
{
    return PyModuleDef_Init(&fa_module_def);
}
