/* locals.h — the variables of a stack frame from DWARF ("locals").
 *
 * For one frame of an unwound stack: the function's DIE for the frame's pc
 * (libdw, through the Dwfl of symbols.c), the DW_TAG_formal_parameter and
 * DW_TAG_variable DIEs of every scope that contains the pc (innermost
 * scope first, declaration order inside a scope), their DW_AT_location
 * evaluated for that frame by dwexpr.c (exprloc or location list;
 * DW_OP_fbreg with the function's DW_AT_frame_base, DW_OP_call_frame_cfa,
 * registers, values and pieces; see dwexpr.h) or their DW_AT_const_value,
 * and their values by dwvalue.c (C-style text, children, and the typed raw
 * value of scalars), type names by dwtype.c.
 *
 * What is not handled is said in the value instead of guessed:
 * "<optimized out>" (no location at this pc, DW_OP_entry_value, a piece
 * that is nowhere), "<unavailable: …>" (a register the unwinder did not
 * recover in a caller, a vector register), "<unsupported: …>"
 * (DW_OP_bit_piece, implicit pointers, other operations),
 * "<unreadable at 0x…>".
 *
 * No ptrace: memory through mem_read, registers given by the caller.
 */
#ifndef FK_LOCALS_H
#define FK_LOCALS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"
#include "base/json.h"
#include "debuginfo/symbols.h"

/* Write the members "function" (the DWARF function name or null), "note"
 * (why there are no variables, or null) and "variables" ([{"name","type",
 * "value","address","kind","expr","pointer"?,"raw"?,"children"}]) for frames[index]
 * of an unwind of n frames. regs: that frame's registers (sym_unwind_regs).
 * Missing debug information is not an error (no variables, a note).
 * Returns 0, or -1 with err (bad arguments). */
int locals_json(struct fk_symbols *s, pid_t pid, const struct sym_frame *frames, int n, int index,
		const struct sym_regs *regs, struct jw *w, struct fk_err *err);

/* Like locals_json, but where each variable is instead of its value (for
 * expressions): "variables" [{"name","kind","type" (a dwtypeid or null),
 * and "address", or "bytes" (hex; with "register" when they are one whole
 * general register), or "unavailable" (why)}]. */
int frame_vars_json(struct fk_symbols *s, pid_t pid, const struct sym_frame *frames, int n, int index,
		    const struct sym_regs *regs, struct jw *w, struct fk_err *err);

/* Write the member "variables": every global or file-static variable
 * called `name` in the process's modules (statics of the same name in
 * several units are several objects), as locals_json writes them, kind
 * "global"; with has_pc, the one of the compilation unit containing pc
 * first. Returns 0, or -1 with err (no libdw). */
int globals_json(struct fk_symbols *s, pid_t pid, const char *name, bool has_pc, uint64_t pc, struct jw *w,
		 struct fk_err *err);

#endif
