// Makes the small pictures of docs/console.md from the screenshots `make test` writes to
// build/screenshots/ (t0015-console): each scaled down and cut to its first screenful, by
// the same Chromium (no image tool needed).
//   node tests/browser/docs-images.mjs          (from the checkout, after make test)
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launch } from './helpers.mjs';

const root = new URL('../..', import.meta.url).pathname;
// name in build/screenshots, scale, height kept (in the picture's pixels)
const pictures = [
  ['home-1280', 0.6, 560],
  ['compose-1280', 0.6, 700],
  ['campaign-sent-1280', 0.6, 620],
  ['import-dry-run-1280', 0.6, 560],
  ['door-after-360', 0.8, 780],
  ['inbox-message-360', 0.8, 700],
  ['people-360', 0.8, 640],
];

const browser = await launch();
const page = await browser.newPage();
for (const [name, scale, height] of pictures) {
  const png = readFileSync(join(root, 'build/screenshots', `${name}.png`));
  const width = png.readUInt32BE(16);
  await page.setViewportSize({ width: Math.round(width * scale), height });
  await page.setContent(`<body style="margin:0"><img style="display:block;width:${Math.round(width * scale)}px"
    src="data:image/png;base64,${png.toString('base64')}"></body>`);
  await page.waitForLoadState('load');
  writeFileSync(join(root, 'docs/img', `console-${name.replace(/-\d+$/, '')}.png`),
    await page.screenshot({ clip: { x: 0, y: 0, width: Math.round(width * scale), height } }));
}
await browser.close();
