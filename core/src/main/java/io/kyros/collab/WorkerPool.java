package io.kyros.collab;

import io.kyros.collab.spi.IndexQuery;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A pool of workers that claim tasks by label and run a {@link TaskHandler} on each, built with {@link #builder}.
 *
 * <p>Guarantees:
 * <ul>
 *   <li>At most {@code concurrency} tasks are claimed by the pool at once. Free slots are filled several at a time
 *       ({@link Tasks#claimUpTo}), only with tasks carrying one of the handlers' labels (the pool's skills).</li>
 *   <li>The pool waits for work by waking on the event log (a subscription to the events that can make a task
 *       claimable), never by busy polling; it also looks again after {@code idleRecheck} without events, because a
 *       stale claim or an ended retry backoff makes a task claimable without any event.</li>
 *   <li>Each claim is kept alive while its handler runs (renewed at a third of the claim ttl). When the claim is lost,
 *       the handler's timeout passes, its batch is aborted or cancelled, or the pool shuts down past its deadline,
 *       the handler is cancelled: {@link WorkerContext#isCancelled()} turns true and its thread is interrupted. A
 *       cancellation that comes once the handler has returned changes nothing: the claim ends as its outcome says.
 *       A handler that ignores its timeout's interrupt has its claim ended one timeout later, on a thread of the pool's
 *       own, never on the timer that fires the other runs' timeouts.</li>
 *   <li>Every run records {@code executor_started} and then {@code executor_succeeded} or {@code executor_failed}
 *       (attempt, duration, error class and message, next attempt time). A failed attempt goes back to the queue
 *       after its {@link RetryPolicy}'s jittered delay, or fails the task for good (attempts used up, an exception
 *       the policy never retries); the error is kept as the task's {@code lastError}.</li>
 *   <li>{@link #shutdown(Duration)} stops claiming, waits for running handlers up to the deadline, then cancels the
 *       rest and releases their claims back to the queue.</li>
 *   <li>The pool registers itself as an agent ({@link Agents}) under its agent id, with its labels as skills, and
 *       keeps its presence lease alive; a disabled agent's pool stops claiming until it is enabled again.</li>
 * </ul>
 *
 * <p>Thread-safe.
 */
public final class WorkerPool implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(WorkerPool.class);
  private static final AtomicLong POOLS = new AtomicLong();
  /** The events after which a task may have become claimable, or a running one must be cancelled. */
  private static final EventFilter WAKE_ON = EventFilter.all().types(EventType.TASK_CREATED, EventType.TASK_RELEASED,
      EventType.TASK_FAILED, EventType.TASK_RECLAIMED, EventType.TASK_TRANSITIONED, EventType.TASK_COMPLETED,
      EventType.TASK_UPDATED, EventType.BATCH_STATE_CHANGED, EventType.AGENT_STATUS_CHANGED);
  /** The most running batches per label one sweep brings up to date. */
  private static final int RUNNING_BATCHES_PER_SWEEP = 100;

  private final Collab collab;
  private final Core core;
  private final String agentId;
  private final String role;
  private final Map<String, TaskHandler> handlers;
  private final Map<String, RetryPolicy> policies;
  private final RetryPolicy defaultPolicy;
  private final int concurrency;
  private final Duration claimTtl;
  private final Duration handlerTimeout;
  private final Duration idleRecheck;
  private final Duration shutdownTimeout;
  private final Map<String, Object> metadata;
  private final Set<String> labels;
  /** The executor_started of each claim, recorded in the claim's commit. */
  private final TrailingEvents started;
  private final Set<WorkerRun> runs = ConcurrentHashMap.newKeySet();
  private final ExecutorService executor;
  private final ScheduledExecutorService timer;
  /**
   * Ends the claims of handlers that ignored their timeout's interrupt ({@link #endLater}): storage commits, which may
   * block up to the storage's own timeouts, so never on the timer. One daemon thread, started when needed and gone
   * when idle; at most {@code concurrency} ends wait (one per running handler); shut down with the timer.
   */
  private final ThreadPoolExecutor ender;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition wake = lock.newCondition();
  private final Thread dispatcher;
  private boolean signalled; // guarded by lock
  private volatile boolean stopping;
  private volatile boolean enabled = true;
  /**
   * Whether the dispatcher is taking a claim it began while the agent was enabled, until that claim's tasks are
   * started or released. Set under enabledLock together with the reading of {@link #enabled} it follows, so a
   * disable assigned later (under the same lock) happens after it: {@link #isClaiming()}, reading {@code enabled}
   * first and this second, is false only when no such claim is being taken, and never true for a claim not begun.
   */
  private volatile boolean claimInFlight;
  private final Object enabledLock = new Object();
  /** How many readings of the agent's record began ({@link #refreshEnabled}); guarded by enabledLock. */
  private long readingsBegun;
  /** The latest reading assigned to {@link #enabled} (or failed); guarded by enabledLock. */
  private long readingAssigned;
  /** When the dispatcher last brought the running batches up to date ({@link System#nanoTime()}), if it has. */
  private long lastBatchSweep;
  private boolean batchesSwept;
  /** Per label, the last running batch the sweeps went through (dispatcher only); START to begin again. */
  private final Map<String, String> sweptThrough = new java.util.HashMap<>();
  /** Set when the dispatcher thread died of an unexpected throwable: the pool no longer claims. */
  private volatile boolean dispatcherFailed;
  private volatile Subscription subscription;
  private volatile KeepAlive presence;

  private WorkerPool(Builder b) {
    this.collab = b.collab;
    this.core = b.collab.core();
    this.agentId = b.agentId == null ? Agents.agentIdOf(collab.holder()) : b.agentId;
    this.role = b.role;
    // in the order they were added (Map.copyOf keeps none): a task with several served labels goes to the first
    this.handlers = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(b.handlers));
    this.policies = Map.copyOf(b.policies);
    this.defaultPolicy = b.retryPolicy;
    this.concurrency = b.concurrency;
    this.claimTtl = b.claimTtl;
    this.handlerTimeout = b.handlerTimeout;
    this.idleRecheck = b.idleRecheck;
    this.shutdownTimeout = b.shutdownTimeout;
    this.metadata = b.metadata;
    this.labels = Set.copyOf(b.handlers.keySet());
    // built inside the claim's commit, so it never throws: a claimed task carries a served label (claims ask for them)
    this.started = WorkerRun.started(core, agentId, taskLabels -> handlerOf(taskLabels).orElse(null));
    long n = POOLS.incrementAndGet();
    AtomicLong threads = new AtomicLong();
    this.executor = new ThreadPoolExecutor(concurrency, concurrency, 0, TimeUnit.NANOSECONDS,
        new LinkedBlockingQueue<>(), r -> new Thread(r, "collab-worker-" + n + "-" + threads.incrementAndGet()));
    ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> {
      Thread thread = new Thread(r, "collab-worker-" + n + "-timer");
      thread.setDaemon(true);
      return thread;
    });
    t.setRemoveOnCancelPolicy(true);
    this.timer = t;
    this.ender = new ThreadPoolExecutor(1, 1, 10, TimeUnit.SECONDS, new LinkedBlockingQueue<>(concurrency), r -> {
      Thread thread = new Thread(r, "collab-worker-" + n + "-ender");
      thread.setDaemon(true);
      return thread;
    });
    ender.allowCoreThreadTimeOut(true);
    this.dispatcher = new Thread(this::dispatchUntilStopped, "collab-worker-" + n + "-dispatcher");
  }

  /**
   * @param collab the Collab whose tasks the pool claims (its storage, workflow and clock)
   * @return a builder
   * @throws NullPointerException if collab is null
   */
  public static Builder builder(Collab collab) {
    return new Builder(Objects.requireNonNull(collab, "collab"));
  }

  private WorkerPool start() {
    collab.agents().register(new AgentSpec(agentId, role, labels, metadata));
    joinPresence();
    try {
      subscribeAndReadStatus();
    } catch (RuntimeException | Error e) { // no pool for the caller to close: end what started, the agent offline
      stopping = true;
      timer.shutdownNow();
      ender.shutdownNow();
      executor.shutdownNow();
      Subscription s = subscription;
      if (s != null) {
        s.close();
      }
      leavePresence();
      throw e;
    }
    dispatcher.start();
    LOG.info("worker pool {} started: {} slots for labels {}", agentId, concurrency, new TreeSet<>(labels));
    return this;
  }

  private void subscribeAndReadStatus() {
    subscription = collab.events().subscribe(collab.events().lastId(), WAKE_ON, new EventListener() {
      @Override
      public void onEvent(Event e) {
        WorkerPool.this.onEvent(e);
      }

      @Override
      public void onError(Throwable error) { // an event the log cannot read: said loudly, never silently
        LOG.error("worker pool {} no longer sees the event log: it still claims (every idleRecheck), but no longer"
            + " sees its batches aborted or cancelled or its agent disabled until it is restarted", agentId, error);
      }
    });
    // read after subscribing: a disable committed before this reading is in it, one after it reaches onEvent
    refreshEnabled();
  }

  /**
   * Reads whether the agent may take work from its record (start and the subscription's thread both call this). The
   * reading begun last wins: a reading begun earlier may be older than a disable a later one saw, so it is not
   * assigned, and its caller waits until the latest reading is (start then starts the dispatcher on it). Before, start
   * held a lock over its reading, so the subscription's reading of a disable committed meanwhile waited for it, and the
   * dispatcher could claim for the disabled agent between start's assignment and the subscription's.
   */
  private void refreshEnabled() {
    long ticket;
    synchronized (enabledLock) {
      ticket = ++readingsBegun;
    }
    Boolean reading = null;
    try {
      reading = collab.agents().enabled(agentId);
    } finally {
      synchronized (enabledLock) {
        if (ticket == readingsBegun) { // the latest reading (a failed one assigns nothing, but releases the waiters)
          if (reading != null) {
            enabled = reading;
          }
          readingAssigned = ticket;
          enabledLock.notifyAll();
        }
        while (readingAssigned < ticket) {
          try {
            enabledLock.wait();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            break;
          }
        }
      }
    }
  }

  /** @return the identity the pool claims as and its agent id */
  public String agentId() {
    return agentId;
  }

  /** @return the labels it serves (its handlers' labels, its agent's skills) */
  public Set<String> labels() {
    return labels;
  }

  /** @return how many tasks it may hold at once */
  public int concurrency() {
    return concurrency;
  }

  /** @return how many handlers are running now */
  public int running() {
    return runs.size();
  }

  /**
   * @return whether it claims work: not shutting down, its agent not disabled, and its dispatcher thread alive (it
   *     dies only of an unexpected throwable, an {@link Error} such as {@link OutOfMemoryError}, logged as an error).
   *     After its agent is disabled it stays true until a claim begun while the agent was enabled has ended (a task
   *     such a claim takes is released unrun), so once a disable has made it false the pool takes no task until it is
   *     enabled again. A shutdown makes it false at once: a claim in flight then may still take tasks, which it gives
   *     back unrun before {@link #shutdown} returns
   */
  public boolean isClaiming() {
    return !stopping && !dispatcherFailed && (enabled || claimInFlight);
  }

  /**
   * Shuts down gracefully: stops claiming, waits up to {@code deadline} for the running handlers, then cancels the
   * rest (flag and interrupt) and releases their claims back to the queue; finally takes the agent offline.
   * Idempotent. An interrupt cuts the wait short: the running handlers are then cancelled and their claims
   * released at once, the agent is taken offline, and only then is the interrupt thrown.
   *
   * @param deadline how long to wait for running handlers, zero or positive (any length: one too long to count in
   *     nanoseconds, such as {@code ChronoUnit.FOREVER.getDuration()}, waits as long as the handlers run)
   * @return true if every handler finished before the deadline, false if some claims were released unfinished
   * @throws InterruptedException if interrupted while waiting (after the shutdown's other steps, as above)
   * @throws IllegalArgumentException if deadline is negative
   * @throws IllegalStateException if called from a handler of this pool (it would wait for itself, then release its
   *     own task's claim while it still runs); nothing is shut down
   */
  public boolean shutdown(Duration deadline) throws InterruptedException {
    Names.requireNotNegative("deadline", deadline);
    Thread caller = Thread.currentThread();
    for (WorkerRun run : runs) {
      if (run.runsHandlerOn(caller)) {
        throw new IllegalStateException("worker pool " + agentId + " cannot be shut down from its own handler (task "
            + run.taskId() + "): it would wait for that handler, then release its claim while it runs; return an"
            + " outcome and shut the pool down from another thread");
      }
    }
    stopping = true;
    signal();
    Subscription s = subscription;
    if (s != null) {
      s.close();
    }
    executor.shutdown();
    boolean interrupted = false;
    boolean clean = false;
    try {
      if (Thread.currentThread() != dispatcher) {
        // to its end, not to the deadline: a claim it is committing must be given back (its run is refused by the
        // executor, shut down above) before this returns, or it stays held until its lease expires; the wait is one
        // claim call, bounded by the storage's own timeouts (an idle dispatcher ends at once)
        dispatcher.join();
      }
      // saturated: a deadline of centuries ("wait for ever") has more nanoseconds than a long holds
      clean = executor.awaitTermination(Names.nanos(deadline), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      interrupted = true;
    }
    if (!clean) {
      for (WorkerRun run : new ArrayList<>(runs)) {
        run.cancel(WorkerRun.Cancel.SHUTDOWN, "pool " + agentId + " shut down");
        try {
          run.releaseForShutdown();
        } catch (RuntimeException e) { // the others' claims still go back
          LOG.warn("cannot release task {} at shutdown (it will be reclaimed when its lease expires): {}",
              run.taskId(), e.toString());
        }
      }
      if (!interrupted) {
        try {
          executor.awaitTermination(Math.min(Names.nanos(shutdownTimeout), TimeUnit.SECONDS.toNanos(10)),
              TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
    }
    // neither is waited for: an end of an ignored timeout under way is interrupted, its claim left to expire
    timer.shutdownNow();
    ender.shutdownNow();
    leavePresence();
    if (interrupted) {
      throw new InterruptedException("interrupted while worker pool " + agentId + " waited for its handlers; they"
          + " were cancelled and their claims released");
    }
    return clean;
  }

  /** Stops renewing the agent's presence and takes it offline (a failure is logged: its lease then expires). */
  private void leavePresence() {
    KeepAlive p = presence;
    if (p != null) {
      p.close();
      try {
        collab.agents().leave(agentId, p.current());
      } catch (RuntimeException e) {
        LOG.warn("cannot take agent {} offline: {}", agentId, e.toString());
      }
    }
  }

  /**
   * Shuts down with the builder's {@code shutdownTimeout}; see {@link #shutdown(Duration)}.
   *
   * @throws IllegalStateException if called from a handler of this pool; nothing is shut down
   */
  @Override
  public void close() {
    try {
      shutdown(shutdownTimeout);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  Duration handlerTimeout() {
    return handlerTimeout;
  }

  /** @return the timer that fires the handlers' timeouts: it only triggers, never commits (see {@link #endLater}) */
  ScheduledExecutorService timer() {
    return timer;
  }

  /**
   * Runs {@code end}, the end of a claim whose handler ignored its timeout's interrupt (storage commits, which may
   * block up to the storage's own timeouts on a stalled store), on the pool's ender thread: off the timer, so that one
   * blocked commit delays no other run's timeout. Ends run one at a time, in order.
   *
   * @param end the end
   * @return false if it was refused: the pool is shutting down (its release ends the claims), or {@code concurrency}
   *     ends already wait
   */
  boolean endLater(Runnable end) {
    try {
      ender.execute(end);
      return true;
    } catch (java.util.concurrent.RejectedExecutionException e) {
      return false;
    }
  }

  /** @return the batch after bringing it up to date, or empty if that failed (logged) */
  java.util.Optional<Batch> advanceBatch(String batchId) {
    try {
      return java.util.Optional.of(collab.batches().advance(batchId));
    } catch (RuntimeException e) {
      LOG.warn("cannot update batch {}: {}", batchId, e.toString());
      return java.util.Optional.empty();
    }
  }

  /**
   * Brings up to date the running batches whose items the pool serves, when it has nothing to claim (at most once per
   * {@code idleRecheck}): an advance after an item ended can be missed (a storage error, a process that died between
   * the item's commit and its batch's, an item reclaimed to failed while no pool ran), and without this the batch
   * would release no more items and never end. Reads only the running batches ({@link Batches#running}), at most
   * {@value #RUNNING_BATCHES_PER_SWEEP} per label a sweep, each sweep after the last one read.
   */
  private void advanceRunningBatches() {
    for (String label : labels) {
      String after = sweptThrough.getOrDefault(label, IndexQuery.START);
      List<String> running;
      try {
        running = collab.batches().running(label, after, RUNNING_BATCHES_PER_SWEEP);
      } catch (RuntimeException e) {
        LOG.warn("worker pool {} cannot list its running batches: {}", agentId, e.toString());
        return;
      }
      for (String id : running) {
        if (stopping) {
          return; // nothing to give back: a shutdown need not wait for the rest
        }
        advanceBatch(id);
      }
      // the next sweep goes on after the last one read, and starts over once a page is not full
      sweptThrough.put(label, running.size() < RUNNING_BATCHES_PER_SWEEP ? IndexQuery.START
          : running.get(running.size() - 1));
    }
  }

  /** Called by a run once it ended its claim: updates its batch and frees its slot. */
  void finished(WorkerRun run) {
    Batches.batchOf(run.claim().task()).ifPresent(this::advanceBatch);
    runs.remove(run);
    signal();
  }

  private void signal() {
    lock.lock();
    try {
      signalled = true;
      wake.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Reacts to an event of the pool's subscription. Never throws: a listener that throws ends its subscription
   * ({@link EventListener}), and the pool would then no longer see a batch cancelled or its agent disabled.
   */
  private void onEvent(Event e) {
    try {
      react(e);
    } catch (RuntimeException failure) {
      LOG.warn("worker pool {} cannot act on event {} ({}): {}", agentId, e.id(), e.type(), failure.toString());
    } finally {
      signal();
    }
  }

  private void react(Event e) {
    String type = e.type();
    if (type.equals(EventType.BATCH_STATE_CHANGED.wireName())) {
      String state = e.details().path("newState").asText();
      if (BatchState.ABORTED.wireName().equals(state) || BatchState.CANCELLED.wireName().equals(state)) {
        String batch = e.details().path("id").asText();
        for (WorkerRun run : runs) {
          if (Batches.batchOf(run.claim().task()).filter(batch::equals).isPresent() && !isFinalStep(run, batch)) {
            run.cancel(WorkerRun.Cancel.BATCH, "batch " + batch + " " + state);
          }
        }
      }
    } else if (type.equals(EventType.AGENT_STATUS_CHANGED.wireName())
        && e.target().equals(Agents.target(agentId))) {
      // from the record, not the event: "left" (disabled → offline, another pool of this agent id stopping) and an
      // event delivered after a later change must not enable a disabled agent's pool
      refreshEnabled();
    } else if (type.equals(EventType.TASK_RECLAIMED.wireName())
        && core.workflow().failed().equals(e.details().path("newStatus").asText())) {
      // a batch item that failed for good by reclaim: no worker ends it, so its batch is told here
      collab.tasks().get(e.details().path("id").asText()).flatMap(Batches::batchOf).ifPresent(this::advanceBatch);
    }
  }

  /**
   * @return whether the run is the batch's final step, which the commit that aborts the batch creates: it runs
   *     because the batch ended, so the batch's abort never cancels it (the pool may claim it before it sees the
   *     abort's event)
   */
  private static boolean isFinalStep(WorkerRun run, String batchId) {
    return run.taskId().equals(batchId + "." + Batches.FINAL_STEP_ID);
  }

  /**
   * Cancels a run whose batch was aborted or cancelled before the run was added to the pool's runs (its claim
   * committed before that batch's state change, whose event {@link #react} handled before the run was there to
   * cancel). Called by the run once it is among the runs, with the batch as {@link #advanceBatch} read it then, so
   * either that event sees the run or this batch shows the state.
   */
  void cancelIfBatchStopped(WorkerRun run, Batch batch) {
    BatchState state = batch.state();
    if ((state == BatchState.ABORTED || state == BatchState.CANCELLED) && !isFinalStep(run, batch.id())) {
      run.cancel(WorkerRun.Cancel.BATCH, "batch " + batch.id() + " " + state.wireName());
    }
  }

  private void joinPresence() {
    try {
      Lease lease = collab.agents().join(agentId, claimTtl);
      presence = collab.leases().keepAlive(lease, claimTtl.dividedBy(3));
    } catch (RuntimeException e) {
      LOG.warn("agent {} cannot take its presence lease (it shows offline): {}", agentId, e.toString());
    }
  }

  /**
   * The dispatcher thread: claims until the pool stops. Should it die of an unexpected throwable, the pool says so
   * ({@link #isClaiming()} false, an error logged) and stops renewing its presence, so its agent shows offline once
   * that lease expires instead of looking alive while claiming nothing.
   */
  private void dispatchUntilStopped() {
    try {
      dispatch();
    } catch (RuntimeException | Error e) {
      dispatcherFailed = true;
      LOG.error("worker pool {} stopped claiming: its dispatcher failed", agentId, e);
      KeepAlive p = presence;
      if (p != null) {
        p.close();
      }
      throw e;
    }
  }

  private void dispatch() {
    Set<String> claimLabels = labels;
    while (!stopping) {
      lock.lock();
      try {
        signalled = false;
      } finally {
        lock.unlock();
      }
      KeepAlive p = presence;
      if (p == null || p.isLost()) {
        joinPresence();
      }
      int free = concurrency - runs.size();
      int got = 0;
      boolean claiming;
      synchronized (enabledLock) { // as refreshEnabled assigns enabled: see claimInFlight
        claiming = enabled && free > 0;
        claimInFlight = claiming;
      }
      if (claiming) {
        try {
          for (TaskClaim claim : collab.tasks().claimUpTo(free, agentId, claimTtl, claimLabels, started)) {
            got++;
            startRun(claim);
          }
        } catch (RuntimeException e) {
          LOG.warn("worker pool {} cannot claim: {}", agentId, e.toString());
        } finally {
          claimInFlight = false;
        }
        if (got == free) {
          continue; // there may be more: look again as soon as a slot frees
        }
      }
      if (enabled && (!batchesSwept || System.nanoTime() - lastBatchSweep >= idleRecheck.toNanos())) {
        batchesSwept = true;
        lastBatchSweep = System.nanoTime();
        advanceRunningBatches();
      }
      lock.lock();
      try {
        long left = idleRecheck.toNanos();
        while (!signalled && !stopping && left > 0) {
          left = wake.awaitNanos(left);
        }
      } catch (InterruptedException e) {
        return;
      } finally {
        lock.unlock();
      }
    }
  }

  /** The label of the handler that runs a task with these labels: of those it carries, the first handler added. */
  private java.util.Optional<String> handlerOf(java.util.Collection<String> taskLabels) {
    return handlers.keySet().stream().filter(taskLabels::contains).findFirst();
  }

  private void startRun(TaskClaim claim) {
    String label = handlerOf(claim.task().labels()).orElseThrow();
    WorkerRun run = new WorkerRun(this, core, collab, label, handlers.get(label),
        policies.getOrDefault(label, defaultPolicy), claim);
    if (!enabled) { // the agent was disabled while the claim was being taken: its handler does not run
      releaseUnstarted(run, "agent " + agentId + " disabled");
      return;
    }
    runs.add(run);
    try {
      executor.execute(run);
    } catch (java.util.concurrent.RejectedExecutionException e) { // shutting down: give the claim back
      runs.remove(run);
      releaseUnstarted(run, "pool shut down");
    }
  }

  private void releaseUnstarted(WorkerRun run, String why) {
    try {
      run.releaseUnstarted(why);
    } catch (RuntimeException r) {
      LOG.warn("cannot release task {} ({}): {}", run.taskId(), why, r.toString());
    }
  }

  /**
   * Builds and starts a {@link WorkerPool}. Each option can be set once; handlers are added one per label. Not
   * thread-safe.
   */
  public static final class Builder {
    /** The shortest claim ttl: its third, the renewal interval, must be a duration the keep-alive can wait. */
    private static final Duration MIN_CLAIM_TTL = Duration.ofMillis(1);
    private final Collab collab;
    private final Map<String, TaskHandler> handlers = new LinkedHashMap<>();
    private final Map<String, RetryPolicy> policies = new LinkedHashMap<>();
    private final Set<String> set = new HashSet<>();
    private String agentId;
    private String role = "worker";
    private int concurrency = 4;
    private Duration claimTtl = Duration.ofSeconds(30);
    private Duration handlerTimeout;
    private Duration idleRecheck = Duration.ofSeconds(2);
    private Duration shutdownTimeout = Duration.ofSeconds(30);
    private RetryPolicy retryPolicy = RetryPolicy.defaults();
    private Map<String, Object> metadata = Map.of();

    private Builder(Collab collab) {
      this.collab = collab;
    }

    private void once(String option) {
      if (!set.add(option)) {
        throw new IllegalStateException(option + " is already set");
      }
    }

    /**
     * Serves tasks labelled {@code label} with {@code handler}, retried by the pool's retry policy. A task carrying
     * several served labels goes to the first handler added.
     *
     * @param label a task label (a name: {@code [A-Za-z0-9][A-Za-z0-9._-]{0,127}})
     * @param handler its handler
     * @return this builder
     * @throws IllegalArgumentException if the label is invalid or already has a handler
     */
    public Builder handler(String label, TaskHandler handler) {
      Names.requireName("label", label);
      Objects.requireNonNull(handler, "handler");
      if (handlers.putIfAbsent(label, handler) != null) {
        throw new IllegalArgumentException("label " + label + " already has a handler");
      }
      return this;
    }

    /**
     * As {@link #handler(String, TaskHandler)}, with a retry policy of its own for these tasks.
     *
     * @param label a task label
     * @param handler its handler
     * @param policy how its failures are retried
     * @return this builder
     * @throws IllegalArgumentException if the label is invalid or already has a handler
     */
    public Builder handler(String label, TaskHandler handler, RetryPolicy policy) {
      Objects.requireNonNull(policy, "policy");
      handler(label, handler);
      policies.put(label, policy);
      return this;
    }

    /**
     * @param agentId the identity it claims as and registers under, a name (default: derived from the Collab's
     *     holder identity, {@code :} replaced by {@code -})
     * @return this builder
     * @throws IllegalArgumentException if it is not a name
     */
    public Builder agentId(String agentId) {
      once("agentId");
      this.agentId = Names.requireName("agentId", agentId);
      return this;
    }

    /**
     * @param role the agent's role, shown in the registry (default {@code worker}), 1 to 300 characters
     * @return this builder
     */
    public Builder role(String role) {
      once("role");
      this.role = Names.requireLabel("role", role);
      return this;
    }

    /**
     * @param metadata free-form agent metadata (a JSON object's fields)
     * @return this builder
     * @throws NullPointerException naming {@code metadata} if it, one of its keys or one of its values is null
     */
    public Builder metadata(Map<String, ?> metadata) {
      once("metadata");
      this.metadata = Names.copyFields("metadata", metadata);
      return this;
    }

    /**
     * @param n how many tasks it holds and runs at once (default 4)
     * @return this builder
     * @throws IllegalArgumentException if n is not positive
     */
    public Builder concurrency(int n) {
      once("concurrency");
      if (n <= 0) {
        throw new IllegalArgumentException("concurrency must be positive: " + n);
      }
      this.concurrency = n;
      return this;
    }

    /**
     * @param ttl each claim's lease ttl (default 30 s), at least 1 ms (as a lease's {@code ttl_seconds} over HTTP) and
     *     at most 36,500 days; a crashed worker's tasks are reclaimed after it. Claims and the agent's presence are
     *     renewed every third of it
     * @return this builder
     * @throws IllegalArgumentException if it is shorter than 1 ms or longer than 36,500 days: a third of a ttl of a few
     *     nanoseconds is no interval to renew at, and every run would fail without its handler
     */
    public Builder claimTtl(Duration ttl) {
      once("claimTtl");
      Names.requireBounded("claimTtl", ttl);
      if (ttl.compareTo(MIN_CLAIM_TTL) < 0) {
        throw new IllegalArgumentException("claimTtl must be at least " + MIN_CLAIM_TTL.toMillis() + " ms: " + ttl);
      }
      this.claimTtl = ttl;
      return this;
    }

    /**
     * @param timeout how long a handler may run before it is cancelled and the attempt fails (default: no limit)
     * @return this builder
     */
    public Builder handlerTimeout(Duration timeout) {
      once("handlerTimeout");
      this.handlerTimeout = Names.requireBounded("handlerTimeout", timeout);
      return this;
    }

    /**
     * @param interval the longest the pool waits without a waking event before looking for work again (default
     *     2 s): stale claims and ended retry backoffs make tasks claimable without any event
     * @return this builder
     */
    public Builder idleRecheck(Duration interval) {
      once("idleRecheck");
      this.idleRecheck = Names.requireBounded("idleRecheck", interval);
      return this;
    }

    /**
     * @param timeout how long {@link WorkerPool#close()} waits for running handlers (default 30 s), zero or positive,
     *     of any length (see {@link WorkerPool#shutdown(Duration)})
     * @return this builder
     * @throws IllegalArgumentException if it is negative
     */
    public Builder shutdownTimeout(Duration timeout) {
      once("shutdownTimeout");
      this.shutdownTimeout = Names.requireNotNegative("shutdownTimeout", timeout);
      return this;
    }

    /**
     * @param policy how failed attempts are retried, for handlers without a policy of their own (default
     *     {@link RetryPolicy#defaults()})
     * @return this builder
     */
    public Builder retryPolicy(RetryPolicy policy) {
      once("retryPolicy");
      this.retryPolicy = Objects.requireNonNull(policy, "policy");
      return this;
    }

    /**
     * Registers the agent, takes its presence lease and starts claiming.
     *
     * @return the running pool
     * @throws IllegalStateException if no handler was added
     */
    public WorkerPool start() {
      if (handlers.isEmpty()) {
        throw new IllegalStateException("a worker pool needs at least one handler");
      }
      return new WorkerPool(this).start();
    }
  }
}
