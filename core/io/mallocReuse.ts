// glibc malloc settings for processes that run models: blocks of more than a few MB (torch's
// CPU tensors, onnxruntime's buffers, f64 Gram operands) are otherwise each a fresh mmap,
// zero-filled page by page and unmapped on free. Whitening the tiny LM in the PyTorch worker spent
// 91 of its 125 s in the kernel that way (5 M page faults), 45 s with freed blocks kept for reuse;
// onnxruntime's first run of each of the recogniser's sensitivity variants took 0.9 s, 0.43 s with them.
// The price is freed heap kept, up to the trim threshold, while the process lives.

/** Environment that keeps freed blocks for reuse; spread before the user's own, so theirs win. */
export const MALLOC_REUSE = { MALLOC_MMAP_THRESHOLD_: String(2 ** 30), MALLOC_TRIM_THRESHOLD_: String(2 ** 30) };
