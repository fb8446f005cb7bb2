// A request worth sending again when the server died under it: the panel's analysis is
// waited for by an open page, which would otherwise show the connection's error for good
// although the restart policy brings a new server up moments later.
import { serverGone } from './serverGone.js';

export interface Cancellable {
  readonly isCancellationRequested: boolean;
  onCancellationRequested(listener: () => void): { dispose(): void };
}

/**
 * `send()`, sent again each time it fails only because the server went away, once
 * `runningAgain` resolves (a server is running again: a stopped one waits for the user's
 * restart). Other failures end it; so does cancellation, with the failure in hand.
 */
export async function sendAcrossRestarts<T>(send: () => Promise<T>, runningAgain: (token: Cancellable) => Promise<void>, token: Cancellable): Promise<T> {
  for (;;) {
    try {
      return await send();
    } catch (e) {
      if (!serverGone(e) || token.isCancellationRequested) throw e;
      await runningAgain(token);
      if (token.isCancellationRequested) throw e;
    }
  }
}
