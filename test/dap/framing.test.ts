/*
 * forkall dap (stdio), the wire: malformed bodies and frames never end the
 * session nor touch the debuggee (an error response when the message has a
 * seq, one stderr line otherwise); a header without a valid Content-Length
 * is reported and skipped; big bodies are read in linear time and bodies
 * over the 64 MiB cap get a clear error.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { fixturePath } from '../helpers/paths';
import { killAll } from '../helpers/procs';
import { killLaunched, RawDap, running } from './raw';

after(killAll);

async function initialized(dc: RawDap): Promise<void> {
	const r = await dc.request('initialize', { adapterID: 'forkall', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
	assert.equal(r.success, true, r.message);
}

/** The adapter still answers. */
async function answers(dc: RawDap, what: string): Promise<void> {
	const r = await dc.request('threads', undefined, 10000).catch((e: Error) => assert.fail(`${what}: ${e.message}`));
	assert.equal(r.success, true, `${what}: threads failed: ${r.message}`);
}

test('malformed bodies: error response with the seq, or one stderr line; the session and the launched program survive', async () => {
	const dc = new RawDap();
	let kids: number[] = [];
	try {
		await initialized(dc);
		const launch = await dc.request('launch', { program: fixturePath('threads'), args: ['2'] });
		assert.equal(launch.success, true, launch.message);
		kids = dc.children();
		assert.equal(kids.length, 1, `one launched program: ${kids}`);
		const prog = kids[0];
		await dc.request('configurationDone');

		// truncated JSON with a seq: an error response for that seq
		dc.sendBody('{"seq": 900, "type": "request", "command": "threads", "argu');
		const r = await dc.response(900, 10000);
		assert.equal(r.success, false);
		assert.match(r.message ?? '', /malformed message: the body is not JSON/);
		assert.equal(r.command, 'threads');
		for (const body of ['null', 'true', '42', '"str"', '[1,2]', '{"type":"event"}', '']) {
			const before = dc.stderr.length;
			dc.sendBody(body);
			await answers(dc, `after body ${JSON.stringify(body)}`);
			const lines = (await dc.stderrAfter(before, /ignored input.*\n/)).split('\n').filter((l) => /ignored input/.test(l));
			assert.equal(lines.length, 1, `one stderr line for ${JSON.stringify(body)}: ${dc.stderr}`);
		}
		// a request object that is not one: wrong types of seq / command / arguments
		dc.sendBody('{"seq": 901, "type": "request", "command": 7}');
		assert.match((await dc.response(901, 10000)).message ?? '', /without a string "command"/);
		dc.sendBody('{"seq": 902, "type": "request", "command": "threads", "arguments": 5}');
		assert.match((await dc.response(902, 10000)).message ?? '', /"arguments" must be an object/);
		await answers(dc, 'at the end');
		assert.ok(dc.alive, 'the adapter is running');
		assert.ok(running(prog), 'the launched program is running');
		const d = await dc.request('disconnect', {});
		assert.equal(d.success, true);
		await dc.waitExit(10000);
		assert.equal(running(prog), false, 'disconnect ended the launched program');
	} finally {
		await dc.kill();
		killLaunched(kids);
	}
});

test('a header without a valid Content-Length: one stderr line, skipped to the next message', async () => {
	const dc = new RawDap();
	try {
		await initialized(dc);
		for (const header of [
			'Content-Type: application/json\r\n\r\n{"seq":1}',
			'Content-Length: abc\r\n\r\n',
			'garbage\r\n\r\n',
			'Content-Length: -5\r\n\r\n',
		]) {
			const before = dc.stderr.length;
			dc.write(header);
			await answers(dc, `after ${JSON.stringify(header)}`);
			assert.match(
				await dc.stderrAfter(before, /skipped to the next/),
				/bad header .*skipped to the next Content-Length header/,
				`reported: ${JSON.stringify(header)}`,
			);
		}
		// junk glued before a valid header: reported, and the request behind it is still answered
		const glued = JSON.stringify({ seq: 777, type: 'request', command: 'threads' });
		const mark = dc.stderr.length;
		dc.write(`junk without end ${'\n'}Content-Length: ${glued.length}\r\n\r\n${glued}`);
		assert.equal((await dc.response(777, 10000)).success, true, 'the glued request is answered');
		assert.match(await dc.stderrAfter(mark, /bad header/), /bad header/);
		// a header that never ends (no CRLFCRLF within 8 KiB)
		const before = dc.stderr.length;
		dc.write('X'.repeat(20000));
		await answers(dc, 'after 20000 bytes without a header end');
		assert.match(await dc.stderrAfter(before, /no end of header/), /no end of header/);
		// the same with the next request in the same chunk: still "no end of header", and it is answered
		const next = JSON.stringify({ seq: 778, type: 'request', command: 'threads' });
		const mark2 = dc.stderr.length;
		dc.write(`${'Y'.repeat(20000)}Content-Length: ${next.length}\r\n\r\n${next}`);
		assert.equal((await dc.response(778, 10000)).success, true, 'the request after 20000 junk bytes is answered');
		assert.match(await dc.stderrAfter(mark2, /no end of header/), /no end of header within 8192 bytes/);
	} finally {
		await dc.kill();
	}
});

test('a 50 MB body is read in linear time; a body over 64 MiB gets an error naming the limit', async () => {
	const dc = new RawDap();
	try {
		await initialized(dc);
		const pad = 'x'.repeat(50 * 1000 * 1000);
		const t0 = Date.now();
		const seq = dc.nextSeq();
		dc.sendBody(`{"seq":${seq},"type":"request","command":"threads","arguments":{"pad":"${pad}"}}`);
		const r = await dc.response(seq, 20000);
		const ms = Date.now() - t0;
		assert.equal(r.success, true, r.message);
		assert.ok(ms < 20000, `50 MB answered in ${ms} ms`);
		const big = 65 * 1024 * 1024;
		const head = `{"seq":4242,"type":"request","command":"threads","arguments":{"pad":"`;
		const body = Buffer.alloc(big, 0x78);
		body.write(head, 0, 'utf8');
		dc.sendBody(body);
		const e = await dc.response(4242, 30000);
		assert.equal(e.success, false);
		assert.match(e.message ?? '', /larger than the limit of 67108864 bytes \(64 MiB\)/);
		await answers(dc, 'after the oversized body');
	} finally {
		await dc.kill();
	}
});
