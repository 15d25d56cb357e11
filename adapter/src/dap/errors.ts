/*
 * Errors the debug adapter shows to users: one factory per situation, each
 * with a stable numeric code (js-debug's src/dap/errors.ts pattern). Engine
 * and model failures are mapped here, so the session never builds messages
 * itself.
 */
import { NativeLoadError } from '../engine/native';
import { ProtocolError } from '../engine/protocol';
import { TracerError } from '../engine/errors';
import { DebuggeeError } from '../model';

export const enum ErrorCode {
	ProgramMissing = 9200,
	ProgramNotExecutable = 9201,
	NoSuchProcess = 9202,
	NotPermitted = 9203,
	AlreadyTraced = 9204,
	InvalidArgument = 9205,
	NotStopped = 9206,
	NoDebuggee = 9207,
	ProcessExited = 9208,
	Unsupported = 9209,
	ForkDebugNeedsServer = 9210,
	NoPendingChild = 9211,
	NativeMissing = 9212,
	NativeFailure = 9213,
	Internal = 9214,
	AlreadyStarted = 9215,
	BadMessage = 9216,
}

/** An error response: `code` goes into body.error.id, `message` is shown. */
export class DapError extends Error {
	constructor(
		readonly code: ErrorCode,
		message: string,
		readonly showUser = true,
	) {
		super(message);
		this.name = 'DapError';
	}
}

export const errors = {
	programMissing: (p: string) => new DapError(ErrorCode.ProgramMissing, `program does not exist: ${p}`),
	programNotExecutable: (p: string, why: string) =>
		new DapError(ErrorCode.ProgramNotExecutable, `program is not executable: ${p} (${why})`),
	noSuchProcess: (pid: number, detail?: string) => new DapError(ErrorCode.NoSuchProcess, detail ?? `no such process: pid ${pid}`),
	notPermitted: (pid: number, detail: string) => new DapError(ErrorCode.NotPermitted, `cannot attach to pid ${pid}: ${detail}`),
	alreadyTraced: (pid: number, detail: string) => new DapError(ErrorCode.AlreadyTraced, `cannot attach to pid ${pid}: ${detail}`),
	invalidArgument: (what: string) => new DapError(ErrorCode.InvalidArgument, what),
	notStopped: (what: string) => new DapError(ErrorCode.NotStopped, what),
	noDebuggee: () => new DapError(ErrorCode.NoDebuggee, 'no process is being debugged (launch or attach first)'),
	processExited: (what: string) => new DapError(ErrorCode.ProcessExited, what),
	unsupported: (what: string) => new DapError(ErrorCode.Unsupported, what),
	forkDebugNeedsServer: () =>
		new DapError(
			ErrorCode.ForkDebugNeedsServer,
			'forkAllThreads mode "debug" needs the adapter in server mode ("forkall dap --pipe=PATH", as VS Code runs it): ' +
				'one stdio connection carries only one debug session; use mode "run" or "stopped" here',
		),
	forkDebugNeedsClient: () =>
		new DapError(ErrorCode.ForkDebugNeedsServer, 'forkAllThreads mode "debug" needs a client that supports the startDebugging request'),
	noPendingChild: (pid: number) =>
		new DapError(ErrorCode.NoPendingChild, `no forked child with pid ${pid} is waiting for a debug session`),
	badMessage: (why: string) => new DapError(ErrorCode.BadMessage, `malformed message: ${why}`),
	alreadyStarted: () => new DapError(ErrorCode.AlreadyStarted, 'this session already debugs a process'),
	nativeMissing: (detail: string) => new DapError(ErrorCode.NativeMissing, detail),
	nativeFailure: (op: string, detail: string) => new DapError(ErrorCode.NativeFailure, `${op} failed: ${detail}`),
	internal: (detail: string) => new DapError(ErrorCode.Internal, `internal error: ${detail}`),
};

/**
 * Map any failure to a DapError. `pid` names the target for attach-style
 * failures; the native message already says what went wrong and why.
 */
export function toDapError(e: unknown, what: string, pid?: number): DapError {
	if (e instanceof DapError) {
		return e;
	}
	if (e instanceof TracerError) {
		switch (e.kind) {
			case 'no-such-process':
				return errors.noSuchProcess(
					pid ?? 0,
					pid !== undefined && !e.message.includes(String(pid)) ? `no such process: pid ${pid} (${e.message})` : e.message,
				);
			case 'not-permitted':
				return errors.notPermitted(pid ?? 0, e.message);
			case 'already-traced':
				return errors.alreadyTraced(pid ?? 0, e.message);
			case 'exited':
				return errors.processExited(`${what}: ${e.message}`);
			case 'unknown-op':
				return errors.unsupported(`${what}: this libforkall has no "${e.op}" operation yet`);
			case 'bad-request':
				return errors.nativeFailure(what, e.message);
			default:
				return errors.nativeFailure(what, e.message);
		}
	}
	if (e instanceof DebuggeeError) {
		switch (e.kind) {
			case 'exited':
				return errors.processExited(e.message);
			case 'running':
				return errors.notStopped(e.message);
			case 'unsupported':
				return errors.unsupported(e.message);
			default:
				return errors.nativeFailure(what, e.message);
		}
	}
	if (e instanceof NativeLoadError) {
		return errors.nativeMissing(e.message);
	}
	if (e instanceof ProtocolError) {
		return errors.internal(e.message);
	}
	return errors.internal(e instanceof Error ? e.message : String(e));
}
