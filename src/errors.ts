import createError, { type HttpError } from 'http-errors';

/** Stable codes of storage errors; match on these, never on message text. */
export const STORAGE_ERROR_CODES = {
  /** No file by that name (404). */
  notFound: 'ERR_STORAGE_NOT_FOUND',
  /** A hostile name, or one that resolves outside the root (404). */
  invalidName: 'ERR_STORAGE_INVALID_NAME',
  /** An optional capability the storage lacks (500). */
  unsupported: 'ERR_STORAGE_UNSUPPORTED',
  /** The service behind the storage is unreachable or refused access (503). */
  unavailable: 'ERR_STORAGE_UNAVAILABLE',
  /** The file changed between its metadata and its bytes (503). */
  changed: 'ERR_STORAGE_CHANGED',
  /** A remote origin answered what a download cannot use (502). */
  badOrigin: 'ERR_STORAGE_BAD_ORIGIN',
  /** A remote origin did not answer in time (504). */
  originTimeout: 'ERR_STORAGE_ORIGIN_TIMEOUT',
  /** A storage gave no byte for longer than the stall timeout while a download waited (504). */
  stalled: 'ERR_STORAGE_STALLED',
} as const;

/** One of the values of `STORAGE_ERROR_CODES`. */
export type StorageErrorCode = (typeof STORAGE_ERROR_CODES)[keyof typeof STORAGE_ERROR_CODES];

/** Base class of every error a `Storage` rejects with. The original error, if any, is `cause`. */
export class StorageError extends Error {
  /** Which failure this is; it alone decides the HTTP status. */
  readonly code: StorageErrorCode;
  /** The driver label of the storage that failed (`filesystem`, `memory`, `s3`, …). */
  readonly driver: string;

  constructor(code: StorageErrorCode, driver: string, message: string, options?: ErrorOptions) {
    super(`${driver} storage: ${message}`, options);
    this.name = new.target.name;
    this.code = code;
    this.driver = driver;
  }
}

/** The name does not exist in the storage. Answered as 404. */
export class StorageNotFoundError extends StorageError {
  constructor(driver: string, name: string, options?: ErrorOptions) {
    super(STORAGE_ERROR_CODES.notFound, driver, `no file named ${JSON.stringify(name)}`, options);
  }
}

/**
 * The name is hostile (NUL, `..`, absolute, backslash) or resolves outside the storage root.
 * Answered as 404 so that a probe learns nothing about what lies outside the root.
 */
export class StorageInvalidNameError extends StorageError {
  constructor(driver: string, name: string, reason: string, options?: ErrorOptions) {
    super(
      STORAGE_ERROR_CODES.invalidName,
      driver,
      `refused name ${JSON.stringify(name)}: ${reason}`,
      options,
    );
  }
}

/** The storage lacks an optional capability (`path`, `url`, `save`, …). */
export class StorageUnsupportedError extends StorageError {
  constructor(driver: string, capability: string, options?: ErrorOptions) {
    super(STORAGE_ERROR_CODES.unsupported, driver, `does not support ${capability}`, options);
  }
}

/** The service behind the storage could not be reached or refused access. Answered as 503. */
export class StorageUnavailableError extends StorageError {
  constructor(driver: string, message: string, options?: ErrorOptions) {
    super(STORAGE_ERROR_CODES.unavailable, driver, message, options);
  }
}

/**
 * The file no longer has the ETag a read was pinned to (`open(name, range, { ifMatch })`): it
 * changed between its metadata and its bytes. The streaming backend plans the response again;
 * if that keeps failing the client gets 503 and may retry.
 */
export class StorageChangedError extends StorageError {
  constructor(driver: string, name: string, options?: ErrorOptions) {
    super(
      STORAGE_ERROR_CODES.changed,
      driver,
      `${JSON.stringify(name)} changed while read`,
      options,
    );
  }
}

/**
 * A remote origin (an `HttpFile`'s server) answered what a download cannot use: an error status,
 * a body of another size, an encoding not asked for, or no answer at all. Answered as 502.
 */
export class StorageBadOriginError extends StorageError {
  constructor(driver: string, message: string, options?: ErrorOptions) {
    super(STORAGE_ERROR_CODES.badOrigin, driver, `origin ${message}`, options);
  }
}

/** A remote origin did not answer within its timeout. Answered as 504. */
export class StorageOriginTimeoutError extends StorageError {
  constructor(driver: string, options?: ErrorOptions) {
    super(STORAGE_ERROR_CODES.originTimeout, driver, 'origin timed out', options);
  }
}

/**
 * A storage kept a streamed download waiting for longer than the streaming backend's
 * `stallTimeout`: its metadata, its first byte or its next one. Answered as 504 before the
 * headers; after them, the connection is aborted.
 */
export class StorageStalledError extends StorageError {
  constructor(driver: string, name: string, ms: number) {
    super(
      STORAGE_ERROR_CODES.stalled,
      driver,
      `${JSON.stringify(name)} gave no byte for ${ms} ms (stallTimeout)`,
    );
  }
}

const STATUS_BY_CODE: Record<StorageErrorCode, number> = {
  [STORAGE_ERROR_CODES.notFound]: 404,
  [STORAGE_ERROR_CODES.invalidName]: 404,
  [STORAGE_ERROR_CODES.unsupported]: 500,
  [STORAGE_ERROR_CODES.unavailable]: 503,
  [STORAGE_ERROR_CODES.changed]: 503,
  [STORAGE_ERROR_CODES.badOrigin]: 502,
  [STORAGE_ERROR_CODES.originTimeout]: 504,
  [STORAGE_ERROR_CODES.stalled]: 504,
};

/**
 * The one place where errors become HTTP answers. Storage errors map by `code`; an existing
 * `HttpError` passes through; anything else is an internal 500 whose message is not exposed, so
 * paths and driver details never reach the client. Koa's default `onerror` logs only the
 * error's stack, so a 5xx carries its cause (ECONNREFUSED, EACCES, …) in the stack it logs.
 *
 * @example
 * try { await file.stat(); } catch (err) { throw toHttpError(err); }
 */
export function toHttpError(err: unknown): HttpError {
  if (createError.isHttpError(err)) return err;
  const status = err instanceof StorageError ? STATUS_BY_CODE[err.code] : 500;
  if (status < 500) return createError(status, { cause: err, expose: true });
  const internal = createError(status, { cause: err, expose: false });
  internal.stack = `${internal.stack}\n${causeChain(err)}`;
  return internal;
}

/** `Caused by:` lines down the `cause` chain, bounded so a cyclic chain cannot loop. */
function causeChain(err: unknown): string {
  const lines: string[] = [];
  for (let cause = err, depth = 0; cause !== undefined && depth < 5; depth++) {
    lines.push(
      `Caused by: ${cause instanceof Error ? (cause.stack ?? String(cause)) : String(cause)}`,
    );
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return lines.join('\n');
}
