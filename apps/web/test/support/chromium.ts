import { existsSync } from 'node:fs';

import { chromium, type Browser } from 'playwright-core';

/** Debian's chromium package; Playwright's own browser download cannot run here. */
const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

/**
 * Headless Chromium with `hosts` resolved to loopback ports, so a page can be
 * served from an origin the API's CORS allow-list names (e.g. http://allowed.test)
 * while the server listens on a random port. Fails, never skips, without Chromium.
 */
export async function launchChromium(hosts: Record<string, string> = {}): Promise<Browser> {
  const executablePath = chromiumPath();
  const rules = Object.entries(hosts).map(([host, target]) => `MAP ${host} ${target}`);
  return chromium.launch({
    executablePath,
    headless: true,
    args: rules.length > 0 ? [`--host-resolver-rules=${rules.join(',')}`] : [],
  });
}

/** Where Chromium is; throws a message saying how to install it when it is not there. */
export function chromiumPath(): string {
  const found = CANDIDATES.find((path) => existsSync(path));
  if (!found) {
    throw new Error(
      'The browser tests need Chromium at /usr/bin/chromium: install it with ' +
        '`apt-get install chromium` (Debian; .ci/run does this on CI). Playwright browser downloads are not used.',
    );
  }
  return found;
}
