/* api.c — the library's entry, above every layer: fk_open wires the
 * layers into the core's hooks (the core names no module above it), and
 * the exported functions that do not go through the tracer thread. The
 * rest of the API (fk_request, fk_wait, ...) is core/tracer.c. */
#include "base/mem.h"
#include "core/tracer.h"
#include "debuginfo/symbols.h"
#include "ops/protocol.generated.h"
#include "ops/request.h"
#include "ptrace/attach.h"
#include "ptrace/follow.h"
#include "ptrace/hooks.h"
#include "ptrace/watch.h"

#include "forkall.h"

#include <errno.h>

static void forget_symbols(struct proc *p)
{
	sym_close(p->syms);
	p->syms = NULL;
}

static const struct tr_hooks hooks = {
	.request = protocol_dispatch,
	.stop_seen = watch_on_stop,
	.trap = ptrace_on_trap,
	.exec = follow_exec,
	.new_process = follow_new_process,
	.stopped = ptrace_on_stopped,
	.exited = ptrace_on_exited,
	.pending = ptrace_pending,
	.release = ptrace_close_release,
	.forget = forget_symbols,
};

fk_tracer *fk_open(char *errbuf, size_t errlen)
{
	return tr_open(&hooks, errbuf, errlen);
}

int64_t fk_mem_read(int32_t pid, uint64_t addr, uint8_t *buf, uint64_t len)
{
	if (pid <= 0 || (!buf && len))
		return -EINVAL;
	return mem_read(pid, addr, buf, len);
}

int64_t fk_mem_write(int32_t pid, uint64_t addr, const uint8_t *buf, uint64_t len)
{
	if (pid <= 0 || (!buf && len))
		return -EINVAL;
	return mem_write(pid, addr, buf, len);
}

#define FK_VERSION "0.1.0"
#define STR_(x) #x
#define STR(x) STR_(x)

const char *fk_version(void)
{
	return FK_VERSION;
}

const char *fk_protocol(void)
{
	return "{\"version\":\"" FK_VERSION
	       "\",\"protocol\":" STR(FK_PROTOCOL_VERSION) ",\"ops\":" FK_PROTOCOL_OPS_JSON
							   ",\"events\":" FK_PROTOCOL_EVENTS_JSON "}";
}
