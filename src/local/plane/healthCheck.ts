/**
 * Target health as an ALB sees and reports it: one health check against one target, the matcher,
 * the reason codes and descriptions as DescribeTargetHealth words them, that API's XML answer, and
 * the loopback guard that keeps the local plane from ever sending traffic off this machine.
 */
import http from 'node:http';
import { isIPv4 } from 'node:net';
import type { TargetHealthView } from './types.js';

export interface FailedCheck {
  reason: 'Target.ResponseCodeMismatch' | 'Target.Timeout' | 'Target.FailedHealthChecks';
  description: string;
}

/** undefined = the check passed. */
export type CheckResult = FailedCheck | undefined;

export const REASONS = {
  registering: { reason: 'Elb.RegistrationInProgress', description: 'Target registration is in progress' },
  initialChecking: { reason: 'Elb.InitialHealthChecking', description: 'Initial health checks in progress' },
  draining: { reason: 'Target.DeregistrationInProgress', description: 'Target deregistration is in progress' },
  notRegistered: { reason: 'Target.NotRegistered', description: 'Target is not registered to the target group' },
  timeout: { reason: 'Target.Timeout', description: 'Request timed out' },
  failed: { reason: 'Target.FailedHealthChecks', description: 'Health checks failed' },
} as const;

/** A matcher HttpCode ("200", "200,302", "200-299", or a mix) as a test of a status code. */
export function parseMatcher(matcher: string): (status: number) => boolean {
  const ranges = matcher.split(',').map((part) => {
    const match = /^\s*(\d{3})(?:\s*-\s*(\d{3}))?\s*$/.exec(part);
    if (match === null) throw new Error(`invalid health check matcher "${matcher}": use codes like 200, 200,302 or 200-299`);
    const low = Number(match[1]);
    const high = match[2] === undefined ? low : Number(match[2]);
    if (high < low) throw new Error(`invalid health check matcher "${matcher}": range ${part.trim()} is reversed`);
    return [low, high] as const;
  });
  return (status) => ranges.some(([low, high]) => status >= low && status <= high);
}

/** The local plane talks to 127.0.0.0/8 only; a target elsewhere is a bug, not a target. */
export function assertLoopbackTarget(id: string): void {
  if (!isIPv4(id) || !id.startsWith('127.')) {
    throw new Error(`target ${id} is not a loopback IPv4 address (127.0.0.0/8): the local data plane sends traffic nowhere else`);
  }
}

export interface CheckRequest {
  host: string;
  port: number;
  path: string;
  timeoutMs: number;
  matches: (status: number) => boolean;
  /** Aborting abandons the check (the target was deregistered or the group closed). */
  signal: AbortSignal;
}

/** One GET on a fresh connection, as the ALB's checker sends it; the whole response must arrive within the timeout. */
export function checkTarget(request: CheckRequest): Promise<CheckResult> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: CheckResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      request.signal.removeEventListener('abort', abandon);
      outgoing.destroy();
      resolve(result);
    };
    const abandon = (): void => finish(REASONS.failed);
    const outgoing = http.get({
      host: request.host,
      port: request.port,
      path: request.path,
      agent: false,
      headers: { 'user-agent': 'ELB-HealthChecker/2.0', connection: 'close' },
    });
    const deadline = setTimeout(() => finish(REASONS.timeout), request.timeoutMs);
    request.signal.addEventListener('abort', abandon);
    outgoing.on('error', () => finish(REASONS.failed));
    outgoing.on('response', (response) => {
      const status = response.statusCode ?? 0;
      response.on('error', () => finish(REASONS.failed));
      // 'end' comes before 'close' on a complete response, so this only catches one cut short.
      response.on('close', () => finish(REASONS.failed));
      response.on('end', () =>
        finish(
          request.matches(status)
            ? undefined
            : { reason: 'Target.ResponseCodeMismatch', description: `Health checks failed with these codes: [${status}]` },
        ),
      );
      response.resume();
    });
    if (request.signal.aborted) abandon();
  });
}

const escapeXml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

const element = (name: string, text: string | number | undefined): string[] =>
  text === undefined ? [] : [`<${name}>${escapeXml(String(text))}</${name}>`];

/** The body of the ELBv2 query API's DescribeTargetHealth answer. */
export function describeTargetHealthXml(views: TargetHealthView[], requestId: string): string {
  const indent = (lines: string[]): string[] => lines.map((line) => `  ${line}`);
  const members = views.flatMap((view) => [
    '<member>',
    ...indent([
      '<Target>',
      ...indent([...element('Id', view.id), ...element('Port', view.port), ...element('AvailabilityZone', view.availabilityZone)]),
      '</Target>',
      // The health-check port defaults to the traffic port, which is the target's own.
      ...element('HealthCheckPort', view.port),
      '<TargetHealth>',
      ...indent([...element('State', view.state), ...element('Reason', view.reason), ...element('Description', view.description)]),
      '</TargetHealth>',
    ]),
    '</member>',
  ]);
  const lines = [
    '<DescribeTargetHealthResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">',
    ...indent([
      '<DescribeTargetHealthResult>',
      ...indent(members.length === 0 ? ['<TargetHealthDescriptions/>'] : ['<TargetHealthDescriptions>', ...indent(members), '</TargetHealthDescriptions>']),
      '</DescribeTargetHealthResult>',
      '<ResponseMetadata>',
      ...indent(element('RequestId', requestId)),
      '</ResponseMetadata>',
    ]),
    '</DescribeTargetHealthResponse>',
  ];
  return `${lines.join('\n')}\n`;
}
