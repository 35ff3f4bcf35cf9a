/** JPEG codec: baseline `encodeJpeg` and a baseline/extended/progressive Huffman `decodeJpeg`. */
export { decodeJpeg, type JpegDecodeOptions } from "./jpeg-decode.ts";
export { encodeJpeg, type JpegEncodeOptions } from "./jpeg-encode.ts";
