/* dwnames.h — file-scope names of a process for C expressions, besides
 * the variables in memory (dwglobals.h, locals.h globals_json):
 *
 *  - names by prefix (Debug Console completions): globals, file statics,
 *    constants and functions of every module's DWARF, and the functions
 *    and objects of every module's ELF symbol table;
 *  - what a name means when it is not a variable in memory: a function
 *    (its entry address, module and C type "int (int)" from DWARF, null
 *    with only an ELF symbol) or a constant (a DW_TAG_variable with
 *    DW_AT_const_value and no location: its type's id and bytes).
 *
 * Through libdw (dw.h); writes JSON members into the op's body.
 */
#ifndef FK_DWNAMES_H
#define FK_DWNAMES_H

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "base/json.h"
#include "debuginfo/symbols.h"

/* Members "names" (sorted, each once, at most max) and "more" (true: there were more). */
int dwnames_json(struct fk_symbols *s, const char *prefix, int max, struct jw *w, struct fk_err *err);

/* Members "functions" ({name, address, module, type}) and "constants" ({name, type, bytes}) called
 * name; with has_pc, those of the compilation unit containing pc first. */
int dwscope_json(struct fk_symbols *s, const char *name, bool has_pc, uint64_t pc, struct jw *w, struct fk_err *err);

#endif
