/*
 * TracerError: a failed request, as reported by the native library (or by
 * the binding, for a closed tracer). `message` comes from the native side
 * and already names the cause: no such process, not permitted (with the
 * reason), already traced by PID N, exited during the operation.
 */
import type { ErrorKind, NativeError } from './protocol';

/** Kinds from PROTOCOL.md, plus 'closed' for requests cut short by close(). */
export type TracerErrorKind = ErrorKind | 'closed';

export class TracerError extends Error {
	readonly kind: TracerErrorKind;
	readonly code: string;
	readonly errno: number;
	readonly step: string;
	readonly tracerPid: number | undefined;
	/** The operation that failed ('threads', 'regs', …). */
	readonly op: string;

	constructor(
		op: string,
		e: NativeError | { kind: TracerErrorKind; code: string; errno: number; step: string; message: string; tracerPid?: number },
	) {
		super(e.message);
		this.name = 'TracerError';
		this.op = op;
		this.kind = e.kind;
		this.code = e.code;
		this.errno = e.errno;
		this.step = e.step;
		this.tracerPid = e.tracerPid;
	}

	static closed(op: string): TracerError {
		return new TracerError(op, {
			kind: 'closed',
			code: 'ESHUTDOWN',
			errno: 108,
			step: 'submit',
			message: 'the tracer was closed before the request completed',
		});
	}
}
