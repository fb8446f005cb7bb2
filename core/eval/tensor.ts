/** A dense float tensor crossing runtime boundaries. */
export interface Tensor { data: Float32Array; shape: number[] }
