#!/usr/bin/env node
// The web UI: firmware/ui/client/main.ts (and the CSS its pages import) → app.js and app.css,
// plus index.html and the icon, in dist/firmware/ui, where firmware/ui/assets.ts serves them from.
// esbuild bundles TypeScript for the browser in one step; the firmware itself is built by ncc.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const client = path.join(root, 'firmware/ui/client');
const out = path.join(root, process.argv[2] ?? 'dist/firmware/ui');

fs.rmSync(out, { recursive: true, force: true });
await build({
  entryPoints: { app: path.join(client, 'main.ts') },
  outdir: out,
  bundle: true,
  format: 'esm',
  target: ['es2020'],
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});
for (const file of ['index.html', 'icon.svg']) fs.copyFileSync(path.join(client, file), path.join(out, file));
const sizes = fs.readdirSync(out).sort().map((name) => `${name} ${fs.statSync(path.join(out, name)).size} B`);
console.log(`ui: ${path.relative(root, out)}: ${sizes.join(', ')}`);
