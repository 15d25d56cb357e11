/*
 * DAP wire framing: `Content-Length: N\r\n\r\n<N bytes of JSON>`, read
 * robustly. @vscode/debugadapter's reader re-concatenates its whole buffer
 * on every chunk (a 50 MB body took a minute), ignores headers without a
 * Content-Length (the session then hangs silently) and ends the session on
 * a body that is not a request object. This reader:
 *
 * - buffers linearly: body chunks are collected and concatenated once;
 * - caps a message at `maxBody` bytes (64 MiB): a larger one is skipped as
 *   it streams in (never buffered) and reported with the seq/command found
 *   in its first bytes, so the client gets an error response;
 * - on a header block without a valid Content-Length, reports it and skips
 *   to the next "Content-Length:" (searched from the block's second byte, so
 *   a header glued after garbage is found);
 * - turns each body into a request/response, or a problem (not JSON, not an
 *   object, no command) with whatever seq/command could be recovered.
 *
 * No session state here: the session decides what to answer.
 */
import type { DebugProtocol } from '@vscode/debugprotocol';

export const MAX_BODY = 64 << 20;
/** A header block longer than this is not a DAP header. */
export const MAX_HEADER = 8192;

export type Incoming =
	| { kind: 'message'; message: DebugProtocol.ProtocolMessage }
	/** Unusable input; `seq`/`command` when they could be recovered (then answer with an error). */
	| { kind: 'problem'; why: string; seq?: number; command?: string };

const HEADER_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = Buffer.from('content-length:');

/** seq and command from the start of a body that could not be parsed (or was too large). */
export function recoverIds(text: string): { seq?: number; command?: string } {
	const out: { seq?: number; command?: string } = {};
	const s = /"seq"\s*:\s*(\d{1,15})\b/.exec(text);
	if (s) out.seq = Number(s[1]);
	const c = /"command"\s*:\s*"([A-Za-z0-9_.-]{1,100})"/.exec(text);
	if (c) out.command = c[1];
	return out;
}

/** Classify one complete body. */
export function parseBody(body: Buffer): Incoming {
	const text = body.toString('utf8');
	let v: unknown;
	try {
		v = JSON.parse(text);
	} catch (e) {
		return { kind: 'problem', why: `the body is not JSON (${(e as Error).message})`, ...recoverIds(text.slice(0, 4096)) };
	}
	if (v === null || typeof v !== 'object' || Array.isArray(v)) {
		return {
			kind: 'problem',
			why: `the body is ${v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`}, not a message object`,
		};
	}
	const o = v as Record<string, unknown>;
	const seq = typeof o.seq === 'number' && Number.isSafeInteger(o.seq) ? o.seq : undefined;
	const command = typeof o.command === 'string' ? o.command : undefined;
	const ids = { ...(seq !== undefined ? { seq } : {}), ...(command !== undefined ? { command } : {}) };
	if (o.type === 'request') {
		if (seq === undefined) return { kind: 'problem', why: 'a request without a numeric "seq"', ...ids };
		if (command === undefined) return { kind: 'problem', why: 'a request without a string "command"', ...ids };
		if (o.arguments !== undefined && (o.arguments === null || typeof o.arguments !== 'object' || Array.isArray(o.arguments))) {
			return { kind: 'problem', why: `"arguments" must be an object`, ...ids };
		}
		return { kind: 'message', message: o as unknown as DebugProtocol.Request };
	}
	if (o.type === 'response') {
		if (typeof o.request_seq !== 'number') return { kind: 'problem', why: 'a response without a numeric "request_seq"' };
		return { kind: 'message', message: o as unknown as DebugProtocol.Response };
	}
	return { kind: 'problem', why: `"type" must be "request" or "response", got ${JSON.stringify(o.type) ?? 'nothing'}`, ...ids };
}

export class FrameReader {
	private chunks: Buffer[] = [];
	private size = 0;
	/** Reading a body of this many bytes; -1: reading a header. */
	private want = -1;
	/** Skipping an oversized body: bytes still to drop, and its first bytes. */
	private skip = 0;
	private skipHead = '';
	private skipLength = 0;
	/** After a bad header: drop input until the next "Content-Length:". */
	private resync = false;

	constructor(
		private readonly deliver: (m: Incoming) => void,
		private readonly maxBody = MAX_BODY,
	) {}

	feed(data: Buffer): void {
		if (this.skip > 0) data = this.skipSome(data);
		if (data.length === 0) return;
		this.chunks.push(data);
		this.size += data.length;
		this.drain();
	}

	private skipSome(data: Buffer): Buffer {
		const n = Math.min(this.skip, data.length);
		if (this.skipHead.length < 4096) this.skipHead += data.subarray(0, Math.min(n, 4096)).toString('utf8');
		this.skip -= n;
		if (this.skip === 0) {
			this.deliver({
				kind: 'problem',
				why: `a message of ${this.skipLength} bytes is larger than the limit of ${this.maxBody} bytes (${this.maxBody >> 20} MiB): skipped`,
				...recoverIds(this.skipHead),
			});
			this.skipHead = '';
		}
		return data.subarray(n);
	}

	/** The buffered bytes as one Buffer (concatenated once, kept as one chunk). */
	private joined(): Buffer {
		if (this.chunks.length !== 1) this.chunks = [Buffer.concat(this.chunks, this.size)];
		return this.chunks[0];
	}

	private consume(n: number): void {
		const all = this.joined();
		const rest = all.subarray(n);
		this.chunks = rest.length ? [rest] : [];
		this.size = rest.length;
	}

	private drain(): void {
		for (;;) {
			if (this.want >= 0) {
				if (this.size < this.want) return;
				const all = this.joined();
				const body = all.subarray(0, this.want);
				this.consume(this.want);
				this.want = -1;
				this.deliver(parseBody(body));
				continue;
			}
			if (this.size === 0) return;
			// A header is small: joining what is buffered costs at most MAX_HEADER + one chunk.
			const buf = this.joined();
			if (this.resync) {
				const at = indexOfCaseless(buf, CONTENT_LENGTH);
				if (at < 0) {
					// keep a possible partial "Content-Length:" at the end
					this.consume(Math.max(0, buf.length - CONTENT_LENGTH.length));
					return;
				}
				this.consume(at);
				this.resync = false;
				continue;
			}
			const end = buf.indexOf(HEADER_END);
			if (end < 0 || end > MAX_HEADER) {
				if (end < 0 && buf.length <= MAX_HEADER) return;
				this.consume(1);
				this.badHeader(buf.subarray(0, 80).toString('latin1'), `no end of header within ${MAX_HEADER} bytes`);
				continue;
			}
			const header = buf.subarray(0, end).toString('latin1');
			const len = contentLength(header);
			if (typeof len === 'string') {
				// Resynchronise from the next byte: a valid header glued after
				// garbage ("junkContent-Length: 9") is found again.
				this.consume(1);
				this.badHeader(header, len);
				continue;
			}
			this.consume(end + HEADER_END.length);
			if (len > this.maxBody) {
				this.skip = len;
				this.skipLength = len;
				this.skipHead = '';
				const rest = this.size ? this.joined() : Buffer.alloc(0);
				this.chunks = [];
				this.size = 0;
				const left = this.skipSome(rest);
				if (left.length) {
					this.chunks = [left];
					this.size = left.length;
					continue;
				}
				return;
			}
			this.want = len;
		}
	}

	private badHeader(header: string, why: string): void {
		this.resync = true;
		const shown = header.length > 80 ? `${header.slice(0, 80)}…` : header;
		this.deliver({ kind: 'problem', why: `bad header ${JSON.stringify(shown)}: ${why}; skipped to the next Content-Length header` });
	}
}

/** The Content-Length of a header block, or why there is none. */
function contentLength(header: string): number | string {
	let len: number | string = 'no Content-Length';
	for (const line of header.split('\r\n')) {
		const m = /^([^:]+):[ \t]*(.*?)[ \t]*$/.exec(line);
		if (!m) return `malformed header line ${JSON.stringify(line.slice(0, 40))}`;
		if (m[1].toLowerCase() !== 'content-length') continue;
		if (!/^\d{1,15}$/.test(m[2])) return `Content-Length is not a number: ${JSON.stringify(m[2].slice(0, 40))}`;
		len = Number(m[2]);
	}
	return len;
}

function indexOfCaseless(buf: Buffer, needle: Buffer): number {
	// needle is lower case ASCII; compare against a lower-cased copy of the buffer
	return Buffer.from(buf.toString('latin1').toLowerCase(), 'latin1').indexOf(needle);
}
