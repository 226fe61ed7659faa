#!/usr/bin/env node
// Benchmark of ecs-ha against the moto emulator: a cold `up` at the graph's natural concurrency
// and at concurrency 1, a no-op `up`, `status`, `plan` and `down`; wall time, AWS calls, mutating calls and the
// critical path of each, plus the start-up time of `ecs-ha --help`. Not part of `npm test`.
//
//   npm run bench -- [--latency-ms 50] [--out bench-results.json]
//
// --latency-ms adds that much delay to every AWS call (a loopback proxy in front of the emulator),
// to model the round trips of real AWS.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    'latency-ms': { type: 'string', default: '50' },
    out: { type: 'string', default: 'bench-results.json' },
  },
});
const latencyMs = Number(values['latency-ms']);
if (!Number.isFinite(latencyMs) || latencyMs < 0) {
  console.error(`invalid --latency-ms "${values['latency-ms']}": expected a number of milliseconds, 0 or more`);
  process.exit(2);
}
const CLI = resolve('bin/ecs-ha.js');
const IMAGE = 'public.ecr.aws/docker/library/python:3.12-slim';
const { ALL_STEPS } = await import(resolve('dist/steps/index.js'));
const { isMutatingOperation } = await import(resolve('dist/aws/clients.js'));

function listen(server) {
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done(server.address().port)));
}

async function startMoto() {
  const probe = createServer();
  const port = await listen(probe);
  await new Promise((done) => probe.close(done));
  const child = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
    stdio: 'ignore',
    env: { ...process.env, MOTO_IAM_LOAD_MANAGED_POLICIES: 'true' },
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${url}/moto-api/config`)).ok) return { url, child };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  child.kill();
  throw new Error('moto did not start');
}

/** A loopback proxy that holds every request for `delay` ms before passing it to the emulator. */
async function startLatencyProxy(target, delay) {
  const { port: targetPort } = new URL(target);
  const server = createServer((incoming, outgoing) => {
    const body = [];
    incoming.on('data', (chunk) => body.push(chunk));
    incoming.on('end', () =>
      setTimeout(() => {
        const forward = request({ host: '127.0.0.1', port: targetPort, method: incoming.method, path: incoming.url, headers: incoming.headers }, (answer) => {
          outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(outgoing);
        });
        forward.on('error', () => outgoing.destroy());
        forward.end(Buffer.concat(body));
      }, delay),
    );
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, close: () => server.close() };
}

function run(args, env, cwd) {
  return new Promise((done) => {
    const started = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], { env, cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => done({ code, stderr, wallMs: performance.now() - started }));
  });
}

function readTrace(path) {
  try {
    return readFileSync(path, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
  } catch {
    return [];
  }
}

/**
 * The longest chain of calls that had to wait for each other: a call waited for an earlier call
 * (one that ended before it started) of its own step, of a step its step depends on (for down:
 * one that depends on it), or of no step (the credential check). Early lookups, which start
 * before their step's dependencies are done, are on the chain only where they really held it up.
 */
function criticalPath(calls, reverse) {
  const dependsOn = new Map(ALL_STEPS.map((s) => [s.id, s.dependsOn]));
  if (reverse) {
    for (const [id] of dependsOn) dependsOn.set(id, ALL_STEPS.filter((s) => s.dependsOn.includes(id)).map((s) => s.id));
  }
  const ancestors = new Map();
  const ancestorsOf = (id) => {
    if (!ancestors.has(id)) ancestors.set(id, new Set((dependsOn.get(id) ?? []).flatMap((dep) => [dep, ...ancestorsOf(dep)])));
    return ancestors.get(id);
  };
  const waitsFor = (earlier, later) => !earlier.step || earlier.step === later.step || (later.step && ancestorsOf(later.step).has(earlier.step));
  const timed = calls.map((c) => ({ ...c, start: Date.parse(c.time), end: Date.parse(c.time) + c.durationMs })).sort((a, b) => a.start - b.start);
  const best = timed.map(() => ({ ms: 0, calls: 0 }));
  timed.forEach((call, j) => {
    let before = { ms: 0, calls: 0 };
    for (let i = 0; i < j; i++) {
      if (timed[i].end <= call.start && waitsFor(timed[i], call) && best[i].ms > before.ms) before = best[i];
    }
    best[j] = { ms: before.ms + call.durationMs, calls: before.calls + 1 };
  });
  return best.reduce((a, b) => (b.ms > a.ms ? b : a), { ms: 0, calls: 0 });
}

async function scenario(name, args, env, reverse = false, okCodes = [0]) {
  const cwd = process.env.BENCH_CWD;
  const trace = join(cwd, `${name}.jsonl`);
  rmSync(trace, { force: true });
  const result = await run([...args, '--trace', trace], env, cwd);
  if (!okCodes.includes(result.code)) throw new Error(`${name} failed (exit ${result.code}):\n${result.stderr}`);
  const calls = readTrace(trace);
  // From the first call's start to the last call's end: the time spent on AWS, without the
  // process start-up (about a second, mostly loading the SDK clients), which is the same at any concurrency.
  const starts = calls.map((c) => Date.parse(c.time));
  const ends = calls.map((c) => Date.parse(c.time) + c.durationMs);
  return {
    scenario: name,
    wallMs: Math.round(result.wallMs),
    awsMs: calls.length ? Math.max(...ends) - Math.min(...starts) : 0,
    calls: calls.length,
    mutatingCalls: calls.filter((c) => isMutatingOperation(c.operation)).length,
    criticalPathMs: Math.round(criticalPath(calls, reverse).ms),
    criticalPathCalls: criticalPath(calls, reverse).calls,
  };
}

function helpStartupMs() {
  const times = [];
  for (let i = 0; i < 11; i++) {
    const started = performance.now();
    spawnSync(process.execPath, [CLI, '--help'], { stdio: 'ignore' });
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return Math.round(times[5]);
}

const moto = await startMoto();
const proxy = latencyMs > 0 ? await startLatencyProxy(moto.url, latencyMs) : undefined;
const endpoint = proxy?.url ?? moto.url;
process.env.BENCH_CWD = mkdtempSync(join(tmpdir(), 'ecs-ha-bench-'));
const env = {
  PATH: process.env.PATH,
  HOME: process.env.BENCH_CWD,
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  AWS_REGION: 'us-east-1',
  AWS_ENDPOINT_URL: endpoint,
  AWS_EC2_METADATA_DISABLED: 'true',
};
const up = ['up', '--stack', 'bench', '--image', IMAGE, '--no-wait'];
const down = ['down', '--stack', 'bench'];
const results = [];
try {
  // The emulator builds each service's backend on first use (over a second of Python start-up
  // work that real AWS does not have): one untimed round first, so every timed run meets a warm emulator.
  await scenario('warm-up up', up, env);
  await scenario('warm-up down', down, env, true);
  results.push(await scenario('cold up (concurrency 1)', [...up, '--concurrency', '1'], env));
  results.push(await scenario('down (concurrency 1)', [...down, '--concurrency', '1'], env, true));
  results.push(await scenario('cold up', up, env));
  results.push(await scenario('no-op up', up, env));
  results.push(await scenario('status', ['status', '--stack', 'bench'], env));
  results.push(await scenario('plan (nothing to change)', ['plan', '--stack', 'bench', '--image', IMAGE], env, false, [0]));
  results.push(await scenario('down', down, env, true));
} finally {
  proxy?.close();
  moto.child.kill();
  rmSync(process.env.BENCH_CWD, { recursive: true, force: true });
}
const helpMs = helpStartupMs();

const byName = Object.fromEntries(results.map((r) => [r.scenario, r]));
const ratio = byName['cold up'].awsMs / byName['cold up (concurrency 1)'].awsMs;
const wallRatio = byName['cold up'].wallMs / byName['cold up (concurrency 1)'].wallMs;
const targets = [
  { target: 'no-op up makes no mutating call', value: byName['no-op up'].mutatingCalls, pass: byName['no-op up'].mutatingCalls === 0 },
  { target: 'no-op up makes at most 40 calls', value: byName['no-op up'].calls, pass: byName['no-op up'].calls <= 40 },
  {
    target: `cold up at default concurrency spends at most 1/3 of the AWS time of concurrency 1 (latency ${latencyMs} ms; wall-time ratio ${wallRatio.toFixed(2)})`,
    value: Number(ratio.toFixed(2)),
    pass: latencyMs >= 50 ? ratio <= 1 / 3 : null,
  },
  { target: 'status makes only read calls', value: byName.status.mutatingCalls, pass: byName.status.mutatingCalls === 0 },
  { target: 'status answers in under 3 s wall time (process start included)', value: byName.status.wallMs, pass: byName.status.wallMs < 3_000 },
  { target: 'plan makes only read calls', value: byName['plan (nothing to change)'].mutatingCalls, pass: byName['plan (nothing to change)'].mutatingCalls === 0 },
  { target: '`ecs-ha --help` starts in under 250 ms (median of 11)', value: helpMs, pass: helpMs < 250 },
];

const pad = (text, width) => String(text).padEnd(width);
console.log(`ecs-ha benchmark against the moto emulator, ${latencyMs} ms simulated latency per AWS call\n`);
console.log(`${pad('scenario', 26)}${pad('wall ms', 10)}${pad('AWS ms', 9)}${pad('calls', 8)}${pad('mutating', 10)}critical path (ms / calls)`);
for (const r of results) console.log(`${pad(r.scenario, 26)}${pad(r.wallMs, 10)}${pad(r.awsMs, 9)}${pad(r.calls, 8)}${pad(r.mutatingCalls, 10)}${r.criticalPathMs} / ${r.criticalPathCalls}`);
console.log('');
for (const t of targets) console.log(`${t.pass === null ? 'n/a ' : t.pass ? 'PASS' : 'FAIL'}  ${t.target}: ${t.value}`);
const report = { date: new Date().toISOString(), node: process.version, latencyMs, results, helpStartupMs: helpMs, targets };
writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
console.log(`\nfigures written to ${values.out}`);
process.exitCode = targets.some((t) => t.pass === false) ? 1 : 0;
