/* The tracer thread end to end: THREADS and REGS on a real multithreaded
 * child, the bad-input errors, sessions (attach/stop/resume/detach), and
 * that the child is left running and untraced after each. */
#include "support.h"

#include <errno.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void test_threads(fk_tracer *fk)
{
	pid_t pid = t_spawn_threads(16);
	char *r = t_req(fk, "{'op':'threads','pid':%d}", pid);
	CHECK(t_has(r, "\"ok\":true"), "%s", r);
	CHECK(t_count(r, "\"tid\":") == 17, "expected 17 threads: %s", r);
	CHECK(t_count(r, "\"pthreadSource\":\"thread_db\"") == 17, "pthread_t via thread_db for all: %s", r);
	CHECK(t_count(r, "\"source\":\"maps:pthread\"") == 16, "16 thread stacks from struct pthread: %s", r);
	CHECK(t_has(r, "\"source\":\"maps:[stack]\""), "main stack: %s", r);
	CHECK(t_count(r, "\"guard\":4096") == 16, "guard pages: %s", r);
	free(r);
	CHECK(t_all_running_untraced(pid), "threads left stopped after \"threads\"");
}

static void test_regs(fk_tracer *fk)
{
	pid_t pid = t_spawn_threads(2);
	char *r = t_req(fk, "{'op':'regs','pid':%d,'tid':%d}", pid, pid);
	CHECK(t_has(r, "\"ok\":true"), "%s", r);
	CHECK(t_has(r, "\"rip\":\"0x"), "%s", r);
	CHECK(t_has(r, "\"mxcsr\":\"0x1f80\""), "default mxcsr: %s", r);
	CHECK(t_has(r, "\"xmm\":["), "%s", r);
	CHECK(t_has(r, "\"orig_rax\":\"0x22\""), "leader is in pause() (syscall 34): %s", r);
	free(r);
	CHECK(t_all_running_untraced(pid), "thread left stopped after \"regs\"");
}

static void test_errors(fk_tracer *fk)
{
	/* a pid that existed and is gone */
	pid_t dead = fork();
	if (dead == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	char *r = t_req(fk, "{'op':'threads','pid':%d}", dead);
	CHECK(t_has(r, "\"kind\":\"no-such-process\"") && t_has(r, "no such process"), "%s", r);
	free(r);
	r = t_req(fk, "{'op':'threads','pid':%d}", -5);
	CHECK(t_has(r, "\"kind\":\"bad-request\""), "%s", r);
	free(r);
	r = t_req(fk, "{'op':'noSuchOp','pid':1}");
	CHECK(t_has(r, "\"kind\":\"unknown-op\"") && t_has(r, "\"code\":\"EOPNOTSUPP\"") &&
		      t_has(r, "unknown operation"),
	      "%s", r);
	free(r);
	/* malformed requests are answered, in order, with a message that says why */
	r = t_req(fk, "{'op':'threads','pid':'12'}");
	CHECK(t_has(r, "\"kind\":\"bad-request\"") && t_has(r, "threads: \\\"pid\\\" must be an integer"), "%s", r);
	free(r);
	r = t_req(fk, "{'op':'threads','pid':1,'tid':2}");
	CHECK(t_has(r, "\"kind\":\"bad-request\"") && t_has(r, "unknown member \\\"tid\\\""), "%s", r);
	free(r);
	r = t_req(fk, "{'op':'regs','pid':1}");
	CHECK(t_has(r, "\"kind\":\"bad-request\"") && t_has(r, "regs: missing \\\"tid\\\""), "%s", r);
	free(r);
	r = t_req(fk, "{'op':'threads','pid':1");
	CHECK(t_has(r, "\"kind\":\"bad-request\"") && t_has(r, "invalid JSON at byte"), "%s", r);
	free(r);
	r = t_req(fk, "['threads']");
	CHECK(t_has(r, "\"kind\":\"bad-request\"") && t_has(r, "must be a JSON object"), "%s", r);
	free(r);
	/* addresses are "0x…" strings, as in replies (a JSON number is exact only to 2^53) */
	r = t_req(fk, "{'op':'bpInsert','pid':1,'addr':4096}");
	CHECK(t_has(r, "\"kind\":\"bad-request\"") && t_has(r, "must be a 64-bit value as a string"), "%s", r);
	free(r);
	r = t_req(fk, "{'op':'bpInsert','pid':1,'addr':'4096'}");
	CHECK(t_has(r, "must be a 64-bit value \\\"0x"), "%s", r);
	free(r);
	r = t_req(fk, "{'op':'bpInsert','pid':1,'addr':'0x1g'}");
	CHECK(t_has(r, "must be a 64-bit value \\\"0x"), "%s", r);
	free(r);
	r = t_req(fk, "{'op':'bpInsert','pid':1,'addr':'0x10000000000000000'}");
	CHECK(t_has(r, "must be a 64-bit value \\\"0x"), "%s", r);
	free(r);
	r = t_req(fk, "{'op':'bpInsert','pid':1,'addr':'0xFFFFffffFFFFffff'}");
	CHECK(t_has(r, "\"kind\":\"bad-request\"") && t_has(r, "is not attached"), "the largest address decodes: %s",
	      r);
	free(r);
	{
		const char *p = fk_protocol();
		CHECK(t_has(p, "\"protocol\":") && t_has(p, "\"ops\":[\"threads\",") && t_has(p, "\"ping\"") &&
			      t_has(p, "\"events\":[\"threadCreated\""),
		      "fk_protocol: %s", p);
		char v[64];
		snprintf(v, sizeof v, "{\"version\":\"%s\",", fk_version());
		CHECK(strncmp(p, v, strlen(v)) == 0, "fk_protocol starts with the version: %s", p);
		CHECK(fk_request(NULL, "{}", 2) == -EINVAL, "NULL tracer");
		CHECK(fk_request(fk, "{}", UINT64_MAX) == -E2BIG, "a length that would overflow");
	}
	pid_t pid = t_spawn_threads(1);
	r = t_req(fk, "{'op':'regs','pid':%d,'tid':%d}", pid, 1);
	CHECK(t_has(r, "is not a thread of process"), "%s", r);
	free(r);
}

static void test_session(fk_tracer *fk)
{
	pid_t pid = t_spawn_threads(4);
	char *r = t_req(fk, "{'op':'attach','pid':%d,'stop':true}", pid);
	CHECK(t_has(r, "\"ok\":true") && t_has(r, "\"stopped\":true"), "%s", r);
	free(r);
	/* regs of a stopped session thread, then THREADS in place */
	r = t_req(fk, "{'op':'regs','pid':%d,'tid':%d}", pid, pid);
	CHECK(t_has(r, "\"ok\":true"), "%s", r);
	free(r);
	r = t_req(fk, "{'op':'threads','pid':%d}", pid);
	CHECK(t_has(r, "\"attachedBefore\":true") && t_count(r, "\"tid\":") == 5, "%s", r);
	free(r);
	r = t_req(fk, "{'op':'resume','pid':%d}", pid);
	CHECK(t_has(r, "\"ok\":true"), "%s", r);
	free(r);
	r = t_req(fk, "{'op':'regs','pid':%d,'tid':%d}", pid, pid);
	CHECK(t_has(r, "is running"), "regs of a running session thread must be refused: %s", r);
	free(r);
	r = t_req(fk, "{'op':'stop','pid':%d}", pid);
	CHECK(t_has(r, "\"ok\":true"), "%s", r);
	free(r);
	r = t_req(fk, "{'op':'detach','pid':%d}", pid);
	CHECK(t_has(r, "\"ok\":true"), "%s", r);
	free(r);
	CHECK(t_all_running_untraced(pid), "session left threads stopped");
	/* a process exiting while attached is reported */
	r = t_req(fk, "{'op':'attach','pid':%d}", pid);
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
