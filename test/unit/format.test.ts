/* Pure helpers: formatting and register decoding (no tracer needed). */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as os from 'node:os';
import { formatSize, formatTable, hex, hexGroups, hexPad, parseHex, printable, toSigned } from '../../adapter/src/common/format';
import { decodeFcw, decodeFsw, decodeMxcsr, decodeRflags, decodeSigmask, x87ToNumber } from '../../adapter/src/model/registers';
import { parseMessage, parseThreadsBody, ProtocolError } from '../../adapter/src/engine/protocol';
import { main, parseId } from '../../adapter/src/cli/main';

test('hex helpers', () => {
	assert.equal(hex(0n), '0x0');
	assert.equal(hex(255), '0xff');
	assert.equal(hexPad(0x246n, 8), '0x00000246');
	assert.equal(parseHex('0xFFfe'), 0xfffen);
	assert.throws(() => parseHex('12'));
	assert.equal(toSigned(0xfffffffffffffe00n), -512n);
	assert.equal(hexGroups(1n, 32), '0x0000000000000000_0000000000000001');
});

test('formatSize', () => {
	assert.equal(formatSize(0), '0');
	assert.equal(formatSize(4096), '4K');
	assert.equal(formatSize(1 << 20), '1M');
	assert.equal(formatSize(8392704), '8196K');
	assert.equal(formatSize(100), '100');
});

test('formatTable aligns columns and trims', () => {
	const t = formatTable(
		[
			['A', 'BB', 'C'],
			['100', 'x', ''],
		],
		['right'],
	);
	assert.equal(t, '  A  BB  C\n100  x');
});

test('printable escapes control characters', () => {
	assert.equal(printable('a\tb\n'), 'a\\x09b\\x0a');
});

test('decodeRflags', () => {
	assert.deepEqual(decodeRflags(0x246n), ['PF', 'ZF', 'IF', 'IOPL=0']);
	assert.deepEqual(decodeRflags(0x3ad5n), ['CF', 'PF', 'AF', 'ZF', 'SF', 'IF', 'OF', 'IOPL=3']);
	assert.deepEqual(decodeRflags(0x10602n), ['IF', 'DF', 'RF', 'IOPL=0']);
});

test('decodeMxcsr / fcw / fsw', () => {
	const m = decodeMxcsr(0x1f80n);
	assert.deepEqual(m.masks, ['IM', 'DM', 'ZM', 'OM', 'UM', 'PM']);
	assert.deepEqual(m.flags, []);
	assert.equal(m.rounding, 'nearest');
	assert.equal(decodeMxcsr(0x7f80n).rounding, 'toward-zero');
	assert.equal(decodeMxcsr(0x9fa1n).ftz, true);
	assert.deepEqual(decodeMxcsr(0x9fa1n).flags, ['IE', 'PE']);
	const c = decodeFcw(0x37fn);
	assert.equal(c.precision, 'extended');
	assert.equal(c.rounding, 'nearest');
	assert.equal(decodeFsw(0x3800n).top, 7);
});

test('x87ToNumber', () => {
	assert.equal(x87ToNumber(0x3fff8000000000000000n), 1);
	assert.equal(x87ToNumber(0xc000c000000000000000n), -3);
	assert.equal(x87ToNumber(0x4000c90fdaa22168c235n), Math.PI);
	assert.equal(x87ToNumber(0n), 0);
	assert.equal(x87ToNumber(0x7fff8000000000000000n), Infinity);
	assert.ok(Number.isNaN(x87ToNumber(0x7fffc000000000000000n)));
});

test('decodeSigmask', () => {
	assert.deepEqual(decodeSigmask(0x10002n, os.constants.signals), ['SIGINT', 'SIGCHLD']);
	assert.deepEqual(decodeSigmask(1n << 33n, os.constants.signals), ['SIGRTMIN+0']);
});

test('protocol: malformed messages throw ProtocolError', () => {
	assert.throws(() => parseMessage('not json'), ProtocolError);
	assert.throws(() => parseMessage('{"type":"result","id":"x","ok":true,"body":{}}'), /result\.id/);
	assert.throws(
		() => parseThreadsBody({ pid: 1, pauseUs: 2, attachedBefore: false, zombieLeader: false, threads: [{ tid: 1 }] }),
		/threads\.threads\[0\]/,
	);
	const m = parseMessage(
		'{"type":"result","id":3,"ok":false,"error":{"code":"ESRCH","errno":3,"kind":"no-such-process","step":"seize","message":"no such process: pid 4242"}}',
	);
	assert.equal(m.type, 'result');
});

test('cli: pid/tid validation and usage exit codes', async () => {
	assert.equal(parseId('42', 'pid'), 42);
	assert.throws(() => parseId('0', 'pid'));
	assert.throws(() => parseId('-3', 'pid'));
	assert.throws(() => parseId('1e3', 'pid'));
	assert.throws(() => parseId('99999999999', 'pid'));
	const io = {
		o: '',
		e: '',
		out(s: string) {
			this.o += s;
		},
		err(s: string) {
			this.e += s;
		},
	};
	assert.equal(await main(['threads', 'abc'], io), 2);
	assert.match(io.e, /^forkall: <pid> must be a positive integer/);
	assert.match(io.e, /Usage:/);
	assert.equal(await main(['bogus'], io), 2);
	assert.equal(await main(['regs', '12'], io), 2);
	assert.equal(await main(['--help'], io), 0);
	assert.match(io.o, /forkall threads <pid>/);
});
