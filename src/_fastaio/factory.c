/*
 * The eager task factory (eager_task_factory, create_eager_task_factory)
 * and create_task_via_factory, loop.create_task for fastaio's loops.
 *
 * The factory is a C callable that decides in C whether a task may start
 * now and constructs it: asyncio's C Task through its tp_new and tp_init,
 * on 3.14.7+ with one keywords dict for every task it starts on the loop
 * of this thread (new_task_here), on 3.12+ with the GIL otherwise with
 * argument containers kept for reuse (new_task_pooled); any other
 * constructor by vectorcall;
 * create_task_via_factory calls it without a Python frame.
 *
 * Reference ownership: see fastaio.h.
 */
#include "fastaio.h"

typedef struct {
    PyObject_HEAD
    fa_state *st;            /* the state of module */
    PyObject *module;        /* the module that made the factory (new) */
    PyObject *ctor;          /* the task constructor */
    PyObject *closure;       /* (cell(ctor),): see factory_get_closure */
    vectorcallfunc vectorcall;
} FactoryObject;

static void factory_dealloc(FactoryObject *self);

/* A compiled factory of any instance of this module: its type's dealloc is
   this file's (no module state is needed to tell). */
#define IS_FACTORY(op) (Py_TYPE(op)->tp_dealloc == (destructor)factory_dealloc)

#if FA_CTOR_POOL || FA_CTOR_LOOP_FROM_THREAD
/* task_type(*args, **kwargs), made as type.__call__ makes it (tp_new, then
   the tp_init of the object's type if it is an instance) for the C Task,
   whose __init__ keeps neither container (new reference, or NULL with an
   error set). */
static PyObject *
new_c_task(fa_state *st, PyObject *args, PyObject *kwargs)
{
    if (Py_EnterRecursiveCall(" while calling a Python object") != 0) {
        return NULL;
    }
    PyTypeObject *tp = FA_TYPE(st, task_type);
    PyObject *task = tp->tp_new(tp, args, kwargs);   /* new */
    if (task != NULL && PyObject_TypeCheck(task, tp)
            && Py_TYPE(task)->tp_init != NULL
            && Py_TYPE(task)->tp_init(task, args, kwargs) < 0) {
        Py_CLEAR(task);
    }
    Py_LeaveRecursiveCall();
    return task;
}
#endif

#if FA_CTOR_POOL
/* The number of keys of a pooled keywords dict. */
#define FA_CTOR_NKEYS 4

static PyObject *
ctor_kwargs_new(fa_state *st)
{
    PyObject *kwargs = PyDict_New();   /* new */
    if (kwargs == NULL
            || PyDict_SetItem(kwargs, st->str_loop, Py_None) < 0
            || PyDict_SetItem(kwargs, st->str_name, Py_None) < 0
            || PyDict_SetItem(kwargs, st->str_context, Py_None) < 0
            || PyDict_SetItem(kwargs, st->str_eager_start, Py_True) < 0) {
        Py_XDECREF(kwargs);
        return NULL;
    }
    return kwargs;
}

/* take: *args = (coro,) and *kwargs = the keywords dict with its default
   values (see fa_state.ctor_kwargs; the caller sets the ones it passes),
   both new references; 0, or -1 with an error set.  give: puts the
   defaults back (name, context and eager: what the caller set) and keeps
   the pair for another call if nothing else holds it; keeps the exception
   being raised, if any.  A call nested in the constructor (a first step
   that creates tasks) takes another pair. */
static int
ctor_args_take(fa_state *st, PyObject *coro, PyObject **args,
               PyObject **kwargs)
{
    if (st->ctor_pool_len > 0) {
        st->ctor_pool_len--;
        *args = st->ctor_args[st->ctor_pool_len];
        *kwargs = st->ctor_kwargs[st->ctor_pool_len];
        st->ctor_args[st->ctor_pool_len] = NULL;
        st->ctor_kwargs[st->ctor_pool_len] = NULL;
    }
    else {
        *args = PyTuple_Pack(1, Py_None);
        *kwargs = *args == NULL ? NULL : ctor_kwargs_new(st);
        if (*kwargs == NULL) {
            Py_CLEAR(*args);
            return -1;
        }
    }
    /* The tuple is ours alone: its item is set in place. */
    PyObject *old = PyTuple_GET_ITEM(*args, 0);   /* new: the tuple's */
    PyTuple_SET_ITEM(*args, 0, Py_NewRef(coro));
    Py_DECREF(old);
    return 0;
}

static void
ctor_args_give(fa_state *st, PyObject *args, PyObject *kwargs,
               PyObject *name, PyObject *context, PyObject *eager)
{
    PyObject *exc = fa_err_take();   /* new, or NULL */
    PyObject *old = PyTuple_GET_ITEM(args, 0);   /* new: the tuple's */
    PyTuple_SET_ITEM(args, 0, Py_NewRef(Py_None));
    Py_DECREF(old);
    /* Replacing the value of a present key allocates nothing. */
    int ok = PyDict_SetItem(kwargs, st->str_loop, Py_None) == 0
        && (name == Py_None
            || PyDict_SetItem(kwargs, st->str_name, Py_None) == 0)
        && (context == Py_None
            || PyDict_SetItem(kwargs, st->str_context, Py_None) == 0)
        && (eager == Py_True
            || PyDict_SetItem(kwargs, st->str_eager_start, Py_True) == 0);
    if (ok && Py_REFCNT(args) == 1 && Py_REFCNT(kwargs) == 1
            && PyDict_GET_SIZE(kwargs) == FA_CTOR_NKEYS
            && st->ctor_pool_len < FA_CTOR_POOL) {
        st->ctor_args[st->ctor_pool_len] = args;
        st->ctor_kwargs[st->ctor_pool_len] = kwargs;
        st->ctor_pool_len++;
    }
    else {
        PyErr_Clear();
        Py_DECREF(args);
        Py_DECREF(kwargs);
    }
    if (exc != NULL) {
        fa_err_raise(exc);
    }
}

/* task_type(coro, loop=loop, name=name, context=context,
   eager_start=eager), made by new_c_task with an arguments tuple and a
   keywords dict from st's pool.  The C Task's __init__ takes
   name=None and context=None as not given, and keeps neither container;
   nested calls (a first step that creates tasks) take other pairs. */
static PyObject *
new_task_pooled(fa_state *st, PyObject *coro, PyObject *loop,
                PyObject *name, PyObject *context, PyObject *eager)
{
    PyObject *args, *kwargs;   /* new */
    if (ctor_args_take(st, coro, &args, &kwargs) < 0) {
        return NULL;
    }
    PyObject *task = NULL;   /* new */
    if (PyDict_SetItem(kwargs, st->str_loop, loop) == 0
            && (name == Py_None
                || PyDict_SetItem(kwargs, st->str_name, name) == 0)
            && (context == Py_None
                || PyDict_SetItem(kwargs, st->str_context, context) == 0)
            && (eager == Py_True
                || PyDict_SetItem(kwargs, st->str_eager_start, eager) == 0)) {
        task = new_c_task(st, args, kwargs);
    }
    ctor_args_give(st, args, kwargs, name, context, eager);
    return task;
}
#endif  /* FA_CTOR_POOL */

#if FA_CTOR_LOOP_FROM_THREAD
/* task_type(coro, eager_start=True), made by new_c_task, for a start on
   the loop that runs in this thread (the constructor takes it from there:
   see compat.h) with neither name nor context.  The keywords dict is
   st's, made once, never changed and kept by nobody else (the C Task's
   __init__ only reads it), so threads share it. */
static PyObject *
new_task_here(fa_state *st, PyObject *coro)
{
    PyObject *args = PyTuple_Pack(1, coro);   /* new */
    if (args == NULL) {
        return NULL;
    }
    PyObject *task = new_c_task(st, args, st->ctor_eager_kwargs);   /* new */
    Py_DECREF(args);
    return task;
}
#endif

/* ctor(coro, loop=loop, [name=name,] [context=context,] eager_start=eager,
        **extra): name and context only when not None, as asyncio's own
   factory of 3.14 passes only what it was given (and every keyword costs
   the constructor time). */
static PyObject *
call_ctor(fa_state *st, PyObject *ctor, PyObject *loop, PyObject *coro, PyObject *name,
          PyObject *context, PyObject *eager, PyObject *const *extra_values,
          PyObject *extra_names)
{
    Py_ssize_t nextra = extra_names == NULL ? 0 : PyTuple_GET_SIZE(extra_names);
#if FA_CTOR_POOL
    if (ctor == st->task_type && nextra == 0 && st->ctor_is_c_task) {
        return new_task_pooled(st, coro, loop, name, context, eager);
    }
#endif
    PyObject *small[1 + 5 + 8];
    PyObject **stack = small;
    int which = (name != Py_None) | ((context != Py_None) << 1);
    PyObject *const all_kwnames[4] = {
        st->kwnames_ctor0, st->kwnames_ctor1, st->kwnames_ctor2,
        st->kwnames_ctor3};
    PyObject *kwnames = all_kwnames[which];   /* borrowed, or new */
    if (nextra > 0) {
        if (nextra > 8) {
            stack = PyMem_Malloc((size_t)(1 + 5 + nextra) * sizeof(PyObject *));
            if (stack == NULL) {
                return PyErr_NoMemory();
            }
        }
        kwnames = PySequence_Concat(kwnames, extra_names);
        if (kwnames == NULL) {
            if (stack != small) {
                PyMem_Free(stack);
            }
            return NULL;
        }
    }
    Py_ssize_t n = 1;
    stack[n++] = coro;
    stack[n++] = loop;
    if (name != Py_None) {
        stack[n++] = name;
    }
    if (context != Py_None) {
        stack[n++] = context;
    }
    stack[n++] = eager;
    for (Py_ssize_t i = 0; i < nextra; i++) {
        stack[n++] = extra_values[i];
    }
    PyObject *task = PyObject_Vectorcall(
        ctor, stack + 1, 1 | PY_VECTORCALL_ARGUMENTS_OFFSET, kwnames);
    if (nextra > 0) {
        Py_DECREF(kwnames);
        if (stack != small) {
            PyMem_Free(stack);
        }
    }
    return task;
}

/* The factory's work, once the arguments are sorted out.  eager_start is
   NULL when not given (None is treated the same: "eager"). */
static PyObject *
factory_create(FactoryObject *f, PyObject *loop, PyObject *coro,
               PyObject *name, PyObject *context, PyObject *eager_start,
               PyObject *const *extra_values, PyObject *extra_names)
{
    if (fa_check_context(context) < 0) {
        return NULL;
    }
    int want = 1;
    if (eager_start != NULL && eager_start != Py_None) {
        want = PyObject_IsTrue(eager_start);
        if (want < 0) {
            return NULL;
        }
    }
#if FA_NATIVE_EAGER
    if (want) {
        int now = fa_may_start_eagerly(f->st, loop);
        if (now > 0) {
            int enterable = fa_context_enterable(context);
            if (enterable <= 0) {
                now = enterable;
            }
        }
        if (now < 0) {
            return NULL;
        }
        if (now) {
            fa_handled hidden = {0};   /* new, while hidden */
            if (now == FA_EAGER_HIDING) {
                fa_hide_handled(&hidden);
            }
            PyObject *task;   /* new */
            FA_EAGER_STEP_ENTER(clean);
#if FA_CTOR_LOOP_FROM_THREAD
            if (f->st->ctor_eager_kwargs != NULL && f->ctor == f->st->task_type
                    && name == Py_None && context == Py_None
                    && extra_names == NULL) {
                task = new_task_here(f->st, coro);
            }
            else
#endif
            {
                task = call_ctor(f->st, f->ctor, loop, coro, name, context,
                                 Py_True, extra_values, extra_names);
            }
            FA_EAGER_STEP_LEAVE(clean);
            if (now == FA_EAGER_HIDING) {
                fa_give_back_handled(&hidden);
            }
#if FA_MAY_NEED_GET_CORO_FIX
            fa_task312_after_eager_start(f->st, task);
#endif
            return task;
        }
        /* As asyncio's factory: an idle loop gets an eager request, which
           the constructor turns into a lazy start. */
        PyObject *running = PyObject_CallMethodNoArgs(
            loop, f->st->str_is_running);   /* new */
        if (running == NULL) {
            return NULL;
        }
        int is_running = PyObject_IsTrue(running);
        Py_DECREF(running);
        if (is_running < 0) {
            return NULL;
        }
        if (!is_running) {
            return call_ctor(f->st, f->ctor, loop, coro, name, context, Py_True,
                             extra_values, extra_names);
        }
    }
    return call_ctor(f->st, f->ctor, loop, coro, name, context, Py_False,
                     extra_values, extra_names);
#else
    /* fastaio's Task decides (and checks) eagerness itself. */
    if (f->ctor == f->st->task_type && extra_names == NULL) {
        return fa_task_new_for_factory(f->st, coro, loop, name, context,
                                       want);
    }
    return call_ctor(f->st, f->ctor, loop, coro, name, context,
                     want ? Py_True : Py_False, extra_values, extra_names);
#endif
}

static int
str_is(PyObject *key, PyObject *interned)
{
    return key == interned || PyUnicode_Compare(key, interned) == 0;
}

/* Sort keyword arguments into name/context/eager_start and the rest, then
   create the task.  args[nargs:] are the keyword values. */
static PyObject *
factory_dispatch(FactoryObject *f, PyObject *loop, PyObject *coro,
                 PyObject *const *kwvalues, PyObject *kwnames)
{
    PyObject *name = Py_None, *context = Py_None;   /* borrowed */
    PyObject *eager_start = NULL;                    /* borrowed */
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    PyObject *small[8];
    PyObject **extra_values = small;
    PyObject *extra_names = NULL;   /* new */
    Py_ssize_t nextra = 0;

    for (Py_ssize_t i = 0; i < nkw; i++) {
        PyObject *key = PyTuple_GET_ITEM(kwnames, i);   /* borrowed */
        if (str_is(key, f->st->str_name)) {
            name = kwvalues[i];
        }
        else if (str_is(key, f->st->str_context)) {
            context = kwvalues[i];
        }
        else if (str_is(key, f->st->str_eager_start)) {
            eager_start = kwvalues[i];
        }
        else {
            if (extra_names == NULL) {
                extra_names = PyTuple_New(nkw - i);
                if (extra_names == NULL) {
                    return NULL;
                }
                if (nkw - i > 8) {
                    extra_values = PyMem_Malloc(
                        (size_t)(nkw - i) * sizeof(PyObject *));
                    if (extra_values == NULL) {
                        Py_DECREF(extra_names);
                        return PyErr_NoMemory();
                    }
                }
            }
            PyTuple_SET_ITEM(extra_names, nextra, Py_NewRef(key));
            extra_values[nextra++] = kwvalues[i];
        }
        if (PyErr_Occurred()) {
            goto error;
        }
    }
    if (extra_names != NULL && nextra < PyTuple_GET_SIZE(extra_names)) {
        PyObject *cut = PyTuple_GetSlice(extra_names, 0, nextra);
        Py_SETREF(extra_names, cut);
        if (extra_names == NULL) {
            goto error;
        }
    }
    PyObject *task = factory_create(f, loop, coro, name, context,
                                    eager_start, extra_values, extra_names);
    Py_XDECREF(extra_names);
    if (extra_values != small) {
        PyMem_Free(extra_values);
    }
    return task;
error:
    Py_XDECREF(extra_names);
    if (extra_values != small) {
        PyMem_Free(extra_values);
    }
    return NULL;
}

static PyObject *
factory_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf,
                   PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError,
                     "eager_task_factory() takes 2 positional arguments "
                     "(loop, coro) but %zd were given", nargs);
        return NULL;
    }
    return factory_dispatch((FactoryObject *)self, args[0], args[1],
                            args + nargs, kwnames);
}

static int
factory_traverse(FactoryObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->module);
    Py_VISIT(self->ctor);
    Py_VISIT(self->closure);
    return 0;
}

static int
factory_clear(FactoryObject *self)
{
    Py_CLEAR(self->ctor);
    Py_CLEAR(self->closure);
    /* self->module stays until dealloc: self->st must stay valid while
       the factory can still be called. */
    return 0;
}

static void
factory_dealloc(FactoryObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);   /* borrowed until the final decref */
    PyObject_GC_UnTrack(self);
    (void)factory_clear(self);
    Py_CLEAR(self->module);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyObject *
factory_repr(FactoryObject *self)
{
    return PyUnicode_FromFormat("<fastaio eager_task_factory of %R>",
                                self->ctor);
}

/* anyio recognises asyncio's eager factory by its __code__ (3.12+) and
   then creates the tasks of its task groups lazily through the constructor
   found in __closure__[0]; on 3.9-3.11 it checks __code__ against None.
   fastaio's factory answers both the same way, so anyio treats it exactly
   as asyncio.eager_task_factory. */
static PyObject *
factory_get_closure(FactoryObject *self, void *Py_UNUSED(c))
{
    return Py_NewRef(self->closure);
}

static PyObject *
factory_get_code(FactoryObject *self, void *Py_UNUSED(c))
{
    if (self->st->eager_code == NULL) {
        PyErr_SetString(PyExc_AttributeError, "__code__");
        return NULL;
    }
    return Py_NewRef(self->st->eager_code);
}

static PyObject *
factory_get_name(FactoryObject *self, void *Py_UNUSED(c))
{
    return PyUnicode_FromString("eager_task_factory");
}

static PyGetSetDef factory_getset[] = {
    {"__closure__", (getter)factory_get_closure, NULL, NULL, NULL},
    {"__code__", (getter)factory_get_code, NULL, NULL, NULL},
    {"__name__", (getter)factory_get_name, NULL, NULL, NULL},
    {"__qualname__", (getter)factory_get_name, NULL, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static PyMemberDef factory_members[] = {
    {"_fastaio_task_constructor", T_OBJECT, offsetof(FactoryObject, ctor),
     READONLY, NULL},
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(FactoryObject, vectorcall),
     READONLY, NULL},
    {NULL, 0, 0, 0, NULL}
};

PyDoc_STRVAR(factory_doc,
"A task factory that starts tasks eagerly; see create_eager_task_factory.");

static PyType_Slot factory_slots[] = {
    {Py_tp_dealloc, factory_dealloc},
    {Py_tp_repr, factory_repr},
    {Py_tp_call, PyVectorcall_Call},
    {Py_tp_doc, (void *)factory_doc},
    {Py_tp_traverse, factory_traverse},
    {Py_tp_clear, factory_clear},
    {Py_tp_members, factory_members},
    {Py_tp_getset, factory_getset},
    {0, NULL}
};

static PyType_Spec factory_spec = {
    "fastaio._core.EagerTaskFactory",
    sizeof(FactoryObject),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL
        | FA_TPFLAGS_DISALLOW_INSTANTIATION,
    factory_slots,
};

static PyObject *
make_factory(fa_state *st, PyObject *module, PyObject *ctor)
{
    if (!PyCallable_Check(ctor)) {
        PyErr_Format(PyExc_TypeError,
                     "custom_task_constructor must be callable, not %s",
                     Py_TYPE(ctor)->tp_name);
        return NULL;
    }
#if !FA_NATIVE_EAGER
    if (PyType_Check(ctor)) {
        int sub = PyObject_IsSubclass(ctor, st->task_type);
        if (sub < 0) {
            return NULL;
        }
        if (!sub) {
            PyErr_Format(PyExc_TypeError,
                         "%s cannot start eagerly on Python %d.%d; use "
                         "fastaio.Task or a subclass of it",
                         ((PyTypeObject *)ctor)->tp_name,
                         PY_MAJOR_VERSION, PY_MINOR_VERSION);
            return NULL;
        }
    }
#endif
    PyObject *cell = PyCell_New(ctor);   /* new */
    if (cell == NULL) {
        return NULL;
    }
    PyObject *closure = PyTuple_Pack(1, cell);   /* new */
    Py_DECREF(cell);
    if (closure == NULL) {
        return NULL;
    }
    FactoryObject *f = PyObject_GC_New(FactoryObject,
                                       FA_TYPE(st, factory_type));
    if (f == NULL) {
        Py_DECREF(closure);
        return NULL;
    }
    f->st = st;
    f->module = Py_NewRef(module);
    f->ctor = Py_NewRef(ctor);
    f->closure = closure;
    f->vectorcall = factory_vectorcall;
    PyObject_GC_Track(f);
    return (PyObject *)f;
}

PyDoc_STRVAR(create_eager_task_factory_doc,
"create_eager_task_factory(custom_task_constructor)\n--\n\n"
"Return a task factory that starts tasks eagerly.\n\n"
"The factory takes (loop, coro, *, name=None, context=None,\n"
"eager_start=None, **kwargs) on every Python version; eager_start None\n"
"means eager.  Other keyword arguments go to custom_task_constructor,\n"
"which must accept loop and eager_start keywords, and name and context\n"
"(passed only when not None).");

static PyObject *
create_eager_task_factory(PyObject *module, PyObject *ctor)
{
    return make_factory(fa_state_of_module(module), module, ctor);
}

/* ---------------------------------------------------------------------- */
/* loop.create_task for fastaio's loops                                    */

PyDoc_STRVAR(create_task_doc,
"create_task_via_factory($module, loop, coro, /, *, name=None, context=None,"
" **kwargs)"
"\n--\n\n"
"loop.create_task for loops that run fastaio's factory: the factory gets\n"
"the name and the context before the task's first step.");

/* closed (a new reference, taken over; NULL with an error set) is the
   loop's closed flag: 0 if it is false, -1 with RuntimeError("Event loop
   is closed") or another error set. */
static int
check_not_closed(PyObject *closed)
{
    int is_closed = closed == NULL ? -1 : PyObject_IsTrue(closed);
    Py_XDECREF(closed);
    if (is_closed > 0) {
        PyErr_SetString(PyExc_RuntimeError, "Event loop is closed");
    }
    return is_closed == 0 ? 0 : -1;
}

/* BaseEventLoop._check_closed() without the call: 0 if loop is open, -1
   with RuntimeError("Event loop is closed") or another error set. */
static int
check_open(fa_state *st, PyObject *loop)
{
#if FA_LOOP_CACHE
    /* A reference of its own: its truth may run code that changes the
       loop. */
    PyObject *closed;   /* new, taken by check_not_closed */
    int hit = fa_loop_cached_attr(st, loop, offsetof(fa_loop_cache, closed),
                                  &closed);
    if (hit != 0) {
        return hit > 0 ? check_not_closed(closed) : -1;
    }
#endif
    return check_not_closed(fa_loop_attr(st, loop, st->str_closed));
}

/* 1 if factory is the pure-Python core's (its _fastaio_task_constructor
   is not None), 0 if not (None, or any other callable), -1 with an error
   set. */
static int
is_pure_factory(fa_state *st, PyObject *factory)
{
    if (factory == Py_None) {
        return 0;
    }
    PyObject *ctor = PyObject_GetAttr(factory, st->str_task_constructor);
    if (ctor == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_AttributeError)) {
            return -1;
        }
        PyErr_Clear();
        return 0;
    }
    int pure = ctor != Py_None;
    Py_DECREF(ctor);
    return pure;
}

/* create_task_via_factory for a loop whose factory is not the compiled one
   (factory: new reference, taken over): as _pycore.create_task_via_factory.
   The pure twin's factory (a non-None _fastaio_task_constructor) gets
   factory(loop, coro, name=name, context=context, **kwargs); any other
   factory, or none, gets BaseEventLoop.create_task(loop, coro, name=name,
   **kwargs), with context= passed on when given (3.11+), or on 3.9/3.10
   (whose loops take no context) through context.run(). */
static PyObject *
create_task_other(fa_state *st, PyObject *loop, PyObject *factory,
                  PyObject *coro, PyObject *const *kwvalues,
                  PyObject *kwnames)
{
    int pure = is_pure_factory(st, factory);
    if (pure < 0) {
        Py_DECREF(factory);
        return NULL;
    }
    if (pure && check_open(st, loop) < 0) {
        Py_DECREF(factory);
        return NULL;
    }
    else if (!pure) {
        Py_SETREF(factory, Py_NewRef(st->base_create_task));
    }
    /* factory is now the callable (new). */
    PyObject *str_name = st->str_name;              /* borrowed */
    PyObject *str_context = st->str_context;        /* borrowed */
    PyObject *name = Py_None, *context = Py_None;   /* borrowed */
    PyObject **call = NULL;
    PyObject *names = NULL, *res = NULL;            /* new */
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    /* Which keywords are name= and context=: -1 if not given. */
    Py_ssize_t at_name = -1, at_context = -1;
    for (Py_ssize_t i = 0; i < nkw; i++) {
        PyObject *key = PyTuple_GET_ITEM(kwnames, i);   /* borrowed */
        if (PyUnicode_Compare(key, str_name) == 0) {
            at_name = i;
            name = kwvalues[i];
        }
        else if (PyUnicode_Compare(key, str_context) == 0) {
            at_context = i;
            context = kwvalues[i];
        }
        if (PyErr_Occurred()) {
            goto done;
        }
    }
    Py_ssize_t nother = nkw - (at_name >= 0) - (at_context >= 0);
    int pass_context = pure || context != Py_None;
    int via_run = 0;
#if !FA_LOOP_TAKES_CONTEXT
    if (!pure && context != Py_None) {
        pass_context = 0;
        via_run = 1;
    }
#endif
    /* [context, BaseEventLoop.create_task,] loop, coro | name, [context,]
       the other keywords in their order */
    Py_ssize_t nfixed = via_run ? 4 : 2;
    Py_ssize_t nnames = 1 + pass_context + nother;
    call = PyMem_New(PyObject *, nfixed + nnames);
    names = PyTuple_New(nnames);
    if (call == NULL || names == NULL) {
        if (call == NULL) {
            PyErr_NoMemory();
        }
        goto done;
    }
    Py_ssize_t n = 0, k = 0;
    if (via_run) {
        call[n++] = context;
        call[n++] = factory;
    }
    call[n++] = loop;
    call[n++] = coro;
    call[n++] = name;
    PyTuple_SET_ITEM(names, k++, Py_NewRef(str_name));
    if (pass_context) {
        call[n++] = context;
        PyTuple_SET_ITEM(names, k++, Py_NewRef(str_context));
    }
    for (Py_ssize_t i = 0; i < nkw; i++) {
        if (i != at_name && i != at_context) {
            call[n++] = kwvalues[i];
            PyTuple_SET_ITEM(names, k++,
                             Py_NewRef(PyTuple_GET_ITEM(kwnames, i)));
        }
    }
    if (via_run) {
        PyObject *run = PyObject_GetAttr(context, st->str_run);   /* new */
        if (run != NULL) {
            res = PyObject_Vectorcall(run, call + 1, nfixed - 1, names);
            Py_DECREF(run);
        }
    }
    else {
        res = PyObject_Vectorcall(factory, call, nfixed, names);
    }
done:
    PyMem_Free(call);
    Py_XDECREF(names);
    Py_DECREF(factory);
    return res;
}

/* A function of the module that install() binds to a loop: args[0] is the
   loop. */
static PyObject *
create_task_via_factory(PyObject *module, PyObject *const *args,
                        Py_ssize_t nargsf, PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    fa_state *st = fa_state_of_module(module);
    int checked = 0;   /* a cached loop is a BaseEventLoop */
#if FA_LOOP_CACHE
    checked = nargs == 2 && fa_loop_cached(st, args[0]) != NULL;
#endif
    if (!checked && nargs >= 1
            && fa_check_base_loop(st, args[0], "create_task") < 0) {
        return NULL;
    }
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError,
                     "create_task() takes 1 positional argument but %zd "
                     "were given", nargs - 1);
        return NULL;
    }
    PyObject *loop = args[0];
#if FA_LOOP_CACHE
    fa_loop_cache *c = fa_loop_cache_get(st, loop);   /* borrowed */
    if (c != NULL && IS_FACTORY(c->task_factory)) {
        /* The factory's own reference: the first step may replace it. */
        PyObject *f = Py_NewRef(c->task_factory);   /* new */
        PyObject *task = check_open(st, loop) < 0 ? NULL
            : factory_dispatch((FactoryObject *)f, loop, args[1],
                               args + nargs, kwnames);
        Py_DECREF(f);
        return task;
    }
    if (c == NULL && PyErr_Occurred()) {
        return NULL;
    }
#endif
    PyObject *factory = fa_loop_attr(st, loop,
                                     st->str_task_factory);   /* new */
    if (factory == NULL) {
        return NULL;
    }
    if (!IS_FACTORY(factory)) {
        if (factory == Py_None || PyFunction_Check(factory)) {
            /* No fastaio factory (the pure twin's is not a function):
               BaseEventLoop's own create_task, called as this one was,
               except before 3.11 with context=, which it does not take. */
            int forward = 1;
#if !FA_LOOP_TAKES_CONTEXT
            Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
            for (Py_ssize_t i = 0; i < nkw && forward; i++) {
                int eq = PyUnicode_Compare(PyTuple_GET_ITEM(kwnames, i),
                                           st->str_context);
                if (eq == -1 && PyErr_Occurred()) {
                    Py_DECREF(factory);
                    return NULL;
                }
                forward = eq != 0;
            }
#endif
            if (forward) {
                Py_DECREF(factory);
                return PyObject_Vectorcall(st->base_create_task, args,
                                           nargsf, kwnames);
            }
        }
        /* Another factory, or context= before 3.11. */
        return create_task_other(st, loop, factory, args[1], args + nargs,
                                 kwnames);
    }
    FactoryObject *f = (FactoryObject *)factory;
    if (check_open(st, loop) < 0) {
        Py_DECREF(factory);
        return NULL;
    }
    PyObject *task = factory_dispatch(f, loop, args[1], args + nargs,
                                      kwnames);
    Py_DECREF(factory);
    return task;
}

/* ---------------------------------------------------------------------- */
/* spawn: the task creation of fastaio's compiled TaskGroup               */

PyDoc_STRVAR(spawn_doc,
"spawn($module, loop, coro, name, context, /)"
"\n--\n\n"
"fastaio._tasks.spawn(loop, coro, name, context) without Python frames,\n"
"when the loop's task factory is a compiled fastaio factory; otherwise\n"
"NotImplemented, and the caller takes the general path.");

int
fa_type_method(PyObject *loop, PyObject *name, PyObject **meth)
{
    *meth = PyObject_GetAttr((PyObject *)Py_TYPE(loop), name);   /* new */
    if (*meth == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_AttributeError)) {
            return -1;
        }
        PyErr_Clear();
    }
    return 0;
}

int
fa_type_keeps_method(PyObject *loop, PyObject *name, PyObject *base_meth)
{
    PyObject *meth;   /* new, or NULL */
    if (fa_type_method(loop, name, &meth) < 0) {
        return -1;
    }
    int res = meth != NULL && meth == base_meth;
    Py_XDECREF(meth);
    return res;
}

int
fa_type_keeps_cached(PyTypeObject *tp, PyObject *name, PyObject *expected,
                     uint32_t *version_seen)
{
    unsigned int version = fa_type_version(tp);
    if (version != 0 && version == FA_LOAD_U32(version_seen)) {
        return 1;
    }
    PyObject *attr = PyObject_GetAttr((PyObject *)tp, name);   /* new */
    if (attr == NULL) {
        return -1;
    }
    int same = attr == expected;
    Py_DECREF(attr);
    /* Kept only if the type had a valid tag before the lookup and the
       lookup did not change it. */
    if (same && version != 0 && version == fa_type_version(tp)) {
        FA_STORE_U32(version_seen, version);
    }
    return same;
}

/* FA_KEEPS_DICT_ATTRS and FA_KEEPS_CORE_CREATE_TASK for tp (0 for
   neither).  A class attribute of one of the names could be a data
   descriptor, or the answer while the instance has no value: the names
   must be nowhere in the MRO. */
static int
type_reads_dict(fa_state *st, PyTypeObject *tp)
{
    if (!PyType_IsSubtype(tp, FA_TYPE(st, base_loop))
            || tp->tp_getattro != PyObject_GenericGetAttr) {
        return 0;
    }
    PyObject *names[FA_LOOP_ATTRS];   /* borrowed */
    fa_loop_attr_names(st, names);
    for (int i = 0; i < FA_LOOP_ATTRS; i++) {
        PyObject *attr = fa_type_lookup(tp, names[i]);   /* new */
        if (attr != NULL) {
            Py_DECREF(attr);
            return 0;
        }
    }
    PyObject *ct = fa_type_lookup(tp, st->str_create_task);   /* new */
    int ours = ct != NULL && fa_is_core_method(st, ct, st->core_create_task);
    Py_XDECREF(ct);
    return FA_KEEPS_DICT_ATTRS | (ours ? FA_KEEPS_CORE_CREATE_TASK : 0);
}

/* Which of get_task_factory() and is_closed() type(loop) inherits from
   BaseEventLoop, whether it keeps what call_soon's fast path skips and
   where its instances' attributes are found (bits FA_KEEPS_*), or -1 with
   an error set.  The answer is kept for the last type asked about, with
   its version tag: any change to the type or its bases gives it another
   tag (fa_type_version). */
int
fa_loop_type_keeps(fa_state *st, PyObject *loop)
{
    PyTypeObject *tp = Py_TYPE(loop);
    unsigned int version = fa_type_version(tp);
    uint64_t cached = FA_LOAD_U64(&st->loop_type_keeps);
    if (version != 0 && (uint32_t)(cached >> 32) == version) {
        return (int)(cached & 0xffffffffu);
    }
    int factory = fa_type_keeps_method(loop, st->str_get_task_factory,
                                    st->base_get_task_factory);
    if (factory < 0) {
        return -1;
    }
    int closed = fa_type_keeps_method(loop, st->str_is_closed,
                                   st->base_is_closed);
    if (closed < 0) {
        return -1;
    }
    int soon = fa_keeps_call_soon_parts(st, loop);
    if (soon < 0) {
        return -1;
    }
    int keeps = (factory ? FA_KEEPS_GET_TASK_FACTORY : 0)
        | (closed ? FA_KEEPS_IS_CLOSED : 0)
        | (soon ? FA_KEEPS_CALL_SOON : 0)
        | type_reads_dict(st, tp);
    /* Kept only if the type had a valid tag before the lookups (they give
       it one) and they did not change it. */
    if (version != 0 && version == fa_type_version(tp)) {
        FA_STORE_U64(&st->loop_type_keeps,
                     ((uint64_t)version << 32) | (uint32_t)keeps);
    }
    return keeps;
}

#if FA_LOOP_DICT_READS
/* loop.__dict__ (new reference) when type(loop) has every FA_KEEPS_* bit
   of bits; NULL without an error set when it lacks one, NULL with an error
   set on failure.  The dict is made once if the loop keeps its values
   inline. */
static PyObject *
loop_dict_if(fa_state *st, PyObject *loop, int bits)
{
    int keeps = fa_loop_type_keeps(st, loop);
    if (keeps < 0 || (keeps & bits) != bits) {
        return NULL;
    }
    return PyObject_GenericGetDict(loop, NULL);
}
#endif

#if FA_LOOP_VALUE_READS
/* fa_instance_value for loop.<name>, name one of fa_loop_attr_names or
   create_task, where type(loop) has every FA_KEEPS_* bit of bits: 1 with
   *value a new reference, 0 if the loop has no such attribute, -1 if not
   known (no error set), -2 with an error set. */
static int
loop_value(fa_state *st, PyObject *loop, PyObject *name, int bits,
           PyObject **value)
{
    if (!st->value_reads) {
        return -1;
    }
    int keeps = fa_loop_type_keeps(st, loop);
    if (keeps < 0) {
        return -2;
    }
    if ((keeps & bits) != bits) {
        return -1;
    }
    PyObject *names[FA_LOOP_ATTRS];   /* borrowed */
    fa_loop_attr_names(st, names);
    int i = 0;
    while (i < FA_LOOP_ATTRS && names[i] != name) {
        i++;
    }
    if (i == FA_LOOP_ATTRS && name != st->str_create_task) {
        return -1;   /* a name without a slot word: by name */
    }
    return fa_instance_value(loop, name, &st->value_slots[i], value);
}
#endif

PyObject *
fa_loop_attr(fa_state *st, PyObject *loop, PyObject *name)
{
#if FA_LOOP_VALUE_READS
    PyObject *value;   /* new, or NULL */
    int found = loop_value(st, loop, name, FA_KEEPS_DICT_ATTRS, &value);
    if (found == 1) {
        return value;
    }
    if (found == -2) {
        return NULL;
    }
    /* Missing (the lookup raises AttributeError) or not known. */
#endif
#if FA_LOOP_DICT_READS
    /* What the generic lookup returns when the MRO has no such name: the
       __dict__'s value, or AttributeError (by name, below). */
    PyObject *dict = loop_dict_if(st, loop, FA_KEEPS_DICT_ATTRS); /* new */
    if (dict == NULL && PyErr_Occurred()) {
        return NULL;
    }
    if (dict != NULL) {
        PyObject *value;   /* new, or NULL */
        int found = PyDict_GetItemRef(dict, name, &value);
        Py_DECREF(dict);
        if (found != 0) {
            return found > 0 ? value : NULL;
        }
    }
#endif
    return PyObject_GetAttr(loop, name);
}

int
fa_loop_create_task_is_core(fa_state *st, PyObject *loop)
{
#if FA_LOOP_DICT_READS
    PyObject *dict = loop_dict_if(
        st, loop, FA_KEEPS_DICT_ATTRS | FA_KEEPS_CORE_CREATE_TASK); /* new */
    if (dict == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    /* A method, not a data descriptor: an instance attribute wins. */
    int has = PyDict_Contains(dict, st->str_create_task);
    Py_DECREF(dict);
    return has < 0 ? -1 : !has;
#elif FA_LOOP_VALUE_READS
    /* A method, not a data descriptor: an instance attribute wins. */
    PyObject *value;   /* new, or NULL */
    int found = loop_value(st, loop, st->str_create_task,
                           FA_KEEPS_DICT_ATTRS | FA_KEEPS_CORE_CREATE_TASK,
                           &value);
    if (found == 1) {
        Py_DECREF(value);
    }
    return found == -2 ? -1 : found == 0;
#else
    (void)st;
    (void)loop;
    return 0;
#endif
}

/* loop.get_task_factory() (new reference): on a loop whose class keeps
   BaseEventLoop's method, what that method returns (loop._task_factory),
   read without its frame. */
static PyObject *
loop_task_factory(fa_state *st, PyObject *loop)
{
    int keeps = fa_loop_type_keeps(st, loop);
    if (keeps < 0) {
        return NULL;
    }
    if (!(keeps & FA_KEEPS_GET_TASK_FACTORY)) {
        return PyObject_CallMethodNoArgs(loop, st->str_get_task_factory);
    }
#if FA_LOOP_CACHE
    PyObject *factory;   /* new */
    int hit = fa_loop_cached_attr(
        st, loop, offsetof(fa_loop_cache, task_factory), &factory);
    if (hit != 0) {
        return hit > 0 ? factory : NULL;
    }
#endif
    return fa_loop_attr(st, loop, st->str_task_factory);
}

int
fa_loop_runs_compiled_factory(fa_state *st, PyObject *loop)
{
    PyObject *factory = loop_task_factory(st, loop);   /* new */
    if (factory == NULL) {
        return -1;
    }
    int ours = IS_FACTORY(factory);
    Py_DECREF(factory);
    return ours;
}

/* 0 if loop is open; -1 with RuntimeError("Event loop is closed") (as
   _tasks.create_task_on raises) or another error set. */
static int
loop_check_open(fa_state *st, PyObject *loop)
{
    int keeps = fa_loop_type_keeps(st, loop);
    if (keeps < 0) {
        return -1;
    }
    if (keeps & FA_KEEPS_IS_CLOSED) {
        return check_open(st, loop);
    }
    return check_not_closed(
        PyObject_CallMethodNoArgs(loop, st->str_is_closed));
}

PyDoc_STRVAR(loop_task_factory_doc,
"loop_task_factory($module, loop, /)\n--\n\n"
"loop.get_task_factory(), without its Python frame on a loop whose class\n"
"keeps BaseEventLoop's method.");

static PyObject *
loop_task_factory_py(PyObject *module, PyObject *loop)
{
    return loop_task_factory(fa_state_of_module(module), loop);
}

PyDoc_STRVAR(loop_runs_fastaio_factory_doc,
"loop_runs_fastaio_factory($module, loop, /)\n--\n\n"
"fastaio._tasks.is_fastaio_factory(loop.get_task_factory()), in one call.");

static PyObject *
loop_runs_fastaio_factory(PyObject *module, PyObject *loop)
{
    fa_state *st = fa_state_of_module(module);
    PyObject *factory = loop_task_factory(st, loop);   /* new */
    if (factory == NULL) {
        return NULL;
    }
    int ours = IS_FACTORY(factory) ? 1 : is_pure_factory(st, factory);
    Py_DECREF(factory);
    if (ours < 0) {
        return NULL;
    }
    return PyBool_FromLong(ours);
}

static PyObject *
spawn(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_Format(PyExc_TypeError,
                     "spawn() takes 4 positional arguments (loop, coro, "
                     "name, context) but %zd were given", nargs);
        return NULL;
    }
    fa_state *st = fa_state_of_module(module);
    PyObject *loop = args[0];
    PyObject *factory = loop_task_factory(st, loop);   /* new */
    if (factory == NULL) {
        return NULL;
    }
    if (!IS_FACTORY(factory)) {
        Py_DECREF(factory);
        Py_RETURN_NOTIMPLEMENTED;
    }
    /* create_task_on's order: the closed check, then the factory with
       the name and the context. */
    PyObject *task = NULL;   /* new */
    if (loop_check_open(st, loop) == 0) {
        task = factory_create((FactoryObject *)factory, loop, args[1],
                              args[2], args[3], NULL, NULL, NULL);
    }
    Py_DECREF(factory);
    return task;
}

static PyMethodDef factory_functions[] = {
    {"create_eager_task_factory", create_eager_task_factory, METH_O,
     create_eager_task_factory_doc},
    {"spawn", (PyCFunction)(void (*)(void))spawn, METH_FASTCALL, spawn_doc},
    {"loop_task_factory", loop_task_factory_py, METH_O,
     loop_task_factory_doc},
    {"loop_runs_fastaio_factory", loop_runs_fastaio_factory, METH_O,
     loop_runs_fastaio_factory_doc},
    {"create_task_via_factory",
     (PyCFunction)(void (*)(void))create_task_via_factory,
     METH_FASTCALL | METH_KEYWORDS, create_task_doc},
    {NULL, NULL, 0, NULL}
};

/* Adds create_eager_task_factory, eager_task_factory (for the module's
   Task, st->task_type) and create_task_via_factory to module. */
int
fa_factory_init(fa_state *st, PyObject *module)
{
    st->factory_type = PyType_FromModuleAndSpec(module, &factory_spec, NULL);
    if (st->factory_type == NULL) {
        return -1;
    }
    FA_DISALLOW_INSTANTIATION(st->factory_type);
    if (PyModule_AddFunctions(module, factory_functions) < 0) {
        return -1;
    }
    st->core_create_task = PyObject_GetAttrString(module,
                                                  "create_task_via_factory");
    if (st->core_create_task == NULL) {
        return -1;
    }
#if FA_CTOR_POOL || FA_CTOR_LOOP_FROM_THREAD
    PyObject *c_task = fa_c_task_type();   /* new */
    if (c_task == NULL) {
        PyErr_Clear();   /* a Python asyncio.Task: called as any callable */
    }
    else {
        PyTypeObject *tt = FA_TYPE(st, task_type);
        st->ctor_is_c_task = tt->tp_new == ((PyTypeObject *)c_task)->tp_new
            && tt->tp_init == ((PyTypeObject *)c_task)->tp_init;
        Py_DECREF(c_task);
    }
#endif
#if FA_CTOR_LOOP_FROM_THREAD
    /* The factory's "running here" (fa_running_loop) must come from where
       the constructor takes the loop: the thread state, which
       _asyncio._get_running_loop reads. */
    PyObject *c_running = fa_import_attr("_asyncio",
                                         "_get_running_loop");   /* new */
    if (c_running == NULL) {
        PyErr_Clear();
    }
    int same_source = c_running != NULL && c_running == st->get_running_loop;
    Py_XDECREF(c_running);
    if (same_source && st->ctor_is_c_task && FA_CTOR_LOOP_FROM_THREAD_NOW()) {
        st->ctor_eager_kwargs = PyDict_New();
        if (st->ctor_eager_kwargs == NULL
                || PyDict_SetItem(st->ctor_eager_kwargs, st->str_eager_start,
                                  Py_True) < 0) {
            return -1;
        }
    }
#endif
    PyObject *factory = make_factory(st, module, st->task_type);   /* new */
    if (factory == NULL
            || PyModule_AddObject(module, "eager_task_factory", factory) < 0) {
        Py_XDECREF(factory);
        return -1;
    }
    return 0;
}
