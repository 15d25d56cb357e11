/* forkall_int.h — the forkall engine's shared state, for its own files
 * (forkall.c orchestrates; forkall_samepid.c is the tid-preserving fork). */
#ifndef FK_FORKALL_INT_H
#define FK_FORKALL_INT_H

#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/ptrace.h>
#include <sys/types.h>

#include "arch/arch.h"
#include "base/kabi.h"
#include "ptrace/attach.h"
#include "debuginfo/elfsym.h"
#include "base/json.h"
#include "base/procfs.h"
#include "debuginfo/threaddb.h"
#include "core/tracer.h"
#include "engine/fork.h"

#define STOP_TIMEOUT_MS 10000
#define INJECT_TIMEOUT_MS 10000
/* Scratch space for injected calls' arguments: [sp-1024, sp-512), well
 * below the red zone. Its bytes are saved first and put back in parent and
 * child, so neither sees a byte we wrote. */
#define SCRATCH_BELOW_SP 512
#define SCRATCH_LEN 512

/* A thread's credentials and seccomp mode, read while the process runs. */
struct pre_creds {
	pid_t tid;
	struct proc_creds c;
};

/* Everything about one parent thread that its copy needs. */
struct tstate {
	pid_t tid;
	bool glibc; /* struct pthread at the thread pointer holds this tid */
	fk_gregs regs;
	uint8_t *xstate; /* in fa->xpool, or malloc'ed (xstate_owned) */
	size_t xlen;
	bool xstate_owned;
	uint64_t sigmask;
	bool sigmask_ok;
	struct ptrace_rseq_cfg rseq;
	bool rseq_ok;
	stack_t altstack;
	bool altstack_ok;
	uint64_t robust_head;
	size_t robust_len;
	bool robust_ok;
	cpu_set_t affinity;
	bool affinity_ok;
	struct sched_attr_k sched;
	bool sched_ok;
	char name[17];
	struct proc_creds creds; /* read at prepare (the process runs); after the release for a newer thread */
	bool creds_ok;
	bool creds_early; /* creds (and their seccomp mode) are from prepare */
	pid_t child_tid;
	bool injected;	     /* we ran a call in it: its registers are put back */
	uint64_t scratch_at; /* start of its scratch window */
	bool scratch_saved;
};

struct forkall {
	struct fk_tracer *tr;
	pid_t pid;
	pid_t mpid; /* whose memory/maps we read: pid, or a live thread if main exited */
	uint32_t flags;
	const char *fault;
	const char *skip; /* FORKALL_SKIP: restore steps left out (negative controls) */
	struct fk_err *err;
	struct jw warnings; /* JSON array members */

	struct vma_list maps;
	struct elfsyms *syms;
	uint64_t insn;
	long tid_off;
	struct vmflag_range *vmf;
	size_t nvmf;
	struct pre_state *pre;
	size_t npre;
	struct pre_creds *pcreds; /* /proc/PID/task/TID/status of every thread at prepare */
	size_t npcreds;
	struct proc_task_stat image; /* mm fields at prepare: an exec changes them */
	unsigned execs0;	     /* the session's exec count at the start */
	bool execed;		     /* failed because the target ran execve */
	bool altstack_possible;	     /* some code could have set an alternate stack */

	struct proc *parent;
	bool session;	  /* the parent belongs to a debug session */
	bool was_running; /* ... and was running */
	bool parent_released;
	bool hold_parent; /* fa_parent_half leaves a process it attached stopped: the caller releases it */
	struct tstate *ts;
	size_t nts;
	size_t ts_cap;	/* entries allocated (and touched) at prepare */
	uint8_t *xpool; /* ts_cap xstate buffers of xcap bytes, touched at prepare */
	size_t xcap;
	uint8_t *scratch; /* nts * SCRATCH_LEN original bytes */
	size_t forker;	  /* index in ts */
	bool zombie_leader;
	bool injected_parent; /* parent registers must be restored */
	bool dofork_applied;  /* MADV_DOFORK in effect in the parent */
	size_t robust_fixed;  /* robust mutex owners rewritten in the child */
	size_t locks_fixed;   /* DWARF-visible lock owners rewritten in the child */

	pid_t child;
	uint64_t child_page; /* the temporary page the child inherited: unmapped there */
	struct proc *cproc;
	pid_t init;  /* same-tids mode: pid 1 of the child's namespace */
	bool userns; /* ... in a user namespace of its own (no CAP_SYS_ADMIN) */
	struct proc *iproc;
	/* same-tids: who makes the namespace's init (default the parent's
	 * forking thread; a restore: the checkpoint's one thread) and the
	 * pid the child gets in it (default fa->pid) */
	struct proc *sp_from;
	pid_t sp_tid, sp_want;

	uint64_t phases[6];
	uint64_t ph[5]; /* fa_parent_half's phase ends */
	uint64_t t_start, t_stop, t_capture1, t_fork0, t_fork1, t_release, t_child0, t_child1;
};

/* The engine's run, in pieces other engine files reuse (forkall.c):
 * fa_init, then fa_parent_half (prepare .. parent released .. child
 * attached, stopped, one thread), then the caller's child half; on
 * failure fa_rollback (child killed, parent restored); always fa_free. */
void fa_init(struct forkall *fa, struct fk_tracer *tr, pid_t pid, uint32_t flags, struct fk_err *err);
int fa_parent_half(struct forkall *fa);
void fa_rollback(struct forkall *fa);
void fa_free(struct forkall *fa);

/* Tid-preserving fork (FK_FORK_SAME_TIDS): the child lives in a new PID
 * namespace where it has the parent's pid and every thread its parent
 * thread's tid. Called instead of the plain injected fork; leaves
 * fa->child set (pid in our namespace) and fa->init (the namespace's init);
 * the child is attached (fa->cproc). fa->sp_from/sp_tid/sp_want, when set,
 * name another process and thread to fork from and the pid wanted. */
int samepid_fork(struct forkall *fa);

/* The fast way to build the child's threads (forkall_stub.c): a stub in
 * the child clones them all and each sets up its own kernel state; then
 * they are seized. Leaves every new thread stopped in fa->cproc with
 * t->child_tid set. */
int stub_build_threads(struct forkall *fa);
bool fa_skip(const struct forkall *fa, const char *what);
void fa_warn(struct forkall *fa, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* the "warnings" member of an answer: what fa_warn said, in order */
void fa_warnings_json(const struct forkall *fa, struct jw *body);

/* The steps, in order (forkall_parent.c, then forkall_child.c). Each
 * returns 0 or fills fa->err and returns -1. */
int fa_prepare(struct forkall *fa);
/* tid's credentials and seccomp mode as read at prepare, or NULL */
const struct proc_creds *fa_pre_creds(const struct forkall *fa, pid_t tid);
/* Has the target's memory image changed since fa_prepare (an execve)? */
bool fa_image_changed(const struct forkall *fa);
int fa_stop_parent(struct forkall *fa);
int fa_capture(struct forkall *fa);
/* Judge every call the fork will run by the seccomp filters of the thread
 * that runs it (forkall_seccomp.c); before anything is injected. */
int fa_check_seccomp(struct forkall *fa);
int fa_capture_altstacks(struct forkall *fa);
/* Could code of the process have set an alternate signal stack in any
 * thread (forkall_altscan.c)? From the mappings read at prepare. */
bool fa_altstack_possible(struct forkall *fa);
int fa_inject_fork(struct forkall *fa);
int fa_restore_parent(struct forkall *fa);
void fa_release_parent(struct forkall *fa);
void fa_read_thread_extras(struct forkall *fa);
int fa_attach_child(struct fk_tracer *tr, struct forkall *fa);
int fa_build_threads(struct fk_tracer *tr, struct forkall *fa);
int fa_release_child(struct forkall *fa);
/* Each child thread whose parent thread's credentials differ from the
 * forking thread's gets them back (forkall_creds.c); warns what it cannot. */
int fa_child_creds(struct forkall *fa);
/* Robust mutexes on each thread's robust list whose futex word names the
 * thread's parent tid name its child tid (in fa->child). Returns how many. */
size_t fa_fix_robust_owners(struct forkall *fa);
bool fa_creds_differ(const struct proc_creds *a, const struct proc_creds *b);
/* MADV_DOFORK/MADV_DONTFORK over the recorded DONTFORK regions, in tid */
int fa_madvise_dontfork(struct forkall *fa, struct proc *p, pid_t tid, int advice, const char *step);
bool fa_want_dontfork_copy(const struct forkall *fa);
/* put the saved scratch bytes back into pid (of the threads we ran calls
 * in, or of every thread) */
void fa_restore_scratch(struct forkall *fa, pid_t pid, bool injected_only);

/* Helpers shared by the engine's files (forkall_common.c, with fa_skip and
 * fa_warn above). */
int fa_fault_at(struct forkall *fa, const char *step);
uint64_t fa_scratch(const struct tstate *t, uint64_t below);
int fa_attach_new(struct forkall *fa, pid_t pid, struct proc **out, const char *step);
/* Clone one thread copy in the child with its original tid (in the
 * child's namespace). Returns the new thread's tid in OUR namespace. */
int samepid_clone_thread(struct forkall *fa, struct tstate *t, uint64_t flags, uint64_t tidp, uint64_t tls,
			 pid_t *outer_tid);
/* Turn the namespace's init into a reaper that exits with the child. */
int samepid_finish_init(struct forkall *fa);
void samepid_kill_init(struct forkall *fa);

#endif
