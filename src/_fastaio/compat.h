/*
 * Every CPython version difference the compiled core depends on, in one
 * place.  Each macro cites the CPython release whose behaviour it tracks.
 */
#ifndef FASTAIO_COMPAT_H
#define FASTAIO_COMPAT_H

#include <Python.h>

#if PY_VERSION_HEX < 0x03090000
#  error "fastaio needs CPython 3.9 or newer"
#endif

/* 3.12: asyncio.current_task() is implemented in C (gh-100344); before it,
   the current task of each loop lives in the dict
   asyncio.tasks._current_tasks, shared with _asyncio's C helpers. */
#if PY_VERSION_HEX >= 0x030C0000
#  define FA_NATIVE_CURRENT_TASK 1
#else
#  define FA_NATIVE_CURRENT_TASK 0
#endif


/* 3.12: Task(..., eager_start=) runs the first step inside the constructor
   (gh-97696).  Before it fastaio needs a Task type of its own for that: a
   subclass of _asyncio.Task whose first step is taken by hand. */
#if PY_VERSION_HEX >= 0x030C0000
#  define FA_NATIVE_EAGER 1
#else
#  define FA_NATIVE_EAGER 0
#endif

/* 3.12+: the factory makes asyncio's C Task (it has no vectorcall up to
   3.15) by calling its tp_new and tp_init itself, with an arguments tuple
   and a keywords dict taken from a small pool (factory.c,
   ctor_args_take), instead of a call that builds both for every task.
   (On 3.9-3.11 a dict made per task costs less than the pool's updates.)
   The pool is module state guarded by the GIL: free-threaded builds make
   them per call. */
#if PY_VERSION_HEX >= 0x030C0000 && !defined(Py_GIL_DISABLED)
#  define FA_CTOR_POOL 8
#else
#  define FA_CTOR_POOL 0
#endif

/* 3.14.7 and 3.15.0rc1 (gh-154695): asyncio.Task(coro, eager_start=True)
   without loop= asks the loop it took from this thread whether it runs
   (before, __init__ called is_running() on the None it was given).  Then a
   task started eagerly on the loop that runs in this thread is made with
   one keywords dict for all, {"eager_start": True} (factory.c,
   new_task_here): no dict per task, and no pool, which free-threaded
   builds cannot share between threads.  A build made with 3.14.0 headers
   may run on 3.14.7 and the other way round: Py_Version decides. */
#if PY_VERSION_HEX >= 0x030E0000
#  define FA_CTOR_LOOP_FROM_THREAD 1
#  define FA_CTOR_LOOP_FROM_THREAD_NOW() \
    (Py_Version >= 0x030F00C1 \
     || (Py_Version >= 0x030E07F0 && Py_Version < 0x030F0000))
#else
#  define FA_CTOR_LOOP_FROM_THREAD 0
#endif

/* 3.12: dict watchers (PyDict_AddWatcher, gh-91052), on which the cache
   of loop attributes rests (loopcache.c).  Free-threaded builds go without
   it: its one entry would be shared by threads that run different loops. */
#if PY_VERSION_HEX >= 0x030C0000 && !defined(Py_GIL_DISABLED)
#  define FA_LOOP_CACHE 1
#else
#  define FA_LOOP_CACHE 0
#endif

/* 3.13: PyDict_GetItemRef (gh-106004).  Where the cache above does not
   hold the loop (3.13.0, a second loop), the compiled loop methods read
   its attributes from its __dict__ when its type lets only the instance
   answer (fa_loop_attr, factory.c) instead of by name.  Not on free-
   threaded builds: there (3.14t) a loop whose __dict__ was made loses the
   specialized attribute reads of its Python methods, which costs more
   than the lookups by name save. */
#if PY_VERSION_HEX >= 0x030D0000 && !defined(Py_GIL_DISABLED)
#  define FA_LOOP_DICT_READS 1
#else
#  define FA_LOOP_DICT_READS 0
#endif

/* 3.14 free-threaded builds: with neither of the two above, the loop's
   attributes are read from its inline values where its type lets only the
   instance answer (instvalues.c), following _PyObject_TryGetInstanceAttribute
   of 3.14 with the layouts of its internal headers, checked at import.
   Other free-threaded versions read them by name. */
#if defined(Py_GIL_DISABLED) && PY_VERSION_HEX >= 0x030E0000 \
    && PY_VERSION_HEX < 0x030F0000
#  define FA_LOOP_VALUE_READS 1
#else
#  define FA_LOOP_VALUE_READS 0
#endif

/* type.__mro__'s first value for name, without descriptors or the
   metaclass (a new reference), or NULL (no error set) if none.  Free-
   threaded builds need the strong reference of _PyType_LookupRef (3.13,
   gh-113743); with the GIL the borrowed one of _PyType_Lookup is taken at
   once. */
static inline PyObject *
fa_type_lookup(PyTypeObject *tp, PyObject *name)
{
#if PY_VERSION_HEX >= 0x030D0000
    return _PyType_LookupRef(tp, name);
#else
    PyObject *attr = _PyType_Lookup(tp, name);   /* borrowed */
    Py_XINCREF(attr);
    return attr;
#endif
}

/* 3.11: _asyncio.Task.__init__ takes context= and the Task has
   cancelling()/uncancel() (bpo-46752); on 3.9/3.10 fastaio adds both. */
#if PY_VERSION_HEX >= 0x030B0000
#  define FA_TASK_HAS_CONTEXT 1
#else
#  define FA_TASK_HAS_CONTEXT 0
#endif

/* 3.11: loop.create_task() takes context= (bpo-46994); on 3.9/3.10 a task
   made by the loop's create_task() runs in the context it was called in. */
#if PY_VERSION_HEX >= 0x030B0000
#  define FA_LOOP_TAKES_CONTEXT 1
#else
#  define FA_LOOP_TAKES_CONTEXT 0
#endif

/* 3.12.0-3.12.4: Task.get_coro() dereferences a NULL coroutine after an
   eager start completed the task (gh-122332, fixed in 3.12.5).  Checked at
   run time (Py_Version, 3.11+) too, so that a build made with the headers of
   one 3.12 release is right on the others. */
#if PY_VERSION_HEX >= 0x030C0000 && PY_VERSION_HEX < 0x030D0000
#  define FA_MAY_NEED_GET_CORO_FIX 1
#  define FA_GET_CORO_CRASHES() (Py_Version < 0x030C0500)
#else
#  define FA_MAY_NEED_GET_CORO_FIX 0
#  define FA_GET_CORO_CRASHES() 0
#endif

/* 3.10 and 3.11: asyncio.tasks._ensure_future, the helper gather() wraps
   its arguments with (no warning about the deprecated loop argument); 3.9
   has only the public ensure_future, and 3.12 folded the helper back into
   it (the loop argument is no longer deprecated). */
#if PY_VERSION_HEX >= 0x030A0000 && PY_VERSION_HEX < 0x030C0000
#  define FA_ENSURE_FUTURE_NAME "_ensure_future"
#else
#  define FA_ENSURE_FUTURE_NAME "ensure_future"
#endif

/* 3.11: asyncio.Barrier and asyncio.BrokenBarrierError (bpo-43352); before
   it the core defines fastaio.BrokenBarrierError itself. */
#if PY_VERSION_HEX >= 0x030B0000
#  define FA_HAVE_ASYNCIO_BARRIER 1
#else
#  define FA_HAVE_ASYNCIO_BARRIER 0
#endif

/* 3.14: gather() records each pending child as awaited by the task that
   called it, for asyncio's call-graph introspection (gh-91048), through
   asyncio.futures.future_add_to_awaited_by / future_discard_from_awaited_by. */
#if PY_VERSION_HEX >= 0x030E0000
#  define FA_GATHER_AWAITED_BY 1
#else
#  define FA_GATHER_AWAITED_BY 0
#endif

/* 3.11: PyType_GetModuleByDef (bpo-46613) finds the module whose
   PyModuleDef is def among type and its bases.  3.9/3.10: the same walk
   over tp_mro with the ht_module of each heap type (PEP 573, 3.9).
   Returns a borrowed reference, or NULL with TypeError. */
#if PY_VERSION_HEX >= 0x030B0000
#  define FA_GET_MODULE_BY_DEF(type, def) PyType_GetModuleByDef(type, def)
#else
static inline PyObject *
fa_get_module_by_def(PyTypeObject *type, PyModuleDef *def)
{
    PyObject *mro = type->tp_mro;   /* borrowed */
    Py_ssize_t n = mro == NULL ? 0 : PyTuple_GET_SIZE(mro);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *t = PyTuple_GET_ITEM(mro, i);   /* borrowed */
        if (!PyType_HasFeature((PyTypeObject *)t, Py_TPFLAGS_HEAPTYPE)) {
            continue;
        }
        PyObject *m = ((PyHeapTypeObject *)t)->ht_module;   /* borrowed */
        if (m != NULL && PyModule_GetDef(m) == def) {
            return m;
        }
    }
    PyErr_Format(PyExc_TypeError,
                 "PyType_GetModuleByDef: No superclass of '%s' has the "
                 "given module", type->tp_name);
    return NULL;
}
#  define FA_GET_MODULE_BY_DEF(type, def) fa_get_module_by_def(type, def)
#endif

/* 3.10: Py_TPFLAGS_DISALLOW_INSTANTIATION (bpo-43916) keeps Python code
   from calling a type that only C creates.  3.9: the same by clearing
   tp_new after the type is made, as CPython's own 3.9 modules did. */
#if PY_VERSION_HEX >= 0x030A0000
#  define FA_TPFLAGS_DISALLOW_INSTANTIATION Py_TPFLAGS_DISALLOW_INSTANTIATION
#  define FA_DISALLOW_INSTANTIATION(type) ((void)(type))
#else
#  define FA_TPFLAGS_DISALLOW_INSTANTIATION 0
#  define FA_DISALLOW_INSTANTIATION(type) \
    (((PyTypeObject *)(type))->tp_new = NULL)
#endif

/* 3.13: the Py_mod_gil module slot (PEP 703).  The module declares that it
   does not need the GIL: its state is written only while the module is
   executed, factory objects are immutable, the nesting depth is
   thread-local, every field of a Barrier is guarded by a critical section
   and the 3.9-3.11 code, which is not thread-safe without the GIL, is not
   compiled there.  Free-threaded builds exist from 3.13 on only. */
#if PY_VERSION_HEX >= 0x030D0000
#  define FA_MOD_GIL_SLOT {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#else
#  define FA_MOD_GIL_SLOT
#endif

/* The function types of the fast C calling conventions, public from 3.13
   (the underscored names stay as aliases through 3.15). */
#if PY_VERSION_HEX >= 0x030D0000
#  define FA_CFUNC_FAST PyCFunctionFast
#  define FA_CFUNC_FAST_KW PyCFunctionFastWithKeywords
#else
#  define FA_CFUNC_FAST _PyCFunctionFast
#  define FA_CFUNC_FAST_KW _PyCFunctionFastWithKeywords
#endif

/* Thread-local storage for the eager nesting depth (C11 / MSVC). */
#if defined(_MSC_VER)
#  define FA_THREAD_LOCAL __declspec(thread)
#else
#  define FA_THREAD_LOCAL _Thread_local
#endif

/* 1 if the calling thread's stack takes more than three quarters of its
   Python recursion limit.  3.12 counts Python frames in
   py_recursion_remaining of py_recursion_limit (the C stack is counted
   apart, gh-91079); 3.11 counts them in recursion_remaining of
   recursion_limit; 3.9 and 3.10 count frames and calls made from C in
   recursion_depth, against Py_GetRecursionLimit(). */
static inline int
fa_recursion_nearly_spent(void)
{
    PyThreadState *ts = PyThreadState_Get();
#if PY_VERSION_HEX >= 0x030C0000
    int limit = ts->py_recursion_limit;
    int used = limit - ts->py_recursion_remaining;
#elif PY_VERSION_HEX >= 0x030B0000
    int limit = ts->recursion_limit;
    int used = limit - ts->recursion_remaining;
#else
    int limit = Py_GetRecursionLimit();
    int used = ts->recursion_depth;
#endif
    return used > limit / 4 * 3;
}

/* The top item of the calling thread's exception stack (see fa_handled
   below), as an address to compare only. */
static inline void *
fa_exc_top(void)
{
    return (void *)PyThreadState_Get()->exc_info;
}

/* 1 if no item of the calling thread's exception stack holds an exception
   from the top down to stop (excluded; NULL: to the bottom), 0 if one
   does.  Reads what PyErr_GetHandledException walks (_PyErr_StackItem,
   public in cpython/pystate.h): an item holds one if its exc_value (3.11+,
   bpo-45711) or exc_type (3.9, 3.10) is neither NULL nor None. */
static inline int
fa_handled_none_above(void *stop)
{
    _PyErr_StackItem *item = PyThreadState_Get()->exc_info;
    for (; item != NULL && (void *)item != stop;
         item = item->previous_item) {
#if PY_VERSION_HEX >= 0x030B0000
        PyObject *held = item->exc_value;
#else
        PyObject *held = item->exc_type;
#endif
        if (held != NULL && held != Py_None) {
            return 0;
        }
    }
    return 1;
}

/* The exception the calling thread is handling, as sys.exc_info() reports
   it: the one of the topmost item of the thread's exception stack that
   holds one (items that hold none, NULL or None, are walked past).  Each
   running coroutine or generator has an item of its own on that stack, and
   an except block of a plain function, Python or C, sets the item of the
   coroutine or generator it runs in (the thread's own item at the bottom).
   fa_handled_set() and fa_handled_set_none() set the top item only, as
   PyErr_SetExcInfo and PyErr_SetHandledException do.
   3.11 keeps the exception alone (bpo-45711) and reads and sets it with
   PyErr_GetHandledException/PyErr_SetHandledException (gh-90501); 3.9 and
   3.10 keep (type, value, traceback), read and set with
   PyErr_GetExcInfo/PyErr_SetExcInfo. */
typedef struct {
#if PY_VERSION_HEX < 0x030B0000
    PyObject *type, *tb;    /* new, or NULL */
#endif
    PyObject *value;        /* new, or NULL: no exception */
} fa_handled;

/* *h = the exception being handled (new references). */
static inline void
fa_handled_get(fa_handled *h)
{
#if PY_VERSION_HEX >= 0x030B0000
    h->value = PyErr_GetHandledException();   /* new or NULL */
    if (h->value == Py_None) {
        Py_CLEAR(h->value);
    }
#else
    PyErr_GetExcInfo(&h->type, &h->value, &h->tb);   /* new */
    if (h->value == NULL || h->value == Py_None) {
        Py_CLEAR(h->type);
        Py_CLEAR(h->value);
        Py_CLEAR(h->tb);
    }
#endif
}

/* Releases what fa_handled_get() gave. */
static inline void
fa_handled_release(fa_handled *h)
{
#if PY_VERSION_HEX < 0x030B0000
    Py_CLEAR(h->type);
    Py_CLEAR(h->tb);
#endif
    Py_CLEAR(h->value);
}

/* The top item of the stack holds *h; the references are taken from h. */
static inline void
fa_handled_set(fa_handled *h)
{
#if PY_VERSION_HEX >= 0x030B0000
    PyErr_SetHandledException(h->value);   /* does not steal */
    Py_CLEAR(h->value);
#else
    PyErr_SetExcInfo(h->type, h->value, h->tb);   /* steals */
    h->type = h->value = h->tb = NULL;
#endif
}

/* The top item of the stack holds no exception. */
static inline void
fa_handled_set_none(void)
{
#if PY_VERSION_HEX >= 0x030B0000
    PyErr_SetHandledException(NULL);
#else
    PyErr_SetExcInfo(NULL, NULL, NULL);
#endif
}

/* *h = exc as the exception being handled (new references). */
static inline void
fa_handled_of(fa_handled *h, PyObject *exc)
{
#if PY_VERSION_HEX < 0x030B0000
    h->type = (PyObject *)Py_TYPE(exc);
    Py_INCREF(h->type);
    h->tb = PyException_GetTraceback(exc);   /* new or NULL */
#endif
    Py_INCREF(exc);
    h->value = exc;
}

/* True when a and b are the same, as sys.exc_info() shows them (on 3.11+
   the type and traceback follow from the exception). */
static inline int
fa_handled_same(const fa_handled *a, const fa_handled *b)
{
#if PY_VERSION_HEX >= 0x030B0000
    return a->value == b->value;
#else
    return a->value == b->value && a->type == b->type && a->tb == b->tb;
#endif
}

/* module_name.attr as a new reference (not version-dependent; shared by
   the compiled modules). */
static inline PyObject *
fa_import_attr(const char *module_name, const char *attr)
{
    PyObject *mod = PyImport_ImportModule(module_name);   /* new */
    if (mod == NULL) {
        return NULL;
    }
    PyObject *res = PyObject_GetAttrString(mod, attr);    /* new */
    Py_DECREF(mod);
    return res;
}

/* Py_NewRef is 3.10+. */
#if PY_VERSION_HEX < 0x030A0000
static inline PyObject *
fa_newref(PyObject *o)
{
    Py_INCREF(o);
    return o;
}
#  define Py_NewRef(o) fa_newref((PyObject *)(o))
#  define Py_XNewRef(o) ((o) == NULL ? NULL : fa_newref((PyObject *)(o)))
#endif

/* ------------------------------------------------------------------------
 * Used by the Barrier (src/_fastaio/barrier.c).
 * ---------------------------------------------------------------------- */
/* 3.10: the am_send slot and PySendResult (bpo-41756) let an awaitable
   return its result to the awaiting coroutine without a StopIteration. */
#if PY_VERSION_HEX >= 0x030A0000
#  define FA_HAVE_AM_SEND 1
#else
#  define FA_HAVE_AM_SEND 0
#endif

/* 3.13: free-threaded builds (PEP 703) define Py_GIL_DISABLED; there the
   barrier's fields are guarded by a per-object critical section (the
   module declares that it does not need the GIL: FA_MOD_GIL_SLOT).  With
   the GIL the macros only open and close a block. */
#if defined(Py_GIL_DISABLED) && PY_VERSION_HEX >= 0x030D0000
#  define FA_BEGIN_CRITICAL_SECTION(op) \
    Py_BEGIN_CRITICAL_SECTION((PyObject *)(op))
#  define FA_END_CRITICAL_SECTION() Py_END_CRITICAL_SECTION()
#else
#  define FA_BEGIN_CRITICAL_SECTION(op) {
#  define FA_END_CRITICAL_SECTION() }
#endif

/* Loads and stores of the module state's caches keyed on version tags
   (fastaio.h): relaxed atomics on free-threaded builds (3.13+), where
   another thread may read while one writes; plain accesses with the GIL.
   A cached answer is one word, so a reader sees a whole old or a whole
   new one. */
#if defined(Py_GIL_DISABLED)
#  define FA_LOAD_U32(p) _Py_atomic_load_uint32_relaxed(p)
#  define FA_STORE_U32(p, v) _Py_atomic_store_uint32_relaxed((p), (v))
#  define FA_LOAD_U64(p) _Py_atomic_load_uint64_relaxed(p)
#  define FA_STORE_U64(p, v) _Py_atomic_store_uint64_relaxed((p), (v))
#else
#  define FA_LOAD_U32(p) (*(p))
#  define FA_STORE_U32(p, v) (*(p) = (v))
#  define FA_LOAD_U64(p) (*(p))
#  define FA_STORE_U64(p, v) (*(p) = (v))
#endif

/* The version tag of a type if it is valid now, else 0 (a tag is unique
   within the interpreter, and a type gets a new one after any change to it
   or its bases).  3.13 stopped maintaining Py_TPFLAGS_VALID_VERSION_TAG:
   a changed type's tp_version_tag is reset to 0 instead; 3.9-3.12 clear
   the flag (3.9-3.11 leave the stale tag).  Free-threaded builds write
   the tag atomically under the type lock; it is read atomically here. */
static inline unsigned int
fa_type_version(PyTypeObject *tp)
{
#if defined(Py_GIL_DISABLED)
    return _Py_atomic_load_uint32_relaxed((uint32_t *)&tp->tp_version_tag);
#elif PY_VERSION_HEX >= 0x030D0000
    return tp->tp_version_tag;
#else
    return PyType_HasFeature(tp, Py_TPFLAGS_VALID_VERSION_TAG)
        ? tp->tp_version_tag : 0;
#endif
}

/* 1 if obj has no instance attribute, 0 if it may have one; never creates
   its dict.  3.13 gave types a managed dict, kept as inline values until
   something asks for the dict object (3.14's _asyncio.Future and Task have
   them): there _PyObject_GetDictPtr would create that dict, while
   PyObject_VisitManagedDict (3.13+) reports the values or the dict without
   creating anything.  Before 3.13 (and for types without a managed dict)
   the dict pointer is read. */
static inline int
fa_stop_visit(PyObject *obj, void *arg)
{
    (void)obj;
    (void)arg;
    return 1;
}

static inline int
fa_no_instance_attrs(PyObject *obj)
{
#if PY_VERSION_HEX >= 0x030D0000
    if (PyType_HasFeature(Py_TYPE(obj), Py_TPFLAGS_MANAGED_DICT)) {
        return PyObject_VisitManagedDict(obj, fa_stop_visit, NULL) == 0;
    }
#endif
    PyObject **dict = _PyObject_GetDictPtr(obj);
    return dict == NULL || *dict == NULL || PyDict_GET_SIZE(*dict) == 0;
}

/* 3.12: PyErr_Fetch/PyErr_Restore are deprecated for the single-object
   PyErr_GetRaisedException/PyErr_SetRaisedException (gh-101578). */
#if PY_VERSION_HEX >= 0x030C0000
#  define FA_ERR_SAVE(saved) PyObject *saved = PyErr_GetRaisedException()
#  define FA_ERR_RESTORE(saved) PyErr_SetRaisedException(saved)
#else
#  define FA_ERR_SAVE(saved) \
    PyObject *saved##_t, *saved##_v, *saved##_tb; \
    PyErr_Fetch(&saved##_t, &saved##_v, &saved##_tb)
#  define FA_ERR_RESTORE(saved) \
    PyErr_Restore(saved##_t, saved##_v, saved##_tb)
#endif

/* The raised exception (new reference), normalized and holding its
   traceback, as an except block sees it; the error indicator is cleared.
   fa_err_raise(exc) raises it again, taking the reference.  3.12 keeps the
   exception alone (gh-101578); before, (type, value, traceback) are
   fetched and normalized. */
static inline PyObject *
fa_err_take(void)
{
#if PY_VERSION_HEX >= 0x030C0000
    return PyErr_GetRaisedException();
#else
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (value != NULL && tb != NULL) {
        PyException_SetTraceback(value, tb);
    }
    Py_XDECREF(type);
    Py_XDECREF(tb);
    return value;
#endif
}

static inline void
fa_err_raise(PyObject *exc)
{
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(exc);
#else
    PyObject *type = (PyObject *)Py_TYPE(exc);
    Py_INCREF(type);
    PyErr_Restore(type, exc, PyException_GetTraceback(exc));
#endif
}

#endif  /* FASTAIO_COMPAT_H */
