#!/usr/bin/env node
// `npm start`'s prestart, and the tests that run dist/: runs `tsc -p tsconfig.json` (what `npm run build` runs)
// unless dist/ is newer than every source, so a restart with nothing changed starts at once. Prints `built` or
// `fresh`; exits with tsc's code when it fails.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Built by the same tsc run: the library entry point and the `npm start` binary. */
const ARTEFACTS = ['dist/index.js', 'dist/bin/poolscope.js'];

/** Newest modification time of a .ts file under `dir`. */
function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

const sources = Math.max(newestSource(join(root, 'src')), statSync(join(root, 'tsconfig.json')).mtimeMs);
const fresh = ARTEFACTS.every((file) => existsSync(join(root, file)) && statSync(join(root, file)).mtimeMs >= sources);
if (fresh) {
  console.log('fresh');
} else {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
  console.log('built');
}
