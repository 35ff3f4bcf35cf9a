import { PipelineError } from "../errors/index.ts";

/**
 * Base error of the image area: corrupt or unsupported files handed to a decoder, and images or
 * options a codec cannot accept (a quality outside [1, 100], a WebP wider than 16384 pixels).
 * Messages name the codec, what is wrong and where (`"PNG IDAT CRC mismatch at byte 57"`).
 * A `PipelineError`, so a service catches it with the rest of the pipeline's errors.
 *
 * @example
 * throw new ImageCodecError("PNG truncated at byte 1234: IDAT chunk at byte 33 needs 4096 bytes");
 */
export class ImageCodecError extends PipelineError {
  override readonly name: string = "ImageCodecError";
}
