import { parseArgs } from 'node:util';

import { createTokenVerifier, MAX_HS256_TOKEN_LIFETIME_SECONDS, signDevToken } from '@coach/api';

import { loadOrCreateDevSecret } from '../dev/dev-secret.ts';
import { dataDir } from '../dev/paths.ts';

const usage = `Usage: pnpm run token --user <id> --role <role> [--org <orgId>] [--features a,b] [--expires 12h]

Prints a bearer token the local server accepts.
  --role      coach_pro_plus | org_pro (any other role is refused by the API)
  --org       organisation id, required for org_pro
  --features  comma-separated features; omit for the role's default plan
  --expires   lifetime, e.g. 30m, 12h (at most ${MAX_HS256_TOKEN_LIFETIME_SECONDS / 3600}h)`;

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
const refuse = (why: string): never => {
  process.stderr.write(`${why}\n\n${usage}\n`);
  process.exit(2);
};
const token = await signDevToken(secret, {
  userId: values.user,
  role: values.role,
  orgId: values.org,
  features: values.features
    ?.split(',')
    .map((f) => f.trim())
    .filter(Boolean),
  expiresIn: values.expires,
  issuer: process.env.AUTH_ISSUER,
  audience: process.env.AUTH_AUDIENCE,
}).catch(() => refuse(`--expires ${values.expires} is not a lifetime like 30m or 12h.`));
// Print only a token the server would accept (a lifetime over the maximum, a bad --expires, a bad id).
const state = await createTokenVerifier({
  kind: 'hs256',
  secret,
  issuer: process.env.AUTH_ISSUER,
  audience: process.env.AUTH_AUDIENCE,
})(`Bearer ${token}`);
if (state.status !== 'authenticated') {
  refuse(
    `The server would refuse this token (${state.status === 'invalid' ? state.reason : state.status}): check --user, --org and --expires (at most ${MAX_HS256_TOKEN_LIFETIME_SECONDS / 3600}h).`,
  );
}
process.stdout.write(`${token}\n`);
