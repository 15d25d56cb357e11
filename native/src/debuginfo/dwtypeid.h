/* dwtypeid.h — names for DWARF type DIEs that outlive one request: the
 * load address of the module and the DIE's offset in its .debug_info,
 * "7f12a0000000:2d" (hex). Valid while the module stays loaded. */
#ifndef FK_DWTYPEID_H
#define FK_DWTYPEID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "debuginfo/dw.h"

#define DWTYPEID_MAX 40

/* The load address of the module containing addr (0: none). */
uint64_t dwtypeid_module_at(Dwfl *dwfl, uint64_t addr);
/* The id of a DIE of the module loaded at mod_start. */
void dwtypeid_format(uint64_t mod_start, Dwarf_Die *die, char out[DWTYPEID_MAX]);
/* The DIE an id names (and its module's start); false: malformed or gone. */
bool dwtypeid_find(Dwfl *dwfl, const char *id, Dwarf_Die *out, uint64_t *mod_start);

#endif
