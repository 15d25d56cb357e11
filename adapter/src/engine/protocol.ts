/*
 * The native protocol, as the rest of the adapter sees it. Its types and
 * validators are generated from native/protocol/schema.json into
 * protocol.generated.ts (scripts/gen-protocol.js, run by `npm run build`);
 * this module adds the message envelope: which validator a message goes
 * through, and how an event of a newer library is passed on.
 *
 * Validators return their input typed (extra keys are kept, so `--json`
 * output can pass bodies through unchanged). A malformed message throws
 * ProtocolError naming the offending path.
 */
import {
	bodyValidators,
	defValidators,
	EVENT_NAMES,
	eventValidators,
	ProtocolError,
	type EventName,
	type JsonValue,
	type KnownEvent,
	type LogMessage,
	type ResultErr,
	type ResultOk,
	type StoppedEvent,
} from './protocol.generated';

export * from './protocol.generated';

/** Why an LWP stopped, as the library reports it. */
export type StopReason = StoppedEvent['reason'];

/** An event name this version does not know (newer library): passed on as is. */
export interface UnknownEvent {
	type: 'event';
	event: string;
	[key: string]: JsonValue;
}

export type Message = ResultOk | ResultErr | LogMessage | KnownEvent | UnknownEvent;

/** Parse one fk_next_message() payload. */
export function parseMessage(raw: string): Message {
	let v: unknown;
	try {
		v = JSON.parse(raw);
	} catch (e) {
		throw new ProtocolError(`malformed message: not JSON (${(e as Error).message}): ${raw.slice(0, 120)}`, raw);
	}
	try {
		return checkMessage(v);
	} catch (e) {
		if (e instanceof ProtocolError) {
			throw new ProtocolError(`${e.message} in ${raw.slice(0, 200)}`, raw);
		}
		throw e;
	}
}

function checkMessage(v: unknown): Message {
	if (typeof v !== 'object' || v === null || Array.isArray(v)) {
		throw new ProtocolError(`malformed message: message should be an object, got ${JSON.stringify(v)?.slice(0, 80)}`);
	}
	const o = v as Record<string, unknown>;
	switch (o.type) {
		case 'result':
			return o.ok === false ? defValidators.ResultErr(o, {}, 'result') : defValidators.ResultOk(o, {}, 'result');
		case 'log':
			return defValidators.LogMessage(o, {}, 'log');
		case 'event':
			if (typeof o.event !== 'string') {
				throw new ProtocolError(`malformed message: event.event should be a string, got ${JSON.stringify(o.event)?.slice(0, 80)}`);
			}
			return isKnownEventName(o.event) ? eventValidators[o.event](o) : (o as UnknownEvent);
		default:
			throw new ProtocolError(
				`malformed message: message.type should be one of result|event|log, got ${JSON.stringify(o.type)?.slice(0, 80)}`,
			);
	}
}

function isKnownEventName(name: string): name is EventName {
	return (EVENT_NAMES as readonly string[]).includes(name);
}

export function isKnownEvent(m: KnownEvent | UnknownEvent): m is KnownEvent {
	return isKnownEventName(m.event);
}

/** Validate the body of a "threads" result (tests, tools). */
export const parseThreadsBody = bodyValidators.threads;
