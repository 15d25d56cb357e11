/* symbols.h — unwinding and symbolization of a traced process.
 *
 * One struct fk_symbols per process. With elfutils' libdw.so.1 (dw.h:
 * loaded with dlopen at run time) it holds a Dwfl with the
 * modules of /proc/PID/maps, debuginfo found through build-id and
 * .gnu_debuglink (dwfl_standard_find_debuginfo), and unwinds with CFI
 * (.eh_frame/.debug_frame). Without libdw (or with FORKALL_NO_LIBDW=1 in the
 * environment) it walks frame pointers and names functions from the ELF
 * .symtab/.dynsym (also .symtab of /usr/lib/debug/.build-id/ files; the ELF
 * reader, elfsym.h), with no source lines; sym_note() says why. FORKALL_LIBDW=/path/libdw.so.1 loads
 * another elfutils build instead of the system's.
 *
 * No ptrace here: the caller passes the registers of a stopped LWP, and
 * memory is read with process_vm_readv (mem.h). Not thread-safe: one owner
 * (the tracer thread) per struct fk_symbols.
 */
#ifndef FK_SYMBOLS_H
#define FK_SYMBOLS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "arch/arch.h"
#include "base/error.h"

struct fk_symbols;

/* Never NULL unless out of memory: a process that cannot be read (gone,
 * no permission) gives an object whose lookups find nothing and whose
 * sym_note() says why. */
struct fk_symbols *sym_open(pid_t pid);
void sym_close(struct fk_symbols *s);

/* Re-read the module list (after the target dlopen'ed or dlclose'd). */
void sym_refresh(struct fk_symbols *s);

struct proc;
/* p's symbols (p->syms): opened on first use, re-read when the process
 * ran since a module change (p->syms_stale). NULL only out of memory. */
struct fk_symbols *sym_of_proc(struct proc *p);

/* "libdw" or "frame-pointer". */
const char *sym_unwinder(const struct fk_symbols *s);
/* Why libdw is not used (or what it lacks), or NULL when all is well. */
const char *sym_note(const struct fk_symbols *s);

struct sym_frame {
	uint64_t pc;	 /* frame 0: the LWP's pc; callers: return addresses */
	uint64_t sp;	 /* the frame's stack pointer (CFA of its callee); 0 if unknown */
	bool activation; /* pc is where the frame is now (frame 0, or interrupted
			  * by a signal), not a return address: do not look up pc-1 */
};

/* Unwind a stopped LWP of the process from its registers. frames[0].pc is
 * the pc. Stops at the outermost frame (_start, clone3: undefined return
 * address), at garbage (pc 0, a loop, unreadable stack) or after max frames.
 * Returns the count (>= 1), or -1 with err for bad arguments. */
int sym_unwind(struct fk_symbols *s, pid_t tid, const fk_gregs *regs, struct sym_frame *frames, int max,
	       struct fk_err *err);

/* ---- for locals.c (DWARF variables) ---- */

/* The general registers in DWARF numbering (arch_dwarf_gregs: x86-64 0..16). */
#define SYM_NREGS 17
struct sym_regs {
	uint64_t v[SYM_NREGS];
	uint32_t known; /* bit i: v[i] is valid */
};

/* sym_unwind, and the registers of frames[want] (want < max): frame 0 all
 * of regs; callers the ones libdw recovered from CFI (callee-saved ones and
 * sp; needs dwfl_frame_reg, elfutils >= 0.188), or only sp with the
 * frame-pointer walk. Returns the frame count; want >= the count: out
 * stays empty. */
int sym_unwind_regs(struct fk_symbols *s, pid_t tid, const fk_gregs *regs, struct sym_frame *frames, int max, int want,
		    struct sym_regs *out, struct fk_err *err);

/* A cache a client module keeps with this object (its DWARF DIEs stay
 * valid as long as it does): dropped, free_fn called, when the set of
 * modules changes (sym_refresh) or the object is closed. */
enum sym_cache {
	SYM_CACHE_LOCKS, /* locks.c */
	SYM_CACHE_N
};
void *sym_cache_get(struct fk_symbols *s, enum sym_cache slot);
void sym_cache_set(struct fk_symbols *s, enum sym_cache slot, void *data, void (*free_fn)(void *));

/* The process's Dwfl (dw.h), NULL without libdw. */
struct Dwfl *sym_dwfl(struct fk_symbols *s);

struct sym_info {
	char function[256]; /* "" when unknown */
	uint64_t offset;    /* pc - start of function (pc as given, not pc-1) */
	char module[512];   /* path of the mapped object, "" when unknown */
	char file[1024];    /* source file (absolute when DWARF says so) */
	int line, column;   /* column 0: unknown */
	bool has_function, has_line;
};

/* Describe an address. adjust=true for callers' frames (non-activations):
 * function and line are looked up at pc-1, so a call at the end of a
 * function or line does not resolve to the next one. Returns 0 when the
 * address is in a known module, -1 when it is in none (out is cleared). */
int sym_describe(struct fk_symbols *s, uint64_t pc, bool adjust, struct sym_info *out);

/* Addresses of every function called `name` (all modules; static functions
 * of the same name too), each after its prologue when line information
 * allows (the first line-table row after the function's opening line),
 * else the symbol value. Sorted; returns how many were stored (<= max),
 * 0 if unknown. */
int sym_lookup_function(struct fk_symbols *s, const char *name, uint64_t *addrs, int max);

/* Addresses for FILE:LINE. FILE matches a line table's file name exactly,
 * or as a suffix at a '/' boundary ("stacks.c", "fixtures/stacks.c").
 * *actual = the first line >= line that has code (an is_stmt row); the
 * addresses are the lowest such row per function (an inlined or duplicated
 * line gives one address per copy). Returns how many were stored (<= max);
 * 0 (and *actual = 0) when nothing matches or without libdw. */
int sym_lookup_line(struct fk_symbols *s, const char *file, int line, uint64_t *addrs, int max, int *actual);

/* ---- for step.c (source-line stepping) ---- */

/* One line-table row inside a function: it covers [addr, next row's addr).
 * file points into libdw's tables (valid while the module is); equal
 * files of one CU compare equal as pointers. line 0: compiler-made code
 * (or an end of sequence) that belongs to no line. */
struct sym_line_row {
	uint64_t addr;
	const char *file;
	int line;
	bool stmt; /* is_stmt: a place to stop at */
};

/* The rows of the function containing pc (by its symbol's [lo, hi)),
 * sorted by address; *rows is malloc'ed (free it). Returns the count, 0
 * when pc has no function symbol or no line table (no libdw, no DWARF). */
size_t sym_function_lines(struct fk_symbols *s, uint64_t pc, uint64_t *lo, uint64_t *hi, struct sym_line_row **rows);

#endif
