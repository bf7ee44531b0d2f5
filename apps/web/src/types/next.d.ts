// Next's ambient types (CSS imports, next/image), which `next build` also writes to the
// gitignored next-env.d.ts: here so `tsc --noEmit` passes on a fresh clone before any build.
/// <reference types="next" />
/// <reference types="next/image-types/global" />
