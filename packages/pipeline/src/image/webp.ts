/** WebP codec: lossless VP8L `encodeWebp`, and `decodeWebp` for lossless files. */
export { decodeWebp, type WebpDecodeOptions } from "./webp-decode.ts";
export { encodeWebp } from "./webp-encode.ts";
