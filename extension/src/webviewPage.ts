/*
 * The HTML of our webviews (stack picture, memory view): one page with our
 * CSS and script from media/, a strict Content-Security-Policy (nothing
 * remote; the script only with a fresh nonce).
 */
import * as crypto from 'node:crypto';
import * as vscode from 'vscode';

export function webviewPage(webview: vscode.Webview, media: vscode.Uri, o: { title: string; asset: string; body: string }): string {
	const nonce = crypto.randomBytes(16).toString('base64');
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
<link rel="stylesheet" href="${css}">
<title>${o.title}</title>
</head>
<body>
${o.body}
<script nonce="${nonce}" src="${js}"></script>
</body>
</html>`;
}
