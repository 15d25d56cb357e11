export { Process, forkArgs, type ForkMode, type ForkOptions, type ThreadsSnapshot } from './process';
export { Lwp, type StackRange } from './lwp';
export {
	Registers,
	GPR_NAMES,
	SEGMENT_NAMES,
	decodeRflags,
	decodeMxcsr,
	decodeFcw,
	decodeFsw,
	decodeSigmask,
	x87ToNumber,
	type Fpu,
	type VectorRegs,
	type MxcsrInfo,
	type RoundingMode,
} from './registers';
export {
	Debuggee,
	DebuggeeError,
	type FrameLocals,
	type Variable,
	type StopInfo,
	type StopReason,
	type ExitInfo,
	type LaunchOptions,
	type OutputCategory,
	type Origin,
} from './debuggee';
export { DebugHost, type NativeFeatures, type PendingChild } from './host';
export { type Breakpoint, type BreakpointKind } from './breakpoints';
export { type Frame, type Location } from './symbols';
export { type Instruction } from './disasm';
export { type MemoryRead } from './memory';
export { signalName } from './signals';
export { AssignError, encodeScalar, parseRegister, type ScalarKind } from './assign';
export { ExprError } from './expr/lexer';
export { scalarType, showWatched } from './expr/watch';
export { completionContext } from './expr/complete';
