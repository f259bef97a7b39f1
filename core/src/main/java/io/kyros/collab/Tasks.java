package io.kyros.collab;

import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Tasks that move through a {@link Workflow} and are claimed by taking a lease.
 *
 * <ul>
 *   <li>{@link #claimNext} atomically picks the best claimable task (highest priority, then oldest,
 *       then smallest id) in the workflow's initial state whose dependencies are all done and whose
 *       retry backoff has passed, takes its lease and moves it to the claimed state. Two workers
 *       never hold the same task.</li>
 *   <li>Operations through a {@link TaskClaim} (complete, fail, release, transition) commit only
 *       while the claim's lease is current.</li>
 *   <li>A claim whose lease goes stale is reclaimed by {@link #reclaimStale()}: back to the initial
 *       state with {@code attempts} incremented, or to the failed state after {@code maxAttempts}.</li>
 *   <li>Dependencies must exist; a change that would create a cycle is rejected.</li>
 *   <li>Every change records its events ({@code task_created}, {@code task_updated},
 *       {@code task_transitioned}, {@code task_claimed}, {@code task_completed}, {@code task_failed},
 *       {@code task_released}, {@code task_reclaimed} and the lease events) in the same commit.</li>
 * </ul>
 *
 * <p>Thread-safe.
 */
public final class Tasks {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final char[] ID_CHARS = "abcdefghijkmnpqrstuvwxyz23456789".toCharArray();

  private final Core core;
  private final Workflow workflow;
  private final TaskCommits commits;
  private final TaskClaims claims;
  private final TaskCandidates candidates;
  private final TaskBoard board;

  Tasks(Core core, LeaseCommits leases) {
    this.core = core;
    this.workflow = core.workflow();
    this.commits = new TaskCommits(core, leases);
    this.claims = new TaskClaims(core, leases, commits);
    this.candidates = new TaskCandidates(core, leases, commits, claims);
    this.board = new TaskBoard(core, commits);
    new TaskReindex(core, leases, commits.readiness()).ensure();
  }

  /** @return the workflow these tasks follow */
  public Workflow workflow() {
    return workflow;
  }

  /**
   * Creates a task in the workflow's initial state, recording {@code task_created}.
   *
   * @param spec what to create
   * @return the task
   * @throws DependencyException if a dependency does not exist or is the task itself
   * @throws PreconditionFailedException if a task with the requested id exists
   * @throws IllegalArgumentException if the id or a label is not a valid name
   */
  public Task create(NewTask spec) {
    Objects.requireNonNull(spec, "spec");
    String id = spec.id() == null ? generateId() : Names.requireName("task id", spec.id());
    spec.labels().forEach(l -> Names.requireName("label", l));
    spec.dependsOn().forEach(d -> Names.requireName("dependency id", d));
    if (spec.dependsOn().contains(id)) {
      throw new DependencyException("task " + id + " cannot depend on itself");
    }
    int maxAttempts = spec.maxAttempts() == null ? core.settings().defaultMaxAttempts() : spec.maxAttempts();
    return commits.create(id, spec, maxAttempts);
  }

  /**
   * @param id the task id
   * @return the task, or empty if it does not exist
   */
  public Optional<Task> get(String id) {
    return core.storage().read(RecordKeys.task(Names.requireName("task id", id))).map(commits::toTask);
  }

  /**
   * Lists tasks, ordered by creation time then id: one page of the matching tasks, those after the
   * filter's {@code after} task, at most its {@code limit}. With statuses named, on a storage that
   * keeps indexes, a page reads only tasks in those statuses.
   *
   * @param filter which tasks to keep, and which page
   * @return the matching tasks of the page
   * @throws IllegalArgumentException if the filter names a status the workflow does not have, or an
   *     invalid label or {@code after} id
   * @throws NotFoundException if {@code after} names no task
   */
  public List<Task> list(TaskFilter filter) {
    Objects.requireNonNull(filter, "filter");
    filter.statuses().forEach(workflow::requireState);
    filter.labels().forEach(l -> Names.requireName("label", l));
    if (filter.after() != null) {
      Names.requireName("after", filter.after());
    }
    return board.list(filter);
  }

  /**
   * The tasks claimable now, best first: what {@link #claimNext(String, Duration, Set)} would take, in the order a
   * worker that no other writer races takes them (in the initial state, dependencies all done, backoff passed,
   * carrying one of {@code labels} if any are given; highest priority first, then oldest, then smallest id), without
   * claiming anything. A snapshot: a concurrent claimer may take one the next moment. It writes nothing, so what a
   * claim finishes first is not here yet: the tasks of stale claims (until a claim or {@link #reclaimStale()} returns
   * them), and the waiters of a dependency whose completion crashed before it moved them all (until the next claim
   * finishes that). On a storage that keeps indexes it reads the first {@code limit} entries of the ready index (of
   * each label's) and the backoffs due by now, so its cost does not grow with the tasks done, claimed or blocked;
   * otherwise it reads every task.
   *
   * @param labels labels of which a task must carry one, empty for any
   * @param limit the most tasks to return, &gt; 0
   * @return at most {@code limit} claimable tasks, best first
   * @throws IllegalArgumentException if limit is not positive or a label is invalid
   */
  public List<Task> ready(Set<String> labels, int limit) {
    Objects.requireNonNull(labels, "labels");
    labels.forEach(l -> Names.requireName("label", l));
    if (limit <= 0) {
      throw new IllegalArgumentException("limit must be positive: " + limit);
    }
    return candidates.ready(labels, limit);
  }

  /**
   * Changes a task's fields (not its status) if its ETag matches, recording {@code task_updated}.
   * New dependencies are checked for existence and cycles in the same commit. A patch that sets no field
   * ({@link TaskPatch#none()}) changes nothing: the task is returned as it is, with the same checks (it exists,
   * {@code ifMatch} matches), no new ETag and no event.
   *
   * @param id the task id
   * @param ifMatch the ETag the caller last saw, or null to update whatever is current
   * @param patch the changes
   * @return the updated task
   * @throws PreconditionFailedException if {@code ifMatch} does not match
   * @throws DependencyException if a dependency is missing or a cycle would be created
   * @throws NotFoundException if the task does not exist
   */
  public Task update(String id, ETag ifMatch, TaskPatch patch) {
    Names.requireName("task id", id);
    Objects.requireNonNull(patch, "patch");
    if (patch.labels() != null) {
      patch.labels().forEach(l -> Names.requireName("label", l));
    }
    return commits.update(id, ifMatch, patch);
  }

  /**
   * As {@link #update}, guarded by a claim: commits only while the claim is current (a worker's checklist ticks).
   *
   * @throws LeaseLostException if the claim is no longer current
   */
  Task updateClaimed(TaskClaim claim, ETag ifMatch, TaskPatch patch) {
    return commits.update(claim.task().id(), ifMatch, patch, Optional.of(claim.lease()));
  }

  /**
   * Moves a task to another status if the workflow allows it, recording {@code task_transitioned}.
   * Moving to the initial or a terminal status frees the task's claim lease, if any, recording
   * {@code lease_released}. Claims are taken with {@link #claimNext} or {@link #claim}, not here.
   *
   * @param id the task id
   * @param to the new status
   * @param ifMatch the ETag the caller last saw, or null
   * @return the old and new status and the task
   * @throws InvalidTransitionException if the workflow does not allow it
   * @throws IllegalArgumentException if {@code to} is not a status of the workflow, or is the claimed status
   * @throws PreconditionFailedException if {@code ifMatch} does not match
   * @throws NotFoundException if the task does not exist
   */
  public TransitionResult transition(String id, String to, ETag ifMatch) {
    Names.requireName("task id", id);
    workflow.requireState(to);
    if (to.equals(workflow.claimed())) {
      throw new IllegalArgumentException("status " + to + " is entered by claiming (claimNext or claim), not by transition");
    }
    return commits.transition(id, to, ifMatch);
  }

  /**
   * Moves a claimed task to another status while the claim's lease is current (for example
   * {@code claimed -> in_progress -> review}). Moving to the initial or a terminal status ends the
   * claim and frees the lease.
   *
   * @param claim the claim
   * @param to the new status
   * @return the old and new status and the task
   * @throws LeaseLostException if the claim's lease is no longer current
   * @throws InvalidTransitionException if the workflow does not allow it
   */
  public TransitionResult transition(TaskClaim claim, String to) {
    Objects.requireNonNull(claim, "claim");
    workflow.requireState(to);
    return claims.transition(claim, to);
  }

  /**
   * Claims the best claimable task for this {@link Collab}'s holder identity.
   *
   * @param ttl the claim lease's time to live
   * @return the claim, or empty if no task is claimable
   */
  public Optional<TaskClaim> claimNext(Duration ttl) {
    return claimNext(core.holder(), ttl, Set.of());
  }

  /**
   * Claims the best claimable task: in the initial state, dependencies all done, backoff passed, and
   * (if {@code labels} is not empty) carrying one of the labels. Takes its lease for {@code worker},
   * moves it to the claimed state and records {@code task_claimed} and {@code lease_acquired}
   * atomically. Stale claims are reclaimed first (as {@link #reclaimStale()} does, for the claims of this workflow's
   * tasks), so a crashed worker's task returns to the queue without anyone else having to notice.
   *
   * <p>A worker that no other writer races always gets the best claimable task. When the best one is lost to a
   * concurrent claimer, the next is tried without reading the tasks again. Once a claim commit of this instance loses
   * a task to another writer (usually a claimer in another process), its next claims, for at most 16 claim commits
   * and 5 seconds of the storage's time, try the candidates of the best priority in a page three times the usual
   * size in random order (on a storage that keeps indexes), so that processes polling at once spread over them
   * instead of committing for the same task: priority order holds, age order only within that page. Threads of one
   * {@link Collab} that call while a claim for the same worker, ttl and labels runs wait for it and are then combined into one search and usually one commit, in
   * the order they came (see {@link #claimUpTo(int, String, Duration, Set)}); those calling for different ones skip a
   * candidate another of them is committing for at that moment, so they spread over the best candidates (each skipped
   * one is being claimed by a concurrent call) instead of all committing for the same one.
   *
   * @param worker the claiming worker's identity
   * @param ttl the claim lease's time to live, positive
   * @param labels labels of which a task must carry one, empty for any
   * @return the claim, or empty if no task is claimable
   */
  public Optional<TaskClaim> claimNext(String worker, Duration ttl, Set<String> labels) {
    Names.requireLabel("worker", worker);
    Names.requireBounded("ttl", ttl);
    Objects.requireNonNull(labels, "labels");
    labels.forEach(l -> Names.requireName("label", l));
    return candidates.claimUpTo(1, worker, ttl, labels, TrailingEvents.NONE).stream().findFirst();
  }

  /**
   * Claims up to {@code max} of the best claimable tasks for {@code worker} in one commit, each as {@link
   * #claimNext(String, Duration, Set)} would (its lease taken, moved to the claimed state, {@code lease_acquired}
   * and {@code task_claimed} recorded, stale claims reclaimed first), so that a worker pool with free slots fills
   * them in one round trip. A candidate lost to a concurrent claimer is skipped and the next one takes its place;
   * the call does not fail for it. If the storage fails ({@link StorageException}) after some of the claims have
   * committed, while the call looks for more, it returns those, logging the failure, rather than leaving them held
   * by nobody until their ttl (a claim commit whose outcome the failure leaves unknown is logged with its tasks);
   * it throws only when it holds none. Any other failure is thrown after the claims it holds are released.
   * {@code claimNext} is {@code claimUpTo(1, ...)}.
   *
   * <p>Calls of at most 16 tasks that threads of this instance make for the same worker, ttl and labels run one at a
   * time: those that come while one runs wait for it, then are combined: one search and (unless candidates are lost
   * to other claimers) one commit claim for all of them, at most 16 tasks together, dealt out in the order the calls
   * came, best task first, each getting at most what it asked for. So threads polling for work at the same time cost
   * one index read and one commit, not one each. If the combined call fails, the thread that ran it throws the
   * failure and each other call a {@link StorageException} (or a {@link CollabException}, for a failure that is not
   * one) with it as the cause; if the storage failed after some claims committed, a call that gets none of them
   * throws so too. A call still waiting when its thread is interrupted leaves with a {@link StorageException},
   * having claimed nothing; once its combined call has started, it waits for it and keeps the interrupt.
   * ({@link WorkerPool}s claim with calls of their own kind, not combined with these.)
   *
   * @param max the most tasks to claim, &gt; 0
   * @param worker the claiming worker's identity
   * @param ttl each claim lease's time to live, positive
   * @param labels labels of which a task must carry one, empty for any
   * @return the claims, best task first; empty if no task is claimable
   * @throws IllegalArgumentException if max is not positive, or a name or ttl is invalid
   * @throws StorageException if the storage fails before any claim of the call committed (or, combined, before any
   *     claim for this call), or the call is interrupted while it waits for a concurrent one
   */
  public List<TaskClaim> claimUpTo(int max, String worker, Duration ttl, Set<String> labels) {
    if (max <= 0) {
      throw new IllegalArgumentException("max must be positive: " + max);
    }
    Names.requireLabel("worker", worker);
    Names.requireBounded("ttl", ttl);
    Objects.requireNonNull(labels, "labels");
    labels.forEach(l -> Names.requireName("label", l));
    return candidates.claimUpTo(max, worker, ttl, labels, TrailingEvents.NONE);
  }

  /** {@link #claimUpTo(int, String, Duration, Set)} recording {@code trailing} after each claim's events. */
  List<TaskClaim> claimUpTo(int max, String worker, Duration ttl, Set<String> labels, TrailingEvents trailing) {
    return candidates.claimUpTo(max, worker, ttl, labels, trailing);
  }

  /** @return how many claim calls wait for a concurrent one of this instance to end ({@link ClaimGroups}; tests) */
  int claimsWaiting() {
    return candidates.groups().waiting();
  }

  /**
   * Claims one specific task, if it is claimable now.
   *
   * @param id the task id
   * @param worker the claiming worker's identity
   * @param ttl the claim lease's time to live
   * @return the claim, or empty if the task is not claimable (wrong status, dependencies not done,
   *     backoff pending, or another worker won); a commit that changed the task without claiming it meanwhile (a
   *     patch, a promotion out of its backoff) makes it read and decide again
   * @throws NotFoundException if the task does not exist
   * @throws UpdateConflictException if other commits kept changing the task, leaving it claimable, for the update
   *     timeout
   */
  public Optional<TaskClaim> claim(String id, String worker, Duration ttl) {
    Names.requireName("task id", id);
    Names.requireLabel("worker", worker);
    Names.requireBounded("ttl", ttl);
    return claims.claim(id, worker, ttl);
  }

  /**
   * The task's current claim, for a worker that kept only the task id and its claim's fence (a client of the HTTP
   * API, an MCP agent): compare {@code currentClaim(id).lease().fence()} with the fence it was given, then complete,
   * fail, release or transition through the returned claim. Reading is not acting: the claim may end between this
   * call and the next, which then fails with {@link LeaseLostException} as usual.
   *
   * @param id the task id
   * @return the claim whose lease is the task's current, unexpired claim lease; empty if nobody holds the task or its
   *     claim lease is stale (expired, not yet reclaimed)
   * @throws NotFoundException if the task does not exist
   * @throws IllegalArgumentException if the id is not a valid name
   */
  public Optional<TaskClaim> currentClaim(String id) {
    Names.requireName("task id", id);
    return claims.current(id);
  }

  /**
   * Completes a claimed task: moves it to the done status (the workflow must allow that from its
   * current status), frees the lease, records {@code task_completed} and {@code lease_released}.
   *
   * @param claim the claim
   * @return the completed task
   * @throws LeaseLostException if the claim's lease is no longer current
   * @throws InvalidTransitionException if the workflow does not allow done from the current status
   */
  public Task complete(TaskClaim claim) {
    Objects.requireNonNull(claim, "claim");
    return claims.complete(claim, TrailingEvents.NONE);
  }

  /** {@link #complete} recording {@code trailing} after its own events, in its commit. */
  Task complete(TaskClaim claim, TrailingEvents trailing) {
    return claims.complete(claim, trailing);
  }

  /**
   * Fails a claimed task's attempt: increments {@code attempts}; below {@code maxAttempts} the task
   * goes back to the initial status, claimable again after an exponential backoff; at the limit it
   * moves to the failed status. Frees the lease; records {@code task_failed} and
   * {@code lease_released}. Like reclaim, this ends the claim from whatever status it reached
   * (for example {@code review}), without needing the workflow's edge.
   *
   * @param claim the claim
   * @param reason why it failed, kept as {@code lastError}
   * @return the task after the change
   * @throws LeaseLostException if the claim's lease is no longer current
   */
  public Task fail(TaskClaim claim, String reason) {
    Objects.requireNonNull(claim, "claim");
    Objects.requireNonNull(reason, "reason");
    return claims.fail(claim, reason);
  }

  /**
   * Fails a claimed task's attempt like {@link #fail(TaskClaim, String)}, with the caller's retry decision: below
   * {@code maxAttempts} the task goes back to the initial status, claimable again after {@code retryDelay}; with a
   * null delay, or at the limit, it moves to the failed status. A worker pool uses this to apply its
   * {@link RetryPolicy} (jittered backoff, exceptions never retried).
   *
   * @param claim the claim
   * @param reason why it failed, kept as {@code lastError}
   * @param retryDelay the wait before the task may be claimed again (zero or positive), or null to fail it for good
   * @return the task after the change
   * @throws LeaseLostException if the claim's lease is no longer current
   * @throws IllegalArgumentException if the delay is negative or longer than 100 years
   */
  public Task fail(TaskClaim claim, String reason, Duration retryDelay) {
    Objects.requireNonNull(claim, "claim");
    Objects.requireNonNull(reason, "reason");
    return fail(claim, reason, retryDelay, TrailingEvents.NONE);
  }

  /** {@link #fail(TaskClaim, String, Duration)} recording {@code trailing} after its own events, in its commit. */
  Task fail(TaskClaim claim, String reason, Duration retryDelay, TrailingEvents trailing) {
    if (retryDelay != null && (retryDelay.isNegative() || retryDelay.compareTo(Names.MAX_DURATION) > 0)) {
      throw new IllegalArgumentException("retryDelay must be between zero and " + Names.MAX_DURATION + ": "
          + retryDelay);
    }
    return claims.fail(claim, reason, attempts -> retryDelay, trailing);
  }

  /**
   * Gives a claimed task back: back to the initial status without counting an attempt, lease freed,
   * {@code task_released} and {@code lease_released} recorded. Allowed from whatever status the claim
   * reached, like {@link #fail}.
   *
   * @param claim the claim
   * @return the task after the change
   * @throws LeaseLostException if the claim's lease is no longer current
   */
  public Task release(TaskClaim claim) {
    Objects.requireNonNull(claim, "claim");
    return claims.release(claim, TrailingEvents.NONE);
  }

  /** {@link #release} recording {@code trailing} after its own events, in its commit. */
  Task release(TaskClaim claim, TrailingEvents trailing) {
    return claims.release(claim, trailing);
  }

  /**
   * Reclaims every task whose claim lease is stale: back to the initial status with {@code attempts}
   * incremented, or to the failed status once {@code maxAttempts} is reached. Records
   * {@code lease_reclaimed} and {@code task_reclaimed}. This is a system action: it does not need the
   * workflow to allow the edge. Stale claims of another workflow's tasks are left to that workflow's Collabs (this
   * one does not know its statuses); on a storage that keeps indexes their lease records are moved, unchanged but for
   * their index entry, to where that workflow's Collabs look and this one's claims do not (see docs/architecture.md,
   * "How a claim finds its task").
   *
   * @return the tasks after reclaim
   */
  public List<Task> reclaimStale() {
    return claims.reclaimStale(core.holder());
  }

  private static String generateId() {
    char[] c = new char[12];
    for (int i = 0; i < c.length; i++) {
      c[i] = ID_CHARS[RANDOM.nextInt(ID_CHARS.length)];
    }
    return "t-" + new String(c);
  }
}
