/*
 * instvalues.c: a loop's instance attributes read from its inline values
 * (FA_LOOP_VALUE_READS, compat.h).
 */
#ifndef FASTAIO_INSTVALUES_H
#define FASTAIO_INSTVALUES_H

#include "compat.h"

#if FA_LOOP_VALUE_READS
/* obj.<name> where obj's type has no name in its MRO and the generic
   attribute lookup: 1 with *value a new reference, 0 (*value NULL) if obj
   has no such attribute, -1 if this path cannot tell (the caller looks
   the name up); never sets an error.  *where keeps the slot of name for
   obj's type between calls: one word per name, zero at first. */
int fa_instance_value(PyObject *obj, PyObject *name, uint64_t *where,
                      PyObject **value);
/* 1 if fa_instance_value answers as the lookup by name on an object of a
   new class, 0 if not, -1 with an error set. */
int fa_values_init(void);
#endif

#endif  /* FASTAIO_INSTVALUES_H */
