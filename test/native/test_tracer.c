/* The tracer thread end to end: THREADS and REGS on a real multithreaded
 * child, the bad-input errors, sessions (attach/stop/resume/detach), and
 * that the child is left running and untraced after each. */
#include "support.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void test_threads(fk_tracer *fk)
{
	pid_t pid = t_spawn_threads(16);
	char *r = t_call(fk, FK_OP_THREADS, pid, 0, 0);
	CHECK(t_has(r, "\"ok\":true"), "%s", r);
	CHECK(t_count(r, "\"tid\":") == 17, "expected 17 threads: %s", r);
	CHECK(t_count(r, "\"pthreadSource\":\"thread_db\"") == 17, "pthread_t via thread_db for all: %s", r);
	CHECK(t_count(r, "\"source\":\"maps:pthread\"") == 16, "16 thread stacks from struct pthread: %s", r);
	CHECK(t_has(r, "\"source\":\"maps:[stack]\""), "main stack: %s", r);
	CHECK(t_count(r, "\"guard\":4096") == 16, "guard pages: %s", r);
	free(r);
	CHECK(t_all_running_untraced(pid), "threads left stopped after FK_OP_THREADS");
}

static void test_regs(fk_tracer *fk)
{
	pid_t pid = t_spawn_threads(2);
	char *r = t_call(fk, FK_OP_REGS, pid, pid, 0);
	CHECK(t_has(r, "\"ok\":true"), "%s", r);
	CHECK(t_has(r, "\"rip\":\"0x"), "%s", r);
	CHECK(t_has(r, "\"mxcsr\":\"0x1f80\""), "default mxcsr: %s", r);
	CHECK(t_has(r, "\"xmm\":["), "%s", r);
	CHECK(t_has(r, "\"orig_rax\":\"0x22\""), "leader is in pause() (syscall 34): %s", r);
	free(r);
	CHECK(t_all_running_untraced(pid), "thread left stopped after FK_OP_REGS");
}

static void test_errors(fk_tracer *fk)
{
	/* a pid that existed and is gone */
	pid_t dead = fork();
	if (dead == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	char *r = t_call(fk, FK_OP_THREADS, dead, 0, 0);
	CHECK(t_has(r, "\"kind\":\"no-such-process\"") && t_has(r, "no such process"), "%s", r);
	free(r);
	r = t_call(fk, FK_OP_THREADS, -5, 0, 0);
	CHECK(t_has(r, "\"kind\":\"bad-request\""), "%s", r);
	free(r);
	r = t_call(fk, 999, 1, 0, 0);
	CHECK(t_has(r, "unknown operation"), "%s", r);
	free(r);
	pid_t pid = t_spawn_threads(1);
	r = t_call(fk, FK_OP_REGS, pid, 1, 0);
	CHECK(t_has(r, "is not a thread of process"), "%s", r);
	free(r);
}

static void test_session(fk_tracer *fk)
{
	pid_t pid = t_spawn_threads(4);
	char *r = t_call(fk, FK_OP_ATTACH, pid, 0, FK_ATTACH_STOP);
	CHECK(t_has(r, "\"ok\":true") && t_has(r, "\"stopped\":true"), "%s", r);
	free(r);
	/* regs of a stopped session thread, then THREADS in place */
	r = t_call(fk, FK_OP_REGS, pid, pid, 0);
	CHECK(t_has(r, "\"ok\":true"), "%s", r);
	free(r);
	r = t_call(fk, FK_OP_THREADS, pid, 0, 0);
	CHECK(t_has(r, "\"attachedBefore\":true") && t_count(r, "\"tid\":") == 5, "%s", r);
	free(r);
	r = t_call(fk, FK_OP_RESUME, pid, 0, 0);
	CHECK(t_has(r, "\"ok\":true"), "%s", r);
	free(r);
	r = t_call(fk, FK_OP_REGS, pid, pid, 0);
	CHECK(t_has(r, "is running"), "regs of a running session thread must be refused: %s", r);
	free(r);
	r = t_call(fk, FK_OP_STOP, pid, 0, 0);
	CHECK(t_has(r, "\"ok\":true"), "%s", r);
	free(r);
	r = t_call(fk, FK_OP_DETACH, pid, 0, 0);
	CHECK(t_has(r, "\"ok\":true"), "%s", r);
	free(r);
	CHECK(t_all_running_untraced(pid), "session left threads stopped");
	/* a process exiting while attached is reported */
	r = t_call(fk, FK_OP_ATTACH, pid, 0, 0);
	CHECK(t_has(r, "\"ok\":true"), "%s", r);
	free(r);
	kill(pid, SIGKILL);
	int found = 0;
	for (int i = 0; i < 200 && !found; i++) {
		if (fk_wait(fk, 100) != 1)
			continue;
		char buf[4096];
		int64_t n = fk_next_message(fk, (uint8_t *)buf, sizeof buf - 1);
		if (n > 0) {
			buf[n] = 0;
			found = t_has(buf, "\"event\":\"exited\"") && t_has(buf, "\"signal\":9");
		}
	}
	CHECK(found, "no exited event with signal 9");
}

int main(void)
{
	char err[256];
	fk_tracer *fk = fk_open(err, sizeof err);
	CHECK(fk != NULL, "fk_open: %s", err);
	test_threads(fk);
	test_regs(fk);
	test_errors(fk);
	test_session(fk);
	fk_close(fk);
	t_kill_children();
	printf("test_tracer: ok\n");
	return 0;
}
