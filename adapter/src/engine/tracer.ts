/*
 * Tracer: one fk_tracer handle (one native tracer thread).
 *
 * Requests go in with fk_request (JSON, synchronous, microseconds). Results, events
 * and logs come back through ONE pump: fk_wait runs through koffi's .async()
 * on a libuv pool thread, so the event loop never blocks, and no native code
 * ever calls into JS (no koffi callbacks). The pump only runs while a request
 * is outstanding or someone listens for debug events; when idle, nothing is
 * in flight, so a CLI process can exit.
 */
import { TypedEmitter } from '../common/events';
import { TracerError } from './errors';
import { ESHUTDOWN, loadNative, type NativeLib, type TracerHandle } from './native';
import {
	bodyValidators,
	defValidators,
	EVENT_NAMES,
	isKnownEvent,
	parseMessage,
	PROTOCOL_VERSION,
	ProtocolError,
	type BodyByOp,
	type EventName,
	type Handshake,
	type KnownEvent,
	type LogLevel,
	type Message,
	type OpName,
	type RequestByOp,
	type UnknownEvent,
} from './protocol';

export type { OpName, RequestByOp } from './protocol';

/** 0x-prefixed hex of an address, as requests carry it. */
export function hexArg(v: bigint | number): `0x${string}` {
	return `0x${BigInt(v).toString(16)}`;
}

/** One event per known event kind of the protocol (schema.json's "events"). */
type KnownEventMap = { [K in EventName]: [Extract<KnownEvent, { event: K }>] };

export type TracerEvents = KnownEventMap & {
	/** An event this version does not know. */
	unknownEvent: [UnknownEvent];
	log: [LogLevel, string];
	/** A message that does not match PROTOCOL.md and could not be routed. */
	protocolError: [ProtocolError];
};

/** Events whose listeners keep the pump (and so the process) running. */
const PUMP_EVENTS: readonly (EventName | 'unknownEvent')[] = [...EVENT_NAMES, 'unknownEvent'];

const LOG_LEVELS: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

interface Pending {
	op: OpName;
	resolve(body: unknown): void;
	reject(err: Error): void;
}

export class Tracer extends TypedEmitter<TracerEvents> {
	/** fk_wait timeout per pump round; bounds how long close() waits. */
	static waitSliceMs = 200;

	private readonly pending = new Map<number, Pending>();
	private pumping: Promise<void> | null = null;
	private closed = false;
	private closing: Promise<void> | null = null;

	private constructor(
		private readonly lib: NativeLib,
		private readonly fk: TracerHandle,
	) {
		super();
	}

	/** Start a native tracer thread. Throws NativeLoadError if the library is missing. */
	static open(): Tracer {
		const lib = loadNative();
		return new Tracer(lib, lib.open());
	}

	/** libforkall's version string. */
	static nativeVersion(): string {
		return loadNative().version();
	}

	/**
	 * The library's handshake (fk_protocol(): version, protocol, operations,
	 * events), checked against the protocol this adapter was built for.
	 * Throws ProtocolError when the protocol versions differ.
	 */
	static handshake(): Handshake {
		const raw = loadNative().protocol();
		let v: unknown;
		try {
			v = JSON.parse(raw);
		} catch (e) {
			throw new ProtocolError(`fk_protocol(): not JSON (${(e as Error).message}): ${raw.slice(0, 120)}`, raw);
		}
		const h = defValidators.Handshake(v, {}, 'fk_protocol()');
		if (h.protocol !== PROTOCOL_VERSION) {
			throw new ProtocolError(
				`libforkall ${h.version} speaks native protocol ${h.protocol}; this adapter ` +
					`speaks ${PROTOCOL_VERSION}: rebuild the library (make -C native) or the adapter`,
				raw,
			);
		}
		return h;
	}

	get isClosed(): boolean {
		return this.closed;
	}

	/** Minimum level of native log messages forwarded as 'log' events. */
	setLogLevel(level: LogLevel): void {
		if (!this.closed) {
			this.lib.setLogLevel(this.fk, LOG_LEVELS[level]);
		}
	}

	/** Submit a request; resolves with its typed body, rejects with TracerError. */
	request<K extends OpName>(op: K, args: RequestByOp[K]): Promise<BodyByOp[K]> {
		if (this.closed) {
			return Promise.reject(TracerError.closed(op));
		}
		const id = this.lib.request(this.fk, JSON.stringify({ op, ...args }));
		if (id <= 0) {
			const errno = -id;
			return Promise.reject(
				new TracerError(op, {
					kind: errno === ESHUTDOWN ? 'closed' : errno === 22 ? 'bad-request' : 'failed',
					code: errno === ESHUTDOWN ? 'ESHUTDOWN' : errno === 22 ? 'EINVAL' : errno === 12 ? 'ENOMEM' : `E${errno}`,
					errno,
					step: 'submit',
					message: `cannot submit ${op} request (errno ${errno})`,
				}),
			);
		}
		return new Promise<BodyByOp[K]>((resolve, reject) => {
			this.pending.set(id, { op, resolve: resolve as (b: unknown) => void, reject });
			this.kick();
		});
	}

	/**
	 * Ask the operation in progress to stop and undo itself (a fork rolls
	 * back: child killed, parent restored). Its promise still settles: with
	 * a TracerError whose code is ECANCELED, or with its result if it was
	 * past its last step.
	 */
	cancel(): void {
		if (!this.closed) {
			this.lib.cancel(this.fk);
		}
	}

	/** Number of requests submitted and not yet answered. */
	get outstanding(): number {
		return this.pending.size;
	}

	/**
	 * Detach from everything and stop the native thread. Outstanding requests
	 * reject with kind 'closed'. Waits for an in-flight fk_wait to return
	 * first (fk_close frees the handle it uses).
	 */
	close(): Promise<void> {
		if (!this.closing) {
			this.closed = true;
			this.closing = (async () => {
				if (this.pumping) {
					await this.pumping.catch(() => undefined);
				}
				await this.lib.close(this.fk);
				for (const [id, p] of this.pending) {
					this.pending.delete(id);
					p.reject(TracerError.closed(p.op));
				}
			})();
		}
		return this.closing;
	}

	protected override listenersChanged(): void {
		this.kick();
	}

	private wantPump(): boolean {
		if (this.closed) {
			return false;
		}
		return this.pending.size > 0 || PUMP_EVENTS.some((e) => this.listenerCount(e) > 0);
	}

	private kick(): void {
		if (!this.pumping && this.wantPump()) {
			this.pumping = this.pump().finally(() => {
				this.pumping = null;
				// A listener or request may have arrived while we were finishing.
				this.kick();
			});
		}
	}

	private async pump(): Promise<void> {
		while (this.wantPump()) {
			let r: number;
			try {
				r = await this.lib.waitAsync(this.fk, Tracer.waitSliceMs);
			} catch (e) {
				this.failAll(e instanceof Error ? e : new Error(String(e)));
				return;
			}
			if (r < 0) {
				// -ESHUTDOWN: the library went away underneath us.
				this.closed = true;
				this.failAll(null);
				return;
			}
			this.drain();
		}
	}

	/** Take every queued message and route it. */
	private drain(): void {
		for (;;) {
			const raw = this.lib.nextMessage(this.fk);
			if (raw === null) {
				return;
			}
			let msg: Message;
			try {
				msg = parseMessage(raw);
			} catch (e) {
				this.routeBadMessage(e as ProtocolError, raw);
				continue;
			}
			this.route(msg);
		}
	}

	private route(msg: Message): void {
		switch (msg.type) {
			case 'result': {
				const p = this.pending.get(msg.id);
				if (!p) {
					this.emit('log', 'warn', `result for unknown request id ${msg.id}`);
					return;
				}
				this.pending.delete(msg.id);
				if (!msg.ok) {
					p.reject(new TracerError(p.op, msg.error));
					return;
				}
				try {
					p.resolve(bodyValidators[p.op](msg.body));
				} catch (e) {
					p.reject(e instanceof ProtocolError ? new ProtocolError(`${p.op}: ${e.message}`, JSON.stringify(msg)) : (e as Error));
				}
				return;
			}
			case 'log':
				this.emit('log', msg.level, msg.message);
				return;
			case 'event':
				if (isKnownEvent(msg)) {
					this.emitKnown(msg);
				} else {
					this.emit('unknownEvent', msg as UnknownEvent);
				}
				return;
		}
	}

	private emitKnown<K extends EventName>(msg: Extract<KnownEvent, { event: K }>): void {
		(this.emit as (e: K, m: Extract<KnownEvent, { event: K }>) => boolean)(msg.event as K, msg);
	}

	/** A malformed message: fail its request if we can tell which one. */
	private routeBadMessage(err: ProtocolError, raw: string): void {
		const m = /"id"\s*:\s*(\d+)/.exec(raw);
		const p = m ? this.pending.get(Number(m[1])) : undefined;
		if (m && p && /"type"\s*:\s*"result"/.test(raw)) {
			this.pending.delete(Number(m[1]));
			p.reject(err);
			return;
		}
		if (this.listenerCount('protocolError') > 0) {
			this.emit('protocolError', err);
		} else {
			this.emit('log', 'error', err.message);
		}
	}

	private failAll(err: Error | null): void {
		for (const [id, p] of this.pending) {
			this.pending.delete(id);
			p.reject(err ?? TracerError.closed(p.op));
		}
	}
}
