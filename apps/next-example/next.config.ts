import type { NextConfig } from 'next';

const config: NextConfig = {
  // The workspace packages are TypeScript source (with `.ts` import suffixes): Next compiles them like the app's own.
  transpilePackages: ['@coach/client'],
  // Tests build into their own folder so they never race `pnpm build` over `.next`.
  distDir: process.env.NEXT_DIST_DIR ?? '.next',
  // The type check is `pnpm typecheck`'s job (tsc over the whole workspace); lint is oxlint's.
  typescript: { ignoreBuildErrors: true },
  poweredByHeader: false,
  // `next dev` would otherwise write instruction files into the app folder.
  agentRules: false,
  experimental: { agentUpgrade: false },
  // The browser-chunk check reads each chunk's source map to see which modules went into it.
  productionBrowserSourceMaps: process.env.NEXT_BROWSER_SOURCE_MAPS === '1',
};

export default config;
