import type { ErrorType } from './metrics';

export interface FieldError {
  /** Path of the offending value, e.g. `instances[3].rv_60s`. */
  readonly field: string;
  readonly message: string;
}

/** Every error the API returns; its class decides the status code and the metric label. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: ErrorType,
    message: string,
    readonly details: readonly FieldError[] = [],
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }

  toJSON(): object {
    return { error: { type: this.type, message: this.message, ...(this.details.length ? { details: this.details } : {}) } };
  }
}

export class MalformedJsonError extends ApiError {
  constructor(detail: string) {
    super(400, 'malformed_json', `request body is not valid JSON: ${detail}`);
  }
}

export class UnsupportedMediaTypeError extends ApiError {
  constructor(got: string | undefined) {
    super(415, 'unsupported_media_type', `Content-Type must be application/json${got ? `, got ${got}` : ''}`);
  }
}

export class ValidationError extends ApiError {
  constructor(message: string, details: readonly FieldError[]) {
    super(422, 'validation', message, details);
  }
}

export class PayloadTooLargeError extends ApiError {
  constructor(limit: number) {
    super(413, 'payload_too_large', `request body exceeds ${limit} bytes`);
  }
}

/** The body did not arrive in time; the connection is closed after the answer, so the rest is never read. */
export class RequestTimeoutError extends ApiError {
  constructor(detail: string) {
    super(408, 'request_timeout', `request body too slow: ${detail}`, [], { Connection: 'close' });
  }
}

export class NotFoundError extends ApiError {
  constructor(method: string) {
    super(404, 'not_found', `no route for ${method} on this path; see GET /version and POST /predict`);
  }
}

export class MethodNotAllowedError extends ApiError {
  constructor(allowed: string) {
    super(405, 'method_not_allowed', `method not allowed; use ${allowed}`, [], { Allow: allowed });
  }
}

export class OverloadedError extends ApiError {
  constructor(limit: number) {
    super(503, 'overloaded', `more than ${limit} predictions in flight; retry shortly`, [], { 'Retry-After': '1' });
  }
}

export class NotReadyError extends ApiError {
  constructor(reason: string) {
    super(503, 'draining', reason, [], { 'Retry-After': '1' });
  }
}

export class InferenceTimeoutError extends ApiError {
  constructor(ms: number) {
    super(504, 'inference_timeout', `inference did not finish within ${ms} ms`);
  }
}

export class InferenceFailedError extends ApiError {
  constructor() {
    super(500, 'inference_failed', 'the model failed to score this request');
  }
}
