/* outbox.c — the tracer's message queue out (results, events, logs are
 * pushed here; fk_wait/fk_next_message in tracer.c take them). Below the
 * wait loop: the event writers (events.generated.c) call tr_emit_event. */
#include "core/tracer_int.h"

#include <stdlib.h>

static void push_msg(struct fk_tracer *tr, char *text, size_t len)
{
	struct msg *m = malloc(sizeof *m);
	if (!m) {
		free(text);
		return;
	}
	m->text = text;
	m->len = len;
	m->next = NULL;
	pthread_mutex_lock(&tr->lock);
	if (tr->msg_tail)
		tr->msg_tail->next = m;
	else
		tr->msg_head = m;
	tr->msg_tail = m;
	pthread_cond_broadcast(&tr->cond);
	pthread_mutex_unlock(&tr->lock);
}

void tr_push_jw(struct fk_tracer *tr, struct jw *w)
{
	size_t len;
	char *t = jw_take(w, &len);
	if (t)
		push_msg(tr, t, len);
}

void tr_emit_event(struct fk_tracer *tr, struct jw *body)
{
	tr_push_jw(tr, body);
}
