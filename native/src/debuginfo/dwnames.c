/* dwnames.c — file-scope names: by prefix, and functions and constants by name (see dwnames.h). */
#include "debuginfo/dwnames.h"

#include <ctype.h>
#include <errno.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "debuginfo/dw.h"
#include "debuginfo/dwtype.h"
#include "debuginfo/dwtypeid.h"
#include "debuginfo/strbuf.h"

static Dwfl *need_dwfl(struct fk_symbols *s, const char *what, struct fk_err *err)
{
	Dwfl *dwfl = sym_dwfl(s);
	if (!dwfl)
		fk_fail(err, ENOSYS, FK_KIND_FAILED, what, "no libdw: file-scope names need DWARF (%s)",
			sym_note(s) ? sym_note(s) : "libdw not loaded");
	return dwfl;
}

/* An ELF symbol's name without its version ("printf@@GLIBC_2.2.5" → 8). */
static size_t unversioned_len(const char *nm)
{
	const char *at = strchr(nm, '@');
	return at ? (size_t)(at - nm) : strlen(nm);
}

/* A file-scope DIE that defines something a C expression can name. */
static bool defines(Dwarf_Die *d, bool *is_function)
{
	int tag = DW->dwarf_tag(d);
	Dwarf_Attribute a;
	if (!DW->dwarf_diename(d) || dwtype_flag(d, DW_AT_declaration))
		return false;
	*is_function = tag == DW_TAG_subprogram;
	if (tag == DW_TAG_subprogram)
		return DW->dwarf_attr_integrate(d, DW_AT_low_pc, &a) || DW->dwarf_attr_integrate(d, DW_AT_ranges, &a);
	if (tag == DW_TAG_variable)
		return DW->dwarf_attr_integrate(d, DW_AT_location, &a) ||
		       DW->dwarf_attr_integrate(d, DW_AT_const_value, &a);
	return false;
}

/* ---- names by prefix ---- */

struct names {
	const char *prefix;
	size_t plen;
	char **v;
	size_t n, cap;
	bool oom;
};

static void names_add(struct names *q, const char *nm, size_t len)
{
	if (q->oom || len < q->plen || strncmp(nm, q->prefix, q->plen) != 0 || len == 0)
		return;
	if (nm[0] == '_' && q->prefix[0] != '_') /* reserved names only when asked for */
		return;
	for (size_t i = 0; i < len; i++) /* C identifiers only (not "pagesize.0", a compiler's local static) */
		if (!(isalnum((unsigned char)nm[i]) || nm[i] == '_') || (i == 0 && isdigit((unsigned char)nm[i])))
			return;
	if (q->n == q->cap) {
		size_t nc = q->cap ? q->cap * 2 : 64;
		char **p = realloc(q->v, nc * sizeof *p);
		if (!p) {
			q->oom = true;
			return;
		}
		q->v = p;
		q->cap = nc;
	}
	char *c = malloc(len + 1);
	if (!c) {
		q->oom = true;
		return;
	}
	memcpy(c, nm, len);
	c[len] = '\0';
	q->v[q->n++] = c;
}

static int cb_names(Dwfl_Module *mod, void **ud, const char *mname, Dwarf_Addr start, void *arg)
{
	(void)ud, (void)mname, (void)start;
	struct names *q = arg;
	Dwarf_Addr bias;
	for (Dwarf_Die *cu = NULL; (cu = DW->dwfl_module_nextcu(mod, cu, &bias)) != NULL;) {
		Dwarf_Die d;
		if (DW->dwarf_child(cu, &d) != 0)
			continue;
		do {
			bool fn;
			if (defines(&d, &fn)) {
				const char *nm = DW->dwarf_diename(&d);
				names_add(q, nm, strlen(nm));
			}
		} while (DW->dwarf_siblingof(&d, &d) == 0);
	}
	int n = DW->dwfl_module_getsymtab(mod);
	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		Dwarf_Addr addr, sbias;
		GElf_Word shndx;
		Elf *elf;
		const char *nm = DW->dwfl_module_getsym_info(mod, i, &sym, &addr, &shndx, &elf, &sbias);
		int type = ELF64_ST_TYPE(sym.st_info);
		if (nm && *nm && (type == STT_FUNC || type == STT_OBJECT) && shndx != SHN_UNDEF)
			names_add(q, nm, unversioned_len(nm));
	}
	return q->oom ? DWARF_CB_ABORT : DWARF_CB_OK;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int dwnames_json(struct fk_symbols *s, const char *prefix, int max, struct jw *w, struct fk_err *err)
{
	Dwfl *dwfl = need_dwfl(s, "globalNames", err);
	if (!dwfl)
		return -1;
	struct names q = { .prefix = prefix, .plen = strlen(prefix) };
	DW->dwfl_getmodules(dwfl, cb_names, &q, 0);
	if (q.oom) {
		for (size_t i = 0; i < q.n; i++)
			free(q.v[i]);
		free(q.v);
		return fk_fail(err, ENOMEM, FK_KIND_FAILED, "globalNames", "out of memory");
	}
	if (q.n)
		qsort(q.v, q.n, sizeof *q.v, cmp_str);
	jw_key(w, "names");
	jw_arr_begin(w);
	int out = 0;
	bool more = false;
	for (size_t i = 0; i < q.n; i++) {
		if (i > 0 && strcmp(q.v[i], q.v[i - 1]) == 0)
			continue;
		if (out == max) {
			more = true;
			break;
		}
		jw_str(w, q.v[i]);
		out++;
	}
	jw_arr_end(w);
	jw_kbool(w, "more", more);
	for (size_t i = 0; i < q.n; i++)
		free(q.v[i]);
	free(q.v);
	return 0;
}

/* ---- functions and constants by name ---- */

#define MAX_HITS 16

struct fn_hit {
	uint64_t addr;
	char module[512];
	char *type; /* malloc'ed C type, NULL: no DWARF for it */
	bool global, here;
};

struct const_hit {
	char type[DWTYPEID_MAX];
	uint8_t bytes[64];
	size_t len;
	bool here;
};

struct scope_q {
	const char *name;
	struct Dwarf_CU *prefer;
	Dwfl_Module *prefer_mod;
	struct fn_hit fns[MAX_HITS];
	size_t nfn;
	struct const_hit cs[MAX_HITS];
	size_t nc;
};

/* The DWARF subprogram called name that contains addr (its C type). */
static char *fn_type(Dwfl_Module *mod, const char *name, uint64_t addr, bool *here, struct Dwarf_CU *prefer)
{
	Dwarf_Addr bias;
	Dwarf_Die *cu = DW->dwfl_module_addrdie(mod, addr, &bias);
	Dwarf_Die d;
	if (!cu || DW->dwarf_child(cu, &d) != 0)
		return NULL;
	*here = prefer && cu->cu == prefer;
	do {
		const char *nm = DW->dwarf_diename(&d);
		if (DW->dwarf_tag(&d) == DW_TAG_subprogram && nm && strcmp(nm, name) == 0 &&
		    DW->dwarf_haspc(&d, addr - bias) > 0)
			return dwtype_name(&d);
	} while (DW->dwarf_siblingof(&d, &d) == 0);
	return NULL;
}

/* bytes of a DW_AT_const_value (as dwframe reads a local's), cut to the type's size. */
static bool const_bytes(Dwarf_Die *var, Dwarf_Die *type, uint8_t *out, size_t *len)
{
	Dwarf_Attribute a;
	if (!DW->dwarf_attr_integrate(var, DW_AT_const_value, &a))
		return false;
	unsigned form = DW->dwarf_whatform(&a);
	uint64_t size = 8;
	if (type && !dwtype_size(type, &size))
		size = 8;
	if (form == DW_FORM_block || form == DW_FORM_block1 || form == DW_FORM_block2 || form == DW_FORM_block4 ||
	    form == DW_FORM_data16) {
		Dwarf_Block b;
		if (DW->dwarf_formblock(&a, &b) != 0 || b.length > 64 || b.length == 0)
			return false;
		memcpy(out, b.data, b.length);
		*len = b.length;
		return true;
	}
	uint64_t v;
	Dwarf_Sword sv;
	Dwarf_Word uv;
	if ((form == DW_FORM_sdata || form == DW_FORM_implicit_const) && DW->dwarf_formsdata(&a, &sv) == 0)
		v = (uint64_t)sv;
	else if (DW->dwarf_formudata(&a, &uv) == 0)
		v = uv;
	else
		return false;
	*len = size > 0 && size < 8 ? (size_t)size : 8;
	memcpy(out, &v, *len); /* x86-64: little-endian */
	return true;
}

static int cb_scope(Dwfl_Module *mod, void **ud, const char *mname, Dwarf_Addr start, void *arg)
{
	(void)ud;
	struct scope_q *q = arg;
	/* functions: the ELF symbol table (entry addresses), typed from DWARF */
	int n = DW->dwfl_module_getsymtab(mod);
	for (int i = 1; i < n && q->nfn < MAX_HITS; i++) {
		GElf_Sym sym;
		Dwarf_Addr addr, sbias;
		GElf_Word shndx;
		Elf *elf;
		const char *nm = DW->dwfl_module_getsym_info(mod, i, &sym, &addr, &shndx, &elf, &sbias);
		int type = ELF64_ST_TYPE(sym.st_info);
		size_t l = nm ? unversioned_len(nm) : 0;
		if (!nm || l != strlen(q->name) || strncmp(nm, q->name, l) != 0 || shndx == SHN_UNDEF || addr == 0 ||
		    (type != STT_FUNC && type != STT_GNU_IFUNC))
			continue;
		bool dup = false;
		for (size_t k = 0; k < q->nfn; k++)
			dup = dup || q->fns[k].addr == addr;
		if (dup)
			continue;
		struct fn_hit *h = &q->fns[q->nfn++];
		memset(h, 0, sizeof *h);
		h->addr = addr;
		h->global = ELF64_ST_BIND(sym.st_info) != STB_LOCAL;
		snprintf(h->module, sizeof h->module, "%s", mname ? mname : "");
		h->type = fn_type(mod, q->name, addr, &h->here, q->prefer);
		h->here = h->here || (!q->prefer && mod == q->prefer_mod);
	}
	/* constants: file-scope variables with a DW_AT_const_value and no location */
	Dwarf_Addr bias;
	for (Dwarf_Die *cu = NULL; q->nc < MAX_HITS && (cu = DW->dwfl_module_nextcu(mod, cu, &bias)) != NULL;) {
		Dwarf_Die d;
		if (DW->dwarf_child(cu, &d) != 0)
			continue;
		do {
			Dwarf_Attribute a;
			const char *nm = DW->dwarf_diename(&d);
			if (DW->dwarf_tag(&d) != DW_TAG_variable || !nm || strcmp(nm, q->name) != 0 ||
			    DW->dwarf_attr_integrate(&d, DW_AT_location, &a))
				continue;
			Dwarf_Die t;
			bool has_t = dwtype_ref(&d, DW_AT_type, &t);
			struct const_hit *c = &q->cs[q->nc];
			memset(c, 0, sizeof *c);
			if (!has_t || !const_bytes(&d, &t, c->bytes, &c->len))
				continue;
			dwtypeid_format(start, &t, c->type);
			c->here = q->prefer && cu->cu == q->prefer;
			q->nc++;
		} while (q->nc < MAX_HITS && DW->dwarf_siblingof(&d, &d) == 0);
	}
	return DWARF_CB_OK;
}

/* Those of pc's unit first, then global ones before file statics. */
static int cmp_fn(const void *a, const void *b)
{
	const struct fn_hit *x = a, *y = b;
	if (x->here != y->here)
		return x->here ? -1 : 1;
	if (x->global != y->global)
		return x->global ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int cmp_const(const void *a, const void *b)
{
	const struct const_hit *x = a, *y = b;
	return (int)y->here - (int)x->here;
}

int dwscope_json(struct fk_symbols *s, const char *name, bool has_pc, uint64_t pc, struct jw *w, struct fk_err *err)
{
	Dwfl *dwfl = need_dwfl(s, "fileScope", err);
	if (!dwfl)
		return -1;
	struct scope_q *q = calloc(1, sizeof *q);
	if (!q)
		return fk_fail(err, ENOMEM, FK_KIND_FAILED, "fileScope", "out of memory");
	q->name = name;
	if (has_pc) {
		Dwarf_Addr bias;
		Dwarf_Die *cu = DW->dwfl_addrdie(dwfl, pc, &bias);
		q->prefer = cu ? cu->cu : NULL;
		q->prefer_mod = DW->dwfl_addrmodule(dwfl, pc);
	}
	DW->dwfl_getmodules(dwfl, cb_scope, q, 0);
	qsort(q->fns, q->nfn, sizeof q->fns[0], cmp_fn);
	qsort(q->cs, q->nc, sizeof q->cs[0], cmp_const);
	jw_key(w, "functions");
	jw_arr_begin(w);
	for (size_t i = 0; i < q->nfn; i++) {
		struct fn_hit *h = &q->fns[i];
		jw_obj_begin(w);
		jw_kstr(w, "name", name);
		jw_khex(w, "address", h->addr);
		jw_kstr(w, "module", h->module);
		jw_key(w, "type");
		if (h->type)
			jw_str(w, h->type);
		else
			jw_null(w);
		jw_obj_end(w);
		free(h->type);
	}
	jw_arr_end(w);
	jw_key(w, "constants");
	jw_arr_begin(w);
	for (size_t i = 0; i < q->nc; i++) {
		struct const_hit *c = &q->cs[i];
		char hex[2 * sizeof c->bytes + 1];
		size_t k = 0;
		for (size_t j = 0; j < c->len; j++)
			k += (size_t)snprintf(hex + k, sizeof hex - k, "%02x", c->bytes[j]);
		hex[k] = '\0';
		jw_obj_begin(w);
		jw_kstr(w, "name", name);
		jw_kstr(w, "type", c->type);
		jw_kstr(w, "bytes", hex);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	free(q);
	return 0;
}
