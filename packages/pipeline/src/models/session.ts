/**
 * The only module that imports onnxruntime-node. Everything else talks to models through
 * {@link ModelSession}: plain typed arrays in, float32 tensors out, input names/dtypes/ranks read
 * from the session itself (diffusers exports a float32 timestep and int32 input_ids, Optimum an
 * int64 timestep and int64 input_ids; nothing here guesses).
 */
import { existsSync } from "node:fs";
import ort from "onnxruntime-node";
import { ExecutionProviderError, ModelLoadError, PipelineError } from "../errors/index.ts";
import type { Tensor } from "../tensor/index.ts";

/** Where onnxruntime runs the models. `"cuda"` needs onnxruntime-node's CUDA build and CUDA 12 + cuDNN 9. */
export type ExecutionProvider = "cpu" | "cuda";

/** Options for every session of a pipeline. */
export interface SessionOptions {
  /** Default `"cpu"`. */
  executionProvider?: ExecutionProvider;
  /** Threads used inside one operator (onnxruntime's intra_op_num_threads); default: onnxruntime's choice. */
  intraOpThreads?: number;
  /** Threads used across independent operators; default: onnxruntime's choice. */
  interOpThreads?: number;
}

/** Element types the pipeline can feed; anything else in a model input is a load error. */
export type FeedDType = "float32" | "float16" | "float64" | "int32" | "int64";

/** Name, element type and shape of a model input or output as the session reports them. */
export interface TensorSpec {
  readonly name: string;
  readonly dtype: string;
  /** Numbers for fixed dimensions, strings for symbolic ones (`"batch"`), empty for scalars. */
  readonly dims: readonly (number | string)[];
}

/** A value ready to be fed to a session. Build it with {@link feedFor}. */
export interface Feed {
  readonly dtype: FeedDType;
  readonly data: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint16Array;
  readonly dims: readonly number[];
}

const FEED_DTYPES: ReadonlySet<string> = new Set([
  "float32",
  "float16",
  "float64",
  "int32",
  "int64",
]);

/**
 * An onnxruntime inference session over one model file, with its inputs and outputs described and
 * the time spent inside `run` accumulated in {@link ModelSession.onnxMs}.
 */
export class ModelSession {
  readonly file: string;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** Milliseconds spent inside onnxruntime's `run` since the session was opened. */
  onnxMs = 0;
  /** Number of completed `run` calls. */
  runs = 0;
  private readonly session: ort.InferenceSession;

  private constructor(file: string, session: ort.InferenceSession) {
    this.file = file;
    this.session = session;
    this.inputs = session.inputMetadata.map((m) => describe(m, file));
    this.outputs = session.outputMetadata.map((m) => describe(m, file));
  }

  /**
   * Opens `file` (an absolute path, so onnxruntime finds external data such as `weights.pb` or
   * `model.onnx_data` beside it). Throws {@link ExecutionProviderError} when the provider cannot
   * be loaded and {@link ModelLoadError} naming the file for anything else.
   */
  static async open(file: string, options: SessionOptions = {}): Promise<ModelSession> {
    const { executionProvider = "cpu", intraOpThreads, interOpThreads } = options;
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: [executionProvider],
      // Errors reach the caller as exceptions; onnxruntime's own warning log would only repeat them.
      logSeverityLevel: 3,
    };
    if (intraOpThreads !== undefined) sessionOptions.intraOpNumThreads = intraOpThreads;
    if (interOpThreads !== undefined) sessionOptions.interOpNumThreads = interOpThreads;
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(file, sessionOptions);
    } catch (cause) {
      const message = cause instanceof Error ? cause.message : String(cause);
      if (executionProvider !== "cpu" && isProviderFailure(message)) {
        throw new ExecutionProviderError(
          executionProvider,
          `execution provider "${executionProvider}" is not available: onnxruntime-node could not load it ` +
            `(${firstLine(message)}). It needs onnxruntime-node's CUDA binaries (install with ` +
            `ONNXRUNTIME_NODE_INSTALL_CUDA=v12) and the CUDA 12 + cuDNN 9 libraries on the library path; ` +
            `use executionProvider "cpu" otherwise`,
          { cause },
        );
      }
      if (!existsSync(file)) {
        throw new ModelLoadError(file, `model file not found: ${file}`, { cause });
      }
      throw new ModelLoadError(
        file,
        `cannot load ONNX model ${file}: ${firstLine(message)} (is the file complete and an ONNX model?)`,
        { cause },
      );
    }
    const opened = new ModelSession(file, session);
    for (const spec of opened.inputs) {
      if (!FEED_DTYPES.has(spec.dtype)) {
        await session.release();
        throw new ModelLoadError(
          file,
          `model ${file} has input "${spec.name}" of type ${spec.dtype}; supported input types are ${[...FEED_DTYPES].join(", ")}`,
        );
      }
    }
    return opened;
  }

  /** The input named `name`, or undefined. */
  input(name: string): TensorSpec | undefined {
    return this.inputs.find((i) => i.name === name);
  }

  /** The input named `name`; a {@link ModelLoadError} naming the file and the inputs it has otherwise. */
  requireInput(name: string): TensorSpec {
    const spec = this.input(name);
    if (spec === undefined) {
      throw new ModelLoadError(
        this.file,
        `model ${this.file} has no input "${name}" (inputs: ${this.inputs.map((i) => i.name).join(", ")})`,
      );
    }
    return spec;
  }

  /**
   * Runs the model and returns the requested outputs (all when `outputNames` is omitted) as float32
   * tensors. `operation` names the call in error messages ("UNet run at step 3/20"); the time
   * inside onnxruntime is added to `clock.onnxMs` when a clock is given (per-call accounting that
   * stays right when several generations share the session).
   */
  async run(
    feeds: Readonly<Record<string, Feed>>,
    operation: string,
    outputNames: readonly string[] = this.outputs.map((o) => o.name),
    clock?: { onnxMs: number },
  ): Promise<Record<string, Tensor>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, feed] of Object.entries(feeds)) {
      ortFeeds[name] = new ort.Tensor(feed.dtype, feed.data, feed.dims);
    }
    const started = performance.now();
    let results: ort.InferenceSession.ReturnType;
    try {
      results = await this.session.run(ortFeeds, outputNames);
    } catch (cause) {
      const message = cause instanceof Error ? cause.message : String(cause);
      throw new PipelineError(`${operation} failed: ${firstLine(message)}`, { cause });
    } finally {
      const elapsed = performance.now() - started;
      this.onnxMs += elapsed;
      if (clock !== undefined) clock.onnxMs += elapsed;
    }
    this.runs++;
    const out: Record<string, Tensor> = {};
    for (const name of outputNames) {
      const value = results[name];
      if (value === undefined) throw new PipelineError(`${operation} returned no output "${name}"`);
      out[name] = toFloat32Tensor(value, `${operation} output "${name}"`);
    }
    return out;
  }

  /** Frees the native session. */
  async release(): Promise<void> {
    await this.session.release();
  }
}

/**
 * Converts `values` to the element type `spec` declares (float16 as IEEE half bits, int64 as
 * BigInt after truncation toward zero, the way numpy's `astype` casts) with the given dims.
 */
export function feedFor(
  spec: TensorSpec,
  values: Float32Array | readonly number[],
  dims: readonly number[],
): Feed {
  const dtype = spec.dtype as FeedDType;
  switch (dtype) {
    case "float32":
      return {
        dtype,
        data: values instanceof Float32Array ? values : Float32Array.from(values),
        dims,
      };
    case "float64":
      return { dtype, data: Float64Array.from(values), dims };
    case "float16": {
      const half = new Uint16Array(values.length);
      for (let i = 0; i < values.length; i++) half[i] = float32ToHalfBits(values[i]!);
      return { dtype, data: half, dims };
    }
    case "int32": {
      const ints = new Int32Array(values.length);
      for (let i = 0; i < values.length; i++) ints[i] = Math.trunc(values[i]!);
      return { dtype, data: ints, dims };
    }
    case "int64": {
      const ints = new BigInt64Array(values.length);
      for (let i = 0; i < values.length; i++) ints[i] = BigInt(Math.trunc(values[i]!));
      return { dtype, data: ints, dims };
    }
    default:
      throw new PipelineError(`input "${spec.name}" has unsupported type ${spec.dtype}`);
  }
}

function describe(meta: ort.InferenceSession.ValueMetadata, file: string): TensorSpec {
  if (!meta.isTensor) {
    throw new ModelLoadError(file, `model ${file}: "${meta.name}" is not a tensor`);
  }
  return { name: meta.name, dtype: meta.type, dims: [...meta.shape] };
}

function toFloat32Tensor(value: ort.OnnxValue, what: string): Tensor {
  const dims = [...value.dims];
  switch (value.type) {
    case "float32":
      return { data: value.data as Float32Array, dims };
    case "float16": {
      const bits = value.data as Uint16Array;
      const data = new Float32Array(bits.length);
      for (let i = 0; i < bits.length; i++) data[i] = halfBitsToFloat(bits[i]!);
      return { data, dims };
    }
    case "float64":
      return { data: Float32Array.from(value.data as Float64Array), dims };
    default:
      throw new PipelineError(`${what} has type ${value.type}; expected a float tensor`);
  }
}

function isProviderFailure(message: string): boolean {
  return /cuda|provider|backend|shared library/i.test(message);
}

function firstLine(message: string): string {
  return message.split("\n")[0]!.trim();
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 binary32 -> binary16 bits with round-to-nearest-even (what numpy's astype(float16) does). */
export function float32ToHalfBits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let out = mant >>> shift;
    if (rest > half || (rest === half && (out & 1) === 1)) out++;
    return sign | out;
  }
  let out = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (out & 1) === 1)) out++;
  return sign | out;
}

/** IEEE 754 binary16 bits -> number. */
export function halfBitsToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}
