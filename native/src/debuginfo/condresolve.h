/* condresolve.h — resolve the variables of a compiled breakpoint condition
 * (condprog.h) at the breakpoint's pc, from DWARF (see condresolve.c). */
#ifndef FK_CONDRESOLVE_H
#define FK_CONDRESOLVE_H

#include <stddef.h>
#include <stdint.h>

#include "debuginfo/condprog.h"
#include "debuginfo/dw.h"

/* Every variable of cp at pc (absolute): 0, or -1 with why (not found,
 * not a scalar, a location the evaluator cannot run: not compiled). */
int condresolve(struct condprog *cp, Dwfl *dwfl, uint64_t pc, char *why, size_t cap);

#endif
