export { initiateUpload, type InitiateUploadParams } from './initiate.ts';
export { completeUpload, type CompletedUpload } from './complete.ts';
export { abortUpload } from './abort.ts';
export type { InitiatedUpload } from './deps.ts';
