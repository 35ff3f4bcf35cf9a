/** PNG codec: `encodePng` (RGB, adaptive row filters, text chunks) and `decodePng` (all standard forms). */
export { type DecodedPng, decodePng, type PngDecodeOptions } from "./png-decode.ts";
export { encodePng, type PngEncodeOptions } from "./png-encode.ts";
