/* The forkall engine from C: a child with every thread, both processes
 * left running and untraced; rollback on every injected fault; the
 * tid-preserving mode. Fidelity inside the child is tested from the CLI
 * with test/fixtures/forkcheck.c; this checks the engine's own contract,
 * also under ASan/UBSan. */
#include "support.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/procfs.h"

static pid_t child_of(const char *r)
{
	const char *c = strstr(r, "\"child\":");
	return c ? (pid_t)atoi(c + 8) : 0;
}

static void end_child(pid_t child)
{
	kill(child, SIGKILL);
	/* its parent is ours (CLONE_PARENT: the target's parent) */
	waitpid(child, NULL, __WNOTHREAD);
}

/* Same mappings, address and protection: nothing of ours (a stub page, a
 * scratch page) is left in either process. */
static void same_maps(pid_t a, pid_t b, const char *what)
{
	struct vma_list ma, mb;
	CHECK(proc_maps_read(a, &ma) == 0 && proc_maps_read(b, &mb) == 0, "maps of %d and %d", (int)a, (int)b);
	size_t ia = 0, ib = 0;
	for (; ia < ma.n && ib < mb.n; ia++, ib++) {
		/* the [stack] of a process may grow on its own */
		if (strcmp(ma.v[ia].path, "[stack]") == 0 && strcmp(mb.v[ib].path, "[stack]") == 0)
			continue;
		CHECK(ma.v[ia].start == mb.v[ib].start && ma.v[ia].end == mb.v[ib].end &&
			      strcmp(ma.v[ia].perms, mb.v[ib].perms) == 0,
		      "%s: mapping %zu differs: %llx-%llx %s %s vs %llx-%llx %s %s", what, ia,
		      (unsigned long long)ma.v[ia].start, (unsigned long long)ma.v[ia].end, ma.v[ia].perms,
		      ma.v[ia].path, (unsigned long long)mb.v[ib].start, (unsigned long long)mb.v[ib].end,
		      mb.v[ib].perms, mb.v[ib].path);
	}
	CHECK(ia == ma.n && ib == mb.n, "%s: %zu vs %zu mappings", what, ma.n, mb.n);
	proc_maps_free(&ma);
	proc_maps_free(&mb);
}

static void test_fork(fk_tracer *fk, int n)
{
	pid_t pid = t_spawn_threads(n);
	struct vma_list before;
	CHECK(proc_maps_read(pid, &before) == 0, "maps before");
	char *r = t_req(fk, "{'op':'fork','pid':%d}", pid);
	CHECK(t_has(r, "\"ok\":true"), "%s", r);
	CHECK(t_count(r, "\"parentTid\"") == n + 1, "every thread mapped: %s", r);
	pid_t child = child_of(r);
	CHECK(child > 0, "%s", r);
	long th = 0, ppid = 0;
	CHECK(proc_status_long(child, "Threads", &th) == 0 && th == n + 1, "child has %ld threads, want %d", th, n + 1);
	CHECK(proc_status_long(child, "PPid", &ppid) == 0 && ppid == getpid(), "child's parent is the target's parent");
	CHECK(t_all_running_untraced(child), "child left stopped or traced");
	CHECK(t_all_running_untraced(pid), "parent left stopped or traced");
	struct vma_list after;
	CHECK(proc_maps_read(pid, &after) == 0 && after.n == before.n, "parent mappings: %zu before, %zu after",
	      before.n, after.n);
	proc_maps_free(&after);
	proc_maps_free(&before);
	same_maps(pid, child, "parent vs child");
	end_child(child);
	free(r);
}

static void test_faults(fk_tracer *fk)
{
	static const char *const steps[] = { "stop",	     "capture", "altstack",	"fork",	      "parent-release",
					     "child-attach", "clone",	"thread-setup", "child-regs", "child-release" };
	pid_t pid = t_spawn_threads(4);
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		setenv("FORKALL_FAULT", steps[i], 1);
		char *r = t_req(fk, "{'op':'fork','pid':%d}", pid);
		CHECK(t_has(r, "\"ok\":false") && t_has(r, "injected fault"), "%s: %s", steps[i], r);
		char step[64];
		snprintf(step, sizeof step, "\"step\":\"%s\"", steps[i]);
		CHECK(t_has(r, step), "error names the step %s: %s", steps[i], r);
		free(r);
		/* no child left: our only children are the targets */
		int st;
		pid_t w = waitpid(-1, &st, WNOHANG | __WNOTHREAD);
		while (w > 0 && w != pid)
			w = waitpid(-1, &st, WNOHANG | __WNOTHREAD);
		CHECK(t_all_running_untraced(pid), "parent left stopped after a fault at %s", steps[i]);
		long th = 0;
		CHECK(proc_status_long(pid, "Threads", &th) == 0 && th == 5, "parent still has its 5 threads");
	}
	unsetenv("FORKALL_FAULT");
	/* and it still forks fine */
	char *r = t_req(fk, "{'op':'fork','pid':%d}", pid);
	CHECK(t_has(r, "\"ok\":true"), "%s", r);
	end_child(child_of(r));
	free(r);
}

static void test_same_tids(fk_tracer *fk)
{
	if (geteuid() != 0) {
		printf("test_forkall: same-tids skipped (needs root)\n");
		return;
	}
	pid_t pid = t_spawn_threads(3);
	char *r = t_req(fk, "{'op':'fork','pid':%d,'sameTids':true}", pid);
	CHECK(t_has(r, "\"ok\":true") && t_has(r, "\"sameTids\":true"), "%s", r);
	pid_t child = child_of(r);
	/* NSpid: "outer inner"; inner must be the parent's pid */
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/status", (int)child);
	CHECK(proc_read_file(path, buf, sizeof buf) > 0, "child status");
	char want[64];
	snprintf(want, sizeof want, "NSpid:\t%d\t%d\n", (int)child, (int)pid);
	CHECK(t_has(buf, want), "child's pid in its namespace is the parent's (%s): %s", want, strstr(buf, "NSpid"));
	long th = 0;
	CHECK(proc_status_long(child, "Threads", &th) == 0 && th == 4, "child threads %ld", th);
	CHECK(t_all_running_untraced(child), "child left stopped or traced");
	/* killing the child ends the namespace init too (it reaps and exits) */
	kill(child, SIGKILL);
	const char *ip = strstr(r, "\"namespaceInit\":");
	pid_t init = ip ? atoi(ip + 16) : 0;
	CHECK(init > 0, "%s", r);
	int gone = 0;
	for (int i = 0; i < 100 && !gone; i++) {
		gone = waitpid(init, NULL, WNOHANG | __WNOTHREAD) == init;
		usleep(20000);
	}
	CHECK(gone, "namespace init %d did not exit after its child", (int)init);
	free(r);
}

int main(void)
{
	char err[256];
	fk_tracer *fk = fk_open(err, sizeof err);
	CHECK(fk != NULL, "fk_open: %s", err);
	test_fork(fk, 1);
	test_fork(fk, 16);
	test_faults(fk);
	test_same_tids(fk);
	fk_close(fk);
	t_kill_children();
	printf("test_forkall: ok\n");
	return 0;
}
