/* support.h — helpers for the native tests (plain C, run under ASan too).
 * Exit codes follow Automake: 0 pass, 1 fail, 77 skip, 99 harness error. */
#ifndef FK_TEST_SUPPORT_H
#define FK_TEST_SUPPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "forkall.h"

#define CHECK(cond, ...)                                                                         \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                                            \
			fprintf(stderr, "\n");                                                   \
			t_fail();                                                                \
		}                                                                                \
	} while (0)

/* Kill every child started with t_spawn_threads and exit 1. */
void t_fail(void) __attribute__((noreturn));

/* Fork a child that starts n threads blocked in nanosleep/futex/read and
 * a leader in pause(); returns its pid once all threads exist. The child is
 * killed at exit. */
pid_t t_spawn_threads(int n);

/* Start test/fixtures/build/<name> (FK_FIXTURES) with args (NULL-ended),
 * stdout on a pipe; returns its pid once it printed "READY". Killed at
 * exit like the others. */
pid_t t_spawn_fixture(const char *name, const char *const *args);

/* Has pid exited (reaped here)? Fills *status then. */
bool t_exited(pid_t pid, int *status);

/* Requests are JSON (native/PROTOCOL.md). For readability the format is
 * written with single quotes, which become double quotes before the
 * arguments are formatted: t_req(fk, "{'op':'regs','pid':%d,'tid':%d}",
 * pid, tid). String arguments must not need JSON escapes. */

/* Submit; returns the request id. */
int64_t t_submit(fk_tracer *fk, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Submit and wait for the result message of that request (events and
 * logs in between are skipped). Returns malloc'd JSON. */
char *t_req(fk_tracer *fk, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The result of request id; the rest as t_req. */
char *t_result(fk_tracer *fk, int64_t id);

/* Is `needle` in the JSON text? */
bool t_has(const char *json, const char *needle);
/* Count occurrences. */
int t_count(const char *json, const char *needle);

/* The next message (event or log) that contains `what`, within tenths
 * x 100 ms; malloc'd, or NULL when none came. */
char *t_wait_message(fk_tracer *fk, const char *what, int tenths);

/* The number after key (e.g. "\"pid\":") in the JSON text; -1 when absent. */
long t_num(const char *json, const char *key);

/* The line of the "// #name" marker in the source file src (the name
 * ends there: end of line or a space). Fails the test when missing. */
int t_marker(const char *src, const char *name);

/* No task of pid is stopped or traced. */
bool t_all_running_untraced(pid_t pid);

void t_kill_children(void);

#endif
