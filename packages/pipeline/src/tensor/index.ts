/**
 * Tensors are plain `Float32Array`s with their dims beside them (row-major, NCHW for images).
 * Nothing here patches prototypes or wraps data in classes: the hot loops index the arrays directly.
 */
export interface Tensor {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

/** Number of elements a shape holds. */
export function sizeOf(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** A tensor of zeros with the given dims. */
export function zeros(dims: readonly number[]): Tensor {
  return { data: new Float32Array(sizeOf(dims)), dims: [...dims] };
}

/** Wraps data with dims, checking that the sizes agree. */
export function tensor(data: Float32Array, dims: readonly number[]): Tensor {
  if (data.length !== sizeOf(dims)) {
    throw new RangeError(
      `tensor: data has ${data.length} elements but dims [${dims}] need ${sizeOf(dims)}`,
    );
  }
  return { data, dims: [...dims] };
}
