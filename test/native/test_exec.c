/* Running a program under the tracer: launch (stdout reaches us, exec
 * stop), breakpoints (hit reported, pc rewound, stepped over on resume,
 * bytes gone after removal), single steps, register writes, kill; and the
 * launch errors. */
#include "support.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "debuginfo/elfsym.h"
#include "base/mem.h"
#include "base/procfs.h"

static char *launch(fk_tracer *fk, const char *path, const char *arg)
{
	return t_req(fk, "{'op':'launch','path':'%s','cwd':'/','argv':['%s','%s'],'env':['FORKALL_TEST=1']}", path,
		     path, arg);
}

int main(void)
{
	const char *fx = getenv("FK_FIXTURES");
	if (!fx) {
		printf("test_exec: skipped (FK_FIXTURES not set; run through make check)\n");
		return 77;
	}
	char prog[512];
	snprintf(prog, sizeof prog, "%s/threads", fx);
	char err[256];
	fk_tracer *fk = fk_open(err, sizeof err);
	CHECK(fk != NULL, "fk_open: %s", err);

	/* bad launches */
	char *r = launch(fk, "/nonexistent/prog", "x");
	CHECK(t_has(r, "program not found: /nonexistent/prog"), "%s", r);
	free(r);
	r = launch(fk, "/etc/hostname", "x");
	CHECK(t_has(r, "not executable") || t_has(r, "cannot start"), "%s", r);
	free(r);

	/* launch: stopped at exec, output reaches the pipe */
	r = launch(fk, prog, "2");
	CHECK(t_has(r, "\"ok\":true"), "%s", r);
	pid_t pid = (pid_t)t_num(r, "\"pid\":");
	int outfd = (int)t_num(r, "\"stdoutFd\":");
	CHECK(pid > 0 && outfd > 0, "%s", r);
	free(r);
	struct proc_task_stat st;
	CHECK(proc_task_stat(pid, pid, &st) == 0 && st.state == 't', "launched program is stopped at its exec");
	r = t_req(fk, "{'op':'resume','pid':%d}", pid);
	CHECK(t_has(r, "\"ok\":true"), "%s", r);
	free(r);
	char out[4096] = "";
	ssize_t got = 0;
	for (int i = 0; i < 50 && !strstr(out, "READY"); i++) {
		ssize_t k = read(outfd, out + got, sizeof out - 1 - (size_t)got);
		if (k > 0)
			out[got += k] = 0;
	}
	CHECK(strstr(out, "READY") != NULL, "program output through the pipe: %s", out);

	/* a breakpoint on a function the ticker calls */
	r = t_req(fk, "{'op':'stop','pid':%d}", pid);
	CHECK(t_has(r, "\"ok\":true"), "%s", r);
	free(r);
	struct vma_list maps;
	CHECK(proc_maps_read(pid, &maps) == 0, "maps");
	struct elfsyms *syms = elfsyms_new(pid, &maps);
	uint64_t addr = 0;
	CHECK(elfsyms_lookup(syms, "libc.so", "clock_nanosleep", &addr) == 0, "clock_nanosleep in libc");
	uint8_t before;
	CHECK(mem_read_exact(pid, addr, &before, 1) == 0, "read code");
	r = t_req(fk, "{'op':'bpInsert','pid':%d,'addr':'0x%llx'}", pid, (unsigned long long)addr);
	CHECK(t_has(r, "\"ok\":true"), "bpInsert: %s", r);
	free(r);
	char *ev;
	r = t_req(fk, "{'op':'resume','pid':%d}", pid);
	free(r);
	ev = t_wait_message(fk, "\"reason\":\"breakpoint\"", 100);
	CHECK(ev != NULL, "no breakpoint hit reported");
	pid_t tid = (pid_t)t_num(ev, "\"tid\":");
	char want[64];
	snprintf(want, sizeof want, "\"addr\":\"0x%llx\"", (unsigned long long)addr);
	CHECK(t_has(ev, want), "hit at the breakpoint: %s", ev);
	free(ev);
	/* all-stop: wait until the others are stopped too */
	r = t_req(fk, "{'op':'stop','pid':%d}", pid);
	free(r);
	/* the call stack through libc, symbolized */
	r = t_req(fk, "{'op':'stack','pid':%d,'tid':%d}", pid, tid);
	CHECK(t_has(r, "\"ok\":true") && t_has(r, "\"function\":\"clock_nanosleep") && t_count(r, "\"pc\":") >= 3,
	      "stack at the breakpoint: %s", r);
	free(r);
	r = t_req(fk, "{'op':'stack','pid':%d,'tid':%d}", pid, 0); /* tid 0: top frame of every thread */
	CHECK(t_has(r, "\"ok\":true") && t_count(r, "\"tid\":") >= 3 && t_has(r, "\"function\":\"clock_nanosleep"),
	      "top frames of all threads: %s", r);
	free(r);
	{
		t_submit(fk, "{'op':'symbols','pid':%d,'function':'main'}", pid);
		r = t_req(fk, "{'op':'ping'}"); /* results arrive in order */
		free(r);
	}
	/* a single step from the breakpoint moves pc past it */
	r = t_req(fk, "{'op':'step','pid':%d,'tid':%d}", pid, tid);
	CHECK(t_has(r, "\"ok\":true"), "%s", r);
	CHECK(t_num(r, "\"pc\":\"") != -1, "%s", r);
	free(r);
	r = t_req(fk, "{'op':'regs','pid':%d,'tid':%d}", pid, tid);
	const char *rip = strstr(r, "\"rip\":\"");
	uint64_t pc = rip ? strtoull(rip + 7, NULL, 16) : 0;
	CHECK(pc > addr && pc < addr + 16, "stepped one instruction: pc 0x%llx, bp 0x%llx", (unsigned long long)pc,
	      (unsigned long long)addr);
	free(r);
	/* register write */
	r = t_req(fk, "{'op':'setRegs','pid':%d,'tid':%d,'regs':{'r12':'0x1234'}}", pid, tid);
	CHECK(t_has(r, "\"ok\":true") && t_has(r, "\"r12\":\"0x1234\""), "setRegs: %s", r);
	free(r);
	r = t_req(fk, "{'op':'regs','pid':%d,'tid':%d}", pid, tid);
	CHECK(t_has(r, "\"r12\":\"0x1234\""), "%s", r);
	free(r);
	/* resume, then remove: the original byte is back */
	r = t_req(fk, "{'op':'resume','pid':%d}", pid);
	free(r);
	ev = t_wait_message(fk, "\"reason\":\"breakpoint\"", 100);
	CHECK(ev != NULL, "breakpoint hit again after resume (stepped over, still armed)");
	free(ev);
	r = t_req(fk, "{'op':'stop','pid':%d}", pid);
	free(r);
	r = t_req(fk, "{'op':'bpRemove','pid':%d,'addr':'0x%llx'}", pid, (unsigned long long)addr);
	CHECK(t_has(r, "\"ok\":true"), "bpRemove: %s", r);
	free(r);
	r = t_req(fk, "{'op':'ping'}");
	free(r);
	uint8_t after;
	CHECK(mem_read_exact(pid, addr, &after, 1) == 0 && after == before, "original byte restored");
	elfsyms_free(syms);
	proc_maps_free(&maps);

	/* kill: the exited event comes */
	r = t_req(fk, "{'op':'kill','pid':%d}", pid);
	CHECK(t_has(r, "\"ok\":true"), "%s", r);
	free(r);
	close(outfd);
	CHECK(access("/proc/self", F_OK) == 0 && !proc_task_exists(pid, pid), "killed program is gone");
	fk_close(fk);
	printf("test_exec: ok\n");
	return 0;
}
