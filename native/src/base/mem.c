#include "base/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/uio.h>
#include <unistd.h>

static ssize_t procmem_rw(pid_t pid, uint64_t addr, void *buf, size_t len, int write)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
	int fd = open(path, (write ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t done = 0;
	while (done < len) {
		ssize_t r = write ? pwrite(fd, (const char *)buf + done, len - done, (off_t)(addr + done))
				  : pread(fd, (char *)buf + done, len - done, (off_t)(addr + done));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (done == 0) {
				int e = errno;
				close(fd);
				return -e;
			}
			break;
		}
		if (r == 0)
			break;
		done += (size_t)r;
	}
	close(fd);
	return (ssize_t)done;
}

/* process_vm_readv stops at the first unreadable page: the result is the
 * readable prefix, which is what DAP's readMemory reports (data plus
 * unreadableBytes). */
ssize_t mem_read(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	if (len == 0)
		return 0;
	struct iovec local = { buf, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };
	ssize_t r = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	if (r >= 0)
		return r;
	if (errno == ENOSYS || errno == EPERM)
		return procmem_rw(pid, addr, buf, len, 0);
	return -errno;
}

int mem_read_exact(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	ssize_t r = mem_read(pid, addr, buf, len);
	if (r < 0)
		return (int)r;
	return (size_t)r == len ? 0 : -EFAULT;
}

ssize_t mem_write(pid_t pid, uint64_t addr, const void *buf, size_t len)
{
	if (len == 0)
		return 0;
	struct iovec local = { (void *)buf, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };
	ssize_t r = process_vm_writev(pid, &local, 1, &remote, 1, 0);
	if (r == (ssize_t)len)
		return r;
	/* Partial or refused (read-only text, ENOSYS): /proc/PID/mem writes
	 * through page protections (FOLL_FORCE) for a tracer. */
	return procmem_rw(pid, addr, (void *)buf, len, 1);
}

int mem_write_exact(pid_t pid, uint64_t addr, const void *buf, size_t len)
{
	ssize_t r = mem_write(pid, addr, buf, len);
	if (r < 0)
		return (int)r;
	return (size_t)r == len ? 0 : -EFAULT;
}

void mem_read_u32_many(pid_t pid, const uint64_t *addrs, uint32_t *out, bool *ok, size_t n)
{
	enum {
		BATCH = 1024
	};
	struct iovec local[BATCH], remote[BATCH];
	size_t i = 0;
	while (i < n) {
		size_t k = n - i < BATCH ? n - i : BATCH;
		for (size_t j = 0; j < k; j++) {
			local[j].iov_base = &out[i + j];
			local[j].iov_len = sizeof(uint32_t);
			remote[j].iov_base = (void *)(uintptr_t)addrs[i + j];
			remote[j].iov_len = sizeof(uint32_t);
		}
		ssize_t r = process_vm_readv(pid, local, k, remote, k, 0);
		size_t good = r > 0 ? (size_t)r / sizeof(uint32_t) : 0;
		for (size_t j = 0; j < good; j++)
			ok[i + j] = true;
		i += good;
		if (good < k) {
			/* the read stops at the first bad address: do that one
			 * alone and go on after it */
			ok[i] = mem_read_exact(pid, addrs[i], &out[i], sizeof(uint32_t)) == 0;
			i++;
		}
	}
}

void mem_read_blocks(pid_t pid, const uint64_t *addrs, size_t len, uint8_t *bufs, bool *ok, size_t n)
{
	enum {
		BATCH = 1024
	};
	struct iovec local[BATCH], remote[BATCH];
	size_t i = 0;
	while (i < n) {
		size_t k = n - i < BATCH ? n - i : BATCH;
		for (size_t j = 0; j < k; j++) {
			local[j].iov_base = bufs + (i + j) * len;
			local[j].iov_len = len;
			remote[j].iov_base = (void *)(uintptr_t)addrs[i + j];
			remote[j].iov_len = len;
		}
		ssize_t r = process_vm_readv(pid, local, k, remote, k, 0);
		size_t good = r > 0 ? (size_t)r / len : 0;
		for (size_t j = 0; j < good; j++)
			ok[i + j] = true;
		i += good;
		if (good < k) {
			ok[i] = mem_read_exact(pid, addrs[i], bufs + i * len, len) == 0;
			i++;
		}
	}
}

void mem_write_blocks(pid_t pid, const uint64_t *addrs, size_t len, const uint8_t *bufs, const bool *which, size_t n)
{
	enum {
		BATCH = 1024
	};
	struct iovec local[BATCH], remote[BATCH];
	size_t i = 0;
	while (i < n) {
		size_t k = 0, start = i;
		size_t idx[BATCH];
		for (; i < n && k < BATCH; i++) {
			if (!which[i])
				continue;
			local[k].iov_base = (void *)(bufs + i * len);
			local[k].iov_len = len;
			remote[k].iov_base = (void *)(uintptr_t)addrs[i];
			remote[k].iov_len = len;
			idx[k++] = i;
		}
		(void)start;
		if (!k)
			continue;
		ssize_t r = process_vm_writev(pid, local, k, remote, k, 0);
		size_t good = r > 0 ? (size_t)r / len : 0;
		for (size_t j = good; j < k; j++)
			mem_write_exact(pid, addrs[idx[j]], bufs + idx[j] * len, len);
	}
}
