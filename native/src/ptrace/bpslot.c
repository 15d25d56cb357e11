/* bpslot.c — see bpslot.h. */
#include "ptrace/bpslot.h"

#include "arch/arch.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/procfs.h"
#include "ptrace/rsys.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#define PR_SET_VMA_K 0x53564d41
#define PR_SET_VMA_ANON_NAME_K 0

#define SLOT_NAME "forkall-slots"
#define SLOT_NAME_AT (SLOT_PAGE - 32u) /* the page's name (prctl PR_SET_VMA), after the slots */
#define GAP_MARGIN (1ull << 20)	       /* left free next to the mappings around a gap (a heap's growth) */
#define REACH ((1ull << 31) - (16ull << 20))
#define INJECT_TIMEOUT_MS 5000

/* A new program: the old slots went with the old memory. */
static void sync_execs(struct proc *p)
{
	if (p->slot_execs == p->execs)
		return;
	p->nslots = 0;
	p->nslot_pages = 0;
	p->slot_nomap = false;
	p->slot_execs = p->execs;
}

struct bp_slot *bpslot_find(struct proc *p, uint64_t addr)
{
	sync_execs(p);
	for (size_t i = 0; i < p->nslots; i++)
		if (p->slots[i].addr == addr && p->slots[i].live)
			return &p->slots[i];
	return NULL;
}

void bpslot_forget(struct proc *p, uint64_t addr)
{
	sync_execs(p);
	for (size_t i = 0; i < p->nslots; i++)
		if (p->slots[i].addr == addr)
			p->slots[i].live = false;
}

int64_t bpslot_passes(struct proc *p, uint64_t addr)
{
	const struct bp_slot *s = bpslot_find(p, addr);
	return s ? s->passes : 0;
}

static uint64_t dist(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

/* Where a new page near addr can go: a gap of the process's mappings,
 * GAP_MARGIN away from its neighbours, never just below a stack (it grows
 * down into the gap) nor just above a heap (it grows up). 0: none. */
static uint64_t pick_gap(const struct vma_list *maps, uint64_t addr)
{
	uint64_t best = 0, floor = 1ull << 20;
	for (size_t i = 0; i < maps->n; i++) {
		const struct vma *up = &maps->v[i], *down = i ? &maps->v[i - 1] : NULL;
		uint64_t gs = down ? down->end : floor, ge = up->start;
		if (gs < floor)
			gs = floor;
		if (ge <= gs || ge - gs < 2 * GAP_MARGIN + SLOT_PAGE)
			continue;
		uint64_t c[2] = { 0, 0 };
		if (strcmp(up->path, "[stack]") != 0)
			c[0] = ge - GAP_MARGIN - SLOT_PAGE;
		if (!down || strcmp(down->path, "[heap]") != 0)
			c[1] = gs + GAP_MARGIN;
		for (int k = 0; k < 2; k++)
			if (c[k] && dist(c[k], addr) < REACH && (!best || dist(c[k], addr) < dist(best, addr)))
				best = c[k];
	}
	return best;
}

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 8;
	void *nv = realloc(*v, nc * size);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = nc;
	return 0;
}

/* Map a page within reach of addr with a system call injected in tid. */
static int map_page(struct fk_tracer *tr, struct proc *p, pid_t tid, uint64_t addr, uint64_t *base)
{
	pid_t pid = p->pid;
	struct vma_list maps = { 0 };
	int rc = proc_maps_read(pid, &maps);
	if (rc < 0) {
		fk_warn("process %d: reading /proc/%d/maps for a slot page: %s", (int)pid, (int)pid, strerror(-rc));
		return rc;
	}
	uint64_t want = pick_gap(&maps, addr), insn = 0;
	struct fk_err err;
	fk_err_clear(&err);
	if (!want) {
		proc_maps_free(&maps);
		fk_debug("process %d: no gap for a slot page within 2 GiB of 0x%llx", (int)pid,
			 (unsigned long long)addr);
		return -ENOSPC;
	}
	rc = rsys_find_insn(pid, &maps, &insn, &err);
	proc_maps_free(&maps);
	if (rc < 0) {
		fk_warn("process %d: a slot page: %s", (int)pid, err.msg);
		return -ENOENT;
	}
	fk_gregs saved;
	if ((rc = arch_get_gregs(tid, &saved)) < 0) {
		fk_warn("thread %d of %d: PTRACE_GETREGS before mapping a slot page: %s", (int)tid, (int)pid,
			strerror(-rc));
		return rc;
	}
	long got = 0, ret = 0;
	uint64_t a[6] = {
		want,	      SLOT_PAGE, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
		(uint64_t)-1, 0
	};
	rc = rsys_one(tr, p, insn, tid, SYS_mmap, a, &got, NULL, &err);
	if (tr_find_proc(tr, pid) != p)
		return -ESRCH;
	if (rc < 0) {
		fk_warn("thread %d of %d: mmap of a slot page at 0x%llx: %s", (int)tid, (int)pid,
			(unsigned long long)want, err.msg);
		rc = -EIO;
	} else if (got < 0 && got > -4096) {
		fk_warn("thread %d of %d: mmap of a slot page at 0x%llx: %s", (int)tid, (int)pid,
			(unsigned long long)want, strerror((int)-got));
		rc = (int)got;
	} else if ((uint64_t)got != want) {
		/* a kernel without MAP_FIXED_NOREPLACE took it as a hint */
		fk_warn("thread %d of %d: mmap of a slot page at 0x%llx gave 0x%llx: unmapped", (int)tid, (int)pid,
			(unsigned long long)want, (unsigned long long)got);
		uint64_t m[6] = { (uint64_t)got, SLOT_PAGE, 0, 0, 0, 0 };
		if (rsys_one(tr, p, insn, tid, SYS_munmap, m, &ret, NULL, &err) < 0 || ret < 0)
			fk_warn("thread %d of %d: munmap of 0x%llx: %s", (int)tid, (int)pid, (unsigned long long)got,
				ret < 0 ? strerror((int)-ret) : err.msg);
		rc = -EADDRINUSE;
	} else {
		/* its name in /proc/PID/maps where the kernel has them (5.17+) */
		if (mem_write_exact(pid, want + SLOT_NAME_AT, SLOT_NAME, sizeof SLOT_NAME) == 0) {
			uint64_t n[6] = {
				PR_SET_VMA_K, PR_SET_VMA_ANON_NAME_K, want, SLOT_PAGE, want + SLOT_NAME_AT, 0
			};
			rsys_one(tr, p, insn, tid, SYS_prctl, n, &ret, NULL, &err);
		}
		*base = want;
		rc = 0;
	}
	if (tr_find_proc(tr, pid) != p)
		return -ESRCH;
	int wr = arch_set_gregs(tid, &saved);
	if (wr < 0) {
		fk_warn("thread %d of %d: putting its registers back after mapping a slot page: %s", (int)tid, (int)pid,
			strerror(-wr));
		return wr;
	}
	struct lwp *l = proc_lwp(p, tid);
	if (l)
		l->regs_valid = false;
	return rc;
}

static struct bp_slot *record(struct proc *p, uint64_t addr, uint64_t at, unsigned len)
{
	if (grow((void **)&p->slots, &p->capslots, p->nslots, sizeof *p->slots) < 0)
		return NULL;
	struct bp_slot *s = &p->slots[p->nslots++];
	*s = (struct bp_slot){ .addr = addr, .at = at, .len = len, .live = true };
	return s;
}

int bpslot_make(struct fk_tracer *tr, struct proc *p, pid_t tid, uint64_t addr, const uint8_t *orig,
		struct bp_slot **out, bool *mapped)
{
	*mapped = false;
	sync_execs(p);
	pid_t pid = p->pid;
	uint8_t code[16];
	ssize_t n = mem_read(pid, addr, code, sizeof code);
	if (n < (ssize_t)arch_bp_len)
		return n < 0 ? (int)n : -EFAULT;
	memcpy(code, orig, arch_bp_len);
	struct arch_insn in;
	if (arch_insn_decode(code, (size_t)n, &in) < 0 || in.flow) {
		*out = record(p, addr, 0, 0);
		return *out ? 0 : -ENOMEM;
	}
	uint8_t slot[ARCH_SLOT_MAX];
	struct slot_page *pg = NULL;
	for (size_t i = 0; i < p->nslot_pages && !pg; i++) {
		struct slot_page *c = &p->slot_pages[i];
		if (c->used + ARCH_SLOT_MAX <= SLOT_NAME_AT &&
		    arch_insn_relocate(code, &in, addr, c->base + c->used, slot))
			pg = c;
	}
	if (!pg && !p->slot_nomap) {
		size_t cap = p->nslot_pages; /* slot_pages grows one at a time */
		if (grow((void **)&p->slot_pages, &cap, p->nslot_pages, sizeof *p->slot_pages) < 0)
			return -ENOMEM;
		uint64_t base = 0;
		int rc = map_page(tr, p, tid, addr, &base);
		if (rc == -ESRCH || tr_find_proc(tr, pid) != p)
			return -ESRCH;
		if (rc < 0) {
			p->slot_nomap = true; /* not again in this program: a hit each time would pay for it */
		} else {
			*mapped = true;
			pg = &p->slot_pages[p->nslot_pages++];
			*pg = (struct slot_page){ .base = base, .used = 0 };
			fk_debug("process %d: slot page at 0x%llx (for 0x%llx)", (int)pid, (unsigned long long)base,
				 (unsigned long long)addr);
			if (!arch_insn_relocate(code, &in, addr, base, slot))
				pg = NULL;
		}
	}
	if (!pg) {
		*out = record(p, addr, 0, 0);
		return *out ? 0 : -ENOMEM;
	}
	uint64_t at = pg->base + pg->used;
	size_t jl = arch_jump_abs(slot + in.len, sizeof slot - in.len, addr + in.len);
	if (!jl)
		return -EINVAL;
	int rc = mem_write_exact(pid, at, slot, in.len + jl);
	if (rc < 0) {
		fk_warn("process %d: writing a slot at 0x%llx: %s", (int)pid, (unsigned long long)at, strerror(-rc));
		return rc;
	}
	pg->used += ARCH_SLOT_MAX; /* written: never reused, even if recording fails */
	*out = record(p, addr, at, in.len);
	return *out ? 0 : -ENOMEM;
}

int bpslot_enter(struct proc *p, pid_t tid, struct bp_slot *s)
{
	fk_gregs r;
	int rc = arch_get_gregs(tid, &r);
	if (rc < 0)
		return rc;
	if (arch_pc(&r) != s->addr || !s->at)
		return -EINVAL;
	arch_set_pc(&r, s->at);
	if ((rc = arch_set_gregs(tid, &r)) < 0)
		return rc;
	struct lwp *l = proc_lwp(p, tid);
	if (l)
		l->regs_valid = false;
	s->passes++;
	return 0;
}

void bpslot_map_back(struct proc *p, struct lwp *l)
{
	if (!p->nslot_pages)
		return;
	sync_execs(p);
	if (!p->nslot_pages)
		return;
	if (l->stop == STOP_SIGNAL && (l->bp_hit || l->bp_late))
		return; /* an int3 of the program's code: pc is known (bp_check_hit) */
	fk_gregs r;
	if (arch_get_gregs(l->tid, &r) < 0)
		return; /* gone, or not in a stop that has registers */
	uint64_t pc = arch_pc(&r), to = 0;
	bool ours = false, unrun = false;
	for (size_t i = 0; i < p->nslot_pages && !ours; i++)
		ours = pc >= p->slot_pages[i].base && pc < p->slot_pages[i].base + SLOT_PAGE;
	if (!ours)
		return;
	for (size_t i = 0; i < p->nslots && !to; i++) {
		const struct bp_slot *s = &p->slots[i];
		if (!s->at)
			continue;
		if (pc == s->at) {
			to = s->addr; /* not executed yet */
			unrun = true;
		} else if (pc == s->at + s->len) {
			to = s->addr + s->len; /* executed: at the jump back */
		}
	}
	if (!to) {
		fk_warn("thread %d of %d stopped at 0x%llx, inside a slot page but at no slot's boundary", (int)l->tid,
			(int)p->pid, (unsigned long long)pc);
		return;
	}
	arch_set_pc(&r, to);
	int rc = arch_set_gregs(l->tid, &r);
	/* on the breakpoint again, its hit decided already (false): no new hit
	 * (attach_hit_imminent), it is stepped over it */
	l->slot_unrun = rc == 0 && unrun;
	if (rc < 0 && rc != -ESRCH)
		fk_warn("thread %d of %d: moving its pc out of a slot (0x%llx -> 0x%llx): %s", (int)l->tid, (int)p->pid,
			(unsigned long long)pc, (unsigned long long)to, strerror(-rc));
	l->regs_valid = false;
	fk_debug("thread %d of %d: pc 0x%llx in a slot -> 0x%llx", (int)l->tid, (int)p->pid, (unsigned long long)pc,
		 (unsigned long long)to);
}
