/* dwglobals.c — variables with a static address (see dwglobals.h). */
#include "debuginfo/dwglobals.h"

#include <string.h>

struct walk {
	bool (*skip)(const char *module);
	bool (*cb)(Dwarf_Die *, uint64_t, void *);
	void *arg;
	bool stop;
};

/* DW_AT_location = DW_OP_addr A: a static address (link time). */
static bool static_addr(Dwarf_Die *var, uint64_t *out)
{
	Dwarf_Attribute a;
	Dwarf_Block b;
	if (!DW->dwarf_attr_integrate(var, DW_AT_location, &a) || DW->dwarf_formblock(&a, &b) != 0 || b.length != 9 ||
	    b.data[0] != DW_OP_addr)
		return false;
	uint64_t v;
	memcpy(&v, b.data + 1, sizeof v);
	*out = v;
	return true;
}

static int cb_module(Dwfl_Module *mod, void **ud, const char *mname, Dwarf_Addr start, void *arg)
{
	(void)ud, (void)start;
	struct walk *w = arg;
	if (w->skip && mname && w->skip(mname))
		return DWARF_CB_OK;
	Dwarf_Addr bias;
	for (Dwarf_Die *cu = NULL; !w->stop && (cu = DW->dwfl_module_nextcu(mod, cu, &bias)) != NULL;) {
		Dwarf_Die v;
		if (DW->dwarf_child(cu, &v) != 0)
			continue;
		do {
			uint64_t addr;
			if (DW->dwarf_tag(&v) == DW_TAG_variable && DW->dwarf_diename(&v) && static_addr(&v, &addr) &&
			    !w->cb(&v, addr + bias, w->arg))
				w->stop = true;
		} while (!w->stop && DW->dwarf_siblingof(&v, &v) == 0);
	}
	return w->stop ? DWARF_CB_ABORT : DWARF_CB_OK;
}

void dw_each_global(Dwfl *dwfl, bool (*cb)(Dwarf_Die *var, uint64_t addr, void *arg), void *arg)
{
	dw_each_global_skip(dwfl, NULL, cb, arg);
}

void dw_each_global_skip(Dwfl *dwfl, bool (*skip)(const char *module),
			 bool (*cb)(Dwarf_Die *var, uint64_t addr, void *arg), void *arg)
{
	struct walk w = { .skip = skip, .cb = cb, .arg = arg };
	DW->dwfl_getmodules(dwfl, cb_module, &w, 0);
}
