/**
 * What the upload uses of a Node `Readable` (`fs.createReadStream(path)`, …),
 * named here rather than imported from `node:stream`, so that the package's
 * types compile where there are no Node typings (browsers, React Native).
 */
export interface NodeReadable {
  [Symbol.asyncIterator](): AsyncIterator<unknown>;
  pipe: (...args: never[]) => unknown;
  destroy(error?: Error): unknown;
  /** An `fs.ReadStream`'s file path. */
  readonly path?: unknown;
}

/** A Node `Readable` (e.g. `fs.createReadStream`) or a web `ReadableStream` of bytes. */
export type ByteStream = ReadableStream<Uint8Array> | NodeReadable;

/**
 * Reads a stream once, in order, as the byte ranges an upload asks for. Reads
 * queue behind each other in call order; bytes before a range are read and
 * discarded (resume). Each range becomes a Blob the caller keeps for retries,
 * so memory holds the ranges the caller still holds plus one chunk, never the stream.
 */
export class StreamReader {
  private position = 0;
  private leftover: Uint8Array | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private failure: { error: unknown } | undefined;
  private readonly pull: () => Promise<unknown>;
  private readonly cancel: () => void;
  private closed = false;

  constructor(
    stream: ByteStream,
    private readonly size: number,
  ) {
    if (isWebStream(stream)) {
      const reader = stream.getReader();
      this.pull = async () => {
        const { done, value } = await reader.read();
        return done ? undefined : value;
      };
      this.cancel = () => void reader.cancel().catch(() => undefined);
    } else {
      const iterator = stream[Symbol.asyncIterator]();
      // Start iterating now: the iterator is what listens for the stream's errors, and an
      // 'error' emitted with no listener (a bad path, before the first part is read) would crash Node.
      let first: Promise<IteratorResult<unknown>> | undefined = iterator.next();
      first.catch(() => undefined);
      this.pull = async () => {
        const result = await (first ?? iterator.next());
        first = undefined;
        return result.done ? undefined : result.value;
      };
      this.cancel = () => void stream.destroy();
    }
  }

  /**
   * Bytes [start, end) as a Blob. Ranges must come in ascending order, each once.
   * The range ending at the declared size also checks the stream ends there.
   */
  read(start: number, end: number): Promise<Blob> {
    const result = this.queue.then(async () => {
      if (this.failure) throw this.failure.error;
      try {
        if (start < this.position) throw new Error(`Stream ranges must be read in order (${start} < ${this.position}).`);
        await this.take(start - this.position, undefined);
        const pieces: Blob[] = [];
        await this.take(end - start, pieces);
        if (end === this.size) await this.expectEnd();
        // A Blob of Blobs references them, copying nothing.
        return new Blob(pieces);
      } catch (error) {
        this.failure = { error };
        this.close();
        throw error;
      }
    });
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Destroys (Node) or cancels (web) the stream; pending and later reads fail. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cancel();
  }

  /**
   * Moves `count` bytes on, into `pieces` or nowhere (skipped). Each chunk is copied into
   * a Blob as it arrives and then dropped, so a part is never held twice while it is read.
   */
  private async take(count: number, pieces: Blob[] | undefined): Promise<void> {
    let left = count;
    while (left > 0) {
      const chunk = await this.next();
      if (!chunk) {
        throw new Error(`The stream ended after ${this.position} bytes, but sizeBytes says ${this.size}: nothing was completed.`);
      }
      const used = chunk.byteLength <= left ? chunk : chunk.subarray(0, left);
      if (used !== chunk) this.leftover = chunk.subarray(left);
      // Stream chunks never live in shared memory; the DOM's BlobPart type insists on saying so.
      pieces?.push(new Blob([used as Uint8Array<ArrayBuffer>]));
      left -= used.byteLength;
      this.position += used.byteLength;
    }
  }

  private async expectEnd(): Promise<void> {
    for (let chunk = await this.next(); chunk; chunk = await this.next()) {
      if (chunk.byteLength > 0) {
        throw new Error(`The stream has more than the ${this.size} bytes sizeBytes says: nothing was completed.`);
      }
    }
  }

  /** The next non-consumed bytes, or undefined at the end of the stream. */
  private async next(): Promise<Uint8Array | undefined> {
    if (this.leftover) {
      const chunk = this.leftover;
      this.leftover = undefined;
      return chunk;
    }
    if (this.closed) throw new Error('The stream was closed before the upload read it.');
    let chunk: unknown;
    try {
      chunk = await this.pull();
    } catch (error) {
      throw new Error(`Reading the stream failed: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
      });
    }
    if (chunk === undefined) return undefined;
    if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    throw new Error('The stream must yield bytes (Buffer/Uint8Array), not strings or objects.');
  }
}

export function isWebStream(stream: unknown): stream is ReadableStream<Uint8Array> {
  return typeof stream === 'object' && stream !== null && typeof (stream as ReadableStream).getReader === 'function';
}

/** A Node Readable, duck-typed (no node:stream import, so browser bundles stay free of it). */
export function isNodeStream(stream: unknown): stream is NodeReadable {
  return (
    typeof stream === 'object' &&
    stream !== null &&
    typeof (stream as NodeReadable).pipe === 'function' &&
    typeof (stream as NodeReadable)[Symbol.asyncIterator] === 'function'
  );
}
