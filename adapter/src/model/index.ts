export { Process, forkFlags, type ForkMode, type ForkOptions, type ThreadsSnapshot } from './process';
export { Lwp, type StackRange } from './lwp';
export {
	Registers, GPR_NAMES, SEGMENT_NAMES, decodeRflags, decodeMxcsr, decodeFcw, decodeFsw,
	decodeSigmask, x87ToNumber, type Fpu, type VectorRegs, type MxcsrInfo, type RoundingMode,
} from './registers';
