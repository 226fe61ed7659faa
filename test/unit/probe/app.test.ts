/**
 * The prober against the real app (container/app.py) under its real server, gunicorn with the
 * project's config, on 127.0.0.1.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { get } from 'node:http';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeBurst, startProber } from '../../../src/probe/prober.js';
import { freePort, sleep } from '../../fixtures/probe/servers.js';

let gunicorn: ChildProcess | undefined;
let baseUrl = '';

/** Resolves when GET /health answers 200; rejects if gunicorn exits or 20 s pass. */
async function waitUntilAnswering(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`gunicorn exited (${child.exitCode ?? child.signalCode}):\n${log()}`);
    const status = await new Promise<number>((resolve) => {
      const req = get(`${url}/health`, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.setTimeout(1000, () => req.destroy());
      req.on('error', () => resolve(0));
    });
    if (status === 200) return;
    await sleep(100);
  }
  throw new Error(`gunicorn did not answer within 20 s:\n${log()}`);
}

async function stopGunicorn(): Promise<void> {
  const child = gunicorn;
  gunicorn = undefined;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM'); // graceful: idle workers exit at once
  const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(killer);
}

beforeAll(async () => {
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = { ...process.env, APP_VERSION: 'test-9' };
  delete env.ECS_CONTAINER_METADATA_URI_V4; // no AZ lookup outside ECS
  const child = spawn('gunicorn', ['--config', 'container/gunicorn.conf.py', '--bind', `127.0.0.1:${port}`, '--chdir', 'container', 'app:app'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  gunicorn = child;
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  try {
    await waitUntilAnswering(baseUrl, child, () => stderr);
  } catch (error) {
    await stopGunicorn();
    throw error;
  }
});

afterAll(stopGunicorn);

describe('the prober against the app under gunicorn', () => {
  it('sees 2 s at 20 rps of /health answered by this machine, without a failure', async () => {
    const prober = startProber({ baseUrl, rps: 20, timeoutMs: 2000 });
    await sleep(2000);
    const { summary, records } = await prober.stop();

    expect(summary.failures).toBe(0);
    expect(summary.requests).toBeGreaterThanOrEqual(36); // 40 due; a loaded machine may delay a few
    expect(summary.requests).toBeLessThanOrEqual(42);
    expect(summary.longestOutageMs).toBe(0);
    // gunicorn runs here, so the app's socket.gethostname() is this machine's hostname
    expect(summary.backends).toEqual([{ hostname: hostname(), version: 'test-9', successes: summary.requests, share: 1 }]);
    expect(summary.versions).toEqual(['test-9']);
    expect(summary.azs).toEqual([]); // az is null outside ECS
    expect(summary.successesWithoutAz).toBe(summary.requests);
    expect(records.every((r) => r.status === 200)).toBe(true);
    const latency = summary.latencyMs;
    expect(latency).toBeDefined();
    if (!latency) return;
    expect(latency.p50).toBeGreaterThan(0);
    expect(latency.p50).toBeLessThanOrEqual(latency.p95);
    expect(latency.p95).toBeLessThanOrEqual(latency.p99);
    expect(latency.p99).toBeLessThanOrEqual(latency.max);
  });

  it('reads the / greeting in a burst', async () => {
    const { records, summary } = await probeBurst(baseUrl, { requests: 12, concurrency: 3 });
    expect(records).toHaveLength(12);
    expect(records.every((r) => r.outcome === 'ok')).toBe(true);
    expect(records[0]?.backend).toEqual({ hostname: hostname(), version: 'test-9' });
    expect(summary.backends).toHaveLength(1);
  });
});
