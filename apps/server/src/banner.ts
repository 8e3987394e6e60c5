/**
 * What `pnpm dev` prints once the API listens: the URLs a person opens, and
 * for the web app either its URL or, in plain words, why it is not running
 * (a taken port was one JSON log line among many).
 */
export function startBanner(p: { address: string; web?: { url: string } | { notServed: string } }): string {
  const { address, web } = p;
  const lines = [
    `Coach Plus API listening on ${address}`,
    `  tRPC:   ${address}/trpc`,
    `  health: ${address}/healthz (live), ${address}/readyz (ready)`,
  ];
  if (web && 'url' in web) lines.push(`  web:    ${web.url}`);
  if (web && 'notServed' in web) lines.push(`  web:    NOT STARTED: ${web.notServed}`);
  return `\n${lines.join('\n')}\n\n`;
}
