/* checkpoint.c — save, restore, delete (see checkpoint.h).
 *
 *   save     the engine's parent half on the stopped session process
 *            (capture of every thread, the injected fork, the parent put
 *            back exactly): its child is the checkpoint. MADV_DONTFORK
 *            regions are copied and stay copyable in it; its breakpoint
 *            bytes are removed and the scratch bytes put back; it is kept
 *            frozen (traced, stopped, never resumed) with the capture
 *   restore  the same injected fork, now in the checkpoint's one thread
 *            (its registers put back after): the new process gets every
 *            thread rebuilt by the engine's builder, DONTFORK marked again,
 *            owner fields of robust and DWARF-visible locks moved to the
 *            new tids; it is handed over stopped, as a session process
 */
#include "engine/checkpoint.h"

#include "arch/arch.h"
#include "base/log.h"
#include "base/mem.h"
#include "ptrace/breakpoints.h"
#include "ptrace/rsys.h"
#include "engine/forkall_int.h"
#include "engine/ownerfix.h"
#include "engine/sigstate.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>

/* What a checkpoint keeps besides its memory. */
struct ckpt {
	struct tstate *ts; /* every thread at the save; xstates owned */
	size_t nts, forker;
	long tid_off;
	uint64_t insn;
	bool zombie_leader;
	struct vmflag_range *vmf; /* DONTFORK/WIPEONFORK regions at the save */
	size_t nvmf;
	int64_t created_ms; /* CLOCK_REALTIME */
	uint64_t save_us;
	struct sigstate *sig; /* pending signals and timers at the save */
};

static void ckpt_free(void *p)
{
	struct ckpt *k = p;
	for (size_t i = 0; i < k->nts; i++)
		if (k->ts[i].xstate_owned)
			free(k->ts[i].xstate);
	free(k->ts);
	free(k->vmf);
	sigstate_free(k->sig);
	free(k);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Unmap the temporary page the fork's wave left in the child. */
static int drop_child_page(struct forkall *fa)
{
	if (!fa->child_page)
		return 0;
	uint64_t m[6] = { fa->child_page, 4096, 0, 0, 0, 0 };
	long ret = 0;
	if (rsys_one(fa->tr, fa->cproc, fa->insn, fa->child, SYS_munmap, m, &ret, NULL, fa->err) < 0)
		return -1;
	if (ret < 0)
		return fk_fail(fa->err, (int)-ret, FK_KIND_FAILED, "checkpoint",
			       "unmapping the temporary page in checkpoint %d", (int)fa->child);
	fa->child_page = 0;
	return 0;
}

/* The capture moves into the record (xstates out of the shared pool). */
static struct ckpt *take_capture(struct forkall *fa, pid_t of)
{
	struct ckpt *k = calloc(1, sizeof *k);
	if (!k)
		return NULL;
	for (size_t i = 0; i < fa->nts; i++) {
		struct tstate *t = &fa->ts[i];
		if (t->xstate && !t->xstate_owned) {
			uint8_t *x = malloc(t->xlen ? t->xlen : 1);
			if (!x) {
				free(k);
				return NULL;
			}
			memcpy(x, t->xstate, t->xlen);
			t->xstate = x;
			t->xstate_owned = true;
		}
	}
	k->ts = fa->ts;
	k->nts = fa->nts;
	k->forker = fa->forker;
	k->tid_off = fa->tid_off;
	k->insn = fa->insn;
	k->zombie_leader = fa->zombie_leader;
	k->vmf = fa->vmf;
	k->nvmf = fa->nvmf;
	k->created_ms = now_ms();
	fa->ts = NULL;
	fa->nts = 0;
	fa->vmf = NULL;
	fa->nvmf = 0;
	(void)of;
	return k;
}

/* ---- a checkpoint kept in its own memory (the command line's) ----
 *
 * The record goes into an anonymous mapping of the checkpoint itself, named
 * "[anon:forkall-checkpoint]" where the kernel allows it: header, every
 * thread's state, their xstates, the DONTFORK regions, the signal state.
 * Then the checkpoint is left group-stopped and untraced; a later restore
 * (another process) seizes it and reads the record back. Same build only. */

#define BLOB_MAGIC "FKCKPT\0\1"
#define PR_SET_VMA_K 0x53564d41
#define PR_SET_VMA_ANON_NAME_K 0

struct blob_hdr {
	char magic[8];
	uint32_t tstate_size, vmf_size;
	uint64_t total;
	uint64_t nts, forker, nvmf;
	int64_t tid_off;
	uint64_t insn;
	uint32_t zombie_leader, of;
	int64_t created_ms;
	uint64_t sig_len;
	char name[32];
};

static size_t blob_size(const struct ckpt *k)
{
	size_t n = sizeof(struct blob_hdr) + k->nts * sizeof *k->ts + k->nvmf * sizeof *k->vmf +
		   sigstate_blob_size(k->sig);
	for (size_t i = 0; i < k->nts; i++)
		n += k->ts[i].xlen;
	return n;
}

static int persist(struct fk_tracer *tr, struct proc *cp, const struct ckpt *k, struct fk_err *err)
{
	size_t len = blob_size(k);
	size_t map = (len + 4095) & ~(size_t)4095;
	uint8_t *b = calloc(1, map);
	if (!b)
		return fk_fail(err, ENOMEM, FK_KIND_FAILED, "checkpoint", "out of memory");
	struct blob_hdr h;
	memset(&h, 0, sizeof h);
	memcpy(h.magic, BLOB_MAGIC, 8);
	h.tstate_size = sizeof *k->ts;
	h.vmf_size = sizeof *k->vmf;
	h.total = len;
	h.nts = k->nts;
	h.forker = k->forker;
	h.nvmf = k->nvmf;
	h.tid_off = k->tid_off;
	h.insn = k->insn;
	h.zombie_leader = k->zombie_leader;
	h.of = (uint32_t)cp->ckpt_of;
	h.created_ms = k->created_ms;
	h.sig_len = sigstate_blob_size(k->sig);
	snprintf(h.name, sizeof h.name, "forkall-checkpoint");
	uint8_t *o = b;
	memcpy(o, &h, sizeof h);
	o += sizeof h;
	memcpy(o, k->ts, k->nts * sizeof *k->ts);
	o += k->nts * sizeof *k->ts;
	for (size_t i = 0; i < k->nts; i++) {
		if (k->ts[i].xlen)
			memcpy(o, k->ts[i].xstate, k->ts[i].xlen);
		o += k->ts[i].xlen;
	}
	if (k->nvmf)
		memcpy(o, k->vmf, k->nvmf * sizeof *k->vmf);
	o += k->nvmf * sizeof *k->vmf;
	sigstate_blob_write(k->sig, o);

	pid_t c = cp->pid;
	fk_gregs saved;
	int e = arch_get_gregs(c, &saved);
	if (e < 0) {
		free(b);
		return fk_fail(err, -e, FK_KIND_FAILED, "checkpoint", "PTRACE_GETREGS of checkpoint %d", (int)c);
	}
	long page = 0, ret = 0;
	uint64_t a[6] = { 0, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0 };
	int rc = rsys_one(tr, cp, k->insn, c, SYS_mmap, a, &page, NULL, err);
	if (rc == 0 && page < 0 && page > -4096)
		rc = fk_fail(err, (int)-page, FK_KIND_FAILED, "checkpoint",
			     "mmap of the record's page in checkpoint %d", (int)c);
	if (rc == 0 && mem_write_exact(c, (uint64_t)page, b, len) < 0)
		rc = fk_fail(err, EFAULT, FK_KIND_FAILED, "checkpoint", "writing the record into checkpoint %d",
			     (int)c);
	if (rc == 0) {
		/* a name in /proc/PID/maps, where the kernel has it (5.17+) */
		uint64_t n[6] = { PR_SET_VMA_K,
				  PR_SET_VMA_ANON_NAME_K,
				  (uint64_t)page,
				  map,
				  (uint64_t)page + offsetof(struct blob_hdr, name),
				  0 };
		rsys_one(tr, cp, k->insn, c, SYS_prctl, n, &ret, NULL, err);
	}
	arch_set_gregs(c, &saved);
	free(b);
	return rc;
}

/* Does the mapping at addr hold a record? */
static bool blob_at(pid_t pid, uint64_t addr, struct blob_hdr *h)
{
	return mem_read_exact(pid, addr, h, sizeof *h) == 0 && memcmp(h->magic, BLOB_MAGIC, 8) == 0 &&
	       h->tstate_size == sizeof(struct tstate) && h->vmf_size == sizeof(struct vmflag_range);
}

/* The record of a kept checkpoint, read back from its memory. */
static struct ckpt *adopt_record(pid_t pid, pid_t *of, struct fk_err *err)
{
	struct vma_list maps = { 0 };
	int rc = proc_maps_read(pid, &maps);
	if (rc < 0) {
		fk_fail(err, -rc, rc == -ENOENT || rc == -ESRCH ? FK_KIND_NOPROC : FK_KIND_FAILED, "restore",
			"reading /proc/%d/maps", (int)pid);
		return NULL;
	}
	struct blob_hdr h;
	uint64_t at = 0;
	for (size_t i = 0; i < maps.n && !at; i++) /* the named one, else any anonymous rw mapping */
		if (strstr(maps.v[i].path, "forkall-checkpoint") && blob_at(pid, maps.v[i].start, &h))
			at = maps.v[i].start;
	for (size_t i = 0; i < maps.n && !at; i++)
		if (!maps.v[i].path[0] && maps.v[i].perms[0] == 'r' && maps.v[i].perms[1] == 'w' &&
		    blob_at(pid, maps.v[i].start, &h))
			at = maps.v[i].start;
	proc_maps_free(&maps);
	if (!at) {
		fk_fail(err, ENOENT, FK_KIND_BADREQ, "restore",
			"process %d is not a checkpoint (no forkall-checkpoint record in its memory, from this build)",
			(int)pid);
		return NULL;
	}
	uint8_t *b = malloc(h.total);
	struct ckpt *k = calloc(1, sizeof *k);
	if (!b || !k || mem_read_exact(pid, at, b, h.total) < 0) {
		free(b), free(k);
		fk_fail(err, EFAULT, FK_KIND_FAILED, "restore", "reading the record of checkpoint %d", (int)pid);
		return NULL;
	}
	const uint8_t *in = b + sizeof h;
	k->nts = h.nts;
	k->forker = h.forker;
	k->tid_off = h.tid_off;
	k->insn = h.insn;
	k->zombie_leader = h.zombie_leader != 0;
	k->created_ms = h.created_ms;
	k->nvmf = h.nvmf;
	k->ts = calloc(k->nts ? k->nts : 1, sizeof *k->ts);
	k->vmf = k->nvmf ? calloc(k->nvmf, sizeof *k->vmf) : NULL;
	bool ok = k->ts && (!k->nvmf || k->vmf) && k->forker < k->nts;
	if (ok) {
		memcpy(k->ts, in, k->nts * sizeof *k->ts);
		in += k->nts * sizeof *k->ts;
		for (size_t i = 0; ok && i < k->nts; i++) {
			struct tstate *t = &k->ts[i];
			t->xstate = malloc(t->xlen ? t->xlen : 1);
			t->xstate_owned = t->xstate != NULL;
			ok = t->xstate != NULL;
			if (ok && t->xlen)
				memcpy(t->xstate, in, t->xlen);
			in += t->xlen;
		}
	}
	if (ok && k->nvmf) {
		memcpy(k->vmf, in, k->nvmf * sizeof *k->vmf);
		for (size_t i = 0; i < k->nvmf; i++)
			k->vmf[i].path[0] = '\0'; /* not needed for madvise */
	}
	in += k->nvmf * sizeof *k->vmf;
	if (ok && !(k->sig = sigstate_blob_read(in, h.sig_len)))
		ok = false;
	free(b);
	if (!ok) {
		ckpt_free(k);
		fk_fail(err, EINVAL, FK_KIND_FAILED, "restore", "the record of checkpoint %d is damaged", (int)pid);
		return NULL;
	}
	*of = (pid_t)h.of;
	return k;
}

/* A checkpoint another forkall left: seized, its record read back. */
static struct proc *adopt(struct fk_tracer *tr, pid_t cpid, struct fk_err *err)
{
	pid_t of = 0;
	struct ckpt *k = adopt_record(cpid, &of, err);
	if (!k)
		return NULL;
	struct proc *cp = tr_add_proc(tr, cpid);
	if (!cp) {
		ckpt_free(k);
		fk_fail(err, ENOMEM, FK_KIND_FAILED, "restore", "out of memory");
		return NULL;
	}
	cp->frozen = true;
	cp->own_fork = true;
	cp->ckpt_of = of;
	cp->ckpt = k;
	cp->ckpt_free = ckpt_free;
	if (attach_seize_all(tr, cp, false, NULL, 0, err) < 0 || attach_stop_all(tr, cp, STOP_TIMEOUT_MS, err) < 0) {
		cp = tr_find_proc(tr, cpid);
		if (cp)
			attach_release(tr, cp);
		return NULL;
	}
	cp = tr_find_proc(tr, cpid);
	if (cp && cp->n != 1) {
		fk_fail(err, EINVAL, FK_KIND_BADREQ, "restore", "process %d has %zu threads: a checkpoint has one",
			(int)cpid, cp->n);
		attach_release(tr, cp);
		return NULL;
	}
	return cp;
}

/* Leave a kept checkpoint as it was: group-stopped, untraced. */
static void park(struct fk_tracer *tr, struct proc *cp)
{
	kill(cp->pid, SIGSTOP);
	attach_release(tr, cp);
}

int checkpoint_save(struct fk_tracer *tr, pid_t pid, bool keep, struct jw *body, struct fk_err *err)
{
	struct proc *p = tr_find_proc(tr, pid);
	if ((!p || !p->session) && !keep)
		return fk_fail(err, ESRCH, FK_KIND_BADREQ, "checkpoint", "process %d is not attached", (int)pid);
	if (p && !p->session)
		return fk_fail(err, EBUSY, FK_KIND_BADREQ, "checkpoint", "process %d is being worked on", (int)pid);
	if (p && proc_count_running(p) > 0)
		return fk_fail(err, EBUSY, FK_KIND_BADREQ, "checkpoint", "process %d is running: pause it first",
			       (int)pid);
	if (p && p->vfork_parent)
		return fk_fail(err, EINVAL, FK_KIND_BADREQ, "checkpoint",
			       "process %d shares the memory of process %d (vfork) until it calls exec", (int)pid,
			       (int)p->vfork_parent);
	uint64_t t0 = tr_now_us();
	struct forkall fa;
	fa_init(&fa, tr, pid, FK_FORK_KEEP_TRACED | FK_FORK_COPY_DONTFORK, err);
	fa.hold_parent = true; /* stopped until its signals and timers are read */
	int rc = fa_parent_half(&fa);
	if (rc == 0)
		rc = drop_child_page(&fa);
	if (rc == 0) {
		/* DONTFORK regions were copied and marked again: in a checkpoint
		 * they must stay copyable, for every restore */
		if (fa_want_dontfork_copy(&fa))
			rc = fa_madvise_dontfork(&fa, fa.cproc, fa.child, MADV_DOFORK, "checkpoint");
	}
	if (rc == 0) {
		struct proc *par = tr_find_proc(tr, pid);
		if (par && par->nbps)
			bp_scrub_copy(par, fa.child); /* the session's int3s: not the checkpoint's */
		fa_restore_scratch(&fa, fa.child, false);
		rc = fa_fault_at(&fa, "checkpoint");
	}
	struct ckpt *k = NULL;
	if (rc == 0 && (k = take_capture(&fa, pid)) == NULL)
		rc = fk_fail(err, ENOMEM, FK_KIND_FAILED, "checkpoint", "out of memory");
	/* what the fork did not copy: pending signals, timers (the process
	 * is still stopped) */
	struct proc *par = rc == 0 ? tr_find_proc(tr, pid) : NULL;
	if (rc == 0 && !par)
		rc = fk_fail(err, ESRCH, FK_KIND_EXITED, "checkpoint", "process %d exited during the checkpoint",
			     (int)pid);
	if (rc == 0)
		rc = sigstate_capture(tr, par, k->insn, k->ts[k->forker].tid, k->ts, k->nts, &k->sig, &fa.warnings,
				      err);
	if (rc < 0) {
		if (k)
			ckpt_free(k);
		fa_rollback(&fa);
		fa_free(&fa);
		return -1;
	}
	struct proc *c = fa.cproc;
	c->frozen = true;
	c->session = false;
	c->want_running = false;
	c->own_fork = true; /* its clones (the restores) are ours */
	c->ckpt_of = pid;
	c->ckpt = k;
	c->ckpt_free = ckpt_free;
	fa.cproc = NULL;
	k->save_us = tr_now_us() - t0;
	fk_debug("checkpoint of %d: prepare %llu us; stop %llu, capture %llu, altstack %llu, fork %llu, restore %llu, "
		 "release %llu; child attach %llu; total %llu",
		 (int)pid, (unsigned long long)(fa.t_stop - fa.t_start), (unsigned long long)fa.phases[0],
		 (unsigned long long)fa.phases[1], (unsigned long long)fa.phases[2], (unsigned long long)fa.phases[3],
		 (unsigned long long)fa.phases[4], (unsigned long long)fa.phases[5],
		 (unsigned long long)(tr_now_us() - fa.t_child0), (unsigned long long)k->save_us);
	fk_info("checkpoint of %d: process %d, %zu threads, in %llu us", (int)pid, (int)fa.child, k->nts,
		(unsigned long long)k->save_us);
	jw_kint(body, "pid", pid);
	jw_kint(body, "checkpoint", fa.child);
	jw_kint(body, "threads", (int64_t)k->nts);
	jw_kint(body, "pauseUs", (int64_t)(fa.t_release - fa.t_stop));
	jw_kint(body, "us", (int64_t)k->save_us);
	jw_kint(body, "created", k->created_ms);
	sigstate_json(k->sig, body);
	jw_kbool(body, "kept", keep);
	fa_warnings_json(&fa, body);
	fa_free(&fa);
	if (keep) {
		/* the record moves into the checkpoint's memory; it is left
		 * group-stopped and untraced, for `forkall restore` */
		if (persist(tr, c, k, err) < 0) {
			kill(c->pid, SIGKILL);
			attach_reap(tr, c, 2000);
			return -1;
		}
		park(tr, c); /* frees k with the proc */
	}
	return 0;
}

static struct proc *find_ckpt(struct fk_tracer *tr, pid_t cpid, const char *op, struct fk_err *err)
{
	struct proc *cp = tr_find_proc(tr, cpid);
	if (!cp || !cp->frozen || !cp->ckpt) {
		fk_fail(err, ENOENT, FK_KIND_BADREQ, op, "there is no checkpoint with pid %d", (int)cpid);
		return NULL;
	}
	struct lwp *l = proc_lwp(cp, cpid);
	if (!l || l->state != LWP_STOPPED || l->exiting) {
		fk_fail(err, ESRCH, FK_KIND_EXITED, op, "checkpoint %d is gone (its process was killed)", (int)cpid);
		return NULL;
	}
	return cp;
}

/* The injected fork in the checkpoint's thread; its registers put back. */
/* Same tids: the checkpoint's thread makes a PID namespace's init, which
 * clones the new process with the saved pid (forkall_samepid.c); the new
 * process is attached then. */
static int fork_checkpoint_same_tids(struct forkall *fa, struct proc *cp)
{
	fk_gregs saved;
	int e = arch_get_gregs(cp->pid, &saved);
	if (e < 0)
		return fk_fail(fa->err, -e, FK_KIND_FAILED, "restore", "PTRACE_GETREGS of checkpoint %d", (int)cp->pid);
	fa->sp_from = cp;
	fa->sp_tid = cp->pid;
	fa->sp_want = cp->ckpt_of;
	int rc = samepid_fork(fa);
	if (tr_find_proc(fa->tr, cp->pid) == cp) {
		arch_set_gregs(cp->pid, &saved);
		struct lwp *l = proc_lwp(cp, cp->pid);
		if (l)
			l->regs_valid = false;
	}
	return rc;
}

static int fork_checkpoint(struct forkall *fa, struct proc *cp, const struct ckpt *k)
{
	struct fk_err *err = fa->err;
	pid_t cpid = cp->pid;
	if (fa->flags & FK_FORK_SAME_TIDS)
		return fork_checkpoint_same_tids(fa, cp);
	fk_gregs saved;
	int e = arch_get_gregs(cpid, &saved);
	if (e < 0)
		return fk_fail(err, -e, FK_KIND_FAILED, "restore", "PTRACE_GETREGS of checkpoint %d", (int)cpid);
	const struct tstate *f = &k->ts[k->forker];
	uint64_t flags = SIGCHLD | CLONE_PARENT, ctid = 0;
	if (f->glibc && !k->zombie_leader) {
		flags |= CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID;
		ctid = arch_tp(&f->regs) + (uint64_t)k->tid_off;
	}
	uint64_t a[6];
	arch_clone_args(a, flags, 0, 0, ctid, 0);
	struct rsys_call c;
	long ret = 0;
	int rc = rsys_one(fa->tr, cp, k->insn, cpid, SYS_clone, a, &ret, &c, err);
	if (rc == 0 && ret == -EINVAL) {
		a[0] &= ~(uint64_t)CLONE_PARENT; /* an init: no siblings */
		rc = rsys_one(fa->tr, cp, k->insn, cpid, SYS_clone, a, &ret, &c, err);
	}
	if (tr_find_proc(fa->tr, cpid) == cp) {
		arch_set_gregs(cpid, &saved);
		struct lwp *l = proc_lwp(cp, cpid);
		if (l)
			l->regs_valid = false;
	}
	if (rc < 0)
		return -1;
	if (c.event == PTRACE_EVENT_FORK && c.event_msg)
		fa->child = (pid_t)c.event_msg;
	if (ret < 0 || !fa->child)
		return fk_fail(err, ret < 0 ? (int)-ret : EPROTO, FK_KIND_FAILED, "restore",
			       "the fork of checkpoint %d failed%s", (int)cpid,
			       ret == -EAGAIN ? " (RLIMIT_NPROC or the pid limit reached?)" : "");
	return 0;
}

int checkpoint_restore(struct fk_tracer *tr, pid_t cpid, bool run, bool same_tids, struct jw *body, struct fk_err *err)
{
	bool adopted = false;
	struct proc *cp = tr_find_proc(tr, cpid);
	if (!cp && proc_life(cpid) != PROC_GONE) {
		cp = adopt(tr, cpid, err); /* a checkpoint kept by the command line */
		if (!cp)
			return -1;
		adopted = true;
	}
	cp = find_ckpt(tr, cpid, "restore", err);
	if (!cp)
		return -1;
	struct ckpt *k = cp->ckpt;
	uint64_t t0 = tr_now_us();
	struct forkall fa;
	fa_init(&fa, tr, cpid, FK_FORK_KEEP_TRACED | (same_tids ? FK_FORK_SAME_TIDS : 0), err);
	fa.parent_released = true; /* a rollback leaves the checkpoint alone */
	fa.ts = k->ts;		   /* borrowed */
	fa.nts = k->nts;
	fa.forker = k->forker;
	fa.tid_off = k->tid_off;
	fa.insn = k->insn;
	fa.zombie_leader = k->zombie_leader;
	fa.vmf = k->vmf; /* borrowed */
	fa.nvmf = k->nvmf;
	for (size_t i = 0; i < fa.nts; i++) {
		fa.ts[i].child_tid = 0;
		fa.ts[i].injected = false;
	}
	struct undo u;
	undo_init(&u, 0);
	size_t locks_fixed = 0;
	int rc = fa_fault_at(&fa, "restore");
	if (rc == 0)
		rc = fork_checkpoint(&fa, cp, k);
	if (rc == 0 && !same_tids) /* same tids: attached by samepid_fork */
		rc = fa_attach_new(&fa, fa.child, &fa.cproc, "restore");
	if (rc == 0) {
		bool dontfork = false;
		for (size_t i = 0; i < fa.nvmf && !dontfork; i++)
			dontfork = (fa.vmf[i].flags & VMF_DONTFORK) != 0;
		if (dontfork)
			rc = fa_madvise_dontfork(&fa, fa.cproc, fa.child, MADV_DONTFORK, "dontfork");
	}
	uint64_t tb = tr_now_us();
	if (rc == 0)
		rc = fa_build_threads(tr, &fa);
	if (rc == 0 && !same_tids) { /* same tids: every owner field is right as it is */
		u.pid = fa.child;
		rc = ownerfix_locks(&fa, fa.cproc, cp, &u, &locks_fixed);
	}
	if (rc == 0)
		rc = sigstate_restore(tr, fa.cproc, fa.insn, k->sig, fa.ts, fa.nts, &fa.warnings, err);
	if (rc == 0)
		rc = fa_fault_at(&fa, "restore-release");
	if (rc == 0 && fa.init) {
		pid_t init = fa.init;
		rc = samepid_finish_init(&fa); /* the init reaps, then ends with the process */
		fa.init = rc == 0 ? 0 : fa.init;
		if (rc == 0)
			jw_kint(body, "namespaceInit", init);
	}
	if (rc < 0) {
		fa_rollback(&fa); /* kills the new process */
	} else {
		struct proc *c = fa.cproc;
		c->session = true;
		c->own_fork = false;
		c->want_running = false;
		fa.cproc = NULL;
		if (run)
			attach_release(tr, c); /* the command line's restore: it runs on, untraced */
		jw_kint(body, "pid", fa.child);
		jw_kint(body, "checkpoint", cpid);
		jw_key(body, "threads");
		jw_arr_begin(body);
		for (size_t i = 0; i < fa.nts; i++) {
			jw_obj_begin(body);
			jw_kint(body, "savedTid", fa.ts[i].tid);
			jw_kint(body, "tid", fa.ts[i].child_tid);
			jw_obj_end(body);
		}
		jw_arr_end(body);
		jw_kint(body, "locksFixed", (int64_t)locks_fixed);
		jw_kint(body, "robustOwnersFixed", (int64_t)fa.robust_fixed);
		jw_kint(body, "buildUs", (int64_t)(tr_now_us() - tb));
		jw_kint(body, "us", (int64_t)(tr_now_us() - t0));
		jw_kbool(body, "sameTids", same_tids);
		fa_warnings_json(&fa, body);
		fk_info("restore of checkpoint %d: process %d, %zu threads, in %llu us", (int)cpid, (int)fa.child,
			fa.nts, (unsigned long long)(tr_now_us() - t0));
	}
	undo_free(&u);
	if (adopted && (cp = tr_find_proc(tr, cpid)) != NULL)
		park(tr, cp); /* as it was: stopped, for the next restore */
	fa.ts = NULL;	      /* the checkpoint's */
	fa.nts = 0;
	fa.vmf = NULL;
	fa.nvmf = 0;
	fa_free(&fa);
	return rc;
}

int checkpoint_delete(struct fk_tracer *tr, pid_t cpid, struct fk_err *err)
{
	struct proc *cp = tr_find_proc(tr, cpid);
	if (!cp || !cp->frozen)
		return fk_fail(err, ENOENT, FK_KIND_BADREQ, "checkpointDelete", "there is no checkpoint with pid %d",
			       (int)cpid);
	if (kill(cpid, SIGKILL) < 0 && errno != ESRCH)
		return fk_fail(err, errno, FK_KIND_FAILED, "checkpointDelete", "SIGKILL to checkpoint %d", (int)cpid);
	attach_reap(tr, cp, 5000);
	return 0;
}

/* What the checkpoint costs: the pages only it maps (its copies of pages
 * the process wrote since), from /proc/PID/smaps_rollup. */
static int64_t private_bytes(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	int64_t kb = 0;
	while (fgets(line, sizeof line, f)) {
		long long v;
		if (sscanf(line, "Private_Dirty: %lld kB", &v) == 1 || sscanf(line, "Private_Clean: %lld kB", &v) == 1)
			kb += v;
	}
	fclose(f);
	return kb * 1024;
}

void checkpoint_list(struct fk_tracer *tr, pid_t of, struct jw *body)
{
	jw_arr_begin(body);
	for (struct proc *p = tr_first_proc(tr); p; p = p->next) {
		if (!p->frozen || !p->ckpt || p->exited || (of && p->ckpt_of != of))
			continue;
		const struct ckpt *k = p->ckpt;
		jw_obj_begin(body);
		jw_kint(body, "checkpoint", p->pid);
		jw_kint(body, "of", p->ckpt_of);
		jw_kint(body, "threads", (int64_t)k->nts);
		jw_kint(body, "created", k->created_ms);
		jw_kint(body, "memoryBytes", private_bytes(p->pid));
		jw_key(body, "tids");
		jw_arr_begin(body);
		for (size_t i = 0; i < k->nts; i++)
			jw_int(body, k->ts[i].tid);
		jw_arr_end(body);
		jw_khex(body, "pc", arch_pc(&k->ts[k->forker].regs));
		jw_obj_end(body);
	}
	jw_arr_end(body);
}
