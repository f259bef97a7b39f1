package io.kyros.collab;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.NewEvent;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One run of a handler on one claimed task, for a {@link WorkerPool}: keeps the claim alive, runs the handler under
 * its timeout, and ends the claim as the outcome says (complete, release, or fail with the retry policy's jittered
 * delay). Its {@code executor_started} is recorded in the commit that claimed the task ({@link #started}), its
 * {@code executor_succeeded} or {@code executor_failed} in the commit that ends the claim ({@link TrailingEvents});
 * only when the claim was lost (nothing left to commit) is {@code executor_failed} a commit of its own.
 * Cancellation (claim lost, timeout, batch aborted or cancelled, shutdown) sets the reason once and interrupts the
 * handler's thread while the handler runs; a run cancelled before its handler started never starts it. Whoever first
 * ends the claim (the run, the end of a handler that ignored its timeout, or a shutdown past its deadline) is the only
 * one to end it.
 *
 * <p>Which cancellation counts: the one recorded before the run took back the handler's thread, which it does as soon
 * as the handler returns (or, for a handler that never started, the one that kept it from starting). Such a
 * cancellation decides how the claim ends, whatever the handler returned: a lost claim records its end, a timeout
 * fails the attempt with {@link HandlerTimeoutException} as the retry policy says, a batch's cancel fails the item for
 * good, a shutdown releases the task. A cancellation recorded after that changes nothing (it no longer interrupts
 * anything either): the run ends the claim as the handler's outcome says, as if the cancellation had not come, so a
 * handler that finished its work in time is never failed by a timeout or a batch's cancel arriving as it returned. A
 * claim lost after the handler returned still shows, when the outcome's commit finds the lease gone
 * ({@link LeaseLostException}, recorded as {@code executor_failed}); a shutdown past its deadline that ends the claim
 * before the run's own commit still releases it ({@link #releaseForShutdown}).
 *
 * <p>The handler's timeout fires on the pool's timer; the end of a handler that ignores its timeout's interrupt
 * (storage commits, which may block) runs on the pool's ender thread ({@link WorkerPool#endLater}), never on the
 * timer, so a blocked commit delays no other run's timeout. Thread-safe.
 */
final class WorkerRun implements Runnable {
  private static final Logger LOG = LoggerFactory.getLogger(WorkerPool.class);

  /** Why a run was cancelled. */
  enum Cancel { LOST, TIMEOUT, BATCH, SHUTDOWN }

  private final WorkerPool pool;
  private final Core core;
  private final Collab collab;
  private final String label;
  private final TaskHandler handler;
  private final RetryPolicy policy;
  private final TaskClaim claimed;
  /** Fires the handler's timeout: the pool's timer. */
  private final ScheduledExecutorService timer;
  /** Set once, under interruptLock: so it is recorded either before or after the handler's thread is taken back. */
  private final AtomicReference<Cancel> cancelKind = new AtomicReference<>();
  private volatile String cancelReason;
  private final AtomicBoolean ended = new AtomicBoolean();
  private final Object interruptLock = new Object();
  private Thread thread; // guarded by interruptLock: set while the handler runs
  private boolean handlerReturned; // guarded by interruptLock: set once the handler ran and returned (or threw)
  private volatile KeepAlive keepAlive;
  /** {@link System#nanoTime()} when the run started, 0 before: a shutdown's release reports the run's duration. */
  private volatile long startNanos;

  WorkerRun(WorkerPool pool, Core core, Collab collab, String label, TaskHandler handler, RetryPolicy policy,
      TaskClaim claim) {
    this(pool, core, collab, label, handler, policy, claim, pool.timer());
  }

  /** As the other constructor, with the timer that fires the handler's timeout (the pool's, unless a test fires it). */
  WorkerRun(WorkerPool pool, Core core, Collab collab, String label, TaskHandler handler, RetryPolicy policy,
      TaskClaim claim, ScheduledExecutorService timer) {
    this.pool = pool;
    this.timer = timer;
    this.core = core;
    this.collab = collab;
    this.label = label;
    this.handler = handler;
    this.policy = policy;
    this.claimed = claim;
  }

  TaskClaim claim() {
    KeepAlive k = keepAlive;
    return k == null ? claimed : claimed.withLease(k.current());
  }

  String taskId() {
    return claimed.task().id();
  }

  int attempt() {
    return claimed.task().attempts() + 1;
  }

  String worker() {
    return pool.agentId();
  }

  String cancelReason() {
    return cancelReason;
  }

  boolean isClaimCurrent() {
    return collab.leases().isCurrent(claim().lease());
  }

  /**
   * Cancels the run once: sets the reason, interrupts the handler if it is running. Counts only if it comes before the
   * handler returned (see the class's comment).
   */
  void cancel(Cancel kind, String reason) {
    synchronized (interruptLock) {
      if (!cancelKind.compareAndSet(null, kind)) {
        return;
      }
      cancelReason = reason;
      if (thread != null) {
        thread.interrupt();
      }
    }
  }

  @Override
  public void run() {
    long start = System.nanoTime();
    startNanos = start;
    Outcome outcome = null;
    Throwable error = null;
    ScheduledFuture<?> timeoutFuture = null;
    boolean ran = false;
    Cancel counted = null; // the cancellation recorded before the handler returned, once it ran
    try {
      KeepAlive k = collab.leases().keepAlive(claimed.lease(), claimed.lease().ttl().dividedBy(3));
      keepAlive = k;
      k.lost().thenAccept(lost -> cancel(Cancel.LOST, "claim lost: " + lost.getMessage()));
      Batches.batchOf(claimed.task()).flatMap(pool::advanceBatch).ifPresent(b -> pool.cancelIfBatchStopped(this, b));
      if (pool.handlerTimeout() != null) {
        Duration timeout = pool.handlerTimeout();
        timeoutFuture = timer.schedule(() -> {
          cancel(Cancel.TIMEOUT, "timeout after " + timeout);
          // a handler that ignores the interrupt must not hold its claim for ever: one timeout later, the claim ends
          // without it, as its cancellation says (its thread, and so its slot, stay taken until it returns)
          timer.schedule(() -> endIgnoredTimeout(timeout), timeout.toNanos(), TimeUnit.NANOSECONDS);
        }, timeout.toNanos(), TimeUnit.NANOSECONDS);
      }
      boolean starts;
      synchronized (interruptLock) {
        // a run cancelled before its handler started (a shutdown past its deadline while the run waited in the
        // executor's queue, whose claim that shutdown released; a lost claim; a cancelled batch) never starts it:
        // the task may already be another worker's
        starts = cancelKind.get() == null && !ended.get();
        if (starts) {
          thread = Thread.currentThread();
        }
      }
      if (starts) {
        try {
          outcome = handler.handle(new WorkerContext(this));
          if (outcome == null) {
            error = new MissingOutcomeException(label, taskId());
          }
        } catch (Throwable t) { // a handler's failure of any kind is recorded, never lost
          error = t;
        } finally {
          synchronized (interruptLock) {
            thread = null;
            handlerReturned = true;
            ran = true;
            // what counts from now on: a cancellation recorded after this (a timeout or a batch's cancel arriving as
            // the handler returned) no longer changes how the claim ends
            counted = cancelKind.get();
            Thread.interrupted(); // an interrupt meant for the handler must not reach the commits below
          }
        }
      }
    } catch (RuntimeException e) { // starting failed (storage): the claim goes back to the queue below
      error = e;
    } finally {
      if (timeoutFuture != null) {
        timeoutFuture.cancel(false);
      }
      KeepAlive k = keepAlive;
      if (k != null) {
        k.close();
      }
    }
    try {
      // a handler that never started: the cancellation that kept it from starting, if any (set once, so still it)
      finish(outcome, error, ran ? counted : cancelKind.get(), Duration.ofNanos(System.nanoTime() - start));
    } finally {
      pool.finished(this);
    }
  }

  /**
   * From the pool's timer, one timeout after the timeout's interrupt: hands the end of a handler that ignored it to the
   * pool's ender ({@link #failIgnoredTimeout}), unless the run ended the claim or the handler returned meanwhile (the
   * run then ends it itself). Never touches the storage: a commit here would delay every other run's timeout.
   */
  private void endIgnoredTimeout(Duration timeout) {
    if (!ignoresCancellation()) {
      return;
    }
    if (!pool.endLater(() -> failIgnoredTimeout(timeout))) {
      // the pool is shutting down (its release ends the claim), or as many ends as it has slots already wait on the
      // storage: the claim is no longer renewed, and is reclaimed when its lease expires
      KeepAlive k = keepAlive;
      if (k != null) {
        k.close();
      }
      LOG.warn("handler for {} on task {} ignored its cancellation for {}; its claim cannot be ended now (it will be"
          + " reclaimed when its lease expires)", label, taskId(), timeout);
    }
  }

  /** @return whether the claim is still to be ended and the handler has not returned (or not started yet) */
  private boolean ignoresCancellation() {
    synchronized (interruptLock) {
      return !ended.get() && !handlerReturned;
    }
  }

  /**
   * Ends the claim of a handler still running one timeout after its timeout's interrupt, on the pool's ender thread
   * (never on its timer), as {@link #finish} would for the run's cancellation (the first one recorded, which counts
   * since the handler has not returned: a timeout fails the attempt with {@link HandlerTimeoutException} as the retry
   * policy says; a batch's cancel fails the item for good; a lost claim records its end), unless the run ended the
   * claim or its handler returned meanwhile (the run then ends the claim itself). The handler's thread goes on until it
   * returns, its outcome then ignored, and its slot stays taken until then.
   */
  private void failIgnoredTimeout(Duration timeout) {
    Cancel cancel;
    synchronized (interruptLock) {
      if (ended.get() || handlerReturned) {
        return;
      }
      cancel = cancelKind.get(); // the timeout, or one recorded before it
    }
    KeepAlive k = keepAlive;
    if (k != null) {
      k.close();
    }
    LOG.warn("handler for {} on task {} ignored its cancellation for {}: the claim ends without it", label, taskId(),
        timeout);
    // cancelled (by the timeout, or before it): finish decides from the cancellation, not from an outcome
    finish(null, null, cancel, Duration.ofNanos(System.nanoTime() - startNanos));
  }

  /**
   * Ends the claim after the deadline of a shutdown, from the shutdown's thread, unless the run ended it already.
   *
   * @return whether this call released the claim
   */
  boolean releaseForShutdown() {
    if (!ended.compareAndSet(false, true)) {
      return false;
    }
    KeepAlive k = keepAlive;
    if (k != null) {
      k.close();
    }
    long started = startNanos;
    Duration duration = started == 0 ? Duration.ZERO : Duration.ofNanos(System.nanoTime() - started);
    try {
      collab.tasks().release(claim(), released(duration, "CancellationException",
          "pool shut down before the handler finished; task released"));
    } catch (LeaseLostException e) { // nothing left to release: the run still ends with its executor_failed
      recordLost(duration, "claim lost before the shutdown released it: " + e.getMessage(), null, null, null);
    }
    return true;
  }

  /**
   * Ends the claim, once (unless a shutdown or the end of an ignored timeout ended it first).
   *
   * @param cancel the cancellation that counts (see the class's comment), null if none: it decides how the claim ends;
   *     without one, the handler's outcome or error does
   */
  private void finish(Outcome outcome, Throwable error, Cancel cancel, Duration duration) {
    if (!ended.compareAndSet(false, true)) {
      return; // a shutdown released the claim
    }
    TaskClaim current = claim();
    try {
      if (cancel == Cancel.LOST) {
        recordLost(duration, cancelReason, error, outcome, cancel);
      } else if (cancel == Cancel.SHUTDOWN) {
        collab.tasks().release(current, released(duration, "CancellationException", cancelReason + "; task released"));
      } else if (cancel == Cancel.BATCH) {
        collab.tasks().fail(current, cancelReason, null, failed(duration, "CancellationException", cancelReason));
      } else if (cancel == null && error == null && outcome.kind() != Outcome.Kind.FAIL) {
        String kind = outcome.kind().name().toLowerCase(java.util.Locale.ROOT);
        TrailingEvents succeeded = (task, lease) -> List.of(event(EventType.EXECUTOR_SUCCEEDED,
            details().put("handler", label).put("duration", duration.toString()).put("outcome", kind)));
        try {
          if (outcome.kind() == Outcome.Kind.DONE) {
            collab.tasks().complete(current, succeeded);
          } else {
            collab.tasks().release(current, succeeded);
          }
        } catch (InvalidTransitionException e) {
          // done from a status with no edge to done (the handler moved the task on): the claim must still end, as a
          // failed attempt, or it would stay held by a run that has left the pool
          failAttempt(current, e, outcome, duration);
        }
      } else {
        failAttempt(current, cancel == Cancel.TIMEOUT ? new HandlerTimeoutException(taskId(), pool.handlerTimeout())
            : error, outcome, duration);
      }
    } catch (LeaseLostException e) {
      recordLost(duration, "claim lost: " + e.getMessage(), error, outcome, cancel);
    } catch (RuntimeException e) {
      LOG.warn("cannot end the claim on task {} (it will be reclaimed when its lease expires): {}", taskId(),
          e.toString());
    }
  }

  /**
   * Fails the attempt through the claim, with the retry policy's decision: for {@code cause}, or for the outcome's
   * reason when the handler returned {@code Outcome.fail} ({@code cause} null).
   */
  private void failAttempt(TaskClaim current, Throwable cause, Outcome outcome, Duration duration) {
    String errorClass = cause == null ? "Outcome.fail" : cause.getClass().getName();
    // bounded: a handler's message of any length must not make the commit that ends the claim too large to store
    String message = fitting(cause == null ? outcome.reason() : String.valueOf(cause.getMessage()));
    int limit = Math.min(policy.maxAttempts(), current.task().maxAttempts());
    boolean retry = attempt() < limit && (cause == null || policy.retries(cause));
    Duration delay = retry ? policy.delay(attempt(), ThreadLocalRandom.current()::nextDouble) : null;
    collab.tasks().fail(current, errorClass + ": " + message, delay, failed(duration, errorClass, message));
    if (cause != null && !(cause instanceof Exception)) {
      LOG.error("handler for {} on task {} threw an error", label, taskId(), cause);
    }
  }

  /**
   * Records the {@code executor_failed} of a run whose claim was lost (nothing left to commit with it), with the
   * handler's own failure, if it had one, in {@code handlerErrorClass} and {@code handlerError}: what it threw, unless
   * that was the interrupt of this run's cancellation (one that counts, {@code cancel}: only those interrupt the
   * handler), or the reason of the {@code Outcome.fail} it returned. A handler's error is never lost, not even when its
   * claim was.
   */
  private void recordLost(Duration duration, String reason, Throwable error, Outcome outcome, Cancel cancel) {
    ObjectNode d = failure(duration, LeaseLostException.class.getSimpleName(), reason, false, null);
    if (error != null && !(cancel != null && interruption(error))) {
      d.put("handlerErrorClass", error.getClass().getName())
          .put("handlerError", fitting(String.valueOf(error.getMessage())));
    } else if (error == null && outcome != null && outcome.kind() == Outcome.Kind.FAIL) {
      d.put("handlerErrorClass", "Outcome.fail").put("handlerError", fitting(outcome.reason()));
    }
    record(EventType.EXECUTOR_FAILED, d);
  }

  /**
   * The most characters of a handler's message that a task's {@code lastError} and an event keep (the rest is counted,
   * not kept): so that the commit ending the claim always fits the size limit.
   */
  static final int HANDLER_ERROR_CHARS = 4_000;

  /**
   * A handler's message as the events recording the attempt can keep it: {@link #bounded}, then cut to leave the
   * events' other details room below the size limit (a message of 4,000 characters outside ASCII takes up to 12,000
   * bytes). The task's {@code lastError} is cut further if the task needs it ({@link TaskClaims}).
   */
  private String fitting(String message) {
    return TextCut.toBytes(bounded(message), core.settings().maxValueBytes() - TaskClaims.EVENT_ROOM);
  }

  /**
   * A handler's message as a task and an event can keep it: its lone surrogates (half a character, which JSON text
   * cannot hold and the store refuses) replaced by U+FFFD, and at most {@link #HANDLER_ERROR_CHARS} characters kept,
   * never cutting a character in two.
   */
  static String bounded(String message) {
    String whole = wholeCharacters(message);
    if (whole.length() <= HANDLER_ERROR_CHARS) {
      return whole;
    }
    int n = Character.isHighSurrogate(whole.charAt(HANDLER_ERROR_CHARS - 1)) ? HANDLER_ERROR_CHARS - 1
        : HANDLER_ERROR_CHARS;
    return whole.substring(0, n) + " … (" + (whole.length() - n) + " more)";
  }

  /** @return the text with each lone surrogate replaced by U+FFFD (itself if it has none) */
  private static String wholeCharacters(String text) {
    StringBuilder out = null;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      boolean paired = !CanonicalJson.isLoneSurrogate(text, i);
      if (!paired && out == null) {
        out = new StringBuilder(text.length()).append(text, 0, i);
      }
      if (out != null) {
        out.append(paired ? c : '\uFFFD');
      }
    }
    return out == null ? text : out.toString();
  }

  /** Whether a handler's failure is how an interrupt ended it (this run's cancellation interrupts its thread). */
  private static boolean interruption(Throwable t) {
    Throwable c = t;
    for (int depth = 0; c != null && depth < 16; c = c.getCause(), depth++) { // bounded: causes may form a cycle
      if (c instanceof InterruptedException || c instanceof java.io.InterruptedIOException
          || c instanceof java.nio.channels.ClosedByInterruptException
          || c instanceof java.util.concurrent.CancellationException) {
        return true;
      }
    }
    return false;
  }

  /**
   * Gives back a claim whose run never started, recording the {@code executor_failed} that ends the
   * {@code executor_started} of its claim.
   *
   * @param why why it did not start, for the event's error: "pool shut down", "agent disabled"
   */
  void releaseUnstarted(String why) {
    ended.set(true);
    collab.tasks().release(claimed, released(Duration.ZERO, "CancellationException",
        why + " before the handler started; task released"));
  }

  private ObjectNode failure(Duration duration, String errorClass, String message, boolean retry, Instant next) {
    ObjectNode d = details().put("handler", label).put("duration", duration.toString()).put("errorClass", errorClass)
        .put("error", message).put("retry", retry);
    d.put("nextAttemptAt", next == null ? null : next.toString());
    return d;
  }

  /**
   * The {@code executor_failed} of a commit that fails the task; whether it goes again, and when, is read from the
   * task record that commit writes (a fail always sets or clears {@code notBefore}).
   */
  private TrailingEvents failed(Duration duration, String errorClass, String message) {
    return (task, lease) -> {
      boolean retried = core.workflow().initial().equals(TaskRecord.status(task));
      Instant next = retried ? TaskRecord.notBeforeOf(task) : null;
      return List.of(event(EventType.EXECUTOR_FAILED, failure(duration, errorClass, message, retried, next)));
    };
  }

  /**
   * The {@code executor_failed} of a commit that releases the task: back in the queue at once (a release leaves an
   * earlier attempt's {@code notBefore} in the record, already past, which is not this attempt's next time).
   */
  private TrailingEvents released(Duration duration, String errorClass, String message) {
    return (task, lease) -> List.of(event(EventType.EXECUTOR_FAILED,
        failure(duration, errorClass, message, true, null)));
  }

  /**
   * The {@code executor_started} of each task a pool claims, recorded in the claim's commit.
   *
   * @param core the pool's core
   * @param worker the pool's agent id (the events' actor)
   * @param handlerOf the label of the handler that will run a task, from the task's labels
   * @return the events, one per claim
   */
  static TrailingEvents started(Core core, String worker, java.util.function.Function<List<String>, String> handlerOf) {
    return (task, lease) -> {
      String id = task.path(TaskRecord.ID).asText();
      ObjectNode d = details(core, id, worker, TaskRecord.attempts(task) + 1, lease.fence())
          .put("handler", handlerOf.apply(TaskRecord.labels(task))).put("leaseId", lease.leaseId());
      return List.of(core.event(EventType.EXECUTOR_STARTED, worker, RecordKeys.taskTarget(id), d));
    };
  }

  /**
   * Records {@code executor_progress} ({@link WorkerContext#progress}, its arguments checked there). Unlike the
   * pool's own records, a failure is the handler's to see: it is thrown, not logged.
   *
   * @throws StorageException if the storage fails
   */
  void recordProgress(int percent, String message) {
    core.commit(Commit.of(List.of(), List.of(), List.of(event(EventType.EXECUTOR_PROGRESS,
        details().put("percent", percent).put("message", message)))));
  }

  /** @return whether {@code t} is running this run's handler now */
  boolean runsHandlerOn(Thread t) {
    synchronized (interruptLock) {
      return thread == t;
    }
  }

  /**
   * Changes the task's checklist while the claim is current (a stale handler's tick changes nothing). The change is
   * applied to the task as read and committed if the task is still as read; when it is not (another of the handler's
   * threads ticked meanwhile: {@link WorkerContext} is thread-safe), it is read and applied again, paced like every
   * read-modify-write. A lost claim ends it with {@link LeaseLostException}: the claim's lease is expected in each
   * commit, so a retry after the task changed because another worker took it fails there.
   *
   * @throws LeaseLostException if the claim is no longer current
   * @throws UpdateConflictException if other changes kept coming for longer than the update timeout
   */
  Task updateChecklist(UnaryOperator<List<ChecklistItem>> change) {
    Retry backoff = core.retry("checklist of task " + taskId());
    for (;; backoff.pause()) {
      Task now = collab.tasks().get(taskId()).orElseThrow(() -> new NotFoundException("task " + taskId()));
      try {
        return collab.tasks().updateClaimed(claim(), now.etag(),
            TaskPatch.none().checklist(change.apply(now.checklist())));
      } catch (PreconditionFailedException changedSinceRead) {
        // the task changed between the reading and the commit: read it and apply the change again
      }
    }
  }

  private ObjectNode details() {
    return details(core, taskId(), worker(), attempt(), claimed.lease().fence());
  }

  private static ObjectNode details(Core core, String id, String worker, int attempt, long fence) {
    return core.object().put("id", id).put("worker", worker).put("attempt", attempt).put("fence", fence);
  }

  private NewEvent event(EventType type, ObjectNode details) {
    return core.event(type, worker(), RecordKeys.taskTarget(taskId()), details);
  }

  /** Records an event of the pool's own in a commit of its own; a failure is logged, not thrown (see recordLost). */
  private void record(EventType type, ObjectNode details) {
    try {
      core.commit(Commit.of(List.of(), List.of(), List.of(event(type, details))));
    } catch (RuntimeException e) {
      LOG.warn("cannot record {} for task {}: {}", type.wireName(), taskId(), e.toString());
    }
  }
}
