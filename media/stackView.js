// Forkall: LWP Stacks webview. Draws what the extension posts ({type: 'picture'});
// builds DOM nodes with textContent only (thread names come from the debuggee).
(function () {
	'use strict';
	const vscode = acquireVsCodeApi();
	const $ = (id) => document.getElementById(id);

	function el(tag, cls, text) {
		const e = document.createElement(tag);
		if (cls) e.className = cls;
		if (text !== undefined && text !== null) e.textContent = String(text);
		return e;
	}

	function legend() {
		const l = $('legend');
		l.replaceChildren();
		for (const [cls, text] of [
			['guard', 'guard page'],
			['free', 'free'],
			['used', 'used (high − sp)'],
			['sp', 'SP'],
		]) {
			const item = el('span', 'legend-item');
			item.append(el('span', 'swatch ' + cls), el('span', null, text));
			l.append(item);
		}
	}

	function bar(b) {
		const row = el('div', 'row' + (b.nearOverflow ? ' near-overflow' : '') + (b.isMain ? ' main' : '') + (b.dead ? ' dead' : ''));
		row.dataset.tid = String(b.tid);
		const label = el('div', 'label');
		const name = el('div', 'name');
		name.append(el('span', 'tid', b.tid), el('span', 'tname', b.name));
		if (b.isMain) name.append(el('span', 'badge', 'main'));
		if (b.dead) name.append(el('span', 'badge', 'dead'));
		if (b.nearOverflow) name.append(el('span', 'badge warn', 'near overflow'));
		if (b.peerTid !== null) name.append(el('span', 'badge peer', (window.__side === 'child' ? '← ' : '→ ') + b.peerTid));
		label.append(name, el('div', 'sub', b.state + (b.fn ? ' · ' + b.fn : '')));
		row.append(label);

		const track = el('div', 'track');
		if (b.noStack) {
			track.append(el('div', 'nostack', 'stack unknown'));
		} else {
			const body = el('div', 'bar');
			body.style.width = (b.widthFrac * 100).toFixed(2) + '%';
			body.title =
				b.low +
				' – ' +
				b.high +
				'\nsize ' +
				b.size +
				', guard ' +
				b.guard +
				'\nused ' +
				b.used +
				' (' +
				b.percent +
				'%), free ' +
				b.free +
				'\nsp ' +
				b.sp;
			// Low addresses on the left: guard, then free space, then the used part up to high.
			const g = el('div', 'seg guard');
			g.style.width = (b.guardFrac * 100).toFixed(3) + '%';
			const f = el('div', 'seg free');
			f.style.width = (b.freeFrac * 100).toFixed(3) + '%';
			const u = el('div', 'seg used');
			u.style.width = (b.usedFrac * 100).toFixed(3) + '%';
			body.append(g, f, u);
			if (b.spInStack) {
				const sp = el('div', 'sp-marker');
				sp.style.left = ((b.guardFrac + b.freeFrac) * 100).toFixed(3) + '%';
				sp.title = 'sp ' + b.sp;
				body.append(sp);
			}
			track.append(body);
			const addrs = el('div', 'addrs');
			addrs.append(
				el('span', 'lo', b.low + ' – ' + b.high),
				el(
					'span',
					'usage',
					b.spInStack
						? b.used + ' used of ' + b.size + ' (' + b.percent + '%), guard ' + b.guard
						: 'SP off this stack (size ' + b.size + ')',
				),
			);
			track.append(addrs);
		}
		row.append(track);
		return row;
	}

	function render(p) {
		const bars = $('bars');
		const fork = $('fork');
		bars.replaceChildren();
		fork.replaceChildren();
		if (!p) {
			$('title').textContent = 'No Forkall session';
			$('summary').textContent = 'Start or focus a Forkall debug session; the stacks appear when it stops.';
			document.body.dataset.state = 'empty';
			return;
		}
		window.__side = p.fork ? p.fork.side : null;
		$('title').textContent = p.title;
		const warn = p.bars.filter((b) => b.nearOverflow).length;
		$('summary').textContent =
			'pid ' +
			p.pid +
			' · ' +
			p.bars.length +
			' LWPs' +
			(p.reason && !p.running ? ' · stopped: ' + p.reason : '') +
			(p.running ? ' · running (picture from the last stop)' : '') +
			(warn ? ' · ' + warn + ' near overflow (≥ ' + p.threshold + '%)' : '');
		document.body.dataset.state = p.running ? 'running' : 'stopped';
		for (const b of p.bars) bars.append(bar(b));
		if (p.fork) {
			fork.append(
				el(
					'h2',
					null,
					p.fork.side === 'parent'
						? 'Forked: parent ' + p.fork.parentPid + ' → child ' + p.fork.childPid
						: 'Forked child ' + p.fork.childPid + ' of parent ' + p.fork.parentPid,
				),
			);
			const t = el('table', 'tidmap');
			const head = el('tr');
			head.append(el('th', null, 'parent tid'), el('th', null, ''), el('th', null, 'child tid'));
			t.append(head);
			for (const pair of p.fork.pairs) {
				const tr = el('tr');
				tr.append(el('td', null, pair.parentTid), el('td', 'arrow', '→'), el('td', null, pair.childTid));
				t.append(tr);
			}
			fork.append(t);
		}
	}

	window.addEventListener('message', (ev) => {
		const m = ev.data;
		if (m && m.type === 'picture') {
			render(m.picture);
			vscode.setState({ picture: m.picture });
		}
	});
	legend();
	const saved = vscode.getState();
	render(saved ? saved.picture : null);
	vscode.postMessage({ type: 'ready' });
})();
