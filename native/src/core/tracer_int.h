/* tracer_int.h — struct fk_tracer, for the core's own files: tracer.c
 * (the wait loop, the request queue, the exported API) and outbox.c (the
 * message queue out, below the wait loop: the generated event writers
 * call it). */
#ifndef FK_TRACER_INT_H
#define FK_TRACER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "base/json.h"
#include "core/tracer.h"

#define MAX_UNCLAIMED 64

struct msg {
	char *text;
	size_t len;
	struct msg *next;
};

struct fk_tracer {
	pthread_t thread;
	pid_t tid;
	timer_t timer;
	bool timer_ok;
	bool seize_round;	      /* tr_seize_round: the watchdog timer is periodic */
	const struct tr_hooks *hooks; /* the layers above (tr_open) */

	pthread_mutex_t lock; /* guards everything below up to procs */
	pthread_cond_t cond;  /* messages arrived / tracer started */
	struct tr_request *rq_head, *rq_tail;
	struct msg *msg_head, *msg_tail;
	int64_t next_id;
	bool started, closing;
	_Atomic bool cancel; /* fk_cancel: the operation in progress rolls back */
	int waiters;	     /* threads inside fk_wait (fk_close waits for them) */
	char start_err[256];

	/* tracer-thread only */
	struct proc *procs;
	struct {
		pid_t pid;
		int status;
	} unclaimed[MAX_UNCLAIMED];
	size_t n_unclaimed;
};

/* Queue a message (a result, an event, a log line): w's text is taken. */
void tr_push_jw(struct fk_tracer *tr, struct jw *w);

#endif
