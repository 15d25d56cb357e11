/* Forkall: Memory webview. Receives {type:'memory', title, session, dump, error}; DOM only, no innerHTML of data. */
(function () {
	const vscode = acquireVsCodeApi();
	const $ = (id) => document.getElementById(id);
	const el = (tag, cls, text) => {
		const e = document.createElement(tag);
		if (cls) e.className = cls;
		if (text !== undefined) e.textContent = text;
		return e;
	};
	$('prev').addEventListener('click', () => vscode.postMessage({ type: 'prev' }));
	$('next').addEventListener('click', () => vscode.postMessage({ type: 'next' }));
	$('refresh').addEventListener('click', () => vscode.postMessage({ type: 'refresh' }));
	$('goto').addEventListener('submit', (ev) => {
		ev.preventDefault();
		vscode.postMessage({ type: 'goto', address: $('address').value });
	});
	window.addEventListener('message', (ev) => {
		const m = ev.data;
		if (!m || m.type !== 'memory') return;
		$('title').textContent = m.title ? 'Memory at ' + m.title : 'Memory';
		$('error').textContent = m.error || '';
		const body = $('dump').querySelector('tbody');
		body.replaceChildren();
		const d = m.dump;
		if (!d) {
			$('summary').textContent = '';
			return;
		}
		$('summary').textContent =
			(m.session ? m.session + ' · ' : '') + d.count + ' bytes' + (d.unreadable ? ' · ' + d.unreadable + ' unreadable (??)' : '');
		for (const r of d.rows) {
			const tr = el('tr');
			tr.appendChild(el('td', 'addr', r.address));
			const hex = el('td', 'hex');
			r.hex.forEach((h, i) => {
				hex.appendChild(el('span', h === '??' ? 'byte bad' : 'byte', h));
				if (i === 7) hex.appendChild(el('span', 'gap', ' '));
			});
			tr.appendChild(hex);
			tr.appendChild(el('td', 'ascii', r.ascii));
			body.appendChild(tr);
		}
	});
	vscode.postMessage({ type: 'ready' });
})();
