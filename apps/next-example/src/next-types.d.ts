// Next.js ambient types (CSS imports, images) without its generated next-env.d.ts, which points into the
// build folder and is rewritten by every build.
/// <reference types="next" />
/// <reference types="next/image-types/global" />
