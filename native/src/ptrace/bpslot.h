/* bpslot.h — out-of-line copies of breakpointed instructions that jump
 * back ("slots", gdb's fast-tracepoint jump pads in small), for passing a
 * breakpoint whose compiled condition is false with one stop per hit
 * (bpcondpass.c): the thread's pc goes to the slot and it is resumed; the
 * slot executes the original instruction (relocated: arch_insn_relocate)
 * and jumps back to the instruction after it. No step, no second stop,
 * nobody else stopped, the int3 stays in place.
 *
 * Slots live in pages of ours (SLOT_PAGE bytes, PROT_READ|PROT_EXEC, an
 * mmap injected in the stopped thread, rsys) within reach of the
 * breakpoint's pc-relative operands (±2 GiB), placed in a gap of
 * /proc/PID/maps below or above the breakpoint's mapping. A slot is never
 * reused while the process lives (a thread preempted inside an old one is
 * always safe); a breakpoint inserted again gets a new one. An exec drops
 * them all (p->execs). The pages stay mapped after detach, and a fork child
 * inherits them: harmless, nobody jumps there any more.
 *
 * A thread seen stopped with its pc inside a slot (a signal, an interrupt,
 * a fault of the copied instruction) has its pc moved back at that stop
 * (bpslot_map_back): the slot's first byte is the breakpoint's address
 * (the instruction has not run), the jump back is the next instruction's.
 * Nothing else ever sees a slot address. */
#ifndef FK_BPSLOT_H
#define FK_BPSLOT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/proc.h"
#include "core/tracer.h"

#define SLOT_PAGE 4096u

struct bp_slot {
	uint64_t addr;	/* the breakpoint */
	uint64_t at;	/* its copy; 0: the instruction cannot run out of line (refused) */
	unsigned len;	/* the instruction's length: the jump back is at at + len */
	bool live;	/* false: its breakpoint was removed or inserted again (only mapped back) */
	int64_t passes; /* threads sent through it */
};

struct slot_page {
	uint64_t base;
	unsigned used;
};

/* The live slot of the breakpoint at addr (possibly a refused one), or
 * NULL: not made yet. */
struct bp_slot *bpslot_find(struct proc *p, uint64_t addr);

/* Make the slot of the breakpoint at addr, whose first arch_bp_len
 * original bytes are orig; a new page is mapped if none in reach has room,
 * by a system call injected in tid (stopped; its registers are put back;
 * while it runs, the waits may take other threads' stops: *mapped says a
 * page was made). 0 and *out (at == 0: refused, never tried again for
 * this breakpoint), or -errno (nothing recorded). */
int bpslot_make(struct fk_tracer *tr, struct proc *p, pid_t tid, uint64_t addr, const uint8_t *orig,
		struct bp_slot **out, bool *mapped);

/* Send tid (stopped at s->addr) into the slot: pc = s->at, counted. The
 * caller resumes it. 0 or -errno (pc unchanged). */
int bpslot_enter(struct proc *p, pid_t tid, struct bp_slot *s);

/* l has just stopped: a pc inside a slot goes back to the program's
 * address (above). Nothing to do (no ptrace call) while p has no page. */
void bpslot_map_back(struct proc *p, struct lwp *l);

/* The breakpoint at addr was removed or is inserted again: its slot is
 * not used any more (the code there may be another's). */
void bpslot_forget(struct proc *p, uint64_t addr);

/* Threads sent through the live slot of addr. */
int64_t bpslot_passes(struct proc *p, uint64_t addr);

#endif
