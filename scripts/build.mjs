#!/usr/bin/env node
// Builds dist/: the CLI and the local data plane bundled with their dependencies, so that a command
// loads a few files instead of thousands (and, from the SDK's ES modules, only the commands it uses):
// `ecs-ha up` starts in about a third of the CPU time the unbundled build took. Type checking is
// not done here: `npm test` and `npm run typecheck` run tsc.
//
// dist/ may be in use while it is rebuilt (`npm pack` runs this through `prepare`, beside running
// commands): each file is replaced by a rename and only when it changed, and files of an earlier
// build are removed only after the new ones are in place.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { build } from 'esbuild';

const OUT = resolve('dist');
const result = await build({
  // Each entry keeps the path tsc gave it: bin/ecs-ha.js, the emulator (which spawns the plane),
  // test/python.mjs and the benchmark import these.
  entryPoints: {
    cli: 'src/cli.ts',
    'local/plane/main': 'src/local/plane/main.ts',
    'local/python': 'src/local/python.ts',
    'steps/index': 'src/steps/index.ts',
    'aws/clients': 'src/aws/clients.ts',
  },
  outdir: OUT,
  write: false,
  bundle: true,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // The SDK's ES module builds: unused commands and their schemas are left out.
  mainFields: ['module', 'main'],
  // Bundled CommonJS code still calls require() for Node's own modules.
  banner: { js: "import { createRequire as __ecsHaCreateRequire } from 'node:module'; const require = __ecsHaCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});

const built = new Set();
for (const file of result.outputFiles) {
  built.add(file.path);
  let current;
  try {
    current = readFileSync(file.path);
  } catch {
    // not there yet
  }
  if (current?.equals(file.contents)) continue;
  mkdirSync(dirname(file.path), { recursive: true });
  const temporary = `${file.path}.${process.pid}.tmp`;
  writeFileSync(temporary, file.contents);
  renameSync(temporary, file.path);
}

function removeStale(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) removeStale(path);
    else if (!built.has(path)) rmSync(path, { force: true });
  }
  if (dir !== OUT && readdirSync(dir).length === 0) rmSync(dir, { recursive: true, force: true });
}
removeStale(OUT);
console.error(`built ${built.size} files in ${relative(process.cwd(), OUT)}/`);
