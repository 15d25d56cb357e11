/* dwframe.h — one frame of a stopped thread as DWARF sees it: its
 * function and scopes at the pc (pc-1 for a caller), its CFA and frame
 * base, and where each variable is (its location expression run by
 * dwexpr.c in the frame's registers; pieces put together; constants).
 * locals.c writes the answers (values, or places for expressions).
 *
 * No ptrace: memory through mem_read, registers given by the caller.
 */
#ifndef FK_DWFRAME_H
#define FK_DWFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "debuginfo/dw.h"
#include "debuginfo/dwvalue.h"
#include "debuginfo/symbols.h"

#define DWFRAME_VAR_BYTES 64 /* the largest value held here (a constant, pieces) */

/* Fill s, pid, dwfl, regs and values; dwframe_open does the rest. */
struct dwframe {
	struct fk_symbols *s;
	pid_t pid;
	Dwfl *dwfl;
	uint64_t at;	    /* pc for lookups (pc-1 for a caller) */
	uint64_t bias;	    /* module load bias */
	uint64_t mod_start; /* the module's load address (type ids) */
	const struct sym_regs *regs;
	bool has_cfa;
	uint64_t cfa;
	Dwarf_Die fn; /* the subprogram, for DW_AT_frame_base */
	bool has_fn;
	int fb_state; /* 0 not computed, 1 ok, -1 unavailable */
	uint64_t fb;
	Dwarf_Attribute *attr; /* the location being evaluated (implicit_value) */
	struct dwvalue_ctx values;
	char why[160]; /* a reason with numbers, for src.bad (one per variable) */
};

/* Open frames[index] (of n; index + 1 gives the CFA when there): 0 with
 * *scopes (free it) from innermost out and *fi, the innermost
 * function-like scope; 1 with note (no DWARF there: no variables). */
int dwframe_open(struct dwframe *c, const struct sym_frame *frames, int n, int index, Dwarf_Die **scopes, int *fi,
		 char *note, size_t cap);

/* The CFA rule at pc (absolute) in the CFI of pc's module, .eh_frame
 * first, then .debug_frame: use(its ops) for each that has a rule there,
 * until use returns true. False when none did. */
bool dwframe_cfa_rule(Dwfl *dwfl, uint64_t pc, bool (*use)(const Dwarf_Op *ops, size_t nops, void *arg), void *arg);

/* A DIE that is a variable or parameter worth listing (named, not a declaration, not artificial). */
bool dwframe_wanted_var(Dwarf_Die *d);

/* Where variable var is at this pc: memory, or bytes (in `bytes`, whole
 * register with in_reg; DWFRAME_VAR_BYTES of room), or bad (why). */
struct dwsrc dwframe_var_src(struct dwframe *c, Dwarf_Die *var, uint8_t *bytes);

#endif
