import { parseArgs } from 'node:util';

import { signDevToken } from '@coach/api';

import { loadOrCreateDevSecret } from '../dev/dev-secret.ts';
import { dataDir } from '../dev/paths.ts';

const usage = `Usage: pnpm run token --user <id> --role <role> [--org <orgId>] [--features a,b] [--expires 12h]

Prints a bearer token the local server accepts.
  --role      coach_pro_plus | org_pro (any other role is refused by the API)
  --org       organisation id, required for org_pro
  --features  comma-separated features; omit for the role's default plan`;

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    user: { type: 'string' },
    role: { type: 'string' },
    org: { type: 'string' },
    features: { type: 'string' },
    expires: { type: 'string', default: '12h' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (values.help || !values.user || !values.role) {
  process.stderr.write(`${usage}\n`);
  process.exit(values.help ? 0 : 2);
}

const secret = process.env.AUTH_JWT_SECRET ?? loadOrCreateDevSecret(dataDir(process.env.EMBEDDED_DATA_DIR));
const token = await signDevToken(secret, {
  userId: values.user,
  role: values.role,
  orgId: values.org,
  features: values.features?.split(',').map((f) => f.trim()).filter(Boolean),
  expiresIn: values.expires,
  issuer: process.env.AUTH_ISSUER,
  audience: process.env.AUTH_AUDIENCE,
});
process.stdout.write(`${token}\n`);
