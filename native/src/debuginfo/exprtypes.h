/* exprtypes.h — what the adapter's C expression evaluator asks about the
 * program's DWARF types: the layout of a type (by its dwtypeid, or a
 * struct/union/enum/typedef by name, or the enum of an enumerator), and
 * typed memory formatted as `locals` formats a variable. Through libdw
 * (dw.h), memory through mem_read. */
#ifndef FK_EXPRTYPES_H
#define FK_EXPRTYPES_H

#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"
#include "base/json.h"
#include "debuginfo/symbols.h"

/* Write the member "type": the layout of the type `id`, or of the type
 * called `name` of kind `tag` ("struct", "union", "enum", "typedef",
 * "enumerator": the enum that has it); null when the program has none.
 * Returns 0, or -1 with err (no libdw, a malformed id). */
int exprtypes_info_json(struct fk_symbols *s, const char *id, const char *name, const char *tag, struct jw *w,
			struct fk_err *err);

/* Write the member "variable": an object of type `id` (count > 0: an array
 * of count of them) at addr, or held in bytes[0..len) when bytes is not
 * NULL, named `name` with the C expression `expr`, as locals_json writes a
 * variable. Returns 0, or -1 with err. */
int exprtypes_value_json(struct fk_symbols *s, pid_t pid, const char *id, uint64_t addr, const uint8_t *bytes,
			 size_t len, int64_t count, const char *name, const char *expr, struct jw *w,
			 struct fk_err *err);

#endif
