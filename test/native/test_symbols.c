/* symbols.c against a real process: test/fixtures/stacks (threads blocked
 * inside glibc below named functions, a 50-deep recursion). The test
 * itself seizes and interrupts the threads (it is single-threaded, so it
 * may ptrace), reads their registers, and checks sym_unwind, sym_describe
 * and the lookups; then the same with FORKALL_NO_LIBDW=1 (frame pointers
 * and ELF symbols); then times the unwinding of a 64-thread process.
 * Source lines are found by their "#MARK name" comments in stacks.c. */
#include "support.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arch/arch.h"
#include "base/procfs.h"
#include "debuginfo/symbols.h"

#define MAX_FRAMES 256
#define MAX_THREADS 128

static char fixture_bin[4096], fixture_src[4096];
static bool verbose; /* FK_VERBOSE=1: print the stacks (always on a failure) */
static pid_t fixture_pid;

struct target {
	pid_t pid;
	int n;
	pid_t tid[MAX_THREADS];
	char role[MAX_THREADS][16];
	fk_gregs regs[MAX_THREADS];
	bool seized[MAX_THREADS];
};

static void kill_fixture(void)
{
	if (fixture_pid > 0) {
		kill(fixture_pid, SIGKILL);
		/* threads we still trace report their exit to us: reap them all */
		for (;;) {
			pid_t w = waitpid(-1, NULL, __WALL);
			if (w == fixture_pid || (w < 0 && errno != EINTR))
				break;
		}
		fixture_pid = 0;
	}
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Line of the "#MARK name" comment in stacks.c (CodeLLDB's findMarker). */
static int marker(const char *name)
{
	FILE *f = fopen(fixture_src, "r");
	CHECK(f != NULL, "open %s: %s", fixture_src, strerror(errno));
	char buf[512];
	size_t nl = strlen(name);
	for (int line = 1; fgets(buf, sizeof buf, f); line++) {
		const char *m = strstr(buf, "#MARK ");
		if (m && strncmp(m + 6, name, nl) == 0 && (m[6 + nl] == '\n' || m[6 + nl] == ' ' || !m[6 + nl])) {
			fclose(f);
			return line;
		}
	}
	fclose(f);
	CHECK(0, "no #MARK %s in %s", name, fixture_src);
	return 0;
}

/* Start the fixture; read its JSON line (tids and roles) and READY. */
static void spawn(struct target *t, int extra)
{
	int p[2];
	CHECK(pipe(p) == 0, "pipe");
	pid_t pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		char n[16];
		snprintf(n, sizeof n, "%d", extra);
		execl(fixture_bin, fixture_bin, "--extra", n, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	fixture_pid = pid;
	memset(t, 0, sizeof *t);
	t->pid = pid;
	FILE *f = fdopen(p[0], "r");
	CHECK(f != NULL, "fdopen");
	static char line[65536];
	bool ready = false;
	while (!ready && fgets(line, sizeof line, f)) {
		if (strncmp(line, "READY", 5) == 0) {
			ready = true;
		} else if (strncmp(line, "{\"pid\":", 7) == 0) {
			for (const char *q = line; (q = strstr(q, "{\"tid\":")) != NULL && t->n < MAX_THREADS; q++) {
				int tid;
				char role[16];
				CHECK(sscanf(q, "{\"tid\":%d,\"role\":\"%15[^\"]\"}", &tid, role) == 2, "%s", q);
				t->tid[t->n] = tid;
				snprintf(t->role[t->n], sizeof t->role[t->n], "%s", role);
				t->n++;
			}
		}
	}
	fclose(f);
	CHECK(ready && t->n == 7 + extra, "fixture did not start: %d threads", t->n);
	/* wait until every thread sleeps in its blocking call */
	for (int tries = 0; tries < 400; tries++) {
		int sleeping = 0;
		for (int i = 0; i < t->n; i++) {
			struct proc_task_stat st;
			if (proc_task_stat(pid, t->tid[i], &st) == 0 && st.state == 'S')
				sleeping++;
		}
		if (sleeping == t->n)
			break;
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	nanosleep(&ts, NULL);
}

static void stop_all(struct target *t)
{
	for (int i = 0; i < t->n; i++) {
		CHECK(ptrace(PTRACE_SEIZE, t->tid[i], 0, 0) == 0, "seize %d: %s", t->tid[i], strerror(errno));
		t->seized[i] = true;
		CHECK(ptrace(PTRACE_INTERRUPT, t->tid[i], 0, 0) == 0, "interrupt %d: %s", t->tid[i], strerror(errno));
	}
	for (int i = 0; i < t->n; i++) {
		int st;
		CHECK(waitpid(t->tid[i], &st, __WALL) == t->tid[i] && WIFSTOPPED(st), "wait %d", t->tid[i]);
		CHECK(arch_get_gregs(t->tid[i], &t->regs[i]) == 0, "getregs %d", t->tid[i]);
	}
}

static void detach_all(struct target *t)
{
	for (int i = 0; i < t->n; i++)
		if (t->seized[i])
			CHECK(ptrace(PTRACE_DETACH, t->tid[i], 0, 0) == 0, "detach %d: %s", t->tid[i], strerror(errno));
}

static int find_role(const struct target *t, const char *role)
{
	for (int i = 0; i < t->n; i++)
		if (strcmp(t->role[i], role) == 0)
			return i;
	CHECK(0, "no %s thread", role);
	return -1;
}

struct stack {
	int n;
	struct sym_frame f[MAX_FRAMES];
	struct sym_info info[MAX_FRAMES];
};

static void unwind(struct fk_symbols *s, const struct target *t, int i, struct stack *st)
{
	struct fk_err err = { 0 };
	st->n = sym_unwind(s, t->tid[i], &t->regs[i], st->f, MAX_FRAMES, &err);
	CHECK(st->n >= 1, "unwind %d: %s", t->tid[i], err.msg);
	CHECK(st->f[0].pc == arch_pc(&t->regs[i]) && st->f[0].activation, "frame 0 is the pc");
	for (int k = 0; k < st->n; k++)
		sym_describe(s, st->f[k].pc, !st->f[k].activation, &st->info[k]);
}

static void print_stack_always(const char *what, const struct stack *st)
{
	fprintf(stderr, "  %s:\n", what);
	for (int k = 0; k < st->n; k++) {
		const struct sym_info *in = &st->info[k];
		const char *mod = strrchr(in->module, '/');
		fprintf(stderr, "    #%-3d 0x%012llx sp=0x%llx %s+%llu (%s)", k, (unsigned long long)st->f[k].pc,
			(unsigned long long)st->f[k].sp, in->has_function ? in->function : "??",
			(unsigned long long)in->offset, mod ? mod + 1 : in->module);
		if (in->has_line) {
			const char *file = strrchr(in->file, '/');
			fprintf(stderr, " %s:%d:%d", file ? file + 1 : in->file, in->line, in->column);
		}
		fprintf(stderr, "\n");
		if (k == 12 && st->n > 20) {
			fprintf(stderr, "    … %d more\n", st->n - 13);
			break;
		}
	}
}

static void print_stack(const char *what, const struct stack *st)
{
	if (verbose)
		print_stack_always(what, st);
}

/* The names appear in this order (not necessarily adjacent). "~x" matches
 * any function containing x. Returns the frame index of each. */
static void expect_order(const struct stack *st, const char *what, const char *const *names, int *at)
{
	int k = 0;
	for (int j = 0; names[j]; j++) {
		bool sub = names[j][0] == '~';
		const char *want = names[j] + sub;
		for (; k < st->n; k++) {
			const char *fn = st->info[k].function;
			if (sub ? strstr(fn, want) != NULL : strcmp(fn, want) == 0)
				break;
		}
		if (k == st->n)
			print_stack_always(what, st);
		CHECK(k < st->n, "%s: no frame %s (in order)", what, names[j]);
		if (at)
			at[j] = k;
		k++;
	}
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void test_libdw(void)
{
	struct target t;
	spawn(&t, 0);
	stop_all(&t);
	struct fk_symbols *s = sym_open(t.pid);
	CHECK(s != NULL, "sym_open");
	if (strcmp(sym_unwinder(s), "libdw") != 0) {
		fprintf(stderr, "SKIP libdw checks: %s\n", sym_note(s) ? sym_note(s) : "?");
		sym_close(s);
		detach_all(&t);
		kill_fixture();
		return;
	}
	CHECK(sym_note(s) == NULL, "note with libdw: %s", sym_note(s));
	/* glibc's internal names (start_thread) need its .symtab: libc6-dbg */
	uint64_t a[8];
	bool libc_syms = sym_lookup_function(s, "start_thread", a, 8) > 0;
	if (!libc_syms)
		fprintf(stderr, "note: no libc debug symbols (libc6-dbg): start_thread not checked\n");
	static struct stack st;

	/* sleeper: through glibc's nanosleep (CFI, no frame pointer) */
	int i = find_role(&t, "sleeper");
	unwind(s, &t, i, &st);
	print_stack("sleeper", &st);
	const char *sleeper[] = { "~nanosleep",
				  "sleeper_level3",
				  "sleeper_level2",
				  "sleeper_level1",
				  "sleeper_thread",
				  libc_syms ? "start_thread" : NULL,
				  NULL };
	int at[8];
	expect_order(&st, "sleeper", sleeper, at);
	CHECK(at[0] <= 2, "nanosleep is near the top: frame %d", at[0]);
	CHECK(at[2] == at[1] + 1 && at[3] == at[2] + 1 && at[4] == at[3] + 1, "level3..1, thread adjacent");
	const struct sym_info *l3 = &st.info[at[1]];
	CHECK(l3->has_line && l3->line == marker("sleep_call") && ends_with(l3->file, "/stacks.c"),
	      "sleeper_level3 at the nanosleep call: %s:%d", l3->file, l3->line);
	CHECK(ends_with(l3->module, "/stacks"), "module %s", l3->module);
	CHECK(st.n <= at[4] + 4, "stops after start_thread/clone3: %d frames", st.n);
	for (int k = 1; k < st.n; k++)
		CHECK(st.f[k].sp > st.f[k - 1].sp, "sp grows to the callers: frame %d", k);

	/* waiter: pthread_cond_wait */
	i = find_role(&t, "waiter");
	unwind(s, &t, i, &st);
	print_stack("waiter", &st);
	const char *waiter[] = { "~pthread_cond_wait", "waiter_level2", "waiter_level1", "waiter_thread", NULL };
	expect_order(&st, "waiter", waiter, at);
	CHECK(st.info[at[1]].line == marker("cond_wait"), "waiter_level2 line %d", st.info[at[1]].line);

	/* reader: read(2) */
	i = find_role(&t, "reader");
	unwind(s, &t, i, &st);
	print_stack("reader", &st);
	const char *reader[] = { "~read", "reader_level2", "reader_level1", "reader_thread", NULL };
	expect_order(&st, "reader", reader, at);
	CHECK(st.info[at[1]].line == marker("read_call"), "reader_level2 line %d", st.info[at[1]].line);

	/* recursion: recurse_bottom below 51 frames of recurse */
	i = find_role(&t, "recurser");
	unwind(s, &t, i, &st);
	print_stack("recurser", &st);
	const char *recurser[] = { "~nanosleep", "recurse_bottom", "recurse", NULL };
	expect_order(&st, "recurser", recurser, at);
	int nrec = 0, recurse_call = marker("recurse_call");
	for (int k = at[2]; k < st.n && strcmp(st.info[k].function, "recurse") == 0; k++, nrec++)
		if (k > at[2])
			CHECK(st.info[k].line == recurse_call, "recurse frame %d line %d", k, st.info[k].line);
	CHECK(nrec >= 50, "%d frames of recurse", nrec);
	CHECK(strcmp(st.info[at[2] + nrec].function, "recurser_thread") == 0, "after recurse: %s",
	      st.info[at[2] + nrec].function);

	/* fpchain: pc inside fp_level3 (raw syscall) */
	i = find_role(&t, "fpchain");
	unwind(s, &t, i, &st);
	print_stack("fpchain", &st);
	const char *fpchain[] = { "fp_level3", "fp_level2", "fp_level1", "fp_thread", NULL };
	expect_order(&st, "fpchain", fpchain, at);
	CHECK(at[0] == 0 && at[3] == 3, "fpchain frames 0..3");

	/* altsig: through the signal frame, from the alternate stack back to
	 * the thread's stack */
	i = find_role(&t, "altsig");
	unwind(s, &t, i, &st);
	print_stack("altsig", &st);
	const char *altsig[] = {
		"~nanosleep", "altsig_handler", "__restore_rt", "altsig_level1", "altsig_thread", NULL
	};
	expect_order(&st, "altsig", altsig, at);
	CHECK(st.info[at[1]].line == marker("altsig_sleep"), "altsig_handler line %d", st.info[at[1]].line);
	CHECK(st.info[at[3]].line == marker("altsig_raise"), "altsig_level1 line %d", st.info[at[3]].line);
	CHECK(st.f[at[2] + 1].activation, "the frame interrupted by the signal is an activation");

	/* main: pause <- main_wait <- main <- libc start */
	i = find_role(&t, "main");
	unwind(s, &t, i, &st);
	print_stack("main", &st);
	const char *mainst[] = { "~pause", "main_wait", "main", NULL };
	expect_order(&st, "main", mainst, at);
	CHECK(st.info[at[1]].line == marker("main_pause"), "main_wait line %d", st.info[at[1]].line);
	CHECK(st.n <= at[2] + 4, "stops at _start: %d frames", st.n);

	/* function lookup: after the prologue, on the body's first line */
	int n = sym_lookup_function(s, "sleeper_level2", a, 8);
	CHECK(n == 1, "sleeper_level2: %d addresses", n);
	struct sym_info in;
	CHECK(sym_describe(s, a[0], false, &in) == 0, "describe");
	CHECK(strcmp(in.function, "sleeper_level2") == 0 && in.offset > 0, "%s+%llu", in.function,
	      (unsigned long long)in.offset);
	CHECK(in.has_line && in.line == marker("level2_body"), "sleeper_level2 breakpoint line %d", in.line);
	CHECK(sym_lookup_function(s, "no_such_function_here", a, 8) == 0, "unknown function");
	n = sym_lookup_function(s, "nanosleep", a, 8);
	CHECK(n >= 1 && sym_describe(s, a[0], false, &in) == 0 && strstr(in.module, "libc.so"),
	      "nanosleep in libc: %d %s", n, in.module);

	/* line lookup */
	int mark = marker("sleep_call"), actual = -1;
	const char *names[] = { "stacks.c", "fixtures/stacks.c", fixture_src, NULL };
	char abs[4096];
	if (realpath(fixture_src, abs))
		names[2] = abs;
	for (int k = 0; names[k]; k++) {
		double t0 = now_ms();
		n = sym_lookup_line(s, names[k], mark, a, 8, &actual);
		if (k == 0 || verbose)
			fprintf(stderr, "timing sym_lookup_line(%s:%d): %.1f ms\n", names[k], mark, now_ms() - t0);
		CHECK(n == 1 && actual == mark, "%s:%d -> %d addresses, line %d", names[k], mark, n, actual);
		CHECK(sym_describe(s, a[0], false, &in) == 0 && in.line == mark &&
			      strcmp(in.function, "sleeper_level3") == 0,
		      "%s:%d -> %s:%d", names[k], mark, in.function, in.line);
	}
	CHECK(sym_lookup_line(s, "tacks.c", mark, a, 8, &actual) == 0 && actual == 0, "suffix at a '/' only");
	CHECK(sym_lookup_line(s, "stacks.c", 100000, a, 8, &actual) == 0, "past the end");
	/* a line without code moves forward to the next line with code */
	n = sym_lookup_line(s, "stacks.c", 3, a, 8, &actual);
	CHECK(n >= 1 && actual > 3, "comment line: %d addresses, line %d", n, actual);
	CHECK(sym_describe(s, a[0], false, &in) == 0 && in.line == actual, "-> line %d", in.line);

	/* sym_refresh keeps working */
	sym_refresh(s);
	i = find_role(&t, "sleeper");
	unwind(s, &t, i, &st);
	expect_order(&st, "sleeper after refresh", sleeper, NULL);

	sym_close(s);
	detach_all(&t);
	CHECK(t_all_running_untraced(t.pid), "left traced");
	kill_fixture();
}

static void test_frame_pointer(void)
{
	struct target t;
	spawn(&t, 0);
	stop_all(&t);
	setenv("FORKALL_NO_LIBDW", "1", 1);
	struct fk_symbols *s = sym_open(t.pid);
	unsetenv("FORKALL_NO_LIBDW");
	CHECK(s != NULL, "sym_open");
	CHECK(strcmp(sym_unwinder(s), "frame-pointer") == 0, "%s", sym_unwinder(s));
	CHECK(sym_note(s) && strstr(sym_note(s), "FORKALL_NO_LIBDW"), "note: %s", sym_note(s));
	static struct stack st;
	for (int i = 0; i < t.n; i++) {
		unwind(s, &t, i, &st);
		CHECK(st.info[0].module[0] && st.info[0].has_function, "frame 0 of %s named: %s", t.role[i],
		      st.info[0].function);
		for (int k = 0; k < st.n; k++)
			CHECK(!st.info[k].has_line, "no lines without libdw");
		if (strcmp(t.role[i], "sleeper") == 0)
			print_stack("sleeper (frame pointers)", &st);
		if (strcmp(t.role[i], "fpchain") == 0) {
			print_stack("fpchain (frame pointers)", &st);
			int at[4];
			expect_order(&st, "fpchain (frame pointers)",
				     (const char *const[]){ "fp_level3", "fp_level2", "fp_level1", "fp_thread", NULL },
				     at);
			CHECK(at[0] == 0 && at[3] == 3, "the frame-pointer chain, frames 0..3");
			CHECK(st.n <= 6, "the walk stops in glibc (no frame pointers): %d frames", st.n);
			for (int k = 1; k < st.n; k++)
				CHECK(!st.f[k].activation && st.f[k].sp > st.f[k - 1].sp, "frame %d", k);
		}
	}
	uint64_t a[8];
	int actual = -1;
	CHECK(sym_lookup_line(s, "stacks.c", marker("sleep_call"), a, 8, &actual) == 0 && actual == 0,
	      "no line lookups");
	int n = sym_lookup_function(s, "sleeper_level2", a, 8);
	struct sym_info in;
	CHECK(n == 1 && sym_describe(s, a[0], false, &in) == 0 && strcmp(in.function, "sleeper_level2") == 0 &&
		      in.offset == 0,
	      "sleeper_level2 from .symtab: %d %s+%llu", n, in.function, (unsigned long long)in.offset);
	sym_close(s);
	detach_all(&t);
	kill_fixture();
}

static void test_timing(void)
{
	struct target t;
	spawn(&t, 57); /* main + 6 + 57 = 64 threads */
	CHECK(t.n == 64, "%d threads", t.n);
	stop_all(&t);
	static struct stack st;
	for (int mode = 0; mode < 2; mode++) {
		if (mode == 1)
			setenv("FORKALL_NO_LIBDW", "1", 1);
		double t0 = now_ms();
		struct fk_symbols *s = sym_open(t.pid);
		unsetenv("FORKALL_NO_LIBDW");
		double t1 = now_ms();
		long frames = 0;
		double pass[2];
		for (int p = 0; p < 2; p++) {
			double u0 = now_ms();
			for (int i = 0; i < t.n; i++) {
				struct fk_err err = { 0 };
				st.n = sym_unwind(s, t.tid[i], &t.regs[i], st.f, MAX_FRAMES, &err);
				CHECK(st.n >= 1, "unwind");
				frames += st.n;
			}
			pass[p] = now_ms() - u0;
		}
		/* unwind + symbolize every frame: the first pass loads debuginfo */
		double desc[2];
		for (int p = 0; p < 2; p++) {
			double d0 = now_ms();
			for (int i = 0; i < t.n; i++) {
				unwind(s, &t, i, &st);
				if (mode == 0 && strcmp(t.role[i], "sleeper") == 0)
					expect_order(&st, "extra sleeper",
						     (const char *const[]){ "sleeper_level1", NULL }, NULL);
			}
			desc[p] = now_ms() - d0;
		}
		fprintf(stderr,
			"timing %s, 64 threads (%ld frames/pass): sym_open %.2f ms; unwind: first pass %.1f "
			"us/thread, then %.1f us/thread; unwind+describe: first pass %.1f us/thread, then %.1f "
			"us/thread\n",
			sym_unwinder(s), frames / 2, t1 - t0, pass[0] * 1000 / t.n, pass[1] * 1000 / t.n,
			desc[0] * 1000 / t.n, desc[1] * 1000 / t.n);
		sym_close(s);
	}
	detach_all(&t);
	kill_fixture();
}

/* A missing libdw.so.1 degrades with a note (in a child: the library is
 * loaded once per process). */
static void test_no_libdw(void)
{
	pid_t c = fork();
	CHECK(c >= 0, "fork");
	if (c == 0) {
		setenv("FORKALL_LIBDW", "/nonexistent/libdw.so.1", 1);
		struct fk_symbols *s = sym_open(getppid());
		const char *note = s ? sym_note(s) : NULL;
		bool ok = s && strcmp(sym_unwinder(s), "frame-pointer") == 0 && note &&
			  strstr(note, "libdw.so.1 not found: ") && strstr(note, "install libdw1");
		if (!ok)
			fprintf(stderr, "missing libdw: unwinder %s, note %s\n", s ? sym_unwinder(s) : "-",
				note ? note : "(none)");
		fk_gregs regs;
		memset(&regs, 0, sizeof regs);
		struct sym_frame f[4];
		struct fk_err err = { 0 };
		ok = ok && sym_unwind(s, getppid(), &regs, f, 4, &err) == 1;
		sym_close(s);
		_exit(ok ? 0 : 1);
	}
	int st;
	CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0, "missing libdw case");
}

int main(void)
{
	const char *dir = getenv("FK_FIXTURES");
	if (!dir)
		dir = "../test/fixtures/build";
	snprintf(fixture_bin, sizeof fixture_bin, "%s/stacks", dir);
	snprintf(fixture_src, sizeof fixture_src, "%s/../stacks.c", dir);
	if (access(fixture_bin, X_OK) != 0) {
		fprintf(stderr, "fixture %s missing (make fixtures)\n", fixture_bin);
		return 99;
	}
	verbose = getenv("FK_VERBOSE") && strcmp(getenv("FK_VERBOSE"), "0") != 0;
	atexit(kill_fixture);
	alarm(120); /* a hang ends the test; PR_SET_PDEATHSIG then kills the fixture */
	test_no_libdw();
	test_libdw();
	test_frame_pointer();
	test_timing();
	printf("test_symbols: ok\n");
	return 0;
}
