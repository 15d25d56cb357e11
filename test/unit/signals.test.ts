/*
 * The signal table in gdb's words (adapter/src/model/signals.ts): names,
 * the launch.json "signals" attribute, `handle`, the Breakpoints view's
 * exception filters, `info signals`, and the masks the library takes.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
	applyExceptionFilters,
	applySignalsAttribute,
	applyWords,
	formatSignals,
	fromMasks,
	parseHandle,
	SignalConfigError,
	signalName,
	signalNumber,
	toMasks,
	type SignalTable,
} from '../../adapter/src/model/signals';
import { catchesSignal, handledSignalHint } from '../../adapter/src/model/signalHint';

/* gdb's defaults, as the library's sigpolicy.c has them */
function gdbDefaults(): SignalTable {
	const bit = (s: number) => 1n << BigInt(s - 1);
	const quiet = [14, 23, 17, 28, 27, 29, 26, 32, 33].reduce((m, s) => m | bit(s), 0n);
	return fromMasks({ nostop: quiet, noprint: quiet, nopass: bit(2) | bit(5) });
}

test('signal names and numbers, both ways', () => {
	assert.equal(signalNumber('SIGUSR1'), 10);
	assert.equal(signalNumber('usr1'), 10);
	assert.equal(signalNumber('sigchld'), 17);
	assert.equal(signalNumber('SIGPOLL'), 29);
	assert.equal(signalNumber('SIGRTMIN'), 34);
	assert.equal(signalNumber('SIGRTMIN+3'), 37);
	assert.equal(signalNumber('SIGRTMAX'), 64);
	assert.equal(signalNumber('SIGRTMAX-1'), 63);
	assert.equal(signalNumber('SIG40'), 40);
	assert.equal(signalNumber('40'), 40);
	assert.equal(signalNumber('SIGRTMIN+31'), null);
	assert.equal(signalNumber('SIGFOO'), null);
	assert.equal(signalNumber('65'), null);
	for (let s = 1; s <= 64; s++) {
		if (s === 32 || s === 33) continue;
		assert.equal(signalNumber(signalName(s)), s, `round trip of ${s}`);
	}
	assert.equal(signalName(32), 'SIGCANCEL');
});

test('gdb words and their implications', () => {
	const r = { stop: true, print: true, pass: true };
	assert.deepEqual(applyWords(r, ['nostop'], 'x'), { stop: false, print: true, pass: true });
	assert.deepEqual(applyWords(r, ['noprint'], 'x'), { stop: false, print: false, pass: true }, 'noprint implies nostop');
	assert.deepEqual(
		applyWords({ stop: false, print: false, pass: true }, ['stop'], 'x'),
		{ stop: true, print: true, pass: true },
		'stop implies print',
	);
	assert.deepEqual(applyWords(r, ['ignore'], 'x'), { stop: true, print: true, pass: false });
	assert.throws(() => applyWords(r, ['nostpo'], 'where'), /where: unknown word "nostpo"/);
});

test('"signals" attribute: applied; every mistake is an error naming the key', () => {
	const t = applySignalsAttribute(gdbDefaults(), { SIGUSR1: 'nostop noprint pass', SIGPIPE: 'nopass', chld: 'stop' });
	assert.deepEqual(t[10], { stop: false, print: false, pass: true });
	assert.deepEqual(t[13], { stop: true, print: true, pass: false });
	assert.deepEqual(t[17], { stop: true, print: true, pass: true });
	assert.deepEqual(t[15], gdbDefaults()[15], 'others untouched');
	const err = (cfg: unknown) => {
		try {
			applySignalsAttribute(gdbDefaults(), cfg);
		} catch (e) {
			assert.ok(e instanceof SignalConfigError);
			return (e as Error).message;
		}
		assert.fail(`accepted ${JSON.stringify(cfg)}`);
	};
	assert.match(err({ SIGFOO: 'nostop' }), /"signals"\."SIGFOO": unknown signal name/);
	assert.match(err({ SIGUSR1: 'nostp' }), /"signals"\."SIGUSR1": unknown word "nostp"/);
	assert.match(err({ SIGUSR1: 3 }), /the value must be a string/);
	assert.match(err({ SIGKILL: 'nostop' }), /SIGKILL cannot be/);
	assert.match(err(['SIGUSR1']), /must be an object/);
	assert.match(err('SIGUSR1'), /must be an object/);
	const base = gdbDefaults();
	assert.equal(applySignalsAttribute(base, undefined), base, 'no attribute: the table as it is');
});

test('handle: signals, ranges, all; then words', () => {
	assert.deepEqual(parseHandle('handle SIGUSR1 SIGUSR2 nostop noprint'), { signals: [10, 12], words: ['nostop', 'noprint'] });
	assert.deepEqual(parseHandle('14-15 nopass'), { signals: [14, 15], words: ['nopass'] });
	const all = parseHandle('handle all nostop');
	assert.ok(!all.signals.includes(2) && !all.signals.includes(5) && !all.signals.includes(9), 'all: not SIGINT, SIGTRAP, SIGKILL');
	assert.equal(all.signals.length, 64 - 4);
	assert.deepEqual(parseHandle('handle SIGUSR1'), { signals: [10], words: [] }, 'no words: just show the row');
	assert.throws(() => parseHandle('handle'), /which signal/);
	assert.throws(() => parseHandle('handle SIGUSR1 nostop SIGUSR2'), /signals come first/);
	assert.throws(() => parseHandle('handle SIGSTOP nostop'), /SIGSTOP cannot be/);
	assert.throws(() => parseHandle('handle BOGUS'), /unknown signal or word "BOGUS"/);
});

test('exception filters: an unchecked filter makes its signals nostop, nothing else', () => {
	const base = gdbDefaults();
	const noFatal = applyExceptionFilters(base, ['other']);
	assert.equal(noFatal[11].stop, false, 'SIGSEGV');
	assert.equal(noFatal[11].pass, true, 'SIGSEGV still passed (it kills the program)');
	assert.equal(noFatal[10].stop, true, 'SIGUSR1 still stops');
	const noOther = applyExceptionFilters(base, ['fatal']);
	assert.equal(noOther[10].stop, false, 'SIGUSR1');
	assert.equal(noOther[6].stop, true, 'SIGABRT stops');
	assert.deepEqual(applyExceptionFilters(base, ['fatal', 'other']), base, 'both checked: the table');
});

test('info signals: gdb layout; masks round trip', () => {
	const t = gdbDefaults();
	const text = formatSignals(t, [10, 17]);
	assert.equal(text.split('\n').length, 3);
	assert.match(text, /^Signal\s+Stop\s+Print\s+Pass to program\s+Description$/m);
	assert.match(text, /^SIGUSR1\s+Yes\s+Yes\s+Yes\s+User defined signal 1$/m);
	assert.match(text, /^SIGCHLD\s+No\s+No\s+Yes\s+Child status changed$/m);
	assert.equal(formatSignals(t).split('\n').length, 65);
	assert.deepEqual(fromMasks(toMasks(t)), t);
});

test('handledSignalHint: only for a signal the program catches; a JVM is named by its libjvm.so', () => {
	// this process: no SIGUSR2 handler yet, then one
	assert.equal(catchesSignal(process.pid, 12), false);
	assert.equal(handledSignalHint(process.pid, 12, 'SIGUSR2'), '');
	const h = (): void => undefined;
	process.on('SIGUSR2', h);
	try {
		assert.equal(catchesSignal(process.pid, 12), true);
		assert.equal(
			handledSignalHint(process.pid, 12, 'SIGUSR2'),
			'; the program has its own SIGUSR2 handler — if this one is expected, `handle SIGUSR2 nostop noprint` in the Debug Console (or "signals": {"SIGUSR2": "nostop noprint"} in launch.json) lets it pass',
		);
	} finally {
		process.off('SIGUSR2', h);
	}
	assert.equal(catchesSignal(process.pid, 12), false, 'the handler is gone again');
	assert.equal(catchesSignal(999999999, 11), false, 'no such process: no hint');
});
