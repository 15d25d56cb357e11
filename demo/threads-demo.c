/*
 * threads-demo: a multithreaded program to try Forkall on.
 *
 * Seven named threads, each in a different state, plus main:
 *   spinner   busy loop in user code (state R)
 *   sleeper   nanosleep() loop
 *   locked    blocked in pthread_mutex_lock() on a mutex main holds (futex)
 *   waiter    blocked in pthread_cond_wait() (futex)
 *   reader    blocked in read() on a pipe nobody writes
 *   poller    poll() with a timeout, in a loop
 *   deep      recursed until ~85% of its 64 KiB stack is used, then sleeps:
 *             the LWP view flags it "near overflow"
 *
 * main starts them, waits until each is where it should be, then calls
 * all_ready() once (the line marked #BP is a good breakpoint), and ticks
 * forever. Build: gcc -g -O0 -pthread -o build/threads-demo threads-demo.c
 * (or the "build threads-demo" task, or `npm start`).
 *
 * `threads-demo fork` (launch configuration "Forkall: threads-demo (fork
 * deadlock)"): the classic fork deadlock instead. A "logger" thread holds
 * log_lock most of the time (in write_log()), "sleeper" and "poller" run
 * as above; main forks while logger holds the lock. The child has only
 * main's copy: it calls log_line(), which locks log_lock, whose owner is a
 * thread the child does not have, so it waits forever. In the child's
 * session the Call Stack lists the three dead threads and the session
 * stops with reason "deadlock"; Forkall: Recreate Dead Threads brings them
 * back, logger unlocks, and the child logs and exits 0. The parent prints
 * the child's status and exits.
 *
 * `threads-demo rounds` (launch configuration "Forkall: threads-demo
 * (checkpoints)", "autoCheckpoint": 3): "spinner", "sleeper" and "poller"
 * run as above while main plays rounds: round n adds n * 10 to `total` and
 * calls round_done(n) (the line marked #ROUND is the breakpoint). Continue
 * a few rounds, then Step Back: each press returns to the stop before,
 * with `round_no` and `total` as they were there, every thread included.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NTHREADS 7
#define DEEP_STACK (64 * 1024)
#define DEEP_TARGET_PERCENT 85

static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cv_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static int pipe_fds[2];
static volatile int ready;
static volatile unsigned long spins, ticks;
static volatile int deepest;

static void announce(const char *name)
{
	pthread_setname_np(pthread_self(), name);
	__atomic_add_fetch(&ready, 1, __ATOMIC_SEQ_CST);
}

static void *spinner(void *arg)
{
	(void)arg;
	announce("spinner");
	for (;;)
		spins++;
	return NULL;
}

static void *sleeper(void *arg)
{
	(void)arg;
	announce("sleeper");
	for (;;) {
		struct timespec ts = { 1, 0 };
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void *locked(void *arg)
{
	(void)arg;
	announce("locked");
	pthread_mutex_lock(&held); /* main never unlocks it */
	pthread_mutex_unlock(&held);
	return NULL;
}

static void *waiter(void *arg)
{
	(void)arg;
	announce("waiter");
	pthread_mutex_lock(&cv_lock);
	for (;;)
		pthread_cond_wait(&never, &cv_lock);
	return NULL;
}

static void *reader(void *arg)
{
	(void)arg;
	char c;
	announce("reader");
	while (read(pipe_fds[0], &c, 1) > 0)
		;
	return NULL;
}

static void *poller(void *arg)
{
	(void)arg;
	announce("poller");
	for (;;)
		poll(NULL, 0, 500);
	return NULL;
}

static uintptr_t deep_top;

/* Where "deep" waits, with most of its stack in use. */
__attribute__((noinline)) static void park(void)
{
	announce("deep");
	while (!ticks || ticks) {
		struct timespec ts = { 1, 0 };
		nanosleep(&ts, NULL); /* parked near the bottom of its stack */
	}
}

/* Each level keeps 1 KiB live on the stack, until DEEP_TARGET_PERCENT is used. */
__attribute__((noinline)) static int recurse(int depth)
{
	volatile char frame[1024];
	frame[0] = (char)depth;
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	if (deep_top - sp >= (uintptr_t)DEEP_STACK * DEEP_TARGET_PERCENT / 100) {
		deepest = depth;
		park();
		return depth;
	}
	return recurse(depth + 1) + frame[0];
}

static void *deep(void *arg)
{
	(void)arg;
	pthread_attr_t a;
	void *base;
	size_t size;
	pthread_getattr_np(pthread_self(), &a);
	pthread_attr_getstack(&a, &base, &size);
	pthread_attr_destroy(&a);
	deep_top = (uintptr_t)base + size;
	recurse(0);
	return NULL;
}

/* Called once, when every thread is where it should be. */
__attribute__((noinline)) static void all_ready(int n)
{
	printf("threads-demo: pid %d, %d threads ready (deep recursion %d levels)\n", (int)getpid(), n + 1, deepest); // #BP
	fflush(stdout);
}

/* ---- fork mode: the classic fork deadlock ---- */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile int logging;
static volatile unsigned long log_lines;

/* Called with log_lock held: "writes" a line slowly (the lock is held ~98% of the time). */
__attribute__((noinline)) static void write_log(unsigned long n)
{
	logging = 1;
	log_lines = n;
	usleep(50 * 1000); // #LOGGING
	logging = 0;
}

static void *logger(void *arg)
{
	(void)arg;
	announce("logger");
	for (unsigned long n = 0;; n++) {
		pthread_mutex_lock(&log_lock);
		write_log(n);
		pthread_mutex_unlock(&log_lock);
		usleep(1000);
	}
	return NULL;
}

/* What the child does first: log a line, under log_lock. */
__attribute__((noinline)) static void log_line(const char *msg)
{
	pthread_mutex_lock(&log_lock); // #CHILD_LOCK
	printf("threads-demo child %d: %s (after %lu log lines)\n", (int)getpid(), msg, log_lines);
	fflush(stdout);
	pthread_mutex_unlock(&log_lock);
}

static int fork_mode(void)
{
	void *(*fns[])(void *) = { logger, sleeper, poller };
	for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, fns[i], NULL) != 0) {
			perror("pthread_create");
			return 1;
		}
	}
	/* fork while logger is inside write_log(), holding log_lock */
	while (__atomic_load_n(&ready, __ATOMIC_SEQ_CST) < 3 || !logging)
		usleep(1000);
	printf("threads-demo: pid %d forks while logger holds log_lock\n", (int)getpid());
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		log_line("hello from the child");
		_exit(0);
	}
	int st = 0;
	if (c < 0 || waitpid(c, &st, 0) != c) {
		perror("fork/waitpid");
		return 2;
	}
	if (WIFEXITED(st))
		printf("threads-demo: child exited %d\n", WEXITSTATUS(st));
	else
		printf("threads-demo: child killed by signal %d\n", WTERMSIG(st));
	return 0;
}

/* ---- rounds mode: checkpoints and Step Back ---- */

static volatile long total;

__attribute__((noinline)) static void round_done(int round_no)
{
	printf("threads-demo: round %d, total %ld\n", round_no, total); // #ROUND
	fflush(stdout);
}

static int rounds_mode(void)
{
	void *(*fns[])(void *) = { spinner, sleeper, poller };
	for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, fns[i], NULL) != 0) {
			perror("pthread_create");
			return 1;
		}
	}
	while (__atomic_load_n(&ready, __ATOMIC_SEQ_CST) < 3)
		usleep(1000);
	for (int round_no = 1; round_no <= 1000; round_no++) {
		total += round_no * 10;
		round_done(round_no);
		usleep(100000);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "fork") == 0)
		return fork_mode();
	if (argc > 1 && strcmp(argv[1], "rounds") == 0)
		return rounds_mode();

	void *(*fns[NTHREADS])(void *) = { spinner, sleeper, locked, waiter, reader, poller, deep };
	pthread_t t[NTHREADS];
	if (pipe(pipe_fds) != 0) {
		perror("pipe");
		return 1;
	}
	pthread_mutex_lock(&held);
	for (int i = 0; i < NTHREADS; i++) {
		pthread_attr_t a;
		pthread_attr_init(&a);
		if (fns[i] == deep)
			pthread_attr_setstacksize(&a, DEEP_STACK);
		if (pthread_create(&t[i], &a, fns[i], NULL) != 0) {
			perror("pthread_create");
			return 1;
		}
		pthread_attr_destroy(&a);
	}
	while (__atomic_load_n(&ready, __ATOMIC_SEQ_CST) < NTHREADS)
		usleep(1000);
	usleep(50000); /* let the blocking threads reach their system calls */
	all_ready(NTHREADS);
	for (;;) {
		ticks++;
		usleep(100000);
	}
	return 0;
}
