#!/usr/bin/env node
/*
 * The layer rule of native/src (README: Layout), checked on the objects the
 * build made: `node scripts/check-layers.js [OBJDIR [OBJ.o ...]]` (make -C
 * native layers, which make check runs, names the objects of the library:
 * a stale object of a moved file is not counted). OBJDIR defaults to
 * native/build/obj; without OBJs, every .o under it.
 *
 * The link graph: file A -> file B when A's object uses (nm: U) a symbol
 * B's object defines. It must have no cycle (no two files that reach each
 * other), and every edge must go to the same layer or a lower one:
 *
 *   base < arch < core < ptrace < debuginfo < engine < ops < src/*.c (the entry)
 *
 * Fails naming each cycle (its files and the symbols behind its edges) and
 * each edge that goes up. --graph prints every edge. --src=DIR (native/src)
 * also checks the includes: no file includes a header of a higher layer.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const LAYERS = ['base', 'arch', 'core', 'ptrace', 'debuginfo', 'engine', 'ops', '(entry)'];

const args = process.argv.slice(2);
const showGraph = args.includes('--graph');
const srcArg = args.find((a) => a.startsWith('--src='));
const srcDir = srcArg ? path.resolve(srcArg.slice('--src='.length)) : null;
const positional = args.filter((a) => !a.startsWith('--'));
const objDir = path.resolve(positional[0] ?? path.join(__dirname, '..', 'native', 'build', 'obj'));

function fail(msg) {
	console.error(`check-layers: ${msg}`);
	process.exit(1);
}

function filesUnder(dir, re) {
	const out = [];
	const walk = (d) => {
		for (const e of fs.readdirSync(d, { withFileTypes: true })) {
			const p = path.join(d, e.name);
			if (e.isDirectory()) walk(p);
			else if (re.test(e.name)) out.push(p);
		}
	};
	walk(dir);
	return out.sort();
}

/** src/core/tracer.o -> core; src/arch/x86_64/regs.o -> arch; src/api.o -> (entry). */
function layerOf(file) {
	const parts = file.split('/');
	if (parts[0] !== 'src') fail(`${file}: not under src/`);
	if (parts.length === 2) return LAYERS.length - 1;
	const i = LAYERS.indexOf(parts[1]);
	if (i < 0) fail(`${file}: ${parts[1]}/ is no layer (${LAYERS.join(' < ')}): add it to scripts/check-layers.js and README's Layout`);
	return i;
}

if (!fs.existsSync(objDir)) fail(`${objDir}: no such directory (make -C native first)`);
const objs = positional.length > 1 ? positional.slice(1).map((o) => path.resolve(o)) : filesUnder(objDir, /\.o$/);
for (const o of objs) if (path.relative(objDir, o).startsWith('..')) fail(`${o} is not under ${objDir}`);
if (objs.length === 0) fail(`${objDir}: no objects (make -C native first)`);

const defs = new Map(); // symbol -> file
const uses = new Map(); // file -> Set(symbol)
for (const o of objs) {
	const file = path.relative(objDir, o).replace(/\.o$/, '');
	const r = spawnSync('nm', [o], { encoding: 'utf8' });
	if (r.error) fail(`nm ${o}: ${r.error.message} (binutils)`);
	if (r.status !== 0) fail(`nm ${o}: exit ${r.status}: ${r.stderr.trim()}`);
	const u = new Set();
	for (const line of r.stdout.split('\n')) {
		const f = line.trim().split(/\s+/);
		if (f.length === 3 && /^[TDBRVWGS]$/.test(f[1])) {
			const prev = defs.get(f[2]);
			if (prev && prev !== file && !/^[VW]$/.test(f[1])) fail(`${f[2]} is defined by both ${prev} and ${file}`);
			defs.set(f[2], file);
		} else if (f.length === 2 && f[0] === 'U') {
			u.add(f[1]);
		}
	}
	uses.set(file, u);
	layerOf(file);
}

// file -> Map(file -> [symbols])
const graph = new Map();
for (const [file, u] of uses) {
	const out = new Map();
	for (const s of u) {
		const to = defs.get(s);
		if (!to || to === file) continue;
		if (!out.has(to)) out.set(to, []);
		out.get(to).push(s);
	}
	for (const l of out.values()) l.sort();
	graph.set(file, out);
}

// Tarjan's strongly connected components (iterative).
function components(g) {
	const index = new Map();
	const low = new Map();
	const stack = [];
	const on = new Set();
	const res = [];
	let n = 0;
	for (const root of g.keys()) {
		if (index.has(root)) continue;
		const work = [[root, [...g.get(root).keys()], 0]];
		index.set(root, n);
		low.set(root, n++);
		stack.push(root);
		on.add(root);
		while (work.length) {
			const top = work[work.length - 1];
			const [v, succ] = top;
			if (top[2] < succ.length) {
				const w = succ[top[2]++];
				if (!index.has(w)) {
					index.set(w, n);
					low.set(w, n++);
					stack.push(w);
					on.add(w);
					work.push([w, [...g.get(w).keys()], 0]);
				} else if (on.has(w)) {
					low.set(v, Math.min(low.get(v), index.get(w)));
				}
				continue;
			}
			work.pop();
			if (work.length) {
				const parent = work[work.length - 1][0];
				low.set(parent, Math.min(low.get(parent), low.get(v)));
			}
			if (low.get(v) === index.get(v)) {
				const comp = [];
				let w;
				do {
					w = stack.pop();
					on.delete(w);
					comp.push(w);
				} while (w !== v);
				res.push(comp.sort());
			}
		}
	}
	return res;
}

const problems = [];
for (const comp of components(graph)) {
	if (comp.length < 2) continue;
	const inComp = new Set(comp);
	const lines = [`a cycle of ${comp.length} files: ${comp.join(', ')}`];
	for (const a of comp) for (const [b, syms] of graph.get(a)) if (inComp.has(b)) lines.push(`    ${a} -> ${b}: ${syms.join(', ')}`);
	problems.push(lines.join('\n'));
}
let edges = 0;
for (const [a, out] of graph) {
	for (const [b, syms] of out) {
		edges++;
		const la = layerOf(a);
		const lb = layerOf(b);
		if (lb > la) problems.push(`${a} (${LAYERS[la]}) uses ${b} (${LAYERS[lb]}), a higher layer: ${syms.join(', ')}`);
	}
}

let includes = 0;
if (srcDir) {
	if (!fs.existsSync(srcDir)) fail(`${srcDir}: no such directory`);
	for (const f of filesUnder(srcDir, /\.[chS]$/)) {
		const file = path.join('src', path.relative(srcDir, f));
		const lf = layerOf(file);
		const text = fs.readFileSync(f, 'utf8');
		for (const m of text.matchAll(/^\s*#\s*include\s+"([^"/]+)\/[^"]+"/gm)) {
			const lh = LAYERS.indexOf(m[1]);
			if (lh < 0) continue;
			includes++;
			if (lh > lf) problems.push(`${file} (${LAYERS[lf]}) includes "${m[0].match(/"(.*)"/)[1]}" (${LAYERS[lh]}), a higher layer`);
		}
	}
}

if (showGraph)
	for (const [a, out] of [...graph].sort()) for (const [b, syms] of [...out].sort()) console.log(`${a} -> ${b}: ${syms.join(', ')}`);

if (problems.length) {
	console.error(`check-layers: ${problems.length} problem(s) (objects: ${objDir})`);
	console.error(`(layers, bottom up: ${LAYERS.join(' < ')}; README: Layout)`);
	for (const p of problems) console.error(`  ${p}`);
	process.exit(1);
}
const inc = srcDir ? `, ${includes} includes of layer headers` : '';
console.log(`check-layers: ${graph.size} objects, ${edges} edges${inc}, no cycle, nothing going up (${LAYERS.join(' < ')})`);
