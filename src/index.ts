/**
 * Koa middleware that serves downloads: a route puts a `DownloadFile` in `ctx.body`, and
 * `downloadview()` streams it or hands it to the reverse proxy in front.
 *
 * @packageDocumentation
 * @module koa-downloadview
 */
export {
  downloadview,
  type BackendName,
  type DownloadViewOptions,
  type MiddlewareBackendName,
} from './middleware.ts';
export * from './files/index.ts';
export * from './views.ts';
// Local files reuse the filesystem driver: wired here, at the entry, so the core imports no driver.
export { PathFile, type PathFileOptions } from './local/path-file.ts';
export { pathDownload, type PathDownloadOptions } from './local/path-download.ts';
export * from './errors.ts';
export * from './signing/index.ts';
export type {
  ByteRange,
  OpenedFile,
  OpenFileOptions,
  OpenOptions,
  Storage,
  StorageContent,
  StorageStat,
  UrlPresentation,
} from './storage.ts';
export type { Backend, Offload } from './backends/backend.ts';
export { streaming, type StreamingOptions } from './backends/stream.ts';
export { DEFAULT_STALL_TIMEOUT } from './backends/stall-guard.ts';
export type { EtagMode, Validators } from './backends/validators.ts';
export type { OffloadTarget } from './backends/backend.ts';
export { nginx, type NginxOptions } from './backends/nginx.ts';
export { apache } from './backends/apache.ts';
export { lighttpd } from './backends/lighttpd.ts';
export { caddy } from './backends/caddy.ts';
export { auto, type AutoOptions } from './backends/auto.ts';
export { redirect, type RedirectOptions } from './backends/redirect.ts';
export type { DownloadRule } from './rules.ts';
export * from './route-backends.ts';
export { encodeNameForUrl, joinUrl, normalizeName } from './names.ts';
export { generatorStream, sliceStream } from './generator-stream.ts';
export * from './events/index.ts';
export {
  DEFAULT_MATERIALIZE_TIMEOUT,
  materialize,
  type MaterializeOptions,
} from './materialize/materialize.ts';
export type { MaterializedMetadata } from './materialize/metadata.ts';
export { healthcheck, type HealthcheckOptions } from './doctor/healthcheck.ts';
export {
  runDoctor,
  CHECKS,
  type CheckDefinition,
  type CheckId,
  type CheckResult,
  type DoctorOptions,
  type DoctorReport,
} from './doctor/run.ts';
export {
  DIAGNOSES,
  type Diagnosis,
  type DiagnosisId,
  type DiagnosisLayer,
} from './doctor/diagnoses.ts';
export type { DoctorProxy, Expectation, Judgement, Verdict } from './doctor/judge.ts';
export { PROBE_HEADER, probeContent, type ProbeDelivery } from './doctor/probe.ts';
