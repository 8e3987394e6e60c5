import { inject } from 'vitest';

import { createAwsClients, createS3Storage, type ObjectStorage } from '@coach/aws';

import { TEST_REGION } from './server.ts';
import { startSigV4Gateway, type SigV4Gateway } from './sigv4-gateway.ts';

export interface GatewayStorage {
  gateway: SigV4Gateway;
  /**
   * The server's storage with its URLs signed for the gateway; the server's own
   * calls (HEAD, multipart, deletes) still go straight to the emulator.
   */
  signThroughGateway(real: ObjectStorage): ObjectStorage;
  close(): Promise<void>;
}

/** The SigV4-checking gateway in front of the run's emulator, with the one credential it honours. */
export async function startGatewayStorage(p: {
  accessKeyId: string;
  secretAccessKey: string;
  now: () => Date;
}): Promise<GatewayStorage> {
  const gateway = await startSigV4Gateway({
    upstream: inject('awsEndpoint'),
    region: TEST_REGION,
    credentials: { [p.accessKeyId]: p.secretAccessKey },
    now: p.now,
  });
  const signing = createAwsClients({
    region: TEST_REGION,
    endpoint: gateway.url,
    credentials: { accessKeyId: p.accessKeyId, secretAccessKey: p.secretAccessKey },
  });
  return {
    gateway,
    signThroughGateway(real) {
      const viaGateway = createS3Storage({ s3: signing.s3, signer: signing.s3Signer, bucket: real.bucket });
      return {
        ...real,
        presignPut: viaGateway.presignPut,
        presignUploadPart: viaGateway.presignUploadPart,
        presignGet: viaGateway.presignGet,
      };
    },
    async close() {
      signing.destroy();
      await gateway.close();
    },
  };
}
