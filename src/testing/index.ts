/**
 * Test helpers for apps and storage drivers: response assertions for streamed and offloaded
 * downloads, a temporary filesystem storage, and the contract every `Storage` must pass.
 *
 * @packageDocumentation
 * @module koa-downloadview/testing
 */
export {
  assertDownload,
  type DownloadExpectations,
  type PresentationExpectations,
} from './assertions.ts';
export {
  assertCaddyRedirect,
  assertXAccelRedirect,
  assertXSendfile,
  type CaddyRedirectExpectations,
  type XAccelRedirectExpectations,
  type XSendfileExpectations,
} from './offload-assertions.ts';
export { temporaryStorage, type TemporaryStorage } from './temporary-storage.ts';
export {
  describeStorageContract,
  type ContractFactory,
  type ContractHooks,
  type ContractStorage,
  type RunnerFunction,
  type StorageContractOptions,
} from './storage-contract.ts';
