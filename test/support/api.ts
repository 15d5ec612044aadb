import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Api, createApi } from '../../services/api/app';
import { type ApiConfig, loadApiConfig } from '../../services/api/config';
import { createLogger } from '../../services/core/logger';

export const ARTIFACTS_DIR = join(__dirname, '../../services/model/artifacts');

export interface RunningApi {
  readonly api: Api;
  readonly url: string;
  readonly metricsUrl: string;
  readonly config: ApiConfig;
}

/** Starts an in-process API on free loopback ports. `env` overrides the defaults. */
export async function startApi(env: Record<string, string> = {}): Promise<RunningApi> {
  const config = loadApiConfig({ PORT: '0', METRICS_PORT: '0', MODEL_DIR: ARTIFACTS_DIR, ...env });
  const api = createApi(config, { logger: createLogger('test-api', 'silent') });
  const { port, metricsPort } = await api.start();
  return { api, config, url: `http://127.0.0.1:${port}`, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` };
}

/** A private copy of the committed model directory that a test may damage. */
export function copyArtifacts(): string {
  const dir = mkdtempSync(join(tmpdir(), 'volwatch-model-'));
  cpSync(ARTIFACTS_DIR, dir, { recursive: true });
  return dir;
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; json: any }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined };
}

export async function scrape(metricsUrl: string): Promise<string> {
  const res = await fetch(metricsUrl);
  return res.text();
}

/** Value of one sample line of an exposition, e.g. sample(text, 'volwatch_api_ready'). */
export function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

/** Number of distinct series of a metric family in an exposition. */
export function seriesCount(text: string, name: string): number {
  return text.split('\n').filter((l) => l.startsWith(name + '{') || l.startsWith(name + ' ')).length;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function getJson(url: string): Promise<{ status: number; headers: Headers; json: any }> {
  const res = await fetch(url);
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined };
}
