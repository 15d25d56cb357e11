/* dw.c — loading libdw.so.1 (see dw.h). */
#include "debuginfo/dw.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* The CRC-32 (IEEE, zlib's) of a whole file, as .gnu_debuglink holds it. */
static bool file_crc32(int fd, uint32_t *out)
{
	static uint32_t table[256];
	if (!table[1])
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
	uint32_t crc = 0xffffffffu;
	unsigned char buf[65536];
	off_t off = 0;
	for (;;) {
		ssize_t n = pread(fd, buf, sizeof buf, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return false;
		if (n == 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			crc = table[(crc ^ buf[i]) & 0xff] ^ (crc >> 8);
		off += n;
	}
	*out = crc ^ 0xffffffffu;
	return true;
}

/* The debuglink candidate at path, if its CRC is the one the module names. */
static int open_debug(const char *path, GElf_Word crc, char **out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	uint32_t c;
	if (!file_crc32(fd, &c) || c != crc || !(*out = strdup(path))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* dwfl_standard_find_debuginfo without debuginfod: the build-id tree
 * (/usr/lib/debug/.build-id/xx/yyyy.debug, what Debian's -dbg/-dbgsym
 * packages install), then the .gnu_debuglink name next to the file, in
 * its .debug/ and under /usr/lib/debug/<its directory>, with the CRC the
 * link names (as gdb and elfutils check it). */
static int find_debuginfo_local(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
				const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
				char **debuginfo_file_name)
{
	int fd = dw.api.dwfl_build_id_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file,
						     debuglink_crc, debuginfo_file_name);
	if (fd >= 0 || !debuglink_file || !file_name || file_name[0] != '/')
		return fd;
	const char *slash = strrchr(file_name, '/');
	int dlen = (int)(slash - file_name);
	static const char *const fmts[] = { "%.*s/%s", "%.*s/.debug/%s", "/usr/lib/debug%.*s/%s" };
	for (size_t i = 0; i < sizeof fmts / sizeof *fmts; i++) {
		char path[4096];
		int n = snprintf(path, sizeof path, fmts[i], dlen, file_name, debuglink_file);
		if (n <= 0 || (size_t)n >= sizeof path || strcmp(path, file_name) == 0)
			continue;
		if ((fd = open_debug(path, debuglink_crc, debuginfo_file_name)) >= 0)
			return fd;
	}
	return -1;
}

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
	/* debuginfod only when the user configured it (as gdb): the
	 * standard callback otherwise loads libdebuginfod and libcurl with
	 * ~20 libraries into the process at the first module without
	 * local debug info (50-150 ms, for nothing) */
	const char *urls = getenv("DEBUGINFOD_URLS");
	dw.callbacks.find_debuginfo = urls && *urls ? dw.api.dwfl_standard_find_debuginfo : find_debuginfo_local;
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
