/* proc.h — the tracer's model of one traced process: its LWP table.
 *
 * An LWP is keyed by tid. The table is a dense array (discovery order) plus
 * an open-addressing index, so the wait loop finds the LWP of a status in
 * O(1) even with thousands of threads. Only the tracer thread touches it. */
#ifndef FK_PROC_H
#define FK_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <sched.h>

#include "arch/arch.h"
#include "base/kabi.h"
#include "base/procfs.h"
#include "core/sigpolicy.h"

enum lwp_state {
	LWP_RUNNING, /* resumed (or seized and never stopped) */
	LWP_STOPPED, /* in a ptrace-stop we have seen */
};

enum lwp_stop {
	STOP_NONE,
	STOP_INTERRUPT, /* PTRACE_EVENT_STOP after PTRACE_INTERRUPT or at start */
	STOP_GROUP,	/* PTRACE_EVENT_STOP for a job-control stop */
	STOP_SIGNAL,	/* signal-delivery-stop; pending_sig is re-injected */
	STOP_EVENT,	/* PTRACE_EVENT_CLONE/FORK/EXEC/... */
	STOP_SYSCALL,	/* syscall-enter/exit-stop (PTRACE_SYSCALL) */
};

struct lwp {
	pid_t tid;
	enum lwp_state state;
	enum lwp_stop stop;
	int stop_sig;		/* WSTOPSIG of the stop */
	int event;		/* PTRACE_EVENT_* for STOP_EVENT */
	int pending_sig;	/* delivered when resumed or detached */
	bool interrupt_pending; /* PTRACE_INTERRUPT sent, its stop not seen */
	bool regs_valid;
	fk_gregs regs;
	bool exiting;  /* resumed from PTRACE_EVENT_EXIT: will not stop again */
	bool stepping; /* PTRACE_SINGLESTEP in flight */
	bool bp_hit;   /* the last stop was one of our breakpoints */
	bool bp_late;  /* ... one removed a moment ago: pc rewound, SIGTRAP dropped, not a stop */
	uint64_t bp_addr;
	pid_t vfork_child; /* held at its PTRACE_EVENT_VFORK stop until this child execs or exits */
	bool watch_stale;  /* its debug registers do not have the process's watchpoints yet */
	bool frozen; /* stays stopped when the others are resumed (freeze op); a resume of it alone still runs it */
	unsigned watch_hit; /* the last stop was watchpoint slot watch_hit - 1 (0: not one) */
	bool cond_false;    /* stopped at a breakpoint whose compiled condition is false: passes it (bp_cond_pass) */
	bool hit_reported;  /* this breakpoint stop needs no report: it went out as a stopped event, or its compiled
			     * condition was found false (passed at the next resume). Others hit meanwhile: not yet */
	bool slot_unrun;    /* this stop's pc was moved back from a slot's first byte (bpslot_map_back): a hit whose
			  * compiled condition was false, on its way past it, the instruction not run yet */
};

/* A hardware watchpoint of a process, in every LWP's debug registers. */
struct watch {
	uint64_t addr;
	unsigned len; /* 0: the slot is free */
	bool rw;      /* reads too, not only writes */
};

/* A thread a fork left behind: the parent's picture of it when the fork
 * was reported (what engine/recreate.c needs to bring it back). Its stack
 * and TLS are still in the child's memory. */
struct ghost {
	pid_t tid; /* in the parent */
	char name[16];
	fk_gregs regs;
	uint8_t *xstate; /* XSAVE image (malloc'd), xlen bytes; NULL: none */
	size_t xlen;
	uint64_t sigmask;
	bool have_mask;
	uint64_t robust_head; /* get_robust_list(); 0: none */
	size_t robust_len;
	struct ptrace_rseq_cfg rseq; /* rseq_abi_pointer 0: none */
	cpu_set_t affinity;
	bool affinity_ok;
	struct sched_attr_k sched;
	bool sched_ok;
	struct proc_creds creds;
	bool creds_ok;
	/* the bytes at its thread pointer in the parent (glibc: its struct
	 * pthread, whose TSD the child's fork() clears), pdlen of them */
	uint8_t *pd;
	size_t pdlen;
};

/* A lost thread brought back (engine/recreate.c). */
struct fk_recreated {
	pid_t parent_tid, child_tid;
	char name[16];
};

#define GHOST_PD_MAX 4096 /* bytes kept from a lost thread's thread pointer */

/* free what a ghost owns */
void ghost_clear(struct ghost *g);

struct proc {
	pid_t pid;
	struct proc *next;
	bool session;  /* attached by a session: events are reported */
	bool launched; /* we started it (kill it on close unless detached) */
	bool exited;
	int exit_code;		/* WIFEXITED code, or -signal */
	bool zombie_leader;	/* the main thread exited (pthread_exit) */
	unsigned execs;		/* PTRACE_EVENT_EXEC stops seen: a new program each */
	bool want_running;	/* session is running: unexpected stops are resumed */
	bool own_fork;		/* the forkall engine is injecting a fork: its child is not followed */
	struct sig_policy sigs; /* session processes: which signals stop, print, pass */
	bool hold_children;	/* session: fork children stay traced, stopped, for a session of their own */
	bool stop_all_pending;	/* a session LWP stopped: stop the others */
	bool step_over_pending; /* not a session: a thread stopped at a breakpoint, step it over and go on */
	pid_t vfork_parent;	/* a vfork child sharing this process's memory until it execs or exits */
	/* a child held by followForks: who made it, and the threads it lost */
	pid_t fork_parent, fork_tid;
	bool fork_clone; /* clone() of a new process, not fork() */
	struct ghost *ghosts;
	size_t nghosts;
	struct fk_recreated *recreated; /* ghosts brought back, in order */
	size_t nrecreated;
	/* a checkpoint (engine/checkpoint.c): a stopped copy that never runs;
	 * killed (not released) when the tracer closes */
	bool frozen;
	pid_t ckpt_of; /* the process it is a copy of */
	void *ckpt;    /* the engine's record: every thread's state */
	void (*ckpt_free)(void *);
	/* the parent of such a child, until the picture is taken (main loop) */
	pid_t capture_child, capture_tid;
	bool capture_clone;
	struct lwp *lwps;
	size_t n, cap;
	size_t n_stopped, n_exiting; /* kept by proc_set_* so "all stopped?" is O(1) */
	int32_t *index;		     /* slot + 1, 0 = empty */
	size_t index_cap;
	struct watch watches[4]; /* ptrace/watch.h (arch_watch_slots of them used) */
	struct bp *bps;		 /* breakpoints.h */
	size_t nbps, capbps;
	/* breakpoints removed while threads ran ("moribund", as gdb says): a
	 * thread that executed the int3 just before reports its SIGTRAP after */
	uint64_t late_addr[8], late_until_us[8];
	unsigned late_next;
	/* compiled breakpoint conditions (ops/ops_bpcond.c owns them): asked at
	 * each hit of a breakpoint, 0 when its condition is false there */
	void *bpconds;
	int (*bpcond_test)(struct proc *p, pid_t tid, uint64_t addr);
	void (*bpconds_free)(void *bpconds);
	bool cond_pass; /* threads with cond_false wait for bp_cond_pass (the main loop, step_over_pending) */
	/* out-of-line copies of breakpointed instructions that jump back
	 * (ptrace/bpslot.h), in pages of ours in the process; for this many
	 * execs (a new program: none) */
	struct bp_slot *slots;
	size_t nslots, capslots;
	struct slot_page *slot_pages;
	size_t nslot_pages;
	unsigned slot_execs;
	bool slot_nomap;	  /* mapping a page failed in this program: not tried again */
	uint64_t dstep_scratch;	  /* where displaced steps run (the entry point; 0: not known yet) */
	unsigned dstep_execs;	  /* ... read for this many execs (a new program: read again) */
	int stdout_fd, stderr_fd; /* launched: the caller owns them */
	struct fk_symbols *syms;  /* opened on the first stack/symbol request; closed by the forget hook */
	bool syms_stale;	  /* it ran since: modules may have changed */
};

struct bp;
struct bp_slot;
struct slot_page;
struct fk_symbols;

struct proc *proc_new(pid_t pid);
void proc_free(struct proc *p);

struct lwp *proc_lwp(struct proc *p, pid_t tid);
/* A thread the process lost in its fork (p->ghosts), or NULL. */
const struct ghost *proc_ghost(const struct proc *p, pid_t tid);
/* Add a RUNNING LWP (or return the existing one). NULL on ENOMEM. */
struct lwp *proc_add_lwp(struct proc *p, pid_t tid);
void proc_remove_lwp(struct proc *p, pid_t tid);

/* Pointers to LWPs are invalidated by proc_add_lwp and proc_remove_lwp. */

/* Number of LWPs not yet stopped (exiting ones do not count). O(1). */
size_t proc_count_running(const struct proc *p);

/* State changes go through these so the counters stay true. */
void proc_set_stopped(struct proc *p, struct lwp *l);
void proc_set_running(struct proc *p, struct lwp *l);
void proc_set_exiting(struct proc *p, struct lwp *l);

#endif
