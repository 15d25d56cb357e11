/* api.c — exported functions that do not go through the tracer thread. */
#include "base/mem.h"
#include "ops/protocol.generated.h"

#include "forkall.h"

#include <errno.h>

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
