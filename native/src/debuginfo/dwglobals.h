/* dwglobals.h — every variable with a static address in a process's
 * modules: the DW_TAG_variable DIEs at file scope of each compilation
 * unit whose DW_AT_location is DW_OP_addr (globals and file statics),
 * with the module's load bias applied. Through libdw (dw.h). */
#ifndef FK_DWGLOBALS_H
#define FK_DWGLOBALS_H

#include <stdbool.h>
#include <stdint.h>

#include "debuginfo/dw.h"

/* cb(var, address, arg) for each; cb returns false to stop the walk. */
void dw_each_global(Dwfl *dwfl, bool (*cb)(Dwarf_Die *var, uint64_t addr, void *arg), void *arg);

/* The same, leaving out the modules for which skip(module name) is true. */
void dw_each_global_skip(Dwfl *dwfl, bool (*skip)(const char *module),
			 bool (*cb)(Dwarf_Die *var, uint64_t addr, void *arg), void *arg);

#endif
