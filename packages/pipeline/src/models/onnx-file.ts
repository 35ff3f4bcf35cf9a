/**
 * A minimal reader for the parts of an ONNX file the loader needs before onnxruntime sees it:
 * which external data files the initializers point at (so a missing `weights.pb` is reported by
 * name), and the first convolution applied to a graph input (the only place a diffusers export
 * records the UNet's latent channel count, since its input dims are symbolic).
 *
 * It walks the protobuf wire format with positioned reads and skips every payload it does not
 * need, so a 2 GB model with inline weights costs a few thousand small reads, not a full load.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";

/** One tensor stored outside the .onnx file. */
export interface ExternalDataRef {
  tensor: string;
  /** File name relative to the model's folder, as written in the model. */
  location: string;
  offset: number;
  /** Byte length, or undefined when the model does not say (then it runs to the end of the file). */
  length: number | undefined;
}

/** A graph node: its operator and the names of its inputs and outputs. */
export interface OnnxNodeSummary {
  opType: string;
  inputs: string[];
  outputs: string[];
}

/** What {@link readOnnxSummary} reads from a model file. */
export interface OnnxFileSummary {
  externalData: ExternalDataRef[];
  /** dims of each initializer, by name. */
  initializerDims: Map<string, number[]>;
  nodes: OnnxNodeSummary[];
}

/** Thrown when the bytes are not a well-formed protobuf; the loader turns it into a ModelLoadError. */
export class OnnxFormatError extends Error {
  override readonly name = "OnnxFormatError";
}

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

/** Buffered positioned reader over a file descriptor, so skipping a payload is just `pos += n`. */
class FileCursor {
  private readonly fd: number;
  readonly size: number;
  private buffer = Buffer.alloc(1 << 16);
  private bufferStart = 0;
  private bufferEnd = 0;
  pos = 0;

  constructor(fd: number, size: number) {
    this.fd = fd;
    this.size = size;
  }

  private byteAt(position: number): number {
    if (position >= this.size)
      throw new OnnxFormatError(`unexpected end of file at byte ${position}`);
    if (position < this.bufferStart || position >= this.bufferEnd) {
      const n = readSync(this.fd, this.buffer, 0, this.buffer.length, position);
      this.bufferStart = position;
      this.bufferEnd = position + n;
    }
    return this.buffer[position - this.bufferStart]!;
  }

  varint(): number {
    // Values above 2^53 only occur in fields we skip (e.g. huge int64 attributes); precision loss there is harmless.
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byteAt(this.pos++);
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
    throw new OnnxFormatError(`malformed varint at byte ${this.pos}`);
  }

  bytes(n: number): Buffer {
    if (this.pos + n > this.size) {
      throw new OnnxFormatError(`field of ${n} bytes runs past the end of the file`);
    }
    // Names are short: serve them from the buffered window instead of one read per string.
    if (n <= this.buffer.length) {
      if (this.pos < this.bufferStart || this.pos + n > this.bufferEnd) {
        this.bufferStart = this.pos;
        this.bufferEnd = this.pos + readSync(this.fd, this.buffer, 0, this.buffer.length, this.pos);
      }
      if (this.pos + n <= this.bufferEnd) {
        const start = this.pos - this.bufferStart;
        this.pos += n;
        return Buffer.from(this.buffer.subarray(start, start + n));
      }
    }
    const out = Buffer.alloc(n);
    let done = 0;
    while (done < n) {
      const got = readSync(this.fd, out, done, n - done, this.pos + done);
      if (got === 0) throw new OnnxFormatError("unexpected end of file");
      done += got;
    }
    this.pos += n;
    return out;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_I64:
        this.pos += 8;
        break;
      case WIRE_LEN: {
        // Read the length first: `this.pos += this.varint()` would add it to the pre-varint position.
        const length = this.varint();
        this.pos += length;
        break;
      }
      case WIRE_I32:
        this.pos += 4;
        break;
      default:
        throw new OnnxFormatError(`unsupported protobuf wire type ${wireType} at byte ${this.pos}`);
    }
    if (this.pos > this.size) throw new OnnxFormatError("a field runs past the end of the file");
  }
}

/** Iterates the fields of a message spanning [cursor.pos, end). */
function* fields(cursor: FileCursor, end: number): Generator<{ field: number; wire: number }> {
  while (cursor.pos < end) {
    const key = cursor.varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field === 0) throw new OnnxFormatError(`invalid field number 0 at byte ${cursor.pos}`);
    const before = cursor.pos;
    yield { field, wire };
    // The consumer either read the payload or left it: skip it in the latter case.
    if (cursor.pos === before) cursor.skip(wire);
  }
  if (cursor.pos !== end)
    throw new OnnxFormatError("a nested message overruns its declared length");
}

function expectLen(cursor: FileCursor, wire: number): number {
  if (wire !== WIRE_LEN)
    throw new OnnxFormatError(`expected a length-delimited field at byte ${cursor.pos}`);
  const n = cursor.varint();
  const end = cursor.pos + n;
  if (end > cursor.size)
    throw new OnnxFormatError(`field of ${n} bytes runs past the end of the file`);
  return end;
}

function readString(cursor: FileCursor, wire: number): string {
  const end = expectLen(cursor, wire);
  return cursor.bytes(end - cursor.pos).toString("utf8");
}

function readTensorSummary(
  cursor: FileCursor,
  end: number,
): { name: string; dims: number[]; external: Map<string, string>; isExternal: boolean } {
  let name = "";
  const dims: number[] = [];
  const external = new Map<string, string>();
  let isExternal = false;
  for (const { field, wire } of fields(cursor, end)) {
    if (field === 1) {
      if (wire === WIRE_LEN) {
        const packedEnd = expectLen(cursor, wire);
        while (cursor.pos < packedEnd) dims.push(cursor.varint());
      } else {
        dims.push(cursor.varint());
      }
    } else if (field === 8) {
      name = readString(cursor, wire);
    } else if (field === 13) {
      const entryEnd = expectLen(cursor, wire);
      let key = "";
      let value = "";
      for (const entry of fields(cursor, entryEnd)) {
        if (entry.field === 1) key = readString(cursor, entry.wire);
        else if (entry.field === 2) value = readString(cursor, entry.wire);
      }
      external.set(key, value);
    } else if (field === 14 && wire === WIRE_VARINT) {
      isExternal = cursor.varint() === 1;
    }
  }
  return { name, dims, external, isExternal };
}

function readNode(cursor: FileCursor, end: number): OnnxNodeSummary {
  const node: OnnxNodeSummary = { opType: "", inputs: [], outputs: [] };
  for (const { field, wire } of fields(cursor, end)) {
    if (field === 1) node.inputs.push(readString(cursor, wire));
    else if (field === 2) node.outputs.push(readString(cursor, wire));
    else if (field === 4) node.opType = readString(cursor, wire);
  }
  return node;
}

function readGraph(cursor: FileCursor, end: number, summary: OnnxFileSummary): void {
  for (const { field, wire } of fields(cursor, end)) {
    if (field === 1) {
      summary.nodes.push(readNode(cursor, expectLen(cursor, wire)));
    } else if (field === 5) {
      const tensor = readTensorSummary(cursor, expectLen(cursor, wire));
      summary.initializerDims.set(tensor.name, tensor.dims);
      const location = tensor.external.get("location");
      if (tensor.isExternal || location !== undefined) {
        if (location === undefined) {
          throw new OnnxFormatError(`initializer ${tensor.name} is external but has no location`);
        }
        const length = tensor.external.get("length");
        summary.externalData.push({
          tensor: tensor.name,
          location,
          offset: Number(tensor.external.get("offset") ?? 0),
          length: length === undefined ? undefined : Number(length),
        });
      }
    }
  }
}

/**
 * Reads the external data references, initializer dims and node list of an ONNX model file.
 * Throws {@link OnnxFormatError} when the file is not a well-formed ONNX protobuf (for example
 * truncated), and the file system's error when it cannot be read.
 */
export function readOnnxSummary(file: string): OnnxFileSummary {
  const fd = openSync(file, "r");
  try {
    const size = fstatSync(fd).size;
    if (size === 0) throw new OnnxFormatError("the file is empty");
    const cursor = new FileCursor(fd, size);
    const summary: OnnxFileSummary = { externalData: [], initializerDims: new Map(), nodes: [] };
    let sawGraph = false;
    for (const { field, wire } of fields(cursor, size)) {
      if (field === 7) {
        sawGraph = true;
        readGraph(cursor, expectLen(cursor, wire), summary);
      }
    }
    if (!sawGraph) throw new OnnxFormatError("no graph found: not an ONNX model");
    return summary;
  } finally {
    closeSync(fd);
  }
}

/**
 * The input channel count of the first Conv fed directly by `inputName` (dims[1] of its weight),
 * or undefined when the graph has no such node with a known weight.
 */
export function convInputChannels(summary: OnnxFileSummary, inputName: string): number | undefined {
  for (const node of summary.nodes) {
    if (node.opType !== "Conv" || node.inputs[0] !== inputName) continue;
    const weight = node.inputs[1];
    const dims = weight === undefined ? undefined : summary.initializerDims.get(weight);
    if (dims !== undefined && dims.length === 4) return dims[1];
  }
  return undefined;
}
