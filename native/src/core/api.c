/* api.c — exported functions that do not go through the tracer thread. */
#include "base/mem.h"

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

const char *fk_version(void)
{
	return "0.1.0";
}
