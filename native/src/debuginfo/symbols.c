/* symbols.c — unwinding and symbolization (see symbols.h).
 *
 * libdw.so.1 (elfutils, LGPL/GPL) through its one binding, dw.h (elfutils'
 * own headers; the library loaded with dlopen); without it, the ELF reader
 * (elfsym.h) and frame pointers.
 *
 * The Dwfl never ptraces: modules come from /proc/PID/maps
 * (dwfl_linux_proc_report), ELF files are opened by path, and the thread
 * state comes from our own Dwfl_Thread_Callbacks (registers passed in by
 * the caller, memory through process_vm_readv) rather than
 * dwfl_linux_proc_attach, whose callbacks PTRACE_ATTACH/PEEKDATA from the
 * calling thread. The layout follows elfutils' tests/backtrace-data.c:
 * collect the frames first, symbolize afterwards (pc-1 for callers).
 */
#include "debuginfo/symbols.h"

#include <elf.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/mem.h"
#include "base/procfs.h"
#include "core/proc.h"
#include "debuginfo/dw.h"
#include "debuginfo/elfsym.h"

/* ------------------------------------------------------------------ */
/* the object                                                          */
/* ------------------------------------------------------------------ */

#define MC_PAGES 8
#define MC_PAGE 4096u

/* Tracee memory by pages, for one unwind (the target is stopped meanwhile):
 * a CFI unwind reads a few words per frame, mostly on the same pages. */
struct memcache {
	uint64_t base[MC_PAGES];
	uint32_t len[MC_PAGES]; /* readable bytes from base */
	bool valid[MC_PAGES];
	unsigned next;
	uint8_t data[MC_PAGES][MC_PAGE];
};

struct dwmod {
	Dwfl_Module *mod;
	struct elfsym_func *syms; /* names in libdw's string table: valid while the module is */
	size_t n;
	struct elfsym_func *data; /* sized STT_OBJECT symbols (globals, statics), the same way */
	size_t ndata;
};

struct fk_symbols {
	pid_t pid;
	bool use_dw; /* libdw loaded and a Dwfl exists */
	Dwfl *dwfl;
	bool attached; /* dwfl_attach_state worked: CFI unwinding */
	bool removed;  /* a module went away during sym_refresh */
	char note[512];
	/* the LWP being unwound, for the thread callbacks */
	pid_t cur_tid;
	const fk_gregs *cur_regs;
	/* /proc/PID/maps and the ELF reader over it, loaded when first needed */
	bool maps_loaded;
	struct vma_list maps;
	struct elfsyms *elf;
	/* function symbols of libdw's modules, sorted (dwfl_module_addrinfo
	 * searches linearly: ~70 us per call in libc with its .symtab) */
	struct dwmod *dwmods;
	size_t ndwmods;
	struct memcache mc;
	/* clients' caches (sym_cache_*), valid while the module set is */
	void *cache[SYM_CACHE_N];
	void (*cache_free[SYM_CACHE_N])(void *);
};

static void set_note(struct fk_symbols *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_note(struct fk_symbols *s, const char *fmt, ...)
{
	if (s->note[0])
		return; /* the first cause is the one to show */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->note, sizeof s->note, fmt, ap);
	va_end(ap);
}

/* ---- memory ---- */

static void mc_reset(struct memcache *mc)
{
	memset(mc->valid, 0, sizeof mc->valid);
	mc->next = 0;
}

static bool mem_u64(struct fk_symbols *s, uint64_t addr, uint64_t *out)
{
	struct memcache *mc = &s->mc;
	uint8_t tmp[8];
	if (addr > UINT64_MAX - sizeof tmp)
		return false;
	for (size_t got = 0; got < sizeof tmp;) {
		uint64_t a = addr + got, base = a & ~(uint64_t)(MC_PAGE - 1);
		unsigned i;
		for (i = 0; i < MC_PAGES; i++)
			if (mc->valid[i] && mc->base[i] == base)
				break;
		if (i == MC_PAGES) {
			i = mc->next;
			mc->next = (mc->next + 1) % MC_PAGES;
			ssize_t r = mem_read(s->pid, base, mc->data[i], MC_PAGE);
			mc->valid[i] = r > 0;
			mc->base[i] = base;
			mc->len[i] = r > 0 ? (uint32_t)r : 0;
			if (r <= 0)
				return false;
		}
		uint64_t off = a - base;
		if (off >= mc->len[i])
			return false;
		size_t n = sizeof tmp - got;
		if (n > mc->len[i] - off)
			n = mc->len[i] - off;
		memcpy(tmp + got, mc->data[i] + off, n);
		got += n;
	}
	memcpy(out, tmp, sizeof tmp);
	return true;
}

static void dwmods_drop(struct fk_symbols *s)
{
	for (size_t i = 0; i < s->ndwmods; i++) {
		free(s->dwmods[i].syms);
		free(s->dwmods[i].data);
	}
	free(s->dwmods);
	s->dwmods = NULL;
	s->ndwmods = 0;
}

static void maps_drop(struct fk_symbols *s)
{
	elfsyms_free(s->elf);
	s->elf = NULL;
	if (s->maps_loaded)
		proc_maps_free(&s->maps);
	s->maps_loaded = false;
	memset(&s->maps, 0, sizeof s->maps);
}

/* The maps and the ELF reader (NULL when the maps cannot be read, or out
 * of memory). */
static struct elfsyms *maps_load(struct fk_symbols *s)
{
	if (s->maps_loaded)
		return s->elf;
	int rc = proc_maps_read(s->pid, &s->maps);
	if (rc < 0) {
		fk_debug("symbols %d: /proc/%d/maps: %s", (int)s->pid, (int)s->pid, strerror(-rc));
		return NULL;
	}
	s->maps_loaded = true;
	s->elf = elfsyms_new(s->pid, &s->maps);
	return s->elf;
}

/* ---- libdw session ---- */

static pid_t cb_next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	(void)dwfl;
	struct fk_symbols *s = arg;
	if (*thread_argp)
		return 0;
	*thread_argp = s;
	return s->cur_tid;
}

static bool cb_get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	(void)dwfl;
	struct fk_symbols *s = arg;
	if (tid != s->cur_tid || !s->cur_regs)
		return false;
	*thread_argp = s;
	return true;
}

static bool cb_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	(void)dwfl;
	uint64_t v;
	if (!mem_u64(arg, addr, &v))
		return false;
	*result = v;
	return true;
}

static bool cb_set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	struct fk_symbols *s = arg;
	uint64_t regs[64];
	size_t n = arch_dwarf_gregs(s->cur_regs, regs, sizeof regs / sizeof regs[0]);
	if (!DW->dwfl_thread_state_registers(thread, 0, (unsigned)n, regs))
		return false;
	DW->dwfl_thread_state_register_pc(thread, arch_pc(s->cur_regs));
	return true;
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = cb_next_thread,
	.get_thread = cb_get_thread,
	.memory_read = cb_memory_read,
	.set_initial_registers = cb_set_initial_registers,
	.detach = NULL,
	.thread_detach = NULL,
};

static void dwfl_setup(struct fk_symbols *s)
{
	s->dwfl = DW->dwfl_begin(dw_callbacks());
	if (!s->dwfl) {
		set_note(s, "dwfl_begin: %s; using frame pointers and ELF symbols", DW->dwfl_errmsg(-1));
		s->use_dw = false;
		return;
	}
	s->use_dw = true;
	DW->dwfl_report_begin(s->dwfl);
	int rc = DW->dwfl_linux_proc_report(s->dwfl, s->pid);
	DW->dwfl_report_end(s->dwfl, NULL, NULL);
	if (rc != 0) {
		set_note(s, "dwfl_linux_proc_report(%d): %s", (int)s->pid, rc > 0 ? strerror(rc) : DW->dwfl_errmsg(-1));
		s->use_dw = false; /* sym_refresh tries again */
		return;
	}
	if (!DW->dwfl_attach_state(s->dwfl, NULL, s->pid, &thread_callbacks, s)) {
		set_note(s, "dwfl_attach_state: %s; unwinding with frame pointers", DW->dwfl_errmsg(-1));
		return;
	}
	s->attached = true;
}

struct fk_symbols *sym_open(pid_t pid)
{
	struct fk_symbols *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->pid = pid;
	const char *off = getenv("FORKALL_NO_LIBDW");
	if (off && *off && strcmp(off, "0") != 0) {
		set_note(s,
			 "libdw disabled (FORKALL_NO_LIBDW=%s): frame-pointer unwinding, ELF symbols, "
			 "no source lines",
			 off);
		return s;
	}
	const char *why = NULL;
	if (!dw_get(&why)) {
		set_note(s, "%s", why);
		return s;
	}
	dwfl_setup(s);
	return s;
}

static void cache_drop(struct fk_symbols *s)
{
	for (int i = 0; i < SYM_CACHE_N; i++) {
		if (s->cache[i] && s->cache_free[i])
			s->cache_free[i](s->cache[i]);
		s->cache[i] = NULL;
	}
}

void *sym_cache_get(struct fk_symbols *s, enum sym_cache slot)
{
	return s->cache[slot];
}

void sym_cache_set(struct fk_symbols *s, enum sym_cache slot, void *data, void (*free_fn)(void *))
{
	if (s->cache[slot] && s->cache_free[slot])
		s->cache_free[slot](s->cache[slot]);
	s->cache[slot] = data;
	s->cache_free[slot] = free_fn;
}

static int cb_count(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start, void *arg)
{
	(void)mod, (void)userdata, (void)name, (void)start;
	++*(size_t *)arg;
	return DWARF_CB_OK;
}

static size_t module_count(struct fk_symbols *s)
{
	size_t n = 0;
	if (s->dwfl)
		DW->dwfl_getmodules(s->dwfl, cb_count, &n, 0);
	return n;
}

void sym_close(struct fk_symbols *s)
{
	if (!s)
		return;
	cache_drop(s);
	if (s->dwfl)
		DW->dwfl_end(s->dwfl);
	dwmods_drop(s);
	maps_drop(s);
	free(s);
}

static int cb_removed(Dwfl_Module *mod, void *userdata, const char *name, Dwarf_Addr start, void *arg)
{
	(void)mod, (void)userdata, (void)name, (void)start;
	((struct fk_symbols *)arg)->removed = true;
	return 0;
}

void sym_refresh(struct fk_symbols *s)
{
	maps_drop(s);
	dwmods_drop(s);
	if (!s->dwfl)
		return; /* no libdw */
	size_t before = module_count(s);
	if (s->attached) {
		s->removed = false;
		DW->dwfl_report_begin(s->dwfl);
		int rc = DW->dwfl_linux_proc_report(s->dwfl, s->pid);
		DW->dwfl_report_end(s->dwfl, cb_removed, s);
		if (rc == 0 && !s->removed) {
			/* modules kept or added: the attached state stays valid */
			if (module_count(s) != before)
				cache_drop(s);
			return;
		}
	}
	cache_drop(s);
	/* Start over: after a failure, or because the attached state may use
	 * the backend (Ebl) of a module that was just removed. */
	DW->dwfl_end(s->dwfl);
	s->dwfl = NULL;
	s->attached = false;
	s->use_dw = false;
	s->note[0] = '\0';
	dwfl_setup(s);
}

struct fk_symbols *sym_of_proc(struct proc *p)
{
	if (!p->syms) {
		p->syms = sym_open(p->pid);
		p->syms_stale = false;
	} else if (p->syms_stale) {
		sym_refresh(p->syms);
		p->syms_stale = false;
	}
	return p->syms;
}

const char *sym_unwinder(const struct fk_symbols *s)
{
	return s->attached ? "libdw" : "frame-pointer";
}

const char *sym_note(const struct fk_symbols *s)
{
	return s->note[0] ? s->note : NULL;
}

/* ------------------------------------------------------------------ */
/* unwinding                                                           */
/* ------------------------------------------------------------------ */

struct unwind {
	struct fk_symbols *s;
	struct sym_frame *f;
	int n, max;
	int want;	       /* sym_unwind_regs: the frame whose registers to keep */
	struct sym_regs *regs; /* NULL for sym_unwind */
};

/* Registers of frames 0..want, kept as the walk goes (u->regs ends as
 * frame want's). frames[0]: every register of the LWP. Callers: the
 * callee-saved registers and sp libdw recovered; a callee-saved register
 * libdw left unknown keeps the callee's value, the ABI's "same value" for
 * a register no CFI rule mentions (elfutils' x86-64 default rules name
 * register 0 for rbx, so rbx is lost after the first frame that does not
 * save it, and rax comes out as "same value"); caller-saved registers are
 * unknown in callers. */
static void keep_regs(struct unwind *u, Dwfl_Frame *state)
{
	struct sym_regs *r = u->regs;
	if (u->n == 0) {
		memset(r, 0, sizeof *r);
		size_t n = arch_dwarf_gregs(u->s->cur_regs, r->v, SYM_NREGS);
		r->known = n >= 32 ? UINT32_MAX : (1u << n) - 1;
		return;
	}
	uint32_t keep = arch_dwarf_callee_saved | 1u << arch_dwarf_sp_regno;
	uint32_t known = r->known & arch_dwarf_callee_saved; /* the callee's, carried */
	for (unsigned i = 0; DW->dwfl_frame_reg && i < SYM_NREGS; i++) {
		Dwarf_Word v;
		if ((keep & (1u << i)) && DW->dwfl_frame_reg(state, i, &v) == 0) {
			r->v[i] = v;
			known |= 1u << i;
		}
	}
	r->known = known;
}

static int cb_frame(Dwfl_Frame *state, void *arg)
{
	struct unwind *u = arg;
	Dwarf_Addr pc;
	bool act = false;
	if (!DW->dwfl_frame_pc(state, &pc, &act))
		return DWARF_CB_ABORT;
	uint64_t sp = 0;
	Dwarf_Word v;
	if (u->n == 0)
		sp = arch_sp(u->s->cur_regs);
	else if (DW->dwfl_frame_reg && DW->dwfl_frame_reg(state, arch_dwarf_sp_regno, &v) == 0)
		sp = v;
	if (u->n > 0) {
		const struct sym_frame *prev = &u->f[u->n - 1];
		if (pc == 0 || (pc == prev->pc && sp == prev->sp))
			return DWARF_CB_ABORT; /* garbage or a loop */
		if (!act && sp && prev->sp && sp < prev->sp)
			return DWARF_CB_ABORT; /* stacks grow down: callers are above (an
						* interrupted frame may be on another stack) */
	}
	u->f[u->n].pc = pc;
	u->f[u->n].sp = sp;
	u->f[u->n].activation = u->n == 0 || act;
	if (u->regs && u->n <= u->want)
		keep_regs(u, state);
	u->n++;
	return u->n < u->max ? DWARF_CB_OK : DWARF_CB_ABORT;
}

/* With frame pointers: [fp] = caller's fp, [fp+8] = return address. The
 * chain must go up, stay 8-aligned, inside the mapping holding sp, and
 * return into executable mappings. A function stopped before it pushed
 * its frame (or any code built without frame pointers) hides its caller. */
static int unwind_fp(struct fk_symbols *s, const fk_gregs *regs, struct sym_frame *frames, int max)
{
	uint64_t sp = arch_sp(regs);
	frames[0].pc = arch_pc(regs);
	frames[0].sp = sp;
	frames[0].activation = true;
	int n = 1;
	maps_load(s);
	if (!s->maps_loaded)
		return n;
	const struct vma *stack = vma_find(&s->maps, sp);
	if (!stack)
		return n;
	uint64_t fp = arch_fp(regs), low = sp;
	while (n < max) {
		if (fp < low || (fp & 7) || fp + 16 > stack->end || fp < stack->start)
			break;
		uint64_t next, ra;
		if (!mem_u64(s, fp, &next) || !mem_u64(s, fp + 8, &ra) || ra == 0)
			break;
		const struct vma *code = vma_find(&s->maps, ra);
		if (!code || code->perms[2] != 'x')
			break;
		frames[n].pc = ra;
		frames[n].sp = fp + 16;
		frames[n].activation = false;
		n++;
		if (next <= fp)
			break;
		low = fp + 16;
		fp = next;
	}
	return n;
}

static int unwind(struct fk_symbols *s, pid_t tid, const fk_gregs *regs, struct sym_frame *frames, int max, int want,
		  struct sym_regs *out, struct fk_err *err)
{
	if (!s || !regs || !frames || max < 1 || tid <= 0)
		return fk_fail(err, EINVAL, FK_KIND_BADREQ, "unwind", "bad arguments (tid %d, max %d)", (int)tid, max);
	mc_reset(&s->mc); /* the process ran since the last unwind */
	if (s->attached) {
		struct unwind u = { .s = s, .f = frames, .n = 0, .max = max, .want = want, .regs = out };
		s->cur_tid = tid;
		s->cur_regs = regs;
		int rc = DW->dwfl_getthread_frames(s->dwfl, tid, cb_frame, &u);
		if (rc < 0 && u.n > 0)
			fk_debug("unwind %d: stopped after %d frames: %s", (int)tid, u.n, DW->dwfl_errmsg(-1));
		s->cur_tid = 0;
		s->cur_regs = NULL;
		if (u.n > 0)
			return u.n;
		fk_debug("unwind %d: libdw gave no frame (%s); walking frame pointers", (int)tid, DW->dwfl_errmsg(-1));
	}
	int n = unwind_fp(s, regs, frames, max);
	if (out && want < n) {
		memset(out, 0, sizeof *out);
		if (want == 0) {
			size_t k = arch_dwarf_gregs(regs, out->v, SYM_NREGS);
			out->known = k >= 32 ? UINT32_MAX : (1u << k) - 1;
		} else if (frames[want].sp && arch_dwarf_sp_regno < SYM_NREGS) {
			out->v[arch_dwarf_sp_regno] = frames[want].sp;
			out->known = 1u << arch_dwarf_sp_regno;
		}
	}
	return n;
}

int sym_unwind(struct fk_symbols *s, pid_t tid, const fk_gregs *regs, struct sym_frame *frames, int max,
	       struct fk_err *err)
{
	return unwind(s, tid, regs, frames, max, -1, NULL, err);
}

int sym_unwind_regs(struct fk_symbols *s, pid_t tid, const fk_gregs *regs, struct sym_frame *frames, int max, int want,
		    struct sym_regs *out, struct fk_err *err)
{
	if (!out || want < 0 || want >= max)
		return fk_fail(err, EINVAL, FK_KIND_BADREQ, "unwind", "bad frame %d (max %d)", want, max);
	memset(out, 0, sizeof *out);
	return unwind(s, tid, regs, frames, max, want, out, err);
}

Dwfl *sym_dwfl(struct fk_symbols *s)
{
	return s && s->use_dw ? s->dwfl : NULL;
}

/* ------------------------------------------------------------------ */
/* symbolization                                                       */
/* ------------------------------------------------------------------ */

static void copy_str(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

/* A symbol name without its version ("pthread_cond_wait@@GLIBC_2.3.2" is
 * how libc's debuginfo .symtab spells the default version). */
static void copy_sym_name(char *dst, size_t cap, const char *name)
{
	size_t n = strcspn(name, "@");
	if (strcmp(name + n, "@plt") == 0)
		n = strlen(name); /* a PLT stub's name (elfsyms_plt_at), not a version */
	snprintf(dst, cap, "%.*s", (int)(n < cap ? n : cap - 1), name);
}

static bool sym_name_is(const char *name, const char *want)
{
	size_t n = strlen(want);
	return strncmp(name, want, n) == 0 && (name[n] == '\0' || name[n] == '@');
}

/* Lexically drop "." and "dir/.." from an absolute path, as DWARF joins
 * DW_AT_comp_dir with names like "../src/x.c" ("/b/native/../src/x.c"). */
static void normalize_path(char *dst, size_t cap, const char *src)
{
	copy_str(dst, cap, src);
	if (dst[0] != '/' || (!strstr(dst, "/./") && !strstr(dst, "/../")))
		return;
	char *w = dst; /* write position; dst[0] stays '/' */
	const char *r = src;
	size_t n = 0;
	while (*r) {
		while (*r == '/')
			r++;
		const char *e = strchr(r, '/');
		size_t len = e ? (size_t)(e - r) : strlen(r);
		if (len == 0)
			break;
		if (len == 1 && r[0] == '.') {
			/* skip */
		} else if (len == 2 && r[0] == '.' && r[1] == '.') {
			while (n > 0 && w[n - 1] != '/')
				n--;
			if (n > 0)
				n--; /* the '/' before the dropped component */
		} else if (n + 1 + len < cap) {
			w[n++] = '/';
			memcpy(w + n, r, len);
			n += len;
		}
		r += len;
	}
	if (n == 0)
		w[n++] = '/';
	w[n] = '\0';
}

/* A line table's file name made absolute with the CU's DW_AT_comp_dir
 * (libdw leaves DWARF 5 names relative when their directory entry is). */
static void resolve_path(char *dst, size_t cap, const char *comp_dir, const char *file)
{
	if (file[0] == '/' || !comp_dir || comp_dir[0] != '/') {
		normalize_path(dst, cap, file);
		return;
	}
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s/%s", comp_dir, file);
	normalize_path(dst, cap, tmp);
}

/* The module's function symbols (.symtab of the file or its debuginfo, or
 * .dynsym), sorted by address; built on first use. The pointer is valid
 * until the next dwmod_get (the array grows). */
static struct dwmod *dwmod_get(struct fk_symbols *s, Dwfl_Module *mod)
{
	for (size_t i = 0; i < s->ndwmods; i++)
		if (s->dwmods[i].mod == mod)
			return &s->dwmods[i];
	struct dwmod *v = realloc(s->dwmods, (s->ndwmods + 1) * sizeof *v);
	if (!v)
		return NULL;
	s->dwmods = v;
	struct dwmod *m = &s->dwmods[s->ndwmods++];
	memset(m, 0, sizeof *m);
	m->mod = mod;
	int n = DW->dwfl_module_getsymtab(mod);
	if (n <= 1 || !(m->syms = malloc((size_t)n * sizeof *m->syms)))
		return m;
	m->data = malloc((size_t)n * sizeof *m->data); /* NULL: data not named */
	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		Dwarf_Addr addr, bias;
		GElf_Word shndx;
		Elf *elf;
		const char *nm = DW->dwfl_module_getsym_info(mod, i, &sym, &addr, &shndx, &elf, &bias);
		int type = ELF64_ST_TYPE(sym.st_info);
		if (!nm || !*nm || shndx == SHN_UNDEF || shndx == (GElf_Word)-1 || addr == 0)
			continue;
		struct elfsym_func y = {
			.addr = addr, .size = sym.st_size, .name = nm, .bind = (unsigned char)ELF64_ST_BIND(sym.st_info)
		};
		if (type == STT_FUNC || type == STT_GNU_IFUNC)
			m->syms[m->n++] = y;
		else if (type == STT_OBJECT && sym.st_size && m->data)
			m->data[m->ndata++] = y;
	}
	elfsym_sort(m->syms, m->n);
	elfsym_sort(m->data, m->ndata);
	return m;
}

static const struct elfsym_func *dwmod_sym(const struct dwmod *m, uint64_t addr)
{
	return elfsym_func_at(m->syms, m->n, addr);
}

int sym_describe(struct fk_symbols *s, uint64_t pc, bool adjust, struct sym_info *out)
{
	memset(out, 0, sizeof *out);
	uint64_t at = adjust && pc > 0 ? pc - 1 : pc;
	if (s->use_dw) {
		Dwfl_Module *mod = DW->dwfl_addrmodule(s->dwfl, at);
		if (!mod)
			return -1;
		copy_str(out->module, sizeof out->module,
			 DW->dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL));
		const struct dwmod *m = dwmod_get(s, mod);
		const struct elfsym_func *y = m ? dwmod_sym(m, at) : NULL;
		struct elfsym_func plt;
		struct elfsyms *elf = maps_load(s);
		if (elf && elfsyms_plt_at(elf, at, &plt))
			y = &plt; /* no symbol of its own: the one before (_init) would be named */
		else if (m && m->ndata && elfsym_func_at(m->data, m->ndata, at))
			y = elfsym_func_at(m->data, m->ndata, at); /* a global or static: "counter+4" */
		if (y) {
			copy_sym_name(out->function, sizeof out->function, y->name);
			out->offset = pc - y->addr;
			out->has_function = true;
		}
		Dwfl_Line *line = DW->dwfl_module_getsrc(mod, at);
		int lineno = 0, col = 0;
		const char *file = line ? DW->dwfl_lineinfo(line, NULL, &lineno, &col, NULL, NULL) : NULL;
		if (file && lineno > 0) {
			resolve_path(out->file, sizeof out->file, DW->dwfl_line_comp_dir(line), file);
			out->line = lineno;
			out->column = col;
			out->has_line = true;
		}
		return 0;
	}
	struct elfsyms *elf = maps_load(s);
	struct elfsym_func fn;
	const char *path = elf ? elfsyms_describe(elf, at, &fn) : NULL;
	if (!path)
		return -1;
	elfsyms_plt_at(elf, at, &fn);
	copy_str(out->module, sizeof out->module, path);
	if (fn.name) {
		copy_sym_name(out->function, sizeof out->function, fn.name);
		out->offset = pc - fn.addr;
		out->has_function = true;
	}
	return 0;
}

/* ---- function lookup ---- */

struct addrset {
	uint64_t *a;
	size_t n, cap;
};

static void addrset_add(struct addrset *v, uint64_t addr)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->a[i] == addr)
			return;
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		uint64_t *a = realloc(v->a, cap * sizeof *a);
		if (!a)
			return;
		v->a = a;
		v->cap = cap;
	}
	v->a[v->n++] = addr;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int addrset_out(struct addrset *v, uint64_t *addrs, int max)
{
	if (v->n)
		qsort(v->a, v->n, sizeof *v->a, cmp_u64);
	int n = 0;
	for (size_t i = 0; i < v->n && n < max; i++)
		addrs[n++] = v->a[i];
	free(v->a);
	return n;
}

/* Past the prologue: the first is_stmt row inside [entry, entry+size) whose
 * line differs from the line at the entry (the opening line). */
static uint64_t after_prologue(Dwfl_Module *mod, uint64_t entry, uint64_t size)
{
	Dwarf_Addr bias;
	Dwarf_Die *cu = DW->dwfl_module_addrdie(mod, entry, &bias);
	Dwarf_Lines *lines;
	size_t nlines;
	if (!cu || DW->dwarf_getsrclines(cu, &lines, &nlines) != 0)
		return entry;
	uint64_t lo = entry - bias, hi = lo + (size ? size : 1);
	int first = -1;
	for (size_t i = 0; i < nlines; i++) {
		Dwarf_Line *l = DW->dwarf_onesrcline(lines, i);
		Dwarf_Addr a;
		int no;
		bool endseq = false, stmt = true;
		if (!l || DW->dwarf_lineaddr(l, &a) != 0 || a < lo || a >= hi || DW->dwarf_lineno(l, &no) != 0)
			continue;
		DW->dwarf_lineendsequence(l, &endseq);
		DW->dwarf_linebeginstatement(l, &stmt);
		if (endseq || no == 0)
			continue;
		if (first < 0) {
			if (a != lo)
				return entry; /* no row at the entry: keep it */
			first = no;
			continue;
		}
		if (no != first && stmt)
			return a + bias;
	}
	return entry;
}

struct fn_lookup {
	struct fk_symbols *s;
	const char *name;
	struct addrset out;
};

static int cb_fn_module(Dwfl_Module *mod, void **ud, const char *mname, Dwarf_Addr start, void *arg)
{
	(void)ud, (void)mname, (void)start;
	struct fn_lookup *q = arg;
	const struct dwmod *m = dwmod_get(q->s, mod);
	for (size_t i = 0; m && i < m->n; i++)
		if (sym_name_is(m->syms[i].name, q->name))
			addrset_add(&q->out, after_prologue(mod, m->syms[i].addr, m->syms[i].size));
	return DWARF_CB_OK;
}

static void elf_fn_match(const struct elfsym_func *f, void *arg)
{
	struct fn_lookup *q = arg;
	if (sym_name_is(f->name, q->name))
		addrset_add(&q->out, f->addr);
}

int sym_lookup_function(struct fk_symbols *s, const char *name, uint64_t *addrs, int max)
{
	if (!name || !*name || max < 1)
		return 0;
	if (s->use_dw) {
		struct fn_lookup q = { .s = s, .name = name };
		DW->dwfl_getmodules(s->dwfl, cb_fn_module, &q, 0);
		return addrset_out(&q.out, addrs, max);
	}
	struct fn_lookup q = { .s = s, .name = name };
	struct elfsyms *elf = maps_load(s);
	if (elf)
		elfsyms_each_function(elf, elf_fn_match, &q);
	return addrset_out(&q.out, addrs, max);
}

/* ---- line lookup ---- */

/* Exact, or a suffix of path starting after a '/' (both normalized). */
static bool file_matches(const char *comp_dir, const char *raw, const char *want, size_t wl)
{
	char path[4096];
	resolve_path(path, sizeof path, comp_dir, raw);
	size_t pl = strlen(path);
	if (pl < wl || strcmp(path + pl - wl, want) != 0)
		return false;
	return pl == wl || want[0] == '/' || path[pl - wl - 1] == '/';
}

struct line_hit {
	uint64_t addr;
	Dwfl_Module *mod;
};

struct line_lookup {
	const char *file;
	size_t flen;
	int line, best;
	struct line_hit *hits;
	size_t n, cap;
	bool oom;
};

static void line_add(struct line_lookup *q, Dwfl_Module *mod, uint64_t addr, int no)
{
	if (q->best == 0 || no < q->best) {
		q->best = no;
		q->n = 0;
	} else if (no > q->best) {
		return;
	}
	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 16;
		struct line_hit *h = realloc(q->hits, cap * sizeof *h);
		if (!h) {
			q->oom = true;
			return;
		}
		q->hits = h;
		q->cap = cap;
	}
	q->hits[q->n].addr = addr;
	q->hits[q->n].mod = mod;
	q->n++;
}

static int cb_line_module(Dwfl_Module *mod, void **ud, const char *mname, Dwarf_Addr start, void *arg)
{
	(void)ud, (void)mname, (void)start;
	struct line_lookup *q = arg;
	Dwarf_Addr bias;
	for (Dwarf_Die *cu = NULL; (cu = DW->dwfl_module_nextcu(mod, cu, &bias)) != NULL;) {
		Dwarf_Lines *lines;
		size_t nlines;
		if (DW->dwarf_getsrclines(cu, &lines, &nlines) != 0 || nlines == 0)
			continue;
		Dwfl_Line *l0 = DW->dwfl_onesrcline(cu, 0);
		const char *comp_dir = l0 ? DW->dwfl_line_comp_dir(l0) : NULL;
		const char *last = NULL;
		bool last_match = false;
		for (size_t i = 0; i < nlines; i++) {
			Dwarf_Line *l = DW->dwarf_onesrcline(lines, i);
			const char *src = l ? DW->dwarf_linesrc(l, NULL, NULL) : NULL;
			if (!src)
				continue;
			if (src != last) {
				last = src;
				last_match = file_matches(comp_dir, src, q->file, q->flen);
			}
			int no;
			Dwarf_Addr a;
			bool endseq = false, stmt = false;
			if (!last_match || DW->dwarf_lineno(l, &no) != 0 || no < q->line ||
			    DW->dwarf_lineaddr(l, &a) != 0)
				continue;
			DW->dwarf_lineendsequence(l, &endseq);
			DW->dwarf_linebeginstatement(l, &stmt);
			if (!endseq && stmt)
				line_add(q, mod, a + bias, no);
		}
	}
	return DWARF_CB_OK;
}

int sym_lookup_line(struct fk_symbols *s, const char *file, int line, uint64_t *addrs, int max, int *actual)
{
	if (actual)
		*actual = 0;
	if (!s->use_dw || !file || !*file || line < 1 || max < 1)
		return 0;
	char want[4096];
	normalize_path(want, sizeof want, file);
	struct line_lookup q = { .file = want, .flen = strlen(want), .line = line };
	DW->dwfl_getmodules(s->dwfl, cb_line_module, &q, 0);
	/* One address per function: the lowest row of the line in each. */
	struct addrset out = { 0 };
	uint64_t *starts = calloc(q.n ? q.n : 1, sizeof *starts);
	for (size_t i = 0; starts && i < q.n; i++) {
		const struct dwmod *m = dwmod_get(s, q.hits[i].mod);
		const struct elfsym_func *y = m ? dwmod_sym(m, q.hits[i].addr) : NULL;
		starts[i] = y ? y->addr : q.hits[i].addr;
	}
	for (size_t i = 0; starts && i < q.n; i++) {
		bool lowest = true;
		for (size_t j = 0; j < q.n && lowest; j++)
			if (j != i && starts[j] == starts[i] &&
			    (q.hits[j].addr < q.hits[i].addr || (q.hits[j].addr == q.hits[i].addr && j < i)))
				lowest = false;
		if (lowest)
			addrset_add(&out, q.hits[i].addr);
	}
	free(starts);
	free(q.hits);
	if (actual && out.n)
		*actual = q.best;
	return addrset_out(&out, addrs, max);
}

/* ---- the rows of one function (step.c) ---- */

size_t sym_function_lines(struct fk_symbols *s, uint64_t pc, uint64_t *lo, uint64_t *hi, struct sym_line_row **rows)
{
	*rows = NULL;
	if (!s->use_dw)
		return 0;
	Dwfl_Module *mod = DW->dwfl_addrmodule(s->dwfl, pc);
	const struct dwmod *m = mod ? dwmod_get(s, mod) : NULL;
	const struct elfsym_func *y = m ? dwmod_sym(m, pc) : NULL;
	if (!y || !y->size)
		return 0;
	Dwarf_Addr bias;
	Dwarf_Die *cu = DW->dwfl_module_addrdie(mod, pc, &bias);
	Dwarf_Lines *lines;
	size_t nlines;
	if (!cu || DW->dwarf_getsrclines(cu, &lines, &nlines) != 0 || nlines == 0)
		return 0;
	*lo = y->addr;
	*hi = y->addr + y->size;
	struct sym_line_row *v = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < nlines; i++) {
		Dwarf_Line *l = DW->dwarf_onesrcline(lines, i);
		Dwarf_Addr a;
		int no = 0;
		bool endseq = false, stmt = false;
		if (!l || DW->dwarf_lineaddr(l, &a) != 0 || a + bias < *lo || a + bias >= *hi)
			continue;
		DW->dwarf_lineno(l, &no);
		DW->dwarf_lineendsequence(l, &endseq);
		DW->dwarf_linebeginstatement(l, &stmt);
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			struct sym_line_row *nv = realloc(v, cap * sizeof *nv);
			if (!nv) {
				free(v);
				return 0;
			}
			v = nv;
		}
		v[n].addr = a + bias;
		v[n].file = endseq ? NULL : DW->dwarf_linesrc(l, NULL, NULL);
		v[n].line = endseq ? 0 : no;
		v[n].stmt = !endseq && stmt;
		n++;
	}
	if (n == 0) {
		free(v);
		return 0;
	}
	/* by address, stably: of two rows at one address the table's later
	 * one is the line there (a CU's sequences may come in any order) */
	for (size_t i = 1; i < n; i++) {
		struct sym_line_row r = v[i];
		size_t j = i;
		for (; j > 0 && v[j - 1].addr > r.addr; j--)
			v[j] = v[j - 1];
		v[j] = r;
	}
	*rows = v;
	return n;
}
