/* Forks that race the target's own clone and execve (issue 9, items 1-2).
 *
 * spawnloop: 4 threads loop pthread_create/pthread_join; a thread stopped
 * at its clone event used to get a system call injected into the middle of
 * its clone (sigaltstack answered -ENOSYS) and its -ENOSYS put back as
 * clone3's result: glibc fell back to clone() and started the thread a
 * second time; the target aborted ("DOUBLE") or crashed.
 *
 * execloop: the main thread re-execs itself every 30 ms beside 3 threads;
 * a fork that overlapped an exec injected into the new image from state of
 * the old one: a 5-10 s hang, then SIGSEGV.
 *
 * Every fork must succeed or fail with a clear reason quickly, and the
 * target must live through all of them. FK_STRESS_FORKS sets the count
 * (default 80 and 40; `npm run stress` runs more). */
#include "support.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t child_of(const char *r)
{
	const char *c = strstr(r, "\"child\":");
	return c ? (pid_t)atoi(c + 8) : 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int count(int dflt, int scale)
{
	const char *s = getenv("FK_STRESS_FORKS");
	int n = s ? atoi(s) : 0;
	return n > 0 ? n * scale / 2 : dflt;
}

/* n forks of pid; returns how many succeeded. Failures are allowed only
 * when their message contains `allowed` (NULL: none). */
static int forks(fk_tracer *fk, pid_t pid, int n, const char *allowed, const char *what)
{
	int ok = 0;
	for (int i = 0; i < n; i++) {
		double t0 = now_s();
		char *r = t_req(fk, "{'op':'fork','pid':%d}", pid);
		double dt = now_s() - t0;
		CHECK(dt < 3.0, "%s: fork %d took %.1f s: %s", what, i, dt, r);
		if (t_has(r, "\"ok\":true")) {
			pid_t c = child_of(r);
			CHECK(c > 0, "%s: %s", what, r);
			CHECK(!t_has(r, "sigaltstack: -"), "%s: fork %d injected into a thread inside clone: %s", what,
			      i, r);
			kill(c, SIGKILL);
			waitpid(c, NULL, __WNOTHREAD);
			ok++;
		} else {
			CHECK(allowed && t_has(r, allowed), "%s: fork %d failed: %s", what, i, r);
		}
		free(r);
		int st = 0;
		CHECK(!t_exited(pid, &st), "%s: the target died after fork %d (status 0x%x: %s %d)", what, i, st,
		      WIFSIGNALED(st) ? "signal" : "exit", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	}
	CHECK(t_all_running_untraced(pid), "%s: target left stopped or traced", what);
	return ok;
}

/* The target killed at any point of a fork (issue 9 item 10): the answer
 * comes at once and says the process exited (it used to wait 5-10 s for an
 * injected call into the dying leader, then blame a timeout). */
static void killed_during_fork(fk_tracer *fk)
{
	pid_t probe = t_spawn_threads(128);
	double t0 = now_s();
	char *r = t_req(fk, "{'op':'fork','pid':%d}", probe);
	double full = now_s() - t0;
	CHECK(t_has(r, "\"ok\":true"), "%s", r);
	kill(child_of(r), SIGKILL);
	waitpid(child_of(r), NULL, __WNOTHREAD);
	free(r);
	kill(probe, SIGKILL);
	waitpid(probe, NULL, __WNOTHREAD);
	int hit = 0, rounds = 24;
	for (int i = 0; i < rounds; i++) {
		pid_t pid = t_spawn_threads(128);
		int64_t id = t_submit(fk, "{'op':'fork','pid':%d}", pid);
		struct timespec ts = { 0, (long)(full * 1e9 * i / rounds) };
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		double t1 = now_s();
		r = t_result(fk, id);
		double dt = now_s() - t1;
		CHECK(dt < 2.0, "killed at %d/%d of a fork: the answer took %.1f s: %s", i, rounds, dt, r);
		if (t_has(r, "\"ok\":true")) {
			kill(child_of(r), SIGKILL);
			waitpid(child_of(r), NULL, __WNOTHREAD);
		} else {
			CHECK(t_has(r, "exited during") || t_has(r, "\"kind\":\"no-such-process\""),
			      "killed at %d/%d of a fork: %s", i, rounds, r);
			hit++;
		}
		free(r);
		waitpid(pid, NULL, __WNOTHREAD);
	}
	printf("test_forkrace: target killed during %d of %d forks (%.1f ms each): each said so at once\n", hit, rounds,
	       full * 1e3);
	CHECK(hit > 0, "no kill landed during a fork");
}

int main(void)
{
	char err[256];
	fk_tracer *fk = fk_open(err, sizeof err);
	CHECK(fk != NULL, "fk_open: %s", err);
	if (getenv("FK_TEST_VERBOSE"))
		fk_set_log_level(fk, 0);

	int n, ok;
	if (!getenv("FK_SKIP_SPAWNLOOP")) {
		static const char *const four[] = { "4", NULL };
		pid_t churn = t_spawn_fixture("spawnloop", four);
		n = count(80, 2);
		ok = forks(fk, churn, n, NULL, "spawnloop");
		printf("test_forkrace: spawnloop: %d/%d forks, target alive\n", ok, n);
	}

	static const char *const ms30[] = { "30", NULL };
	pid_t ex = t_spawn_fixture("execloop", ms30);
	n = count(40, 2);
	ok = forks(fk, ex, n, "execve", "execloop");
	CHECK(ok > n / 2, "execloop: only %d of %d forks succeeded", ok, n);
	printf("test_forkrace: execloop: %d/%d forks, target alive\n", ok, n);

	killed_during_fork(fk);

	fk_close(fk);
	t_kill_children();
	printf("test_forkrace: ok\n");
	return 0;
}
