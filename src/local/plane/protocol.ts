/**
 * Just enough of the AWS wire protocols for the local endpoint to tell which API call a request is
 * and to answer the few it handles itself: JSON 1.1 (ECS, Cloud Map, Logs: `X-Amz-Target`) and the
 * query protocol (ELBv2: `Action=` in a form body, XML out).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { randomUUID } from 'node:crypto';

export interface ApiCall {
  /** The signing name from the Authorization header: ecs, elasticloadbalancing, servicediscovery, logs, … */
  service: string;
  operation: string;
  protocol: 'json' | 'query' | 'other';
}

const JSON_TARGET_PREFIXES: Record<string, string> = {
  AmazonEC2ContainerServiceV20141113: 'ecs',
  Route53AutoNaming_v20170314: 'servicediscovery',
  Logs_20140328: 'logs',
};

/** The credential scope's service: `Credential=AKID/20260101/us-east-1/ecs/aws4_request`. */
function signingService(headers: IncomingHttpHeaders): string {
  const match = /Credential=[^/]+\/\d+\/[^/]+\/([^/]+)\//.exec(String(headers.authorization ?? ''));
  return match?.[1] ?? '';
}

export function identifyCall(headers: IncomingHttpHeaders, body: string): ApiCall {
  const target = headers['x-amz-target'];
  if (typeof target === 'string' && target.includes('.')) {
    const [prefix = '', operation = ''] = target.split('.');
    return { service: JSON_TARGET_PREFIXES[prefix] ?? signingService(headers), operation, protocol: 'json' };
  }
  const action = /(?:^|&)Action=([A-Za-z]+)/.exec(body)?.[1];
  if (action) return { service: signingService(headers), operation: action, protocol: 'query' };
  return { service: signingService(headers), operation: '', protocol: 'other' };
}

export interface Reply {
  status: number;
  headers: Record<string, string>;
  /** Passed-through answers stay bytes: not every protocol is text. */
  body: string | Buffer;
}

export function jsonReply(value: unknown, status = 200): Reply {
  return {
    status,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() },
    body: JSON.stringify(value, (_key, v: unknown) => (v instanceof Date ? v.getTime() / 1000 : v)),
  };
}

/** A JSON-protocol error as AWS sends it: the SDK reads `__type` for the exception name. */
export function jsonError(type: string, message: string, status = 400): Reply {
  return { ...jsonReply({ __type: type, message }, status), headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': type, 'x-amzn-requestid': randomUUID() } };
}

export function xmlReply(body: string): Reply {
  return { status: 200, headers: { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID() }, body };
}

/** A form value of a query-protocol request (`TargetGroupArn=…`). */
export function queryParam(body: string, name: string): string | undefined {
  return new URLSearchParams(body).get(name) ?? undefined;
}
