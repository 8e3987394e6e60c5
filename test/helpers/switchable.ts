import type { MessageQueue, ObjectStorage } from '@coach/aws';

/**
 * Storage that is the server's real adapter until `use` points it at another
 * real adapter (a bucket that does not exist, a gateway that refuses us):
 * the fault is the configuration, every call still reaches the emulator.
 */
export function switchableStorage(initial: ObjectStorage) {
  let current = initial;
  const storage: ObjectStorage = {
    get bucket() {
      return current.bucket;
    },
    presignPut: (p) => current.presignPut(p),
    presignGet: (p) => current.presignGet(p),
    head: (key) => current.head(key),
    getStream: (key, options) => current.getStream(key, options),
    putObject: (key, body, contentType) => current.putObject(key, body, contentType),
    delete: (key) => current.delete(key),
    listKeys: (prefix, options) => current.listKeys(prefix, options),
    deleteKeys: (keys) => current.deleteKeys(keys),
    ping: () => current.ping(),
    createMultipartUpload: (p) => current.createMultipartUpload(p),
    presignUploadPart: (p) => current.presignUploadPart(p),
    completeMultipartUpload: (p) => current.completeMultipartUpload(p),
    abortMultipartUpload: (p) => current.abortMultipartUpload(p),
  };
  return { storage, use: (next: ObjectStorage) => (current = next), restore: () => (current = initial) };
}

/** The same for a queue. */
export function switchableQueue(initial: MessageQueue) {
  let current = initial;
  const queue: MessageQueue = {
    send: (body, options) => current.send(body, options),
    receive: (p) => current.receive(p),
    delete: (handle) => current.delete(handle),
    changeVisibility: (handle, seconds) => current.changeVisibility(handle, seconds),
    ping: () => current.ping(),
  };
  return { queue, use: (next: MessageQueue) => (current = next), restore: () => (current = initial) };
}
