/*
 * What the compiled loop methods read from a loop's instance attributes,
 * kept between calls (3.12+, builds with the GIL).
 *
 * create_task, get_debug, is_running and call_soon of a loop that runs
 * fastaio read _task_factory, _closed, _debug, _thread_id and _ready: for
 * every task, up to five lookups by name.  The cache holds those values
 * for one loop, as borrowed references into the loop's __dict__, which a
 * dict watcher of this module watches (PyDict_AddWatcher, 3.12): any change
 * to that dict marks the cache stale before it happens, and a freed dict
 * empties it, so a value is never read after its dict let it go.
 *
 * A hit needs the same dict (the loop's __dict__ now, which also tells the
 * loop apart from one that took the address of a freed one) and the same
 * version tag of the loop's type, a type whose instance attribute lookup
 * reaches these values: a subclass of BaseEventLoop with the generic
 * attribute lookup and none of the five names anywhere in its MRO
 * (FA_KEEPS_DICT_ATTRS of fa_loop_type_keeps, factory.c).  Anything else
 * is read by fa_loop_attr (factory.c): from the __dict__ on 3.13+ with
 * the GIL or from the inline values on 3.14t for such a type, by name
 * otherwise.
 *
 * The loop's __dict__ is made on the first fill (CPython 3.12 keeps a new
 * object's attributes in an array until something asks for the dict): its
 * attribute reads stay specialized; its attribute stores take the generic
 * path, which tells the watcher.
 *
 * Reference ownership: see fastaio.h.
 */
#include "fastaio.h"

#if FA_LOOP_CACHE

/* Every module state's cache, for the watcher callback, which is given no
   context.  Guarded by the GIL (the module runs only in interpreters that
   share the main one: no Py_mod_multiple_interpreters slot). */
static fa_loop_cache *fa_caches = NULL;

static int
loop_dict_changed(PyDict_WatchEvent event, PyObject *dict, PyObject *key,
                  PyObject *new_value)
{
    (void)key;
    (void)new_value;
    for (fa_loop_cache *c = fa_caches; c != NULL; c = c->next) {
        if (c->dict == dict) {
            c->state = FA_CACHE_STALE;
            if (event == PyDict_EVENT_DEALLOCATED) {
                c->dict = NULL;
            }
        }
    }
    return 0;
}

int
fa_loop_cache_fill(fa_state *st, PyObject *loop)
{
    fa_loop_cache *c = &st->loop_cache;
    if (!c->active) {
        return 0;
    }
    PyTypeObject *tp = Py_TYPE(loop);
    unsigned int version = fa_type_version(tp);
    if (version != 0 && version == c->bad_version) {
        return 0;
    }
    /* The lookups give the type a tag if it has none. */
    int keeps = fa_loop_type_keeps(st, loop);
    if (keeps < 0) {
        return -1;
    }
    int reads = (keeps & FA_KEEPS_DICT_ATTRS) != 0;
    int ours = (keeps & FA_KEEPS_CORE_CREATE_TASK) != 0;
    version = fa_type_version(tp);
    if (version == 0) {
        return 0;
    }
    if (!reads) {
        c->bad_version = version;
        return 0;
    }
    PyObject **dictptr = _PyObject_GetDictPtr(loop);
    PyObject *dict = dictptr == NULL ? NULL : *dictptr;   /* borrowed */
    if (dict == NULL || !PyDict_CheckExact(dict)) {
        return PyErr_Occurred() ? -1 : 0;
    }
    if (c->state == FA_CACHE_INCOMPLETE && dict == c->dict
            && version == c->type_version) {
        return 0;   /* unchanged since it lacked a value */
    }
    if (dict != c->dict) {
        if (c->dict != NULL) {
            /* Still alive: its release would have cleared c->dict. */
            if (PyDict_Unwatch(c->watcher, c->dict) < 0) {
                return -1;
            }
            c->dict = NULL;
        }
        if (PyDict_Watch(c->watcher, dict) < 0) {
            return -1;
        }
        c->dict = dict;
    }
    c->type_version = version;
    c->create_task_ours = ours;
    c->has_create_task = 0;
    c->state = FA_CACHE_INCOMPLETE;
    PyObject *names[FA_LOOP_ATTRS];   /* borrowed */
    fa_loop_attr_names(st, names);
    PyObject **slots[FA_LOOP_ATTRS] = {
        &c->task_factory, &c->closed, &c->debug, &c->thread_id, &c->ready};
    for (int i = 0; i < FA_LOOP_ATTRS; i++) {
        /* Exact str keys: the lookup runs no Python code. */
        PyObject *value = PyDict_GetItemWithError(dict, names[i]);
        if (value == NULL) {
            return PyErr_Occurred() ? -1 : 0;
        }
        *slots[i] = value;   /* borrowed from dict */
    }
    int has = PyDict_Contains(dict, st->str_create_task);
    if (has < 0) {
        return -1;
    }
    c->has_create_task = has;
    c->state = FA_CACHE_VALID;
    return 1;
}

/* 1 if the watcher sees attribute stores on an object whose __dict__ it
   watches, 0 if not, -1 on error.  3.13.0 keeps the values of such an
   object in place after the dict is made and did not report stores to
   them (gh-125608, fixed in 3.13.1): there the cache stays off. */
static int
stores_are_seen(fa_loop_cache *c)
{
    PyObject *cls = NULL, *obj = NULL;   /* new */
    int seen = -1;
    cls = PyObject_CallFunction((PyObject *)&PyType_Type, "s(){}",
                                "fastaio_probe");
    obj = cls == NULL ? NULL : PyObject_CallNoArgs(cls);
    if (obj == NULL || PyObject_SetAttrString(obj, "a", Py_None) < 0) {
        goto done;
    }
    PyObject **dictptr = _PyObject_GetDictPtr(obj);
    if (dictptr == NULL || *dictptr == NULL) {
        seen = PyErr_Occurred() ? -1 : 0;
        goto done;
    }
    if (PyDict_Watch(c->watcher, *dictptr) < 0) {
        goto done;
    }
    c->dict = *dictptr;
    seen = 1;
    /* A changed value, then a new name. */
    const char *names[2] = {"a", "b"};
    for (int i = 0; i < 2 && seen == 1; i++) {
        c->state = FA_CACHE_VALID;
        if (PyObject_SetAttrString(obj, names[i], Py_True) < 0) {
            seen = -1;
        }
        else if (c->state != FA_CACHE_STALE) {
            seen = 0;
        }
    }
    if (c->dict != NULL && PyDict_Unwatch(c->watcher, c->dict) < 0) {
        seen = -1;
    }
    c->dict = NULL;
    c->state = FA_CACHE_STALE;
done:
    Py_XDECREF(obj);
    Py_XDECREF(cls);
    return seen;
}

int
fa_loop_cache_init(fa_state *st)
{
    fa_loop_cache *c = &st->loop_cache;
    c->dict = NULL;
    c->state = FA_CACHE_STALE;
    c->watcher = PyDict_AddWatcher(loop_dict_changed);
    if (c->watcher < 0) {
        /* All watcher ids of the interpreter are taken: no cache. */
        PyErr_Clear();
        return 0;
    }
    c->active = 1;
    c->next = fa_caches;
    fa_caches = c;
    int seen = stores_are_seen(c);
    if (seen <= 0) {
        fa_loop_cache_clear(st);
    }
    return seen < 0 ? -1 : 0;
}

void
fa_loop_cache_clear(fa_state *st)
{
    fa_loop_cache *c = &st->loop_cache;
    if (!c->active) {
        return;
    }
    FA_ERR_SAVE(saved);
    c->state = FA_CACHE_STALE;
    if (c->dict != NULL) {
        (void)PyDict_Unwatch(c->watcher, c->dict);
        c->dict = NULL;
    }
    (void)PyDict_ClearWatcher(c->watcher);
    PyErr_Clear();
    FA_ERR_RESTORE(saved);
    c->active = 0;
    for (fa_loop_cache **p = &fa_caches; *p != NULL; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
}

#endif  /* FA_LOOP_CACHE */
