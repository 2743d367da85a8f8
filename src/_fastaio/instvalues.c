/*
 * A loop's instance attributes read from its inline values (3.14 free-
 * threaded builds, FA_LOOP_VALUE_READS in compat.h).
 *
 * Where the GIL is disabled, the loop cache (loopcache.c) and the reads
 * from the __dict__ (FA_LOOP_DICT_READS) are off: a __dict__ made for a
 * loop costs its Python methods their specialized attribute reads.  The
 * compiled loop methods then read _task_factory, _closed, _debug,
 * _thread_id and _ready by name: a type lookup that misses, then the
 * instance's values, several times per task.  This file reads the value
 * where the generic lookup finds it, for a type without those names in
 * its MRO (FA_KEEPS_DICT_ATTRS): the object's inline values, in the slot
 * the type's shared keys give the name.  It follows the steps of
 * _PyObject_TryGetInstanceAttribute (Objects/dictobject.c, 3.14): values
 * still valid, an acquire load of the slot, a reference taken only if the
 * slot still holds the same object (_Py_TryIncrefCompare).  Whatever this
 * path cannot answer goes back to the lookup by name.
 *
 * The layouts come from CPython's internal headers of the interpreter the
 * module is built for; fa_values_init checks them at import on an object
 * of a new class, and turns the reads off if an answer differs from the
 * lookup's.
 *
 * Reference ownership: see fastaio.h.
 */
#ifndef Py_BUILD_CORE_MODULE
#  define Py_BUILD_CORE_MODULE 1
#endif
#include "compat.h"

#if FA_LOOP_VALUE_READS

#include "internal/pycore_dict.h"
#include "internal/pycore_object.h"
#include "instvalues.h"

/* The slot of name in keys (the entries are never removed or moved, and a
   key is stored before the count that shows it grows), or -1 if none of
   the first n entries holds it. */
static Py_ssize_t
slot_of(PyDictKeysObject *keys, Py_ssize_t n, PyObject *name)
{
    PyDictUnicodeEntry *entries = DK_UNICODE_ENTRIES(keys);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *key = _Py_atomic_load_ptr_acquire(&entries[i].me_key);
        if (key == name) {
            return i;
        }
        /* Attribute names are interned, but a key stored by another path
           may be an equal string. */
        if (key != NULL && PyUnicode_CheckExact(key)
                && PyUnicode_GET_LENGTH(key) == PyUnicode_GET_LENGTH(name)
                && PyUnicode_Compare(key, name) == 0) {
            return i;
        }
    }
    return -1;
}

int
fa_instance_value(PyObject *obj, PyObject *name, uint64_t *where,
                  PyObject **value)
{
    PyTypeObject *tp = Py_TYPE(obj);
    if (!PyType_HasFeature(tp, Py_TPFLAGS_INLINE_VALUES)
            || !PyType_HasFeature(tp, Py_TPFLAGS_HEAPTYPE)) {
        return -1;
    }
    uint32_t version = _Py_atomic_load_uint32_relaxed(&tp->tp_version_tag);
    PyDictKeysObject *keys = ((PyHeapTypeObject *)tp)->ht_cached_keys;
    if (version == 0 || keys == NULL || keys->dk_kind != DICT_KEYS_SPLIT) {
        return -1;
    }
    Py_ssize_t n = _Py_atomic_load_ssize_acquire(&keys->dk_nentries);
    /* *where: the type's version tag (one type, whose shared keys never
       change), bits 8-15 the entry count when the name was not found,
       bits 0-7 its slot + 1 (0: not found).  One word, read whole. */
    uint64_t seen = _Py_atomic_load_uint64_relaxed(where);
    Py_ssize_t ix;
    if ((uint32_t)(seen >> 32) == version
            && ((seen & 0xff) != 0 || (Py_ssize_t)((seen >> 8) & 0xff) == n)) {
        ix = (Py_ssize_t)(seen & 0xff) - 1;
    }
    else {
        if (n > 250) {
            return -1;
        }
        ix = slot_of(keys, n, name);
        _Py_atomic_store_uint64_relaxed(
            where, ((uint64_t)version << 32) | ((uint64_t)n << 8)
                   | (uint64_t)(ix + 1));
    }
    PyDictValues *values = _PyObject_InlineValues(obj);
    if (!_Py_atomic_load_uint8(&values->valid)) {
        return -1;   /* the attributes live in a dict now */
    }
    if (ix < 0) {
        *value = NULL;
        return 0;
    }
    if (ix >= values->capacity) {
        return -1;
    }
    PyObject *v = _Py_atomic_load_ptr_acquire(&values->values[ix]);
    if (v == NULL) {
        if (!_Py_atomic_load_uint8(&values->valid)) {
            return -1;
        }
        *value = NULL;
        return 0;
    }
    if (!_Py_TryIncrefCompare(&values->values[ix], v)) {
        return -1;
    }
    *value = v;
    return 1;
}

/* 1 if the reads answer as the lookups by name do on an instance of a new
   class, 0 if not, -1 with an error set. */
int
fa_values_init(void)
{
    PyObject *cls = NULL, *obj = NULL, *a = NULL, *b = NULL, *c = NULL;
    int same = -1;
    cls = PyObject_CallFunction((PyObject *)&PyType_Type, "s(){}",
                                "fastaio_values_probe");
    obj = cls == NULL ? NULL : PyObject_CallNoArgs(cls);
    a = PyUnicode_InternFromString("fastaio_a");
    b = PyUnicode_InternFromString("fastaio_b");
    c = PyUnicode_InternFromString("fastaio_c");
    if (obj == NULL || a == NULL || b == NULL || c == NULL
            || PyObject_SetAttr(obj, a, a) < 0
            || PyObject_SetAttr(obj, b, cls) < 0) {
        goto done;
    }
    /* A lookup gives the class a version tag. */
    PyObject *probe = PyObject_GetAttr(obj, b);   /* new */
    if (probe == NULL) {
        goto done;
    }
    Py_DECREF(probe);
    uint64_t where[3] = {0, 0, 0};
    PyObject *got[3] = {NULL, NULL, NULL};   /* new */
    int rc[3];
    PyObject *names[3] = {a, b, c};
    for (int round = 0; round < 2; round++) {   /* filling, then filled */
        for (int i = 0; i < 3; i++) {
            rc[i] = fa_instance_value(obj, names[i], &where[i], &got[i]);
            if (rc[i] > 0) {
                Py_DECREF(got[i]);   /* obj keeps it */
            }
        }
        same = rc[0] == 1 && got[0] == a && rc[1] == 1 && got[1] == cls
            && rc[2] == 0;
        if (!same) {
            break;
        }
    }
done:
    Py_XDECREF(c);
    Py_XDECREF(b);
    Py_XDECREF(a);
    Py_XDECREF(obj);
    Py_XDECREF(cls);
    return same;
}

#else

/* Nothing to read on this build (ISO C wants a declaration). */
typedef int fa_instvalues_unused;

#endif  /* FA_LOOP_VALUE_READS */
