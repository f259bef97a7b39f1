package io.kyros.collab;

import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Bridges a tail to a {@link Flow.Subscriber} with demand accounting.
 *
 * <p>Signals: {@code onSubscribe} is called by {@link EventLog#publisher} before the tail's thread starts;
 * {@code onNext} and {@code onError} only by that thread (through the {@link Tail.Sink} methods),
 * so they are serial and follow {@code onSubscribe} (rules 1.3, 1.9). At most one {@code onError}
 * is sent and nothing after it (1.7): {@link #terminated} is set under the lock before it is sent,
 * and the tail stops after {@link #failed} or {@link #closed}.
 *
 * <p>{@link #request} and {@link #cancel} may be called from any thread, including from inside
 * {@code onNext}; they only change state under the lock and close the tail, never signal.
 */
final class FlowSink implements Tail.Sink, Flow.Subscription {
  private final Flow.Subscriber<? super Event> subscriber;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  /** Outstanding demand; {@link Long#MAX_VALUE} means unbounded (rule 3.17). Guarded by lock. */
  private long demand;
  /** The subscriber cancelled: signal nothing more. Guarded by lock. */
  private boolean cancelled;
  /** The terminal onError has been decided on. Guarded by lock. */
  private boolean terminated;
  /** A non-positive request to report from the tail's thread (rule 3.9). Guarded by lock. */
  private IllegalArgumentException badRequest;
  /** Set before onSubscribe is called, never changed after. */
  volatile Tail tail;

  FlowSink(Flow.Subscriber<? super Event> subscriber) {
    this.subscriber = subscriber;
  }

  @Override
  public void request(long n) {
    Tail toClose = null;
    lock.lock();
    try {
      if (cancelled || terminated || badRequest != null) {
        return; // rule 3.6: a no-op once cancelled or ending
      }
      if (n <= 0) {
        badRequest = new IllegalArgumentException(
            "request must be positive (Reactive Streams rule 3.9): " + n);
        toClose = tail; // its thread signals onError when it stops, so signals stay serial (1.3)
      } else {
        demand = demand + n < 0 ? Long.MAX_VALUE : demand + n;
      }
      changed.signalAll();
    } finally {
      lock.unlock();
    }
    if (toClose != null) {
      toClose.close();
    }
  }

  @Override
  public void cancel() {
    lock.lock();
    try {
      if (cancelled) {
        return; // rule 3.7
      }
      cancelled = true;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
    Tail t = tail;
    if (t != null) {
      t.close();
    }
  }

  @Override
  public boolean awaitDemand() throws InterruptedException {
    lock.lock();
    try {
      while (demand == 0 && !stopping()) {
        Tail t = tail;
        if (t != null && t.isClosed()) {
          return false;
        }
        // close() interrupts this wait; the timeout is only a safety net
        changed.await(1, TimeUnit.SECONDS);
      }
      if (stopping()) {
        return false;
      }
      if (demand != Long.MAX_VALUE) {
        demand--;
      }
      return true;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void deliver(Event event) {
    subscriber.onNext(event);
  }

  @Override
  public void failed(Throwable error) {
    lock.lock();
    try {
      if (cancelled || terminated) {
        return;
      }
      terminated = true;
    } finally {
      lock.unlock();
    }
    subscriber.onError(error);
  }

  @Override
  public void closed() {
    Throwable error;
    lock.lock();
    try {
      if (cancelled || terminated) {
        return;
      }
      terminated = true;
      error = badRequest != null ? badRequest
          : new CollabException("event subscription closed: the Collab was closed");
    } finally {
      lock.unlock();
    }
    subscriber.onError(error);
  }

  private boolean stopping() {
    return cancelled || terminated || badRequest != null;
  }
}
