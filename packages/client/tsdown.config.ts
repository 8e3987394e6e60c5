import { defineConfig, type UserConfig } from 'tsdown';

/** What both builds share: ESM for current runtimes, the npm dependencies imported by name. */
const shared = {
  format: 'esm',
  target: 'es2022',
  tsconfig: 'tsconfig.build.json',
  // An npm package the declarations walked past but use nothing from is not imported (the
  // server's kysely, AWS SDK and OpenTelemetry); the client's own imports all name what they use.
  treeshake: { moduleSideEffects: (_id: string, external: boolean) => !external },
} satisfies UserConfig;

export default defineConfig([
  {
    ...shared,
    // Node, and any bundler that reads package.json "imports": `#node-file` stays an import,
    // answered by node-file.js under the `node` condition and node-file.browser.js elsewhere.
    entry: {
      index: 'src/index.ts',
      'node-file': 'src/upload/node-file.ts',
      'node-file.browser': 'src/upload/node-file.browser.ts',
    },
    platform: 'neutral',
    dts: true,
    deps: {
      neverBundle: [/^node:/, '#node-file'],
      // The declarations inline the workspace packages the API's types come from (the consumer
      // cannot install them) and import every npm package by name.
      dts: { neverBundle: (id) => !id.startsWith('.') && !id.startsWith('/') && !id.startsWith('@coach/') },
    },
  },
  {
    ...shared,
    // Browsers and React Native (whose bundler may not read "imports"): the file-path stub
    // inlined, so nothing here names `#node-file` or a node: module.
    entry: { 'index.browser': 'src/index.ts' },
    platform: 'browser',
    dts: false,
    clean: false,
  },
]);
