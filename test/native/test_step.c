/* Source-line steps in the tracer thread ("step" with line / line+into /
 * out) against test/fixtures/stepper, so that
 * engine/step.c runs under ASan/UBSan too: next over a one-line loop of
 * 300,000 iterations (breakpoints, not 1.5 million single-steps), next over
 * a recursive call, stepIn, stepOut, fk_cancel during an endless next. */
#include "support.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LINE "\"line\":true"
#define LINE_INTO "\"line\":true,\"into\":true"
#define OUT "\"out\":true"

static char fixture_bin[4096], fixture_src[4096];
static int last_outfd = -1;

/* Launch stepper with mode/arg, run it to the breakpoint on `mark`'s line
 * (removed again), every LWP stopped. */
static pid_t launch_to(fk_tracer *fk, const char *mode, const char *arg, const char *mark)
{
	char *r = t_req(fk, "{'op':'launch','path':'%s','cwd':'/','argv':['%s','%s','%s']}", fixture_bin, fixture_bin,
			mode, arg);
	CHECK(t_has(r, "\"ok\":true"), "launch: %s", r);
	pid_t pid = (pid_t)t_num(r, "\"pid\":");
	int outfd = (int)t_num(r, "\"stdoutFd\":");
	CHECK(pid > 0, "%s", r);
	free(r);
	/* its stdout stays open unread (closed, a write would be SIGPIPE): it
	 * writes two lines */
	last_outfd = outfd;
	char q[64];
	snprintf(q, sizeof q, "stepper.c:%d", t_marker(fixture_src, mark));
	r = t_req(fk, "{'op':'symbols','pid':%d,'file':'stepper.c','line':%d}", pid, t_marker(fixture_src, mark));
	const char *a = strstr(r, "\"addresses\":[\"");
	CHECK(a != NULL, "address of %s: %s", q, r);
	uint64_t addr = strtoull(a + 14, NULL, 16);
	free(r);
	r = t_req(fk, "{'op':'bpInsert','pid':%d,'addr':'0x%llx'}", pid, (unsigned long long)addr);
	CHECK(t_has(r, "\"ok\":true"), "%s", r);
	free(r);
	r = t_req(fk, "{'op':'resume','pid':%d}", pid);
	free(r);
	char *ev = t_wait_message(fk, "\"reason\":\"breakpoint\"", 200);
	CHECK(ev != NULL, "breakpoint at %s not hit", q);
	CHECK(t_num(ev, "\"tid\":") == pid, "the main thread hit it: %s", ev);
	free(ev);
	r = t_req(fk, "{'op':'stop','pid':%d}", pid);
	free(r);
	r = t_req(fk, "{'op':'bpRemove','pid':%d,'addr':'0x%llx'}", pid, (unsigned long long)addr);
	CHECK(t_has(r, "\"ok\":true"), "%s", r);
	free(r);
	return pid;
}

/* The line of the main thread's pc. */
static int line_of(fk_tracer *fk, pid_t pid, const char *step_result)
{
	const char *pc = strstr(step_result, "\"pc\":\"");
	CHECK(pc != NULL, "no pc: %s", step_result);
	char *r = t_req(fk, "{'op':'symbols','pid':%d,'addr':'%.*s'}", pid, (int)strcspn(pc + 6, "\""), pc + 6);
	int line = (int)t_num(r, "\"line\":");
	free(r);
	return line;
}

/* how: LINE, LINE_INTO or OUT (JSON members) */
static char *step(fk_tracer *fk, pid_t pid, const char *how)
{
	char *r = t_req(fk, "{'op':'step','pid':%d,'tid':%d,%s}", pid, pid, how);
	CHECK(t_has(r, "\"ok\":true"), "step: %s", r);
	return r;
}

static void kill_it(fk_tracer *fk, pid_t pid)
{
	free(t_req(fk, "{'op':'kill','pid':%d}", pid));
	if (last_outfd >= 0)
		close(last_outfd);
	last_outfd = -1;
}

int main(void)
{
	const char *fx = getenv("FK_FIXTURES");
	if (!fx) {
		printf("test_step: skipped (FK_FIXTURES not set; run through make check)\n");
		return 77;
	}
	snprintf(fixture_bin, sizeof fixture_bin, "%s/stepper", fx);
	snprintf(fixture_src, sizeof fixture_src, "%s/../stepper.c", fx);
	char err[256];
	fk_tracer *fk = fk_open(err, sizeof err);
	CHECK(fk != NULL, "fk_open: %s", err);

	/* next over the loop: the rest of the line with breakpoints */
	pid_t pid = launch_to(fk, "loop", "300000", "LOOP");
	char *r = step(fk, pid, LINE);
	CHECK(t_has(r, "\"reason\":\"step\""), "%s", r);
	CHECK(line_of(fk, pid, r) == t_marker(fixture_src, "AFTER_LOOP"), "next over the loop: %s", r);
	CHECK(t_num(r, "\"singleSteps\":") < 2000 && t_num(r, "\"continues\":") >= 1,
	      "breakpoints, not single steps: %s", r);
	free(r);
	kill_it(fk, pid);

	/* next over a recursive call, then stepOut of fact(6) to main */
	pid = launch_to(fk, "fact", "6", "FACT_CALL");
	r = step(fk, pid, LINE);
	CHECK(t_has(r, "\"reason\":\"step\"") && line_of(fk, pid, r) == t_marker(fixture_src, "FACT_AFTER"), "next: %s",
	      r);
	free(r);
	r = step(fk, pid, OUT);
	CHECK(t_has(r, "\"reason\":\"step\""), "stepOut: %s", r);
	free(r);
	r = t_req(fk, "{'op':'stack','pid':%d,'tid':%d}", pid, pid);
	CHECK(t_has(r, "\"function\":\"main\""), "back in main: %s", r);
	const char *f0 = strstr(r, "\"function\":");
	CHECK(f0 && strncmp(f0, "\"function\":\"main\"", 17) == 0, "frame 0 is main: %s", r);
	free(r);
	kill_it(fk, pid);

	/* stepIn into callee() (debug info), stepIn over getppid() (none) */
	pid = launch_to(fk, "calls", "-", "CALL_CALLEE");
	r = step(fk, pid, LINE_INTO);
	CHECK(line_of(fk, pid, r) == t_marker(fixture_src, "CALLEE_FIRST"), "stepIn: %s", r);
	free(r);
	r = step(fk, pid, OUT);
	free(r);
	for (int i = 0; i < 3; i++) {
		r = step(fk, pid, LINE);
		int line = line_of(fk, pid, r);
		free(r);
		if (line == t_marker(fixture_src, "CALL_LIBC"))
			break;
	}
	r = step(fk, pid, LINE_INTO);
	CHECK(line_of(fk, pid, r) == t_marker(fixture_src, "AFTER_LIBC"), "stepIn over getppid: %s", r);
	free(r);
	kill_it(fk, pid);

	/* fk_cancel during a next that does not end */
	pid = launch_to(fk, "forever", "-", "BEFORE_FOREVER");
	free(step(fk, pid, LINE));
	int64_t id = t_submit(fk, "{'op':'step','pid':%d,'tid':%d,'line':true}", pid, pid);
	usleep(300000);
	fk_cancel(fk);
	r = t_result(fk, id);
	CHECK(t_has(r, "\"reason\":\"paused\""), "cancelled: %s", r);
	free(r);
	r = t_req(fk, "{'op':'threads','pid':%d}", pid);
	CHECK(t_count(r, "\"tid\":") == 9, "all 9 threads still there: %s", r);
	free(r);
	kill_it(fk, pid);

	fk_close(fk);
	printf("test_step: ok\n");
	return 0;
}
