package ai.taco.core;

import ai.taco.core.error.TacoException;

/**
 * Lets {@link #close()} of a shared object wait for the calls running on it instead of freeing their memory under
 * them; calls made after close are refused with a {@link TacoException}.
 */
final class CallGate {
  private int running;
  private boolean closed;

  /** A running call, ended by {@link #close()}. */
  final class Call implements AutoCloseable {
    private boolean ended;

    @Override
    public void close() {
      synchronized (CallGate.this) {
        if (!ended) {
          ended = true;
          running--;
          CallGate.this.notifyAll();
        }
      }
    }
  }

  /**
   * Starts a call.
   *
   * @param what the closed object, for the message (e.g. "this TacoCodec")
   * @throws TacoException if the gate is closed
   */
  synchronized Call enter(String what) {
    if (closed) {
      throw new TacoException(what + " has been closed");
    }
    running++;
    return new Call();
  }

  /** Refuses new calls, then waits until the running ones have ended. Idempotent. */
  synchronized void closeAndAwait() {
    closed = true;
    boolean interrupted = false;
    while (running > 0) {
      try {
        wait();
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  synchronized int running() {
    return running;
  }
}
