/*
 * koffi bindings to native/build/libforkall.so (native/include/forkall.h).
 *
 * This is the only file that touches koffi. Everything above it sees plain
 * TypeScript functions. The library is loaded once per process and never
 * unloaded: it owns a tracer pthread, and unloading code a live thread runs
 * would crash the process.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as util from 'node:util';
import koffi, { type LibraryHandle } from 'koffi';

/** Opaque fk_tracer * (koffi 3 represents pointers as BigInt). */
export type TracerHandle = bigint & { readonly __brand: 'fk_tracer' };

export const ESHUTDOWN = 108;

export interface NativeLib {
	readonly path: string;
	open(): TracerHandle;
	close(fk: TracerHandle): Promise<void>;
	/** fk_request: queue a request (JSON text); its id (> 0) or -errno. */
	request(fk: TracerHandle, json: string): number;
	/** fk_wait on a libuv pool thread: never blocks the event loop. */
	waitAsync(fk: TracerHandle, timeoutMs: number): Promise<number>;
	/** Next message as a string, or null when the queue is empty. */
	nextMessage(fk: TracerHandle): string | null;
	setLogLevel(fk: TracerHandle, level: number): void;
	/** fk_cancel: the operation in progress rolls back at its next step. */
	cancel(fk: TracerHandle): void;
	memRead(pid: number, addr: bigint, len: number): Buffer;
	memWrite(pid: number, addr: bigint, data: Uint8Array): number;
	version(): string;
	/** fk_protocol(): the handshake JSON (version, protocol, ops, events). */
	protocol(): string;
}

/** The library file could not be found or loaded. */
export class NativeLoadError extends Error {
	constructor(
		message: string,
		readonly libPath: string,
	) {
		super(message);
		this.name = 'NativeLoadError';
	}
}

/** Where the library is expected: FORKALL_NATIVE_LIB, else native/build/. */
export function nativeLibPath(): string {
	const env = process.env.FORKALL_NATIVE_LIB;
	if (env) {
		return path.resolve(env);
	}
	// Compiled layout: out/adapter/src/engine/native.js -> repo root is 4 up.
	// Source layout (ts-node and the like): adapter/src/engine -> 3 up.
	const candidates = [
		path.resolve(__dirname, '../../../../native/build/libforkall.so'),
		path.resolve(__dirname, '../../../native/build/libforkall.so'),
	];
	return candidates.find((p) => fs.existsSync(p)) ?? candidates[0];
}

let loaded: NativeLib | undefined;

/** Load the library (once). Throws NativeLoadError with a remedy. */
export function loadNative(): NativeLib {
	if (loaded) {
		return loaded;
	}
	const libPath = nativeLibPath();
	if (!fs.existsSync(libPath)) {
		throw new NativeLoadError(`native library not found at ${libPath}: run "npm install" (or "make -C native") first`, libPath);
	}
	let lib: LibraryHandle;
	try {
		lib = koffi.load(libPath);
	} catch (e) {
		const why = e instanceof Error ? e.message : String(e);
		throw new NativeLoadError(`cannot load native library ${libPath}: ${why}`, libPath);
	}
	loaded = bind(lib, libPath);
	return loaded;
}

let opaqueDeclared = false;

/* koffi unloads a library once nothing references it; the tracer thread
 * runs its code, so keep every loaded handle reachable forever. */
const keepAlive: LibraryHandle[] = [];

function bind(lib: LibraryHandle, libPath: string): NativeLib {
	keepAlive.push(lib);
	if (!opaqueDeclared) {
		koffi.opaque('fk_tracer');
		opaqueDeclared = true;
	}
	const fkOpen = lib.func('fk_tracer *fk_open(char *err, size_t errlen)');
	const fkClose = lib.func('void fk_close(fk_tracer *fk)');
	const fkRequest = lib.func('int64_t fk_request(fk_tracer *fk, const uint8_t *json, uint64_t len)');
	const fkWait = lib.func('int32_t fk_wait(fk_tracer *fk, int32_t timeout_ms)');
	const fkNext = lib.func('int64_t fk_next_message(fk_tracer *fk, uint8_t *buf, uint64_t cap)');
	const fkSetLogLevel = lib.func('void fk_set_log_level(fk_tracer *fk, int32_t level)');
	const fkCancel = lib.func('void fk_cancel(fk_tracer *fk)');
	const fkMemRead = lib.func('int64_t fk_mem_read(int32_t pid, uint64_t addr, uint8_t *buf, uint64_t len)');
	const fkMemWrite = lib.func('int64_t fk_mem_write(int32_t pid, uint64_t addr, const uint8_t *buf, uint64_t len)');
	const fkVersion = lib.func('const char *fk_version(void)');
	const fkProtocol = lib.func('const char *fk_protocol(void)');

	const waitP = util.promisify(fkWait.async) as (fk: bigint, timeout: number) => Promise<number>;
	const closeP = util.promisify(fkClose.async) as (fk: bigint) => Promise<void>;

	let msgBuf = Buffer.alloc(64 * 1024);

	return {
		path: libPath,
		open(): TracerHandle {
			const err = Buffer.alloc(512);
			const fk = fkOpen(err, err.length) as bigint | null;
			if (!fk) {
				const nul = err.indexOf(0);
				const msg = err.toString('utf8', 0, nul < 0 ? err.length : nul) || 'fk_open failed';
				throw new Error(msg);
			}
			return BigInt(fk) as TracerHandle;
		},
		close: (fk) => closeP(fk),
		request(fk, json): number {
			const data = Buffer.from(json, 'utf8');
			return Number(fkRequest(fk, data, data.length));
		},
		waitAsync: (fk, timeoutMs) => waitP(fk, timeoutMs),
		nextMessage(fk): string | null {
			for (;;) {
				const n = Number(fkNext(fk, msgBuf, msgBuf.length));
				if (n === 0) {
					return null;
				}
				if (n > 0) {
					return msgBuf.toString('utf8', 0, n);
				}
				// Too small: the message stays queued; grow and retry.
				let cap = msgBuf.length;
				while (cap < -n) {
					cap *= 2;
				}
				msgBuf = Buffer.alloc(cap);
			}
		},
		setLogLevel(fk, level): void {
			fkSetLogLevel(fk, level);
		},
		cancel(fk): void {
			fkCancel(fk);
		},
		memRead(pid, addr, len): Buffer {
			const buf = Buffer.alloc(len);
			const n = Number(fkMemRead(pid, addr, buf, len));
			if (n < 0) {
				throw errnoError('fk_mem_read', -n);
			}
			return buf.subarray(0, n);
		},
		memWrite(pid, addr, data): number {
			const n = Number(fkMemWrite(pid, addr, data, data.length));
			if (n < 0) {
				throw errnoError('fk_mem_write', -n);
			}
			return n;
		},
		version(): string {
			return String(fkVersion());
		},
		protocol(): string {
			return String(fkProtocol());
		},
	};
}

function errnoError(what: string, errno: number): Error & { errno: number; code: string } {
	let code: string;
	try {
		code = util.getSystemErrorName(-errno);
	} catch {
		code = `errno ${errno}`;
	}
	const e = new Error(`${what} failed: ${code}`) as Error & { errno: number; code: string };
	e.errno = errno;
	e.code = code;
	return e;
}
