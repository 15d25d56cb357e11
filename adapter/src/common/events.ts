/*
 * A typed facade over Node's EventEmitter: event names and listener
 * arguments are checked at compile time.
 */
import { EventEmitter } from 'node:events';

export type EventMap = { [event: string]: unknown[] };

export class TypedEmitter<E extends EventMap> {
	private readonly emitter = new EventEmitter();

	on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
		this.emitter.on(event, listener as (...args: unknown[]) => void);
		this.listenersChanged();
		return this;
	}

	once<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
		this.emitter.once(event, listener as (...args: unknown[]) => void);
		this.listenersChanged();
		return this;
	}

	off<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
		this.emitter.off(event, listener as (...args: unknown[]) => void);
		this.listenersChanged();
		return this;
	}

	removeAllListeners<K extends keyof E & string>(event?: K): this {
		if (event === undefined) {
			this.emitter.removeAllListeners();
		} else {
			this.emitter.removeAllListeners(event);
		}
		this.listenersChanged();
		return this;
	}

	listenerCount<K extends keyof E & string>(event: K): number {
		return this.emitter.listenerCount(event);
	}

	protected emit<K extends keyof E & string>(event: K, ...args: E[K]): boolean {
		return this.emitter.emit(event, ...args);
	}

	/** Hook for subclasses that act on listener changes (e.g. start a pump). */
	protected listenersChanged(): void {
		// nothing by default
	}
}
