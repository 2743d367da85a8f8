/*
 * loop_call_soon(loop, callback, *args, context=None): what
 * BaseEventLoop.call_soon does, without its three Python frames
 * (call_soon, _call_soon and Handle.__init__).  Every future that finishes
 * schedules its callbacks through loop.call_soon, so a task that suspends
 * calls it at least twice (its own next step, the wakeup of its awaiter);
 * install() makes this function BaseEventLoop's call_soon.
 *
 * The work done here is that of the three methods in their non-debug path,
 * identical from 3.9 to 3.15: check that the loop is open, make an
 * asyncio.events.Handle (a class with __slots__: the slots are written at
 * the offsets their member descriptors give, which handles_init checks at
 * import), append it to loop._ready.  Anything else calls the original
 * method, with the same arguments: a loop in debug mode or closed, a
 * keyword other than context, a loop class that replaces _call_soon,
 * _check_closed or get_debug, an asyncio.events.Handle that is no longer
 * the class seen at import or whose __init__ was replaced.
 *
 * handle_run(handle): Handle._run (the loop runs each ready handle with
 * it), without its frame: the callback runs in the handle's context, and
 * what it raises goes to the loop's exception handler as _run's except
 * blocks send it (3.9-3.12 and 3.13+ format the callback differently;
 * which one the interpreter's _run does is read from its code at import).
 * install() makes it Handle._run only where that is asyncio's own.  The one
 * difference: the traceback of such an exception has no frame for _run.
 *
 * Reference ownership: see fastaio.h.
 */
#include "fastaio.h"

/* The slots of asyncio.events.Handle that call_soon fills, by index into
   fa_state.handle_off. */
enum {
    H_CALLBACK, H_ARGS, H_CANCELLED, H_LOOP, H_SOURCE_TRACEBACK, H_REPR,
    H_CONTEXT, H_COUNT
};
static const char *const handle_slot_names[H_COUNT] = {
    "_callback", "_args", "_cancelled", "_loop", "_source_traceback",
    "_repr", "_context",
};

#define HANDLE_SLOT(st, h, i) \
    (*(PyObject **)((char *)(h) + (st)->handle_off[i]))

/* 1 if type(loop) keeps BaseEventLoop's _call_soon() and _check_closed()
   as asyncio defined them and a get_debug() that returns loop._debug
   (asyncio's, or the core's loop_get_debug that install() puts in its
   place); 0 if not; -1 with an error set.  Called by fa_loop_type_keeps
   (factory.c), which keeps the answer per type version. */
int
fa_keeps_call_soon_parts(fa_state *st, PyObject *loop)
{
    if (st->handle_type == NULL) {
        return 0;
    }
    int res = fa_type_keeps_method(loop, st->str_call_soon_impl,
                                   st->base_call_soon_impl);
    if (res > 0) {
        res = fa_type_keeps_method(loop, st->str_check_closed,
                                   st->base_check_closed);
    }
    if (res <= 0) {
        return res;
    }
    PyObject *getter;   /* new, or NULL */
    if (fa_type_method(loop, st->str_get_debug, &getter) < 0) {
        return -1;
    }
    res = getter != NULL && (getter == st->base_get_debug
                             || fa_is_core_method(st, getter,
                                                  st->core_get_debug));
    Py_XDECREF(getter);
    return res;
}

/* 1 if asyncio.events.Handle is still the class checked at import, with
   the same __init__; 0 if not; -1 with an error set.  The __init__ test
   is kept for the class's version tag. */
static int
handle_class_unchanged(fa_state *st)
{
    PyObject *cls = PyDict_GetItemWithError(st->events_dict,
                                            st->str_handle);  /* borrowed */
    if (cls != st->handle_type) {
        return PyErr_Occurred() ? -1 : 0;
    }
    return fa_type_keeps_cached(FA_TYPE(st, handle_type), st->str_init,
                                st->handle_init, &st->handle_version);
}

/* 1 if the call may take the fast path (loop: a BaseEventLoop), 0 if the
   original method must run, -1 with an error set. */
static int
fast_path_allowed(fa_state *st, PyObject *loop, Py_ssize_t nargs,
                  PyObject *kwnames)
{
    if (nargs < 2) {
        return 0;
    }
    if (kwnames != NULL) {
        if (PyTuple_GET_SIZE(kwnames) != 1) {
            return 0;
        }
        PyObject *kw = PyTuple_GET_ITEM(kwnames, 0);   /* borrowed */
        if (kw != st->str_context
                && PyUnicode_Compare(kw, st->str_context) != 0) {
            return PyErr_Occurred() ? -1 : 0;
        }
    }
    int keeps = fa_loop_type_keeps(st, loop);
    if (keeps <= 0) {
        return keeps;
    }
    if (!(keeps & FA_KEEPS_CALL_SOON)) {
        return 0;
    }
    int unchanged = handle_class_unchanged(st);
    if (unchanged <= 0) {
        return unchanged;
    }
    /* Open and not in debug mode: otherwise the original raises, or runs
       the checks and records the traceback of debug mode. */
#if FA_LOOP_CACHE
    fa_loop_cache *c = fa_loop_cache_get(st, loop);   /* borrowed */
    if (c != NULL) {
        return c->closed == Py_False && c->debug == Py_False;
    }
    if (PyErr_Occurred()) {
        return -1;
    }
#endif
    PyObject *closed = fa_loop_attr(st, loop, st->str_closed);   /* new */
    if (closed == NULL) {
        return -1;
    }
    int is_open = closed == Py_False;
    Py_DECREF(closed);
    if (!is_open) {
        return 0;
    }
    PyObject *debug = fa_loop_attr(st, loop, st->str_debug);   /* new */
    if (debug == NULL) {
        return -1;
    }
    int quiet = debug == Py_False;
    Py_DECREF(debug);
    return quiet;
}

/* The Handle of call_soon (new reference), NULL with an error set. */
static PyObject *
new_handle(fa_state *st, PyObject *loop, PyObject *callback,
           PyObject *const *args, Py_ssize_t nargs, PyObject *context)
{
    PyObject *cb_args = PyTuple_New(nargs);   /* new */
    if (cb_args == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < nargs; i++) {
        PyTuple_SET_ITEM(cb_args, i, Py_NewRef(args[i]));
    }
    PyObject *ctx = (context == NULL || context == Py_None)
        ? PyContext_CopyCurrent() : Py_NewRef(context);   /* new */
    if (ctx == NULL) {
        Py_DECREF(cb_args);
        return NULL;
    }
    PyTypeObject *tp = FA_TYPE(st, handle_type);
    PyObject *h = tp->tp_alloc(tp, 0);   /* new */
    if (h == NULL) {
        Py_DECREF(cb_args);
        Py_DECREF(ctx);
        return NULL;
    }
    /* Handle.__init__'s assignments, in its order; the slots are NULL
       (never set) until now. */
    HANDLE_SLOT(st, h, H_CONTEXT) = ctx;
    HANDLE_SLOT(st, h, H_LOOP) = Py_NewRef(loop);
    HANDLE_SLOT(st, h, H_CALLBACK) = Py_NewRef(callback);
    HANDLE_SLOT(st, h, H_ARGS) = cb_args;
    HANDLE_SLOT(st, h, H_CANCELLED) = Py_NewRef(Py_False);
    HANDLE_SLOT(st, h, H_REPR) = Py_NewRef(Py_None);
    HANDLE_SLOT(st, h, H_SOURCE_TRACEBACK) = Py_NewRef(Py_None);
    return h;
}

PyDoc_STRVAR(loop_call_soon_doc,
"loop_call_soon($module, loop, callback, /, *args, context=None)\n--\n\n"
"BaseEventLoop.call_soon(loop, callback, *args, context=context), with\n"
"its non-debug path compiled.");

static PyObject *
loop_call_soon(PyObject *module, PyObject *const *args, size_t nargsf,
               PyObject *kwnames)
{
    fa_state *st = fa_state_of_module(module);
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (nargs < 1) {
        PyErr_SetString(PyExc_TypeError,
                        "loop_call_soon() needs the loop as its first "
                        "argument");
        return NULL;
    }
    PyObject *loop = args[0];   /* borrowed */
    int checked = 0;   /* a cached loop is a BaseEventLoop */
#if FA_LOOP_CACHE
    checked = fa_loop_cached(st, loop) != NULL;
#endif
    if (!checked && fa_check_base_loop(st, loop, "call_soon") < 0) {
        return NULL;
    }
    int fast = fast_path_allowed(st, loop, nargs, kwnames);
    if (fast < 0) {
        return NULL;
    }
    if (!fast) {
        return PyObject_Vectorcall(st->base_call_soon, args, nargsf,
                                   kwnames);
    }
    PyObject *context = kwnames == NULL ? NULL : args[nargs];  /* borrowed */
    PyObject *h = new_handle(st, loop, args[1], args + 2, nargs - 2,
                             context);   /* new */
    if (h == NULL) {
        return NULL;
    }
    PyObject *ready;   /* new */
#if FA_LOOP_CACHE
    /* Still cached unless making the handle changed the loop. */
    fa_loop_cache *c = fa_loop_cached(st, loop);   /* borrowed */
    if (c != NULL) {
        ready = Py_NewRef(c->ready);
    }
    else
#endif
    ready = fa_loop_attr(st, loop, st->str_ready);
    PyObject *res = ready == NULL ? NULL
        : PyObject_CallMethodOneArg(ready, st->str_append, h);   /* new */
    Py_XDECREF(ready);
    if (res == NULL) {
        Py_DECREF(h);
        return NULL;
    }
    Py_DECREF(res);
    return h;
}

/* The except blocks of Handle._run, for exc (the reference is taken):
   SystemExit and KeyboardInterrupt are raised again; any other exception
   is passed to the loop's exception handler, with exc as the exception
   being handled meanwhile (as in the except block).  0, or -1 with an
   error set.  The handle's attributes are read again, as _run does after
   the callback ran (it may have cancelled its own handle). */
static int
report_failure(fa_state *st, PyObject *h, PyObject *exc)
{
    if (PyErr_GivenExceptionMatches(exc, PyExc_SystemExit)
            || PyErr_GivenExceptionMatches(exc, PyExc_KeyboardInterrupt)) {
        fa_err_raise(exc);
        return -1;
    }
    fa_handled saved, now;
    fa_handled_get(&saved);
    fa_handled_of(&now, exc);
    fa_handled_set(&now);
    int res = -1;
    PyObject *loop = NULL, *callback = NULL, *args = NULL, *source = NULL;
    PyObject *msg = NULL, *context = NULL, *tb = NULL, *done = NULL;
    loop = PyObject_GetAttrString(h, "_loop");   /* new */
    callback = loop == NULL ? NULL
        : PyObject_GetAttrString(h, "_callback");   /* new */
    args = callback == NULL ? NULL
        : PyObject_GetAttrString(h, "_args");   /* new */
    if (args == NULL) {
        goto finally;
    }
    if (st->format_takes_debug) {
        /* 3.13+: _format_callback_source(cb, args, debug=...) */
        PyObject *debug = PyObject_CallMethodNoArgs(
            loop, st->str_get_debug);   /* new */
        if (debug == NULL) {
            goto finally;
        }
        PyObject *stack[] = {callback, args, debug};
        source = PyObject_Vectorcall(st->format_callback_source, stack, 2,
                                     st->kwnames_debug);   /* new */
        Py_DECREF(debug);
    }
    else {
        source = PyObject_CallFunctionObjArgs(st->format_callback_source,
                                              callback, args, NULL);
    }
    if (source == NULL) {
        goto finally;
    }
    msg = PyUnicode_FromFormat("Exception in callback %S", source);
    context = msg == NULL ? NULL : PyDict_New();   /* new */
    if (context == NULL
            || PyDict_SetItemString(context, "message", msg) < 0
            || PyDict_SetItemString(context, "exception", exc) < 0
            || PyDict_SetItemString(context, "handle", h) < 0) {
        goto finally;
    }
    tb = PyObject_GetAttrString(h, "_source_traceback");   /* new */
    int has_tb = tb == NULL ? -1 : PyObject_IsTrue(tb);
    if (has_tb < 0 || (has_tb && PyDict_SetItemString(
            context, "source_traceback", tb) < 0)) {
        goto finally;
    }
    done = PyObject_CallMethod(loop, "call_exception_handler", "O", context);
    res = done == NULL ? -1 : 0;
finally:
    Py_XDECREF(loop);
    Py_XDECREF(callback);
    Py_XDECREF(args);
    Py_XDECREF(source);
    Py_XDECREF(msg);
    Py_XDECREF(context);
    Py_XDECREF(tb);
    Py_XDECREF(done);
    fa_handled_set(&saved);
    Py_DECREF(exc);
    return res;
}

PyDoc_STRVAR(handle_run_doc,
"handle_run($module, handle, /)\n--\n\n"
"asyncio.events.Handle._run(handle), compiled: runs the callback in the\n"
"handle's context and reports what it raises to the loop.");

static PyObject *
handle_run(PyObject *module, PyObject *h)
{
    fa_state *st = fa_state_of_module(module);
    if (st->handle_type == NULL
            || !PyObject_TypeCheck(h, FA_TYPE(st, handle_type))) {
        PyErr_Format(PyExc_TypeError,
                     "handle_run() needs an asyncio.Handle, not %.200s",
                     Py_TYPE(h)->tp_name);
        return NULL;
    }
    PyObject *ctx = HANDLE_SLOT(st, h, H_CONTEXT);    /* borrowed */
    PyObject *cb = HANDLE_SLOT(st, h, H_CALLBACK);    /* borrowed */
    PyObject *args = HANDLE_SLOT(st, h, H_ARGS);      /* borrowed */
    if (ctx == NULL || cb == NULL || args == NULL
            || !PyContext_CheckExact(ctx) || !PyTuple_CheckExact(args)) {
        /* An unset slot, or a context or arguments of another type: the
           original reports those as it does. */
        return PyObject_CallOneArg(st->handle_run_orig, h);
    }
    /* Owned during the call: the callback may cancel its handle, which
       clears _callback and _args. */
    Py_INCREF(ctx);
    Py_INCREF(cb);
    Py_INCREF(args);
    PyObject *res = NULL;
    if (PyContext_Enter(ctx) == 0) {
        res = PyObject_Call(cb, args, NULL);   /* new */
        if (PyContext_Exit(ctx) < 0) {
            Py_CLEAR(res);
        }
    }
    Py_DECREF(ctx);
    Py_DECREF(cb);
    Py_DECREF(args);
    if (res != NULL) {
        Py_DECREF(res);
        Py_RETURN_NONE;
    }
    if (report_failure(st, h, fa_err_take()) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef handles_methods[] = {
    {"loop_call_soon", (PyCFunction)(void (*)(void))loop_call_soon,
     METH_FASTCALL | METH_KEYWORDS, loop_call_soon_doc},
    {"handle_run", handle_run, METH_O, handle_run_doc},
    {NULL, NULL, 0, NULL}
};

/* The offset of the slot name of Handle (st->handle_type): 0 if it is not
   a writable object slot defined by Handle itself, -1 on error. */
static Py_ssize_t
handle_slot_offset(PyTypeObject *tp, const char *name)
{
    PyObject *descr = PyObject_GetAttrString((PyObject *)tp, name); /* new */
    if (descr == NULL) {
        PyErr_Clear();
        return 0;
    }
    Py_ssize_t off = 0;
    if (Py_IS_TYPE(descr, &PyMemberDescr_Type)
            && PyDescr_TYPE(descr) == tp) {
        PyMemberDef *md = ((PyMemberDescrObject *)descr)->d_member;
        if (md->type == T_OBJECT_EX && !(md->flags & READONLY)
                && md->offset >= (Py_ssize_t)sizeof(PyObject)
                && md->offset + (Py_ssize_t)sizeof(PyObject *)
                   <= tp->tp_basicsize) {
            off = md->offset;
        }
    }
    Py_DECREF(descr);
    return off;
}

/* Fills the state call_soon needs.  Where asyncio's objects are not what
   this file knows (checked here), handle_type stays NULL and every call
   runs the original method. */
int
fa_handles_init(fa_state *st, PyObject *module)
{
    Py_BUILD_ASSERT(H_COUNT == FA_HANDLE_SLOTS);
    if (PyModule_AddFunctions(module, handles_methods) < 0) {
        return -1;
    }
    st->str_call_soon_impl = PyUnicode_InternFromString("_call_soon");
    st->str_check_closed = PyUnicode_InternFromString("_check_closed");
    st->str_ready = PyUnicode_InternFromString("_ready");
    st->str_append = PyUnicode_InternFromString("append");
    st->str_handle = PyUnicode_InternFromString("Handle");
    if (st->str_call_soon_impl == NULL || st->str_check_closed == NULL
            || st->str_ready == NULL || st->str_append == NULL
            || st->str_handle == NULL) {
        return -1;
    }
    st->base_call_soon = PyObject_GetAttr(st->base_loop, st->str_call_soon);
    st->base_call_soon_impl = PyObject_GetAttr(st->base_loop,
                                               st->str_call_soon_impl);
    st->base_check_closed = PyObject_GetAttr(st->base_loop,
                                             st->str_check_closed);
    st->base_get_debug = PyObject_GetAttr(st->base_loop, st->str_get_debug);
    st->core_get_debug = PyObject_GetAttrString(module, "loop_get_debug");
    if (st->base_call_soon == NULL || st->base_call_soon_impl == NULL
            || st->base_check_closed == NULL || st->base_get_debug == NULL
            || st->core_get_debug == NULL) {
        return -1;
    }
    PyObject *events = PyImport_ImportModule("asyncio.events");   /* new */
    if (events == NULL) {
        return -1;
    }
    st->events_dict = Py_NewRef(PyModule_GetDict(events));
    Py_DECREF(events);
    PyObject *cls = PyDict_GetItemWithError(st->events_dict,
                                            st->str_handle);  /* borrowed */
    if (cls == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    /* asyncio's own methods (Python functions), a class made by a class
       statement whose instances object.__new__ makes with tp_alloc alone,
       and a Python __init__. */
    if (!PyFunction_Check(st->base_call_soon)
            || !PyFunction_Check(st->base_call_soon_impl)
            || !PyFunction_Check(st->base_check_closed)
            || !PyType_Check(cls)
            || !PyType_HasFeature((PyTypeObject *)cls, Py_TPFLAGS_HEAPTYPE)
            || ((PyTypeObject *)cls)->tp_itemsize != 0
            || ((PyTypeObject *)cls)->tp_new != PyBaseObject_Type.tp_new
            || ((PyTypeObject *)cls)->tp_alloc != PyType_GenericAlloc) {
        return 0;
    }
    PyObject *init = PyObject_GetAttr(cls, st->str_init);   /* new */
    if (init == NULL) {
        return -1;
    }
    PyObject *run = PyObject_GetAttrString(cls, "_run");   /* new */
    if (run == NULL) {
        Py_DECREF(init);
        return -1;
    }
    if (!PyFunction_Check(init) || !PyFunction_Check(run)) {
        Py_DECREF(init);
        Py_DECREF(run);
        return 0;
    }
    /* Whether _run passes debug= to _format_callback_source (3.13+). */
    PyObject *names = PyObject_GetAttrString(
        PyFunction_GET_CODE(run), "co_names");   /* new */
    int has = names == NULL ? -1 : PySequence_Contains(names,
                                                        st->str_get_debug);
    Py_XDECREF(names);
    if (has < 0) {
        Py_DECREF(init);
        Py_DECREF(run);
        return -1;
    }
    st->format_takes_debug = has;
    for (int i = 0; i < H_COUNT; i++) {
        Py_ssize_t off = handle_slot_offset((PyTypeObject *)cls,
                                            handle_slot_names[i]);
        if (off <= 0) {
            Py_DECREF(init);
            Py_DECREF(run);
            return 0;
        }
        st->handle_off[i] = off;
    }
    st->format_callback_source = fa_import_attr("asyncio.format_helpers",
                                                "_format_callback_source");
    st->kwnames_debug = Py_BuildValue("(s)", "debug");
    if (st->format_callback_source == NULL || st->kwnames_debug == NULL) {
        Py_DECREF(init);
        Py_DECREF(run);
        return -1;
    }
    st->handle_run_orig = run;
    st->handle_init = init;
    st->handle_type = Py_NewRef(cls);
    return 0;
}
