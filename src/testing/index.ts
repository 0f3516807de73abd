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
  type StorageContractOptions,
} from './storage-contract.ts';
