/* dwtypeid.c — stable names of type DIEs (see dwtypeid.h). */
#include "debuginfo/dwtypeid.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

uint64_t dwtypeid_module_at(Dwfl *dwfl, uint64_t addr)
{
	Dwfl_Module *mod = DW->dwfl_addrmodule(dwfl, addr);
	Dwarf_Addr start = 0;
	if (!mod || !DW->dwfl_module_info(mod, NULL, &start, NULL, NULL, NULL, NULL, NULL))
		return 0;
	return start;
}

void dwtypeid_format(uint64_t mod_start, Dwarf_Die *die, char out[DWTYPEID_MAX])
{
	snprintf(out, DWTYPEID_MAX, "%" PRIx64 ":%" PRIx64, mod_start, (uint64_t)DW->dwarf_dieoffset(die));
}

bool dwtypeid_find(Dwfl *dwfl, const char *id, Dwarf_Die *out, uint64_t *mod_start)
{
	char *end;
	uint64_t start = strtoull(id, &end, 16);
	if (*end != ':')
		return false;
	uint64_t off = strtoull(end + 1, &end, 16);
	if (*end || !start)
		return false;
	Dwfl_Module *mod = DW->dwfl_addrmodule(dwfl, start);
	Dwarf_Addr bias;
	Dwarf *dbg = mod ? DW->dwfl_module_getdwarf(mod, &bias) : NULL;
	if (!dbg || !DW->dwarf_offdie(dbg, off, out))
		return false;
	if (mod_start)
		*mod_start = start;
	return true;
}
