/* procfs.h — what /proc tells about a process and its LWPs.
 * All functions return 0 or -errno (ENOENT/ESRCH: the task is gone). */
#ifndef FK_PROCFS_H
#define FK_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Every tid in /proc/PID/task (unsorted). *tids is malloc'd. */
int proc_list_tasks(pid_t pid, pid_t **tids, size_t *n);

/* /proc/PID/task/TID/stat: state letter and, for the leader, start of
 * stack (field 28). */
struct proc_task_stat {
	char state;
	uint64_t startstack;
	uint64_t utime, stime;
	uint64_t start_code, arg_start; /* 0 when hidden (no ptrace access) */
	unsigned long flags;		/* PF_*: PF_EXITING 0x4 */
};
int proc_task_stat(pid_t pid, pid_t tid, struct proc_task_stat *out);

/* /proc/PID/task/TID/comm without the newline (at most 15 chars). */
int proc_task_comm(pid_t pid, pid_t tid, char *out, size_t cap);

/* Is process pid gone or on its way out? PROC_GONE: no /proc entry, a
 * dead task or a zombie leader without threads; PROC_DYING: SIGKILL
 * pending, the leader exiting (PF_EXITING/PF_POSTCOREDUMP/PF_SIGNALED) or
 * a zombie leader with threads left; PROC_ALIVE otherwise. */
enum proc_life {
	PROC_ALIVE,
	PROC_DYING,
	PROC_GONE
};
enum proc_life proc_life(pid_t pid);

/* One thread's credentials, from /proc/PID/task/TID/status. */
#define PROC_MAX_GROUPS 256
struct proc_creds {
	uint32_t uid[4], gid[4]; /* real, effective, saved, filesystem */
	uint32_t groups[PROC_MAX_GROUPS];
	int ngroups; /* -1: more than PROC_MAX_GROUPS */
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	int no_new_privs;
	int seccomp_mode; /* "Seccomp:" (SECCOMP_MODE_*; 0 on a kernel that shows none) */
};
int proc_task_creds(pid_t pid, pid_t tid, struct proc_creds *out);
/* The same read, also giving the thread's name (comm, unescaped; name may
 * be NULL) and its state letter (state may be NULL). */
int proc_task_status(pid_t pid, pid_t tid, struct proc_creds *out, char *name, size_t namecap, char *state);

/* A hexadecimal field of /proc/PID/status ("SigIgn", "SigCgt", "ShdPnd"). */
int proc_status_hex(pid_t pid, const char *key, uint64_t *out);

/* A numeric field of /proc/PID/status ("TracerPid", "Tgid", "Uid" (real)). */
int proc_status_long(pid_t pid, const char *key, long *out);

/* A task of pid whose memory and maps can be read: pid itself, or, when
 * the main thread has exited (a zombie leader has no mm), a live thread.
 * Returns pid if none is found. */
pid_t proc_live_tid(pid_t pid);

/* Is this tid a thread of pid? */
bool proc_task_exists(pid_t pid, pid_t tid);

struct vma {
	uint64_t start, end, offset;
	char perms[5];
	uint64_t inode;
	char *path; /* "" for anonymous */
};

struct vma_list {
	struct vma *v;
	size_t n;
};

/* Parse /proc/PID/maps (sorted by address, as the kernel prints it). */
int proc_maps_read(pid_t pid, struct vma_list *out);
void proc_maps_free(struct vma_list *l);
/* The mapping containing addr, or NULL. */
const struct vma *vma_find(const struct vma_list *l, uint64_t addr);
/* The mapping just below m if it touches m, or NULL. */
const struct vma *vma_below(const struct vma_list *l, const struct vma *m);

/* Mappings whose VmFlags (/proc/PID/smaps) carry "dc" (MADV_DONTFORK)
 * or "wf" (MADV_WIPEONFORK). */
enum {
	VMF_DONTFORK = 1,
	VMF_WIPEONFORK = 2
};
struct vmflag_range {
	uint64_t start, end;
	uint64_t rss; /* resident bytes (smaps Rss) */
	unsigned flags;
	char path[64];
};
int proc_vmflag_ranges(pid_t pid, struct vmflag_range **out, size_t *n);

/* Read a whole small /proc file into buf (NUL-terminated). Returns length
 * or -errno. */
ssize_t proc_read_file(const char *path, char *buf, size_t cap);

#endif
