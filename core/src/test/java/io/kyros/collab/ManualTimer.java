package io.kyros.collab;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Delayed;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Test helper: a timer for a {@link WorkerRun} whose tasks never fire on their own. A test fires them by hand
 * ({@link Task#fire()}), on the thread it chooses, and can step into a task's cancellation ({@link #onCancel}) to fire
 * it there: the timer's thread running the task at the very moment its owner cancels it, too late to stop it. Only
 * {@link #schedule(Runnable, long, TimeUnit)} is meant to be used; no thread is ever started. Thread-safe.
 */
final class ManualTimer extends ScheduledThreadPoolExecutor {
  private final List<Task> tasks = new CopyOnWriteArrayList<>();
  private volatile Consumer<Task> onCancel = task -> {};

  ManualTimer() {
    super(1);
  }

  @Override
  public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
    Task task = new Task(command, unit.toNanos(delay));
    tasks.add(task);
    return task;
  }

  /** @return the tasks scheduled so far, in order */
  List<Task> tasks() {
    return List.copyOf(tasks);
  }

  /** @param hook what a task's {@code cancel} does first (on the canceller's thread) */
  void onCancel(Consumer<Task> hook) {
    onCancel = hook;
  }

  /** One scheduled task: pending until fired or cancelled, whichever comes first. */
  final class Task implements ScheduledFuture<Object> {
    private static final int PENDING = 0;
    private static final int FIRED = 1;
    private static final int CANCELLED = 2;
    private final Runnable command;
    private final long delayNanos;
    private final AtomicInteger state = new AtomicInteger(PENDING);

    private Task(Runnable command, long delayNanos) {
      this.command = command;
      this.delayNanos = delayNanos;
    }

    /** Runs the task on the calling thread, unless it fired or was cancelled already. */
    void fire() {
      if (state.compareAndSet(PENDING, FIRED)) {
        command.run();
      }
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      onCancel.accept(this);
      return state.compareAndSet(PENDING, CANCELLED);
    }

    @Override
    public boolean isCancelled() {
      return state.get() == CANCELLED;
    }

    @Override
    public boolean isDone() {
      return state.get() != PENDING;
    }

    @Override
    public Object get() {
      return null;
    }

    @Override
    public Object get(long timeout, TimeUnit unit) {
      return null;
    }

    @Override
    public long getDelay(TimeUnit unit) {
      return unit.convert(delayNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public int compareTo(Delayed other) {
      return Long.compare(getDelay(TimeUnit.NANOSECONDS), other.getDelay(TimeUnit.NANOSECONDS));
    }
  }
}
