export {
  DownloadFile,
  DownloadFileSerializedError,
  type DownloadFileOptions,
  type DownloadFileStat,
} from './download-file.ts';
export {
  PRECOMPRESSED_EXTENSIONS,
  StorageFile,
  type PrecompressedEncoding,
  type StorageFileOptions,
} from './storage-file.ts';
export { VirtualFile, type VirtualContent, type VirtualFileOptions } from './virtual-file.ts';
export { HttpFile, type HttpFileOptions } from './http-file.ts';
