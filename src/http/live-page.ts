/**
 * GET /: the live page. One self-contained HTML document (CSS, JS and the uPlot charting library
 * inlined from node_modules when the daemon starts; nothing is fetched from elsewhere, so it works
 * offline) that polls /history and /status every two seconds and follows /events: workers,
 * utilization, queue depth and oldest job age over the last 15 minutes (tooltips, drag to zoom,
 * double-click to reset, cursors in step), the scaling changes, the worker and queue tables.
 * Light or dark after the browser's prefers-color-scheme; one column on a narrow screen.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { BODY, STYLE } from './live-page-layout.js';
import { SCRIPT } from './live-page-script.js';

const require = createRequire(import.meta.url);
const uplot = (file: string) => readFileSync(require.resolve(`uplot/dist/${file}`), 'utf8');

export function livePageHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>worker-pool</title>
<style>${uplot('uPlot.min.css')}</style>
<style>${STYLE}</style>
</head>
<body>
${BODY}
<script>${uplot('uPlot.iife.min.js')}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

export const LIVE_PAGE_HTML = livePageHtml();
