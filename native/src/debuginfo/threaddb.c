#include "debuginfo/threaddb.h"

#include "arch/arch.h"
#include "base/mem.h"

#include <dlfcn.h>
#include <errno.h>
#include <proc_service.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <thread_db.h>

#define PS_API __attribute__((visibility("default")))

struct ps_prochandle {
	pid_t pid;
	struct elfsyms *syms;
	pid_t cur_tid;
	uint64_t cur_tp;
};

struct tdb {
	struct ps_prochandle ph;
	td_thragent_t *ta;
	long tid_off; /* -2: not looked up yet */
	char why[200];
	bool why_set;
};

/* libthread_db entry points, resolved once. */
static struct {
	pthread_once_t once;
	void *handle;
	char err[200];
	td_err_e (*init)(void);
	td_err_e (*ta_new)(struct ps_prochandle *, td_thragent_t **);
	td_err_e (*ta_delete)(td_thragent_t *);
	td_err_e (*map_lwp2thr)(const td_thragent_t *, lwpid_t, td_thrhandle_t *);
	td_err_e (*thr_get_info)(const td_thrhandle_t *, td_thrinfo_t *);
} lib = { .once = PTHREAD_ONCE_INIT };

static const char *lib_path_hint;

static void load_lib(void)
{
	/* libthread_db resolves ps_* against the global scope. koffi loads
	 * us RTLD_LOCAL: promote this library so those symbols are found. */
	Dl_info di;
	if (dladdr((void *)load_lib, &di) && di.dli_fname) {
		void *self = dlopen(di.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_GLOBAL);
		(void)self; /* stays loaded for the life of the process */
	}
	if (lib_path_hint)
		lib.handle = dlopen(lib_path_hint, RTLD_NOW | RTLD_LOCAL);
	if (!lib.handle)
		lib.handle = dlopen("libthread_db.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!lib.handle) {
		snprintf(lib.err, sizeof lib.err, "libthread_db.so.1 not loaded: %s", dlerror());
		return;
	}
	lib.init = (td_err_e (*)(void))dlsym(lib.handle, "td_init");
	lib.ta_new = (td_err_e (*)(struct ps_prochandle *, td_thragent_t **))dlsym(lib.handle, "td_ta_new");
	lib.ta_delete = (td_err_e (*)(td_thragent_t *))dlsym(lib.handle, "td_ta_delete");
	lib.map_lwp2thr =
		(td_err_e (*)(const td_thragent_t *, lwpid_t, td_thrhandle_t *))dlsym(lib.handle, "td_ta_map_lwp2thr");
	lib.thr_get_info = (td_err_e (*)(const td_thrhandle_t *, td_thrinfo_t *))dlsym(lib.handle, "td_thr_get_info");
	if (!lib.init || !lib.ta_new || !lib.ta_delete || !lib.map_lwp2thr || !lib.thr_get_info) {
		snprintf(lib.err, sizeof lib.err, "libthread_db.so.1 lacks td_* entry points");
		dlclose(lib.handle);
		lib.handle = NULL;
		return;
	}
	if (lib.init() != TD_OK) {
		snprintf(lib.err, sizeof lib.err, "td_init failed");
		dlclose(lib.handle);
		lib.handle = NULL;
	}
}

static void set_why(struct tdb *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->why, sizeof t->why, fmt, ap);
	va_end(ap);
	t->why_set = true;
}

struct tdb *tdb_open(pid_t pid, struct elfsyms *syms)
{
	struct tdb *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->ph.pid = pid;
	t->ph.syms = syms;
	t->tid_off = -2;

	static char hint[4200];
	const char *libc = elfsyms_object_path(syms, "libc.so");
	if (libc && !lib_path_hint) {
		const char *slash = strrchr(libc, '/');
		if (slash) {
			snprintf(hint, sizeof hint, "/proc/%d/root%.*s/libthread_db.so.1", (int)pid,
				 (int)(slash - libc), libc);
			lib_path_hint = hint;
		}
	}
	pthread_once(&lib.once, load_lib);
	if (!lib.handle) {
		set_why(t, "%s", lib.err);
		return t;
	}
	td_err_e e = lib.ta_new(&t->ph, &t->ta);
	if (e != TD_OK) {
		t->ta = NULL;
		set_why(t, "td_ta_new: %s",
			e == TD_NOLIBTHREAD ? "no glibc threads in the process"
			: e == TD_VERSION   ? "libthread_db does not match the process's glibc"
					    : "failed");
	}
	return t;
}

void tdb_close(struct tdb *t)
{
	if (!t)
		return;
	if (t->ta)
		lib.ta_delete(t->ta);
	free(t);
}

const char *tdb_unavailable(const struct tdb *t)
{
	return t->why_set ? t->why : NULL;
}

long glibc_pthread_tid_offset(pid_t pid, struct elfsyms *syms)
{
	uint64_t addr;
	uint32_t desc[3];
	if (elfsyms_lookup(syms, "libc.so", "_thread_db_pthread_tid", &addr) == 0 &&
	    mem_read_exact(pid, addr, desc, sizeof desc) == 0 && desc[0] == 32 && desc[1] == 1)
		return desc[2];
	return -1;
}

/* One _thread_db_ descriptor {bits, count, offset}: its offset, if it
 * describes one object of `bits` bits (0: any size). */
static long desc_offset(pid_t pid, struct elfsyms *syms, const char *name, uint32_t bits)
{
	uint64_t addr;
	uint32_t desc[3];
	if (elfsyms_lookup(syms, "libc.so", name, &addr) == 0 && mem_read_exact(pid, addr, desc, sizeof desc) == 0 &&
	    (bits == 0 || desc[0] == bits) && desc[1] == 1)
		return desc[2];
	return -1;
}

void glibc_threads_read(pid_t pid, struct elfsyms *syms, struct glibc_threads *out)
{
	memset(out, 0, sizeof *out);
	out->tid_off = glibc_pthread_tid_offset(pid, syms);
	out->list_off = desc_offset(pid, syms, "_thread_db_pthread_list", 128);
	uint64_t a;
	uint32_t v;
	out->sizeof_pthread = -1;
	if (elfsyms_lookup(syms, "libc.so", "_thread_db_sizeof_pthread", &a) == 0 &&
	    mem_read_exact(pid, a, &v, sizeof v) == 0 && v > 0 && v < 65536)
		out->sizeof_pthread = v;
	if (desc_offset(pid, syms, "_thread_db___nptl_nthreads", 32) == 0 &&
	    elfsyms_lookup(syms, "libc.so", "__nptl_nthreads", &a) == 0)
		out->nthreads = a;
	/* _rtld_global: ld.so's own symbol, else the pointer libc keeps */
	uint64_t rtld = 0;
	if (elfsyms_lookup(syms, "ld-linux", "_rtld_global", &a) == 0)
		rtld = a;
	else if (elfsyms_lookup(syms, "libc.so", "__nptl_rtld_global", &a) == 0)
		mem_read_exact(pid, a, &rtld, sizeof rtld);
	long used = desc_offset(pid, syms, "_thread_db_rtld_global__dl_stack_used", 128);
	long user = desc_offset(pid, syms, "_thread_db_rtld_global__dl_stack_user", 128);
	if (rtld && used >= 0)
		out->stack_used = rtld + (uint64_t)used;
	if (rtld && user >= 0)
		out->stack_user = rtld + (uint64_t)user;
}

long tdb_pthread_tid_offset(struct tdb *t)
{
	if (t->tid_off == -2)
		t->tid_off = glibc_pthread_tid_offset(t->ph.pid, t->ph.syms);
	return t->tid_off;
}

int tdb_map(struct tdb *t, pid_t tid, uint64_t tp, uint64_t *pthread, const char **source)
{
	if (t->ta) {
		td_thrhandle_t th;
		td_thrinfo_t ti;
		t->ph.cur_tid = tid;
		t->ph.cur_tp = tp;
		if (lib.map_lwp2thr(t->ta, tid, &th) == TD_OK && lib.thr_get_info(&th, &ti) == TD_OK &&
		    ti.ti_lid == tid) {
			*pthread = (uint64_t)ti.ti_tid;
			*source = "thread_db";
			return 0;
		}
		return -1;
	}
	/* Fallback: the thread pointer is struct pthread; trust it only if
	 * its tid field holds this LWP's tid. */
	long off = tdb_pthread_tid_offset(t);
	int32_t v;
	if (off < 0 || !tp || mem_read_exact(t->ph.pid, tp + (uint64_t)off, &v, sizeof v) < 0 || v != tid)
		return -1;
	*pthread = tp;
	*source = "fs_base";
	return 0;
}

/* ---- proc_service: called by libthread_db ------------------------------ */

PS_API ps_err_e ps_pdread(struct ps_prochandle *ph, psaddr_t addr, void *buf, size_t len)
{
	return mem_read_exact(ph->pid, (uint64_t)(uintptr_t)addr, buf, len) == 0 ? PS_OK : PS_ERR;
}

PS_API ps_err_e ps_pdwrite(struct ps_prochandle *ph, psaddr_t addr, const void *buf, size_t len)
{
	(void)ph, (void)addr, (void)buf, (void)len;
	return PS_ERR; /* we only look */
}

PS_API ps_err_e ps_ptread(struct ps_prochandle *ph, psaddr_t addr, void *buf, size_t len)
{
	return ps_pdread(ph, addr, buf, len);
}

PS_API ps_err_e ps_ptwrite(struct ps_prochandle *ph, psaddr_t addr, const void *buf, size_t len)
{
	return ps_pdwrite(ph, addr, buf, len);
}

PS_API ps_err_e ps_lgetregs(struct ps_prochandle *ph, lwpid_t lwp, prgregset_t regs)
{
	(void)ph, (void)lwp, (void)regs;
	return PS_ERR;
}

PS_API ps_err_e ps_lsetregs(struct ps_prochandle *ph, lwpid_t lwp, const prgregset_t regs)
{
	(void)ph, (void)lwp, (void)regs;
	return PS_ERR;
}

PS_API ps_err_e ps_lgetfpregs(struct ps_prochandle *ph, lwpid_t lwp, prfpregset_t *regs)
{
	(void)ph, (void)lwp, (void)regs;
	return PS_ERR;
}

PS_API ps_err_e ps_lsetfpregs(struct ps_prochandle *ph, lwpid_t lwp, const prfpregset_t *regs)
{
	(void)ph, (void)lwp, (void)regs;
	return PS_ERR;
}

PS_API pid_t ps_getpid(struct ps_prochandle *ph)
{
	return ph->pid;
}

PS_API ps_err_e ps_get_thread_area(struct ps_prochandle *ph, lwpid_t lwp, int idx, void **base)
{
	if (lwp != ph->cur_tid || !arch_thread_area_is_tp(idx))
		return PS_ERR;
	*base = (void *)(uintptr_t)ph->cur_tp;
	return PS_OK;
}

PS_API ps_err_e ps_pglobal_lookup(struct ps_prochandle *ph, const char *obj, const char *name, psaddr_t *addr)
{
	(void)obj; /* since glibc 2.34 the symbols asked of "libpthread" live in libc */
	uint64_t a;
	if (elfsyms_lookup(ph->syms, "libc.so", name, &a) == 0) { /* then every other object */
		*addr = (psaddr_t)(uintptr_t)a;
		return PS_OK;
	}
	return PS_NOSYM;
}
