import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';

import { awsCall, AwsUnavailableError, type AwsResource } from './errors.ts';

export interface ReceivedMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  /** How many times SQS has handed this message out, this time included. */
  receiveCount: number;
  /** When SQS accepted the message (epoch ms), for the receive lag; absent if SQS did not say. */
  sentAtMs?: number;
  /** The sender's W3C trace context (the `traceparent` message attribute), when it sent one. */
  traceparent?: string;
}

export interface ReceiveParams {
  maxMessages: number;
  waitTimeSeconds: number;
  visibilityTimeoutSeconds?: number;
  abortSignal?: AbortSignal;
}

/** One SQS queue as the product needs it. */
export interface SendOptions {
  /** Gives up (and throws AwsUnavailableError) after this long, retries included. */
  timeoutMs?: number;
  /** A W3C trace context sent as the `traceparent` message attribute, so the receiver continues the trace. */
  traceparent?: string | null;
}

export interface MessageQueue {
  send(body: string, options?: SendOptions): Promise<{ messageId: string }>;
  receive(params: ReceiveParams): Promise<ReceivedMessage[]>;
  delete(receiptHandle: string): Promise<void>;
  changeVisibility(receiptHandle: string, timeoutSeconds: number): Promise<void>;
  /** Resolves when the queue answers; for health checks. */
  ping(): Promise<void>;
}

/** The message attribute that carries trace context (W3C Trace Context's header name). */
const TRACEPARENT = 'traceparent';

interface SqsQueueDeps {
  sqs: SQSClient;
  queueUrl: string;
  /** The setting that gave the queue URL, named in the errors an operator reads (e.g. `SQS_VIDEO_ANALYSIS_QUEUE_URL`). */
  setting?: string;
}

export function createSqsQueue({ sqs, queueUrl, setting }: SqsQueueDeps): MessageQueue {
  const resource: AwsResource = { kind: 'queue', name: queueUrl, setting };
  const call = <T>(operation: string, fn: () => Promise<T>) => awsCall(resource, operation, fn);
  return {
    async send(body, options) {
      const abortSignal = options?.timeoutMs ? AbortSignal.timeout(options.timeoutMs) : undefined;
      const out = await call('send message', () =>
        sqs.send(
          new SendMessageCommand({
            QueueUrl: queueUrl,
            MessageBody: body,
            ...(options?.traceparent
              ? { MessageAttributes: { [TRACEPARENT]: { DataType: 'String', StringValue: options.traceparent } } }
              : {}),
          }),
          { abortSignal },
        ),
      );
      if (!out.MessageId) throw new AwsUnavailableError('send message');
      return { messageId: out.MessageId };
    },
    async receive({ maxMessages, waitTimeSeconds, visibilityTimeoutSeconds, abortSignal }) {
      const out = await call('receive messages', () =>
        sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: maxMessages,
            WaitTimeSeconds: waitTimeSeconds,
            VisibilityTimeout: visibilityTimeoutSeconds,
            MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
            MessageAttributeNames: [TRACEPARENT],
          }),
          { abortSignal },
        ),
      );
      return (out.Messages ?? []).flatMap((m) =>
        m.MessageId && m.ReceiptHandle
          ? [
              {
                messageId: m.MessageId,
                receiptHandle: m.ReceiptHandle,
                body: m.Body ?? '',
                receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 1),
                ...(m.Attributes?.SentTimestamp ? { sentAtMs: Number(m.Attributes.SentTimestamp) } : {}),
                ...(m.MessageAttributes?.[TRACEPARENT]?.StringValue
                  ? { traceparent: m.MessageAttributes[TRACEPARENT].StringValue }
                  : {}),
              },
            ]
          : [],
      );
    },
    async delete(receiptHandle) {
      await call('delete message', () =>
        sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle })),
      );
    },
    async changeVisibility(receiptHandle, timeoutSeconds) {
      await call('change message visibility', () =>
        sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: queueUrl,
            ReceiptHandle: receiptHandle,
            VisibilityTimeout: timeoutSeconds,
          }),
        ),
      );
    },
    async ping() {
      await call('get queue attributes', () =>
        sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] })),
      );
    },
  };
}
