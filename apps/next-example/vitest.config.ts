import { packageConfig } from '../../vitest.config.ts';

export default packageConfig(import.meta.dirname);
