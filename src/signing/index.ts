export { signUrl, type SignBinding, type SignUrlOptions } from './sign.ts';
export { signatureRequired, type SignatureRequiredOptions } from './middleware.ts';
export { signedUrls, type SignedUrlsOptions } from './signed-storage.ts';
export { SIGNATURE_ERROR_CODES, type SignatureErrorCode } from './verify.ts';
export { MIN_SECRET_BYTES, type SigningSecret } from './secrets.ts';
