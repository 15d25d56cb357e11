/* dw.c — loading libdw.so.1 (see dw.h). */
#include "debuginfo/dw.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	size_t off;
	bool optional;
} dw_syms[] = {
#define DW_REQ(f) { #f, offsetof(struct dw_api, f), false },
#define DW_OPT(f) { #f, offsetof(struct dw_api, f), true },
	DW_REQUIRED(DW_REQ) DW_OPTIONAL(DW_OPT)
#undef DW_REQ
#undef DW_OPT
};

static struct {
	pthread_once_t once;
	struct dw_api api;
	bool ok;
	char why[384];
	Dwfl_Callbacks callbacks; /* must outlive every Dwfl */
	char *debuginfo_path;	  /* NULL: the default ":.debug:/usr/lib/debug" */
} dw = { .once = PTHREAD_ONCE_INIT };

static void dw_load(void)
{
	/* FORKALL_LIBDW: another build of elfutils (a path), or a missing one in tests */
	const char *name = getenv("FORKALL_LIBDW");
	void *h = dlopen(name && *name ? name : "libdw.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *e = dlerror();
		snprintf(
			dw.why, sizeof dw.why,
			"libdw.so.1 not found: %s; install libdw1 (elfutils; libdw1t64 on Debian 13) for CFI unwinding, "
			"source lines and debuginfo. Using frame pointers and ELF symbols",
			e ? e : "dlopen failed");
		return;
	}
	for (size_t i = 0; i < sizeof dw_syms / sizeof dw_syms[0]; i++) {
		void *p = dlsym(h, dw_syms[i].name);
		if (!p && !dw_syms[i].optional) {
			snprintf(dw.why, sizeof dw.why,
				 "libdw.so.1 has no %s (elfutils >= 0.158 needed); using frame pointers "
				 "and ELF symbols",
				 dw_syms[i].name);
			dlclose(h);
			return;
		}
		memcpy((char *)&dw.api + dw_syms[i].off, &p, sizeof p);
	}
	dw.callbacks.find_elf = dw.api.dwfl_linux_proc_find_elf;
	dw.callbacks.find_debuginfo = dw.api.dwfl_standard_find_debuginfo;
	dw.callbacks.debuginfo_path = &dw.debuginfo_path;
	dw.ok = true; /* the handle stays open for the life of the process */
}

const struct dw_api *dw_get(const char **why)
{
	pthread_once(&dw.once, dw_load);
	if (!dw.ok && why)
		*why = dw.why;
	return dw.ok ? &dw.api : NULL;
}

const Dwfl_Callbacks *dw_callbacks(void)
{
	return dw_get(NULL) ? &dw.callbacks : NULL;
}
