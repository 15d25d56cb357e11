#!/usr/bin/env node
// Render media/icon.svg to media/icon.png (128x128) with playwright-core and
// Debian's Chromium (vsce accepts only PNG icons). Run by hand after editing the SVG.
'use strict';
const path = require('node:path');
const { chromium } = require('playwright-core');

(async () => {
	const svg = path.join(__dirname, '..', 'media', 'icon.svg');
	const browser = await chromium.launch({
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		headless: true,
		args: ['--no-sandbox'],
	});
	try {
		const page = await browser.newPage({ viewport: { width: 128, height: 128 } });
		await page.goto('file://' + svg);
		await page.screenshot({ path: path.join(__dirname, '..', 'media', 'icon.png'), omitBackground: true });
	} finally {
		await browser.close();
	}
})().catch((e) => {
	console.error(`make-icon: ${e.message}`);
	process.exit(1);
});
