/* Regression: every request wakes the tracer thread, also one that lands
 * just as it enters its wait. A tracer with a running (attached) tracee
 * sleeps in waitid until a tracee event or a wake-up; a lost wake-up leaves
 * the request waiting for the next event (forever for a quiet process).
 * 10000 pings, each must be answered within 2 s (the bug this guards
 * against lost about one in 2000). */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(void)
{
	char err[256];
	fk_tracer *fk = fk_open(err, sizeof err);
	CHECK(fk != NULL, "fk_open: %s", err);
	pid_t pid = t_spawn_threads(2);
	char *r = t_req(fk, "{'op':'attach','pid':%d}", pid); /* attached, running: the tracer waits in waitid */
	CHECK(t_has(r, "\"ok\":true"), "%s", r);
	free(r);
	char buf[4096];
	for (int i = 0; i < 10000; i++) {
		int64_t id = t_submit(fk, "{'op':'ping'}");
		int got = 0;
		while (!got) {
			int w = fk_wait(fk, 2000);
			CHECK(w == 1, "ping %d (request %lld) not answered within 2 s: a lost wake-up", i,
			      (long long)id);
			int64_t n = fk_next_message(fk, (uint8_t *)buf, sizeof buf - 1);
			if (n > 0) {
				buf[n] = 0;
				char key[64];
				snprintf(key, sizeof key, "\"id\":%lld,", (long long)id);
				got = strstr(buf, key) != NULL;
			}
		}
		if (i % 7 == 0) {
			/* vary the timing a little */
			struct timespec ts = { 0, (i % 5) * 1000 };
			nanosleep(&ts, NULL);
		}
	}
	r = t_req(fk, "{'op':'detach','pid':%d}", pid);
	free(r);
	CHECK(t_all_running_untraced(pid), "left traced");
	fk_close(fk);
	t_kill_children();
	printf("test_wakeup: ok\n");
	return 0;
}
