import type { IncomingMessage } from 'node:http';
import { ApiError, MalformedJsonError, PayloadTooLargeError, UnsupportedMediaTypeError } from './errors';

/** The client went away mid-body: there is nobody to answer. */
export class ClientAbortedError extends Error {
  override readonly name = 'ClientAbortedError';
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;
const CHARSET = /;\s*charset\s*=\s*"?([\w-]+)"?/i;

/**
 * Reads and parses a JSON request body, enforcing the size limit before and while
 * reading. A lean replacement for express.json() on the hot path: body-parser's
 * generality (charsets via iconv, inflation, verify hooks) cost ~18 µs per request in
 * profiles, a sixth of the API's budget. Only UTF-8, uncompressed JSON is accepted.
 */
export function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const type = req.headers['content-type'];
  if (!type || !JSON_TYPE.test(type)) return Promise.reject(new UnsupportedMediaTypeError(type));
  const charset = CHARSET.exec(type)?.[1]?.toLowerCase();
  if (charset && charset !== 'utf-8' && charset !== 'utf8') return Promise.reject(new UnsupportedMediaTypeError(`${type} (only UTF-8 is accepted)`));
  const encoding = req.headers['content-encoding'];
  if (encoding && encoding !== 'identity') return Promise.reject(new ApiError(415, 'unsupported_media_type', `Content-Encoding ${encoding} is not supported; send uncompressed JSON`));
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return Promise.reject(new PayloadTooLargeError(limit));

  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err: Error | undefined, value?: unknown): void => {
      if (done) return;
      done = true;
      req.off('data', onData).off('end', onEnd).off('error', onError).off('aborted', onAborted);
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        // Stop buffering; the 413 response closes the connection (see the error handler).
        req.pause();
        finish(new PayloadTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, size).toString('utf8');
      try {
        finish(undefined, JSON.parse(text));
      } catch (err) {
        finish(new MalformedJsonError((err as Error).message));
      }
    };
    const onError = (err: Error): void => finish(new ClientAbortedError(err.message));
    const onAborted = (): void => finish(new ClientAbortedError('client aborted the request'));
    req.on('data', onData).on('end', onEnd).on('error', onError).on('aborted', onAborted);
  });
}
