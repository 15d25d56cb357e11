/*
 * forkall.h — the only header the TypeScript side binds (through koffi).
 *
 * The library owns ONE tracer pthread. Every ptrace request and every
 * waitpid() for a tracee runs on it: ptrace requests are only valid from the
 * thread that attached, and a waitpid() from any other thread of this process
 * could steal a tracee's stop. Callers (Node's main thread, koffi pool
 * threads) never call ptrace: they submit a request, and read back messages.
 *
 *   fk_open()          start the tracer thread
 *   fk_submit()        queue a request (returns at once with a request id)
 *   fk_wait()          block until a message is available (use koffi .async())
 *   fk_next_message()  take the next message: a JSON object, one of
 *                        {"type":"result","id":N,"ok":true,"body":{...}}
 *                        {"type":"result","id":N,"ok":false,"error":{...}}
 *                        {"type":"event","event":"...", ...}
 *                        {"type":"log","level":"debug|info|warn|error","message":"..."}
 *   fk_close()         detach from everything (breakpoints removed, threads
 *                      resumed), stop the thread, free.
 *
 * The message bodies are documented in native/PROTOCOL.md.
 *
 * Memory of a process may be read and written from any thread (the kernel
 * checks credentials, not the calling thread): fk_mem_read/fk_mem_write are
 * synchronous and do not go through the queue.
 */
#ifndef FORKALL_H
#define FORKALL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FK_API __attribute__((visibility("default")))

typedef struct fk_tracer fk_tracer;

/* Request operations (argument use in brackets). */
enum fk_op {
	/* Stop every LWP, capture tid/regs, resume, then describe each LWP.
	 * [pid]. If the process is attached in a session, it is captured in
	 * place and left in the state it was in. */
	FK_OP_THREADS = 1,
	/* All registers of one LWP. [pid, tid]. Only that LWP is stopped
	 * unless the process is attached in a session. */
	FK_OP_REGS = 2,
	/* Attach a session: seize every LWP, the process keeps running.
	 * [pid, flags: FK_ATTACH_STOP to stop all after attaching]. */
	FK_OP_ATTACH = 3,
	/* Detach a session: remove breakpoints, resume, detach. [pid] */
	FK_OP_DETACH = 4,
	/* Stop every LWP of an attached process. [pid] */
	FK_OP_STOP = 5,
	/* Resume every LWP of an attached process. [pid] */
	FK_OP_RESUME = 6,
	/* Launch: fork+exec from the tracer thread. [data = NUL-separated
	 * "path\0cwd\0argc\0argv...\0envc\0env...\0", flags] */
	FK_OP_LAUNCH = 7,
	/* The multithreaded fork. [pid, flags FK_FORK_*] */
	FK_OP_FORK = 8,
	/* Kill an attached or launched process. [pid] */
	FK_OP_KILL = 9,
	/* Single-step one LWP of a stopped process. [pid, tid, flags:
	 * FK_STEP_LINE (next), FK_STEP_LINE|FK_STEP_INTO (stepIn) or
	 * FK_STEP_OUT for a source-line step run in the tracer thread] */
	FK_OP_STEP = 10,
	/* Insert/remove a software breakpoint. [pid, a = address] */
	FK_OP_BP_INSERT = 11,
	FK_OP_BP_REMOVE = 12,
	/* Write registers of one LWP of a stopped session.
	 * [pid, tid, data = "name=value\0..." hex values] */
	FK_OP_SET_REGS = 13,
	/* Echo: completes at once on the tracer thread (liveness/latency). */
	FK_OP_PING = 14,
	/* Call stack of one LWP of a stopped session. [pid, tid, b = max
	 * frames (0: 256)] */
	FK_OP_STACK = 15,
	/* Symbol/line lookups in a process. [pid, data = "function:NAME" |
	 * "line:FILE:LINE" | "addr:0xHEX"] */
	FK_OP_SYMBOLS = 16,
	/* Parameters and local variables of one frame, from DWARF. [pid,
	 * tid of a stopped session LWP, b = frame index (0: innermost)] */
	FK_OP_LOCALS = 17,
	/* Detach and let the forked child of a session go on its own, or kill.
	 * (reserved) */
};

enum fk_flags {
	FK_ATTACH_STOP = 1u << 0,
	FK_FORK_STOPPED = 1u << 1,     /* leave the child group-stopped, detached */
	FK_FORK_COPY_DONTFORK = 1u << 2, /* copy MADV_DONTFORK regions */
	FK_FORK_KEEP_TRACED = 1u << 3, /* keep the child attached (debug mode) */
	FK_LAUNCH_STOP_AT_ENTRY = 1u << 4,
	/* the child gets the parent's pid and every thread its parent
	 * thread's tid, in a new PID namespace (needs CAP_SYS_ADMIN in the
	 * target): mutex owners, cached tids and getpid() stay right */
	FK_FORK_SAME_TIDS = 1u << 5,
	/* FK_OP_STEP: a source line (next), not one instruction */
	FK_STEP_LINE = 1u << 6,
	/* with FK_STEP_LINE: enter calls that have line information (stepIn) */
	FK_STEP_INTO = 1u << 7,
	/* FK_OP_STEP: run until the current function returns (stepOut) */
	FK_STEP_OUT = 1u << 8,
};

/* Start the tracer thread. On failure returns NULL and writes a message. */
FK_API fk_tracer *fk_open(char *err, size_t errlen);

/* Detach from every process (resuming them, removing breakpoints), stop
 * the tracer thread and free everything. Safe to call with NULL. */
FK_API void fk_close(fk_tracer *fk);

/* Queue a request. Returns its id (> 0), or -errno (EINVAL bad op,
 * ENOMEM, ESHUTDOWN after fk_close started). data is copied. */
FK_API int64_t fk_submit(fk_tracer *fk, int32_t op, int32_t pid, int32_t tid,
			 uint32_t flags, uint64_t a, uint64_t b,
			 const uint8_t *data, uint64_t datalen);

/* Block until a message is available or timeout_ms passes (<0: forever).
 * Returns 1 if a message is available, 0 on timeout, -ESHUTDOWN when
 * closed. Meant for koffi's .async(): it never touches JS state. */
FK_API int32_t fk_wait(fk_tracer *fk, int32_t timeout_ms);

/* Copy the next message (JSON, not NUL-terminated) into buf. Returns its
 * length, 0 if there is none, or -(length) if cap is too small (the
 * message stays queued). */
FK_API int64_t fk_next_message(fk_tracer *fk, uint8_t *buf, uint64_t cap);

/* Ask the operation in progress to stop and undo what it did (a fork is
 * rolled back at its next step: the child killed, the parent restored and
 * released; its result is an error with code ECANCELED). Operations that
 * have no steps to undo finish normally. Any thread. */
FK_API void fk_cancel(fk_tracer *fk);

/* Minimum log level forwarded as "log" messages: 0 debug .. 3 error. */
FK_API void fk_set_log_level(fk_tracer *fk, int32_t level);

/* Read len bytes at addr of pid. Returns bytes read (a short count means
 * the rest is unreadable) or -errno if nothing could be read. */
FK_API int64_t fk_mem_read(int32_t pid, uint64_t addr, uint8_t *buf, uint64_t len);

/* Write; writes to read-only pages (text) go through /proc/PID/mem.
 * Returns bytes written or -errno. */
FK_API int64_t fk_mem_write(int32_t pid, uint64_t addr, const uint8_t *buf, uint64_t len);

/* Library version string, e.g. "0.1.0". */
FK_API const char *fk_version(void);

#ifdef __cplusplus
}
#endif
#endif /* FORKALL_H */
