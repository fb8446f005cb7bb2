// Long computations run one step per task, so typing and dragging stay responsive while
// they work. A message channel yields without setTimeout's clamping.

export interface SlicedJob { cancel(): void }

export function runInSlices<T>(steps: Iterator<T>, done: (results: T[]) => void): SlicedJob {
  const results: T[] = [];
  const channel = new MessageChannel();
  channel.port1.onmessage = () => {
    const r = steps.next();
    if (r.done) {
      channel.port1.close();
      done(results);
    } else {
      results.push(r.value);
      channel.port2.postMessage(null);
    }
  };
  channel.port2.postMessage(null);
  return { cancel: () => channel.port1.close() };
}
