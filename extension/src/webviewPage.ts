/*
 * Our webview panels (stack picture, memory view) and their HTML: one page
 * with our CSS (media/webview.css, then the page's own) and script from
 * media/, a strict Content-Security-Policy (nothing remote; the script
 * only with a fresh nonce).
 */
import * as crypto from 'node:crypto';
import * as vscode from 'vscode';

export function webviewPage(webview: vscode.Webview, media: vscode.Uri, o: { title: string; asset: string; body: string }): string {
	const nonce = crypto.randomBytes(16).toString('base64');
	const base = webview.asWebviewUri(vscode.Uri.joinPath(media, 'webview.css'));
	const css = webview.asWebviewUri(vscode.Uri.joinPath(media, `${o.asset}.css`));
	const js = webview.asWebviewUri(vscode.Uri.joinPath(media, `${o.asset}.js`));
	const csp = [
		"default-src 'none'",
		`style-src ${webview.cspSource}`,
		`img-src ${webview.cspSource}`,
		`font-src ${webview.cspSource}`,
		`script-src 'nonce-${nonce}'`,
	].join('; ');
	return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${base}">
<link rel="stylesheet" href="${css}">
<title>${o.title}</title>
</head>
<body>
${o.body}
<script nonce="${nonce}" src="${js}"></script>
</body>
</html>`;
}

/**
 * A webview panel beside the editor, not taking focus (scripts on, media/ only, kept while hidden), showing webviewPage
 * with p.title as the tab's title too; icon: media/icons/{light,dark}/<icon>. Its script's messages go to onMessage and
 * its closing to onClosed (both subscriptions in subs).
 */
export function openPanel<M>(
	extensionUri: vscode.Uri,
	p: { viewType: string; title: string; asset: string; body: string; icon?: string },
	subs: vscode.Disposable[],
	onMessage: (m: M) => void,
	onClosed: () => void,
): vscode.WebviewPanel {
	const media = vscode.Uri.joinPath(extensionUri, 'media');
	const panel = vscode.window.createWebviewPanel(
		p.viewType,
		p.title,
		{ viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
		{ enableScripts: true, localResourceRoots: [media], retainContextWhenHidden: true },
	);
	if (p.icon) {
		panel.iconPath = {
			light: vscode.Uri.joinPath(media, 'icons', 'light', p.icon),
			dark: vscode.Uri.joinPath(media, 'icons', 'dark', p.icon),
		};
	}
	panel.webview.html = webviewPage(panel.webview, media, p);
	panel.onDidDispose(onClosed, null, subs);
	panel.webview.onDidReceiveMessage(onMessage, null, subs);
	return panel;
}
