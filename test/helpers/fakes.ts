import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';

import {
  AwsUnavailableError,
  type MessageQueue,
  type ObjectBody,
  type ObjectStorage,
  type PresignedUpload,
  type ReceivedMessage,
  type StoredObject,
} from '@coach/aws';

/**
 * In-memory storage for caller tests of domain rules. `fail` injects an
 * outage into the named operation; the integration suite uses the real emulator.
 */
export class MemoryStorage implements ObjectStorage {
  readonly bucket = 'test-bucket';
  readonly objects = new Map<string, StoredObject>();
  readonly deleted: string[] = [];
  readonly presigned: { key: string; contentType: string; contentLength?: number }[] = [];
  fail = new Set<'presignPut' | 'head' | 'delete'>();

  put(key: string, object: Partial<StoredObject> & { sizeBytes: number }) {
    this.objects.set(key, { contentType: 'video/mp4', etag: `"${randomUUID()}"`, ...object });
  }

  presignPut(params: { key: string; contentType: string; contentLength?: number }): Promise<PresignedUpload> {
    if (this.fail.has('presignPut')) return Promise.reject(new AwsUnavailableError('presign upload'));
    this.presigned.push(params);
    return Promise.resolve({
      url: `https://storage.test/${this.bucket}/${params.key}?sig=1`,
      method: 'PUT',
      headers: { 'content-type': params.contentType },
    });
  }
  presignGet({ key }: { key: string }) {
    return Promise.resolve(`https://storage.test/${this.bucket}/${key}?get=1`);
  }
  head(key: string) {
    if (this.fail.has('head')) return Promise.reject(new AwsUnavailableError('head object'));
    return Promise.resolve(this.objects.get(key));
  }
  getStream() {
    return Promise.resolve(undefined);
  }
  putObject(key: string, body: ObjectBody, contentType: string) {
    const sizeBytes =
      typeof body === 'string'
        ? Buffer.byteLength(body)
        : body instanceof Uint8Array
          ? body.byteLength
          : statSync(body.path).size;
    this.put(key, { sizeBytes, contentType });
    return Promise.resolve();
  }
  delete(key: string) {
    if (this.fail.has('delete')) return Promise.reject(new AwsUnavailableError('delete object'));
    this.objects.delete(key);
    this.deleted.push(key);
    return Promise.resolve();
  }
  listKeys(prefix: string, options?: { limit?: number }) {
    const keys = [...this.objects.keys()].filter((key) => key.startsWith(prefix)).sort();
    return Promise.resolve(keys.slice(0, options?.limit ?? 1000));
  }
  deleteKeys(keys: readonly string[]) {
    if (this.fail.has('delete')) return Promise.reject(new AwsUnavailableError('delete objects'));
    for (const key of keys) {
      this.objects.delete(key);
      this.deleted.push(key);
    }
    return Promise.resolve();
  }
  ping() {
    return Promise.resolve();
  }
  readonly multipart = new Map<string, { key: string; contentType: string }>();
  createMultipartUpload(params: { key: string; contentType: string }) {
    if (this.fail.has('presignPut')) return Promise.reject(new AwsUnavailableError('create multipart upload'));
    const uploadId = randomUUID();
    this.multipart.set(uploadId, params);
    return Promise.resolve(uploadId);
  }
  presignUploadPart(params: { key: string; uploadId: string; partNumber: number }) {
    return Promise.resolve(
      `https://storage.test/${this.bucket}/${params.key}?uploadId=${params.uploadId}&partNumber=${params.partNumber}`,
    );
  }
  /** Assembles into one object of the summed declared size; the real check of ETags is the emulator's. */
  completeMultipartUpload(params: { key: string; uploadId: string; parts: { partNumber: number }[] }) {
    const upload = this.multipart.get(params.uploadId);
    if (!upload) return Promise.resolve('no-such-upload' as const);
    this.multipart.delete(params.uploadId);
    this.put(params.key, { sizeBytes: this.assembledSize ?? 0, contentType: upload.contentType });
    return Promise.resolve('completed' as const);
  }
  /** The size the next assembled object reports (set by a test). */
  assembledSize: number | undefined;
  abortMultipartUpload(params: { uploadId: string }) {
    this.multipart.delete(params.uploadId);
    return Promise.resolve();
  }
}

/** In-memory queue; `failSends` makes sends fail as an SQS outage would. */
export class MemoryQueue implements MessageQueue {
  readonly sent: { messageId: string; body: string }[] = [];
  failSends = false;

  send(body: string) {
    if (this.failSends) return Promise.reject(new AwsUnavailableError('send message'));
    const messageId = randomUUID();
    this.sent.push({ messageId, body });
    return Promise.resolve({ messageId });
  }
  receive(): Promise<ReceivedMessage[]> {
    return Promise.resolve([]);
  }
  delete() {
    return Promise.resolve();
  }
  changeVisibility() {
    return Promise.resolve();
  }
  ping() {
    return Promise.resolve();
  }
}
