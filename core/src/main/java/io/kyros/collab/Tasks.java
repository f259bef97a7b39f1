package io.kyros.collab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredRecord;
import io.kyros.collab.spi.Write;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

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
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Tasks.class);
  /** Lease resources of task claims are {@code tasks/<id>}; user resource names cannot contain '/'. */
  static final String LEASE_PREFIX = "tasks/";
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final char[] ID_CHARS = "abcdefghijkmnpqrstuvwxyz23456789".toCharArray();

  /** How many of the best candidates' lease records {@link #claimNext} reads along with the claims it checks. */
  private static final int LEASE_READ_AHEAD = 4;

  private final Core core;
  private final Leases leases;
  private final Workflow workflow;
  /** Ids of the tasks a {@link #claimNext} of this instance is trying right now; the others skip them. */
  private final Set<String> trying = ConcurrentHashMap.newKeySet();
  /**
   * The task records this instance last committed, by id. Only a guess: a commit that relies on one expects its
   * revision, so if anyone changed the task since, the commit conflicts and the operation reads the task instead.
   */
  private final Cache<String, StoredRecord> committed = Caffeine.newBuilder().maximumSize(10_000).build();
  /** What claimNext needs of each task, by revision (which identifies a value forever, so entries never go stale). */
  private final Cache<Long, View> views = Caffeine.newBuilder().maximumSize(50_000).build();

  Tasks(Core core, Leases leases) {
    this.core = core;
    this.leases = leases;
    this.workflow = core.workflow;
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
    int maxAttempts = spec.maxAttempts() == null ? core.defaultMaxAttempts : spec.maxAttempts();
    RecordKey key = key(id);
    Core.Backoff backoff = core.backoff("task " + id);
    for (;; backoff.pause()) {
      List<Expectation> expectations = new ArrayList<>();
      expectations.add(Expectation.absent(key));
      for (String dep : new LinkedHashSet<>(spec.dependsOn())) {
        StoredRecord d = core.storage.read(key(dep)).orElseThrow(
            () -> new DependencyException("task " + id + " depends on missing task " + dep));
        expectations.add(Expectation.revision(d.key(), d.revision()));
      }
      Optional<StoredRecord> existing = core.storage.read(key);
      if (existing.isPresent()) {
        throw exists(key, existing.get());
      }
      Instant now = core.storage.now();
      ObjectNode json = core.object();
      json.put("id", id).put("title", spec.title()).put("description", spec.description())
          .put("workflow", workflow.name()).put("status", workflow.initial()).put("priority", spec.priority());
      strings(json.putArray("dependsOn"), new ArrayList<>(new LinkedHashSet<>(spec.dependsOn())));
      checklist(json.putArray("checklist"), spec.checklist());
      strings(json.putArray("labels"), new ArrayList<>(new TreeSet<>(spec.labels())));
      json.putNull("assignee").put("attempts", 0).put("maxAttempts", maxAttempts)
          .put("createdAt", now.toString()).put("updatedAt", now.toString()).putNull("notBefore").putNull("lastError");
      Core.Encoded encoded = core.encode(json, "task " + id);
      CommitResult result = core.commit(new Commit(expectations, List.of(Write.put(key, encoded.json(), encoded.hash())),
          revisions -> {
            ObjectNode d = core.object().put("id", id).put("title", spec.title()).put("status", workflow.initial())
                .put("priority", spec.priority()).put("etag", Core.etag(revisions.get(0), encoded.hash()).toString());
            d.set("dependsOn", json.get("dependsOn"));
            d.set("labels", json.get("labels"));
            return List.of(core.event("task_created", target(id), d));
          }));
      if (result instanceof CommitResult.Committed c) {
        return toTask(encoded.value(), c.revisions().get(0), encoded.hash());
      }
      // a dependency or the id changed under us: re-check after a pause
    }
  }

  /**
   * @param id the task id
   * @return the task, or empty if it does not exist
   */
  public Optional<Task> get(String id) {
    return core.storage.read(key(Names.requireName("task id", id))).map(this::toTask);
  }

  /**
   * Lists tasks, ordered by creation time then id.
   *
   * @param filter which tasks to keep
   * @return the matching tasks
   * @throws IllegalArgumentException if the filter names a status the workflow does not have, or an
   *     invalid label
   */
  public List<Task> list(TaskFilter filter) {
    Objects.requireNonNull(filter, "filter");
    filter.statuses().forEach(workflow::requireState);
    filter.labels().forEach(l -> Names.requireName("label", l));
    List<Task> out = new ArrayList<>();
    for (StoredRecord r : core.scan(Core.TASKS)) {
      Task t = toTask(r);
      if (filter.matches(t)) {
        out.add(t);
      }
    }
    out.sort(Comparator.comparing(Task::createdAt).thenComparing(Task::id));
    return out;
  }

  /**
   * Changes a task's fields (not its status) if its ETag matches, recording {@code task_updated}.
   * New dependencies are checked for existence and cycles in the same commit.
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
    RecordKey key = key(id);
    Core.Backoff backoff = core.backoff("task " + id);
    for (;; backoff.pause()) {
      StoredRecord current = readTask(id);
      checkIfMatch(current, ifMatch);
      ObjectNode json = core.parse(current).deepCopy();
      List<Expectation> expectations = new ArrayList<>();
      expectations.add(Expectation.revision(key, current.revision()));
      List<String> changed = new ArrayList<>();
      if (patch.title() != null) {
        json.put("title", patch.title());
        changed.add("title");
      }
      if (patch.description() != null) {
        json.put("description", patch.description());
        changed.add("description");
      }
      if (patch.priority() != null) {
        json.put("priority", patch.priority());
        changed.add("priority");
      }
      if (patch.dependsOn() != null) {
        List<String> deps = new ArrayList<>(new LinkedHashSet<>(patch.dependsOn()));
        deps.forEach(d -> Names.requireName("dependency id", d));
        expectations.addAll(checkNoCycle(id, deps));
        strings(json.putArray("dependsOn"), deps);
        changed.add("dependsOn");
      }
      if (patch.checklist() != null) {
        checklist(json.putArray("checklist"), patch.checklist());
        changed.add("checklist");
      }
      if (patch.labels() != null) {
        strings(json.putArray("labels"), new ArrayList<>(new TreeSet<>(patch.labels())));
        changed.add("labels");
      }
      json.put("updatedAt", core.storage.now().toString());
      Optional<Task> done = commitTask(current, json, expectations, List.of(), (etag, prev) -> {
        ObjectNode d = core.object().put("id", id).put("previousEtag", prev).put("etag", etag);
        strings(d.putArray("changed"), changed);
        return List.of(core.event("task_updated", target(id), d));
      });
      if (done.isPresent()) {
        return done.get();
      }
      if (ifMatch != null) {
        checkIfMatch(readTask(id), ifMatch);
      }
    }
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
    Core.Backoff backoff = core.backoff("task " + id);
    for (;; backoff.pause()) {
      StoredRecord current = readTask(id);
      checkIfMatch(current, ifMatch);
      Optional<TransitionResult> r = tryTransition(current, to, null, false, "task_transitioned", null, json -> json,
          false);
      if (r.isPresent()) {
        return r.get();
      }
      if (ifMatch != null) {
        checkIfMatch(readTask(id), ifMatch);
      }
    }
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
    return guarded(claim, (current, guess) -> tryTransition(current, to, claim.lease(), false, "task_transitioned",
        null, json -> json, guess));
  }

  /**
   * Claims the best claimable task for this {@link Collab}'s holder identity.
   *
   * @param ttl the claim lease's time to live
   * @return the claim, or empty if no task is claimable
   */
  public Optional<TaskClaim> claimNext(Duration ttl) {
    return claimNext(core.holder, ttl, Set.of());
  }

  /**
   * Claims the best claimable task: in the initial state, dependencies all done, backoff passed, and
   * (if {@code labels} is not empty) carrying one of the labels. Takes its lease for {@code worker},
   * moves it to the claimed state and records {@code task_claimed} and {@code lease_acquired}
   * atomically. Stale claims are reclaimed first (as {@link #reclaimStale()} does, for the claims of this workflow's
   * tasks), so a crashed worker's task returns to the queue without anyone else having to notice.
   *
   * <p>A worker alone always gets the best claimable task. When the best one is lost to a concurrent claimer, the
   * next is tried without reading the tasks again; and threads of one {@link Collab} calling concurrently skip a
   * candidate another of them is committing for at that moment, so they spread over the best candidates (each
   * skipped one is being claimed by a concurrent call) instead of all committing for the same one.
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
    for (int round = 0;; round++) {
      Instant now = core.storage.now();
      Board board = board(core.scan(Core.TASKS), labels, now);
      // One query for the claims to check for staleness and the lease records of the first candidates.
      Set<String> leaseIds = new LinkedHashSet<>(board.working());
      int ahead = 0;
      for (int i = 0; i < board.candidates().size() && ahead < LEASE_READ_AHEAD; i++) {
        String id = board.candidates().get(i).record().key().id();
        if (!trying.contains(id)) {
          leaseIds.add(id);
          ahead++;
        }
      }
      Map<String, StoredRecord> leaseRecords = new HashMap<>();
      if (!leaseIds.isEmpty()) {
        List<RecordKey> keys = new ArrayList<>(leaseIds.size());
        leaseIds.forEach(id -> keys.add(Leases.key(LEASE_PREFIX + id)));
        core.storage.readAll(keys).forEach(r -> leaseRecords.put(r.key().id(), r));
      }
      // Stale claims first: if any was found, decide again on what the reclaims left.
      if (round == 0 && reclaimStale(board.working(), leaseRecords, worker, now)) {
        continue;
      }
      return claimBest(board.candidates(), leaseIds, leaseRecords, worker, ttl, now);
    }
  }

  /**
   * What {@link #claimNext} decides on.
   *
   * @param candidates the ready claimable tasks, best first
   * @param working ids of this workflow's tasks whose status holds a claim (not initial, failed or terminal)
   */
  private record Board(List<Candidate> candidates, List<String> working) {}

  private Board board(List<StoredRecord> all, Set<String> labels, Instant now) {
    Map<String, String> status = new HashMap<>();
    List<Candidate> candidates = new ArrayList<>();
    List<String> working = new ArrayList<>();
    for (StoredRecord r : all) {
      View v = view(r);
      status.put(r.key().id(), v.status());
      if (!v.ownWorkflow()) {
        continue;
      }
      if (workflow.initial().equals(v.status())) {
        if (v.damage() != null) {
          throw new StorageException("task record " + r.key().id() + " is damaged: " + v.damage());
        }
        if ((v.notBefore() == null || !v.notBefore().isAfter(now))
            && (labels.isEmpty() || v.labels().stream().anyMatch(labels::contains))) {
          candidates.add(new Candidate(r, v));
        }
      } else if (!v.status().equals(workflow.failed()) && !workflow.isTerminal(v.status())) {
        working.add(r.key().id());
      }
    }
    candidates.removeIf(c -> !c.view().dependsOn().stream().allMatch(d -> workflow.done().equals(status.get(d))));
    candidates.sort(Comparator.comparingInt((Candidate c) -> -c.view().priority())
        .thenComparing(c -> c.view().createdAt())
        .thenComparing(c -> c.record().key().id()));
    return new Board(candidates, working);
  }

  /**
   * What {@link #claimNext} needs of a task record, parsed once per revision.
   *
   * @param status the task's status
   * @param ownWorkflow whether it follows this instance's workflow
   * @param priority its priority
   * @param createdAt when it was created
   * @param notBefore when it may be claimed again, or null
   * @param labels its labels
   * @param dependsOn its dependencies
   * @param damage why its times cannot be read (then they are null), or null; matters only for a candidate
   */
  private record View(String status, boolean ownWorkflow, int priority, Instant createdAt, Instant notBefore,
      List<String> labels, List<String> dependsOn, String damage) {}

  private View view(StoredRecord r) {
    return views.get(r.revision(), rev -> {
      ObjectNode json = core.parse(r);
      Instant createdAt = null;
      Instant notBefore = null;
      String damage = null;
      try {
        createdAt = Instant.parse(json.path("createdAt").asText());
        String nb = textOrNull(json, "notBefore");
        notBefore = nb == null ? null : Instant.parse(nb);
      } catch (RuntimeException e) {
        damage = e.getMessage();
      }
      return new View(json.path("status").asText(), ownWorkflow(json), json.path("priority").asInt(), createdAt,
          notBefore, List.copyOf(strings(json.path("labels"))), List.copyOf(strings(json.path("dependsOn"))), damage);
    });
  }

  /**
   * Reclaims the stale ones among the claims of the {@code working} tasks, given their lease records.
   *
   * @return whether any claim was found stale (and reclaimed, unless someone else acted first)
   */
  private boolean reclaimStale(List<String> working, Map<String, StoredRecord> leaseRecords, String actor,
      Instant now) {
    boolean found = false;
    for (String id : working) {
      StoredRecord leaseRecord = leaseRecords.get(id);
      if (leaseRecord == null) {
        continue;
      }
      try {
        Lease held = leases.held(leaseRecord);
        if (held != null && held.isStaleAt(now)) {
          found = true;
          reclaim(leaseRecord, actor, now);
        }
      } catch (StorageException e) {
        LOG.warn("cannot reclaim the claim in {}: {}", leaseRecord.key(), e.getMessage());
      }
    }
    return found;
  }

  /**
   * Claims the first candidate it can, moving on to the next on losing one, without reading the tasks again.
   * Candidates another thread of this instance is trying right now are skipped, so the threads of one process
   * spread over the best candidates instead of all committing for the same one; a candidate this instance changed
   * after the scan read it is judged by what it committed.
   *
   * @param leaseIds the candidates whose lease records were read (absent from {@code leaseRecords} if none exists)
   */
  private Optional<TaskClaim> claimBest(List<Candidate> candidates, Set<String> leaseIds,
      Map<String, StoredRecord> leaseRecords, String worker, Duration ttl, Instant now) {
    for (Candidate c : candidates) {
      String id = c.record().key().id();
      if (!trying.add(id)) {
        continue;
      }
      try {
        // checked once this thread is the only one of the instance on the task, so no claim of ours can slip by
        StoredRecord task = c.record();
        StoredRecord mine = committed.getIfPresent(id);
        if (mine != null && mine.revision() > task.revision()) {
          ObjectNode json = core.parse(mine);
          if (!workflow.initial().equals(json.path("status").asText()) || !claimableAt(json, now)) {
            continue;
          }
          task = mine;
        }
        Optional<StoredRecord> leaseRecord = leaseIds.contains(id) ? Optional.ofNullable(leaseRecords.get(id))
            : core.storage.read(Leases.key(LEASE_PREFIX + id));
        Optional<TaskClaim> claim = tryClaim(task, worker, ttl, leaseRecord, now);
        if (claim.isPresent()) {
          return claim;
        }
      } finally {
        trying.remove(id);
      }
    }
    return Optional.empty();
  }

  /**
   * Claims one specific task, if it is claimable now.
   *
   * @param id the task id
   * @param worker the claiming worker's identity
   * @param ttl the claim lease's time to live
   * @return the claim, or empty if the task is not claimable (wrong status, dependencies not done,
   *     backoff pending, or another worker won)
   * @throws NotFoundException if the task does not exist
   */
  public Optional<TaskClaim> claim(String id, String worker, Duration ttl) {
    Names.requireName("task id", id);
    Names.requireLabel("worker", worker);
    Names.requireBounded("ttl", ttl);
    StoredRecord r = readTask(id);
    ObjectNode json = core.parse(r);
    requireOwnWorkflow(json);
    if (!workflow.initial().equals(json.path("status").asText()) || !claimableAt(json, core.storage.now())) {
      return Optional.empty();
    }
    for (String dep : strings(json.path("dependsOn"))) {
      Optional<StoredRecord> d = core.storage.read(key(dep));
      if (d.isEmpty() || !workflow.done().equals(core.parse(d.get()).path("status").asText())) {
        return Optional.empty();
      }
    }
    RecordKey leaseKey = Leases.key(LEASE_PREFIX + id);
    Optional<StoredRecord> leaseRecord = core.storage.read(leaseKey);
    return tryClaim(r, worker, ttl, leaseRecord, core.storage.now());
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
    return guarded(claim, (current, guess) -> tryTransition(current, workflow.done(), claim.lease(), false,
        "task_completed", null, json -> json.putNull("notBefore"), guess)).task();
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
    return guarded(claim, (current, guess) -> {
      ObjectNode json = core.parse(current);
      int attempts = json.path("attempts").asInt() + 1;
      boolean retry = attempts < json.path("maxAttempts").asInt();
      String to = retry ? workflow.initial() : workflow.failed();
      Instant notBefore = retry ? core.storage.now().plus(backoff(attempts)) : null;
      ObjectNode extra = core.object().put("attempts", attempts).put("maxAttempts", json.path("maxAttempts").asInt())
          .put("retry", retry).put("error", reason);
      extra.put("notBefore", notBefore == null ? null : notBefore.toString());
      return tryTransition(current, to, claim.lease(), true, "task_failed", extra, j -> {
        j.put("attempts", attempts).put("lastError", reason);
        return j.put("notBefore", notBefore == null ? null : notBefore.toString());
      }, guess);
    }).task();
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
    return guarded(claim, (current, guess) -> tryTransition(current, workflow.initial(), claim.lease(), true,
        "task_released", null, json -> json, guess)).task();
  }

  /**
   * Reclaims every task whose claim lease is stale: back to the initial status with {@code attempts}
   * incremented, or to the failed status once {@code maxAttempts} is reached. Records
   * {@code lease_reclaimed} and {@code task_reclaimed}. This is a system action: it does not need the
   * workflow to allow the edge.
   *
   * @return the tasks after reclaim
   */
  public List<Task> reclaimStale() {
    return reclaimStale(core.holder);
  }

  /** Reclaims stale claims, recording {@code actor} as who did it; skips records it cannot read. */
  private List<Task> reclaimStale(String actor) {
    List<Task> out = new ArrayList<>();
    List<StoredRecord> leaseRecords = core.scan(Core.TASK_LEASES);
    // One reading of the storage's clock for the whole scan: it only gets later, so a claim found stale at it is
    // stale at commit time too, and the scan costs no round trip per claim.
    Instant now = core.storage.now();
    for (StoredRecord leaseRecord : leaseRecords) {
      try {
        reclaim(leaseRecord, actor, now).ifPresent(out::add);
      } catch (StorageException e) {
        LOG.warn("cannot reclaim the claim in {}: {}", leaseRecord.key(), e.getMessage());
      }
    }
    return out;
  }

  /** Reclaims one stale claim; empty if it is not stale, another workflow's, or someone else acted first. */
  private Optional<Task> reclaim(StoredRecord leaseRecord, String actor, Instant now) {
    Lease held = leases.held(leaseRecord);
    if (held == null || !held.isStaleAt(now)) {
      return Optional.empty();
    }
    String id = leaseRecord.key().id();
    Optional<StoredRecord> task = core.storage.read(key(id));
    ObjectNode json = task.map(t -> core.parse(t).deepCopy()).orElse(null);
    if (json != null && !ownWorkflow(json)) {
      return Optional.empty(); // a Collab on that task's workflow reclaims it
    }
    List<Expectation> expectations = new ArrayList<>();
    expectations.add(Expectation.revision(leaseRecord.key(), leaseRecord.revision()));
    ObjectNode reclaimDetails = leases.reclaimDetails(held, null, now);
    Write free = leases.freeWrite(leaseRecord.key(), held.resource(), held.fence());
    String old = json == null ? null : json.path("status").asText();
    if (json == null || old.equals(workflow.initial()) || old.equals(workflow.failed()) || workflow.isTerminal(old)) {
      // no claim to end on the task itself: only free the lease
      expectations.addAll(task.map(t -> List.of(Expectation.revision(t.key(), t.revision()))).orElse(List.of()));
      core.commit(Commit.of(expectations, List.of(free),
          List.of(core.event("lease_reclaimed", actor, target(id), reclaimDetails))));
      return Optional.empty();
    }
    int attempts = json.path("attempts").asInt() + 1;
    String to = attempts >= json.path("maxAttempts").asInt() ? workflow.failed() : workflow.initial();
    json.put("status", to).put("attempts", attempts).putNull("assignee").put("updatedAt", now.toString())
        .put("lastError", "lease expired at " + held.expiresAt() + " (holder " + held.holder() + ")");
    expectations.add(0, Expectation.revision(task.get().key(), task.get().revision()));
    Core.Encoded encoded = core.encode(json, "task " + id);
    String prevEtag = Core.etag(task.get()).toString();
    CommitResult result = core.commit(new Commit(expectations,
        List.of(Write.put(task.get().key(), encoded.json(), encoded.hash()), free), revisions -> List.of(
            core.event("lease_reclaimed", actor, target(id), reclaimDetails),
            core.event("task_reclaimed", actor, target(id), core.object().put("id", id).put("oldStatus", old)
                .put("newStatus", to).put("attempts", attempts).put("previousHolder", held.holder())
                .put("oldFence", held.fence()).put("previousEtag", prevEtag)
                .put("etag", Core.etag(revisions.get(0), encoded.hash()).toString())))));
    if (result instanceof CommitResult.Committed c) {
      return Optional.of(toTask(encoded.value(), c.revisions().get(0), encoded.hash()));
    }
    return Optional.empty();
  }

  // ---------------------------------------------------------------------------------------------

  private record Candidate(StoredRecord record, View view) {}

  private interface EventsFor {
    List<NewEvent> build(String etag, String previousEtag);
  }

  /**
   * One attempt to claim {@code task} given its lease record, at storage time {@code now} (read before both);
   * empty if the task's lease is held or someone changed either record since.
   */
  private Optional<TaskClaim> tryClaim(StoredRecord task, String worker, Duration ttl,
      Optional<StoredRecord> leaseRecord, Instant now) {
    String id = task.key().id();
    RecordKey leaseKey = Leases.key(LEASE_PREFIX + id);
    Leases.Acquisition a = leases.prepareAcquire(leaseKey, LEASE_PREFIX + id, worker, ttl, leaseRecord, now);
    if (a == null) {
      return Optional.empty();
    }
    ObjectNode json = core.parse(task).deepCopy();
    String old = json.path("status").asText();
    json.put("status", workflow.claimed()).put("assignee", worker).put("updatedAt", now.toString());
    Core.Encoded encoded = core.encode(json, "task " + id);
    String prevEtag = Core.etag(task).toString();
    CommitResult result = core.commit(new Commit(List.of(Expectation.revision(task.key(), task.revision()),
        a.expectation()), List.of(Write.put(task.key(), encoded.json(), encoded.hash()), a.write()), revisions -> {
          List<NewEvent> events = new ArrayList<>(a.events());
          events.add(core.event("task_claimed", worker, target(id), core.object().put("id", id).put("worker", worker)
              .put("oldStatus", old).put("newStatus", workflow.claimed()).put("leaseId", a.lease().leaseId())
              .put("fence", a.lease().fence()).put("attempts", json.path("attempts").asInt())
              .put("previousEtag", prevEtag).put("etag", Core.etag(revisions.get(0), encoded.hash()).toString())));
          return events;
        }));
    if (result instanceof CommitResult.Committed c) {
      committed.put(id, new StoredRecord(task.key(), encoded.json(), c.revisions().get(0), encoded.hash()));
      leases.remember(a.write(), c.revisions().get(1));
      return Optional.of(new TaskClaim(toTask(encoded.value(), c.revisions().get(0), encoded.hash()), a.lease()));
    }
    committed.invalidate(id);
    return Optional.empty();
  }

  /** One attempt of a claim operation on the task record given; empty on conflict. */
  private interface Attempt {
    /**
     * @param current the task record
     * @param guess whether {@code current} is the record this instance last committed rather than one just read
     *     (then the claim's lease record may be a remembered one too)
     */
    Optional<TransitionResult> apply(StoredRecord current, boolean guess);
  }

  /**
   * Runs a claim operation until it commits, failing if the claim's lease is lost. The first attempt uses the task
   * and lease records this instance last committed, if it has them, without reading; the commit pins their
   * revisions, so a stale guess only costs a conflict, after which it reads and decides as usual.
   */
  private TransitionResult guarded(TaskClaim claim, Attempt attempt) {
    String id = claim.task().id();
    if (!claim.lease().resource().equals(LEASE_PREFIX + id)) {
      throw new IllegalArgumentException("claim on task " + id + " carries a lease on " + claim.lease().resource()
          + ", not on " + LEASE_PREFIX + id);
    }
    StoredRecord known = committed.getIfPresent(id);
    if (known != null) {
      try {
        Optional<TransitionResult> r = attempt.apply(known, true);
        if (r.isPresent()) {
          return r.get();
        }
      } catch (InvalidTransitionException staleGuess) {
        // judged on a status someone changed since: read and decide below
      }
      committed.invalidate(id);
      leases.forget(Leases.key(claim.lease().resource()));
    }
    Core.Backoff backoff = core.backoff("task " + id);
    for (;; backoff.pause()) {
      // the attempt checks the claim's lease after reading the task (see tryTransition)
      Optional<TransitionResult> r = attempt.apply(readTask(id), false);
      if (r.isPresent()) {
        return r.get();
      }
    }
  }

  /**
   * One attempt at a status change with its lease effects: with a guard lease, the lease must still
   * be current; moving to the initial or a terminal status frees the claim lease. A system change
   * (fail, release) ends a current claim from whatever status it reached, like reclaim does, so it
   * does not need the workflow's edge.
   */
  private Optional<TransitionResult> tryTransition(StoredRecord current, String to, Lease guard, boolean system,
      String eventType, ObjectNode extraDetails, Function<ObjectNode, ObjectNode> more, boolean guess) {
    String id = current.key().id();
    ObjectNode json = core.parse(current).deepCopy();
    requireOwnWorkflow(json);
    List<Expectation> expectations = new ArrayList<>();
    expectations.add(Expectation.revision(current.key(), current.revision()));
    Leases.Current guardRecord = null;
    if (guard != null) {
      // Checked after the task was read: if the claim is still current now, the task state read is
      // the claim's, not one left behind by a reclaim that happened in between.
      guardRecord = leases.guard(guard, guess);
      expectations.add(guardRecord.expectation());
    }
    String from = json.path("status").asText();
    if (!system) {
      workflow.checkTransition(from, to);
    }
    Instant now = guardRecord != null ? guardRecord.now() : core.storage.now();
    List<Write> writes = new ArrayList<>();
    List<NewEvent> leaseEvents = new ArrayList<>();
    RecordKey leaseKey = Leases.key(LEASE_PREFIX + id);
    boolean endsClaim = to.equals(workflow.initial()) || to.equals(workflow.failed()) || workflow.isTerminal(to);
    if (endsClaim) {
      // with a guard, the lease record is the guard's (its revision is expected): no need to read it again
      Optional<StoredRecord> leaseRecord = guardRecord != null ? Optional.of(guardRecord.record())
          : core.storage.read(leaseKey);
      Lease held = guardRecord != null ? guardRecord.held() : leaseRecord.map(leases::held).orElse(null);
      if (held != null) {
        if (guard == null) {
          expectations.add(Expectation.revision(leaseKey, leaseRecord.get().revision()));
        }
        writes.add(leases.freeWrite(leaseKey, held.resource(), held.fence()));
        leaseEvents.add(core.event("lease_released", target(id), leases.leaseDetails(held)));
      }
      json.putNull("assignee");
    }
    json.put("status", to).put("updatedAt", now.toString());
    more.apply(json);
    Optional<Task> task = commitTask(current, json, expectations, writes, (etag, prev) -> {
      ObjectNode d = core.object().put("id", id).put("oldStatus", from).put("newStatus", to)
          .put("previousEtag", prev).put("etag", etag);
      if (guard != null) {
        d.put("fence", guard.fence()).put("leaseId", guard.leaseId());
      }
      if (extraDetails != null) {
        d.setAll(extraDetails);
      }
      List<NewEvent> events = new ArrayList<>();
      events.add(core.event(eventType, target(id), d));
      events.addAll(leaseEvents);
      return events;
    });
    return task.map(t -> new TransitionResult(from, to, t));
  }

  /** Commits a task write (first) with extra writes; empty on conflict. */
  private Optional<Task> commitTask(StoredRecord current, ObjectNode json, List<Expectation> expectations,
      List<Write> extraWrites, EventsFor events) {
    Core.Encoded encoded = core.encode(json, "task " + current.key().id());
    List<Write> writes = new ArrayList<>();
    writes.add(Write.put(current.key(), encoded.json(), encoded.hash()));
    writes.addAll(extraWrites);
    String prev = Core.etag(current).toString();
    CommitResult result = core.commit(new Commit(expectations, writes,
        revisions -> events.build(Core.etag(revisions.get(0), encoded.hash()).toString(), prev)));
    if (result instanceof CommitResult.Committed c) {
      committed.put(current.key().id(), new StoredRecord(current.key(), encoded.json(), c.revisions().get(0),
          encoded.hash()));
      for (int i = 1; i < writes.size(); i++) {
        if (!writes.get(i).isDelete() && writes.get(i).key().collection().equals(Core.TASK_LEASES)) {
          leases.remember(writes.get(i), c.revisions().get(i));
        }
      }
      return Optional.of(toTask(encoded.value(), c.revisions().get(0), encoded.hash()));
    }
    return Optional.empty();
  }

  /** Walks the dependency graph from {@code deps}; returns expectations pinning every task visited. */
  private List<Expectation> checkNoCycle(String id, List<String> deps) {
    List<Expectation> pinned = new ArrayList<>();
    Map<String, String> parent = new HashMap<>();
    Deque<String> todo = new ArrayDeque<>();
    for (String d : deps) {
      if (d.equals(id)) {
        throw new DependencyException("task " + id + " cannot depend on itself");
      }
      if (parent.putIfAbsent(d, id) == null) {
        todo.add(d);
      }
    }
    while (!todo.isEmpty()) {
      String t = todo.poll();
      StoredRecord r = core.storage.read(key(t)).orElseThrow(() -> new DependencyException(
          parent.get(t).equals(id) ? "task " + id + " depends on missing task " + t
              : "task " + parent.get(t) + " depends on missing task " + t));
      pinned.add(Expectation.revision(r.key(), r.revision()));
      for (String next : strings(core.parse(r).path("dependsOn"))) {
        if (next.equals(id)) {
          List<String> path = new ArrayList<>();
          for (String p = t; !p.equals(id); p = parent.get(p)) {
            path.add(0, p);
          }
          throw new DependencyException("dependency cycle: " + id + " -> " + String.join(" -> ", path) + " -> " + id);
        }
        if (!parent.containsKey(next)) {
          parent.put(next, t);
          todo.add(next);
        }
      }
    }
    return pinned;
  }

  private boolean ownWorkflow(ObjectNode json) {
    return workflow.name().equals(json.path("workflow").asText());
  }

  private void requireOwnWorkflow(ObjectNode json) {
    if (!ownWorkflow(json)) {
      throw new IllegalStateException("task " + json.path("id").asText() + " follows workflow "
          + json.path("workflow").asText() + ", not " + workflow.name() + "; use a Collab built with that workflow");
    }
  }

  private boolean claimableAt(ObjectNode json, Instant now) {
    JsonNode nb = json.get("notBefore");
    return nb == null || nb.isNull() || !Instant.parse(nb.asText()).isAfter(now);
  }

  private Duration backoff(int attempts) {
    try {
      Duration d = core.retryBackoff.multipliedBy(1L << Math.min(attempts - 1, 30));
      return d.compareTo(core.maxRetryBackoff) > 0 ? core.maxRetryBackoff : d;
    } catch (ArithmeticException overflow) {
      return core.maxRetryBackoff;
    }
  }

  private StoredRecord readTask(String id) {
    return core.storage.read(key(id)).orElseThrow(() -> new NotFoundException("task " + id));
  }

  private void checkIfMatch(StoredRecord current, ETag ifMatch) {
    if (ifMatch != null && !ifMatch.strongMatch(Core.etag(current))) {
      throw exists(current.key(), current);
    }
  }

  private PreconditionFailedException exists(RecordKey key, StoredRecord current) {
    return new PreconditionFailedException(key.collection(), key.id(), "task ETag " + Core.etag(current),
        new Document(key.collection(), key.id(), core.parse(current), Core.etag(current), current.revision()));
  }

  static RecordKey key(String id) {
    return new RecordKey(Core.TASKS, id);
  }

  static String target(String id) {
    return LEASE_PREFIX + id;
  }

  private Task toTask(StoredRecord r) {
    return toTask(core.parse(r), r.revision(), r.hash());
  }

  private Task toTask(ObjectNode o, long revision, String hash) {
    try {
      List<ChecklistItem> items = new ArrayList<>();
      for (JsonNode i : o.path("checklist")) {
        items.add(new ChecklistItem(i.path("text").asText(), i.path("done").asBoolean()));
      }
      return new Task(o.path("id").asText(), o.path("title").asText(), o.path("description").asText(),
          o.path("status").asText(), o.path("priority").asInt(), strings(o.path("dependsOn")), items,
          Set.copyOf(strings(o.path("labels"))), textOrNull(o, "assignee"), o.path("attempts").asInt(),
          o.path("maxAttempts").asInt(), Instant.parse(o.path("createdAt").asText()),
          Instant.parse(o.path("updatedAt").asText()),
          textOrNull(o, "notBefore") == null ? null : Instant.parse(o.path("notBefore").asText()),
          textOrNull(o, "lastError"), Core.etag(revision, hash), revision);
    } catch (RuntimeException e) {
      throw new StorageException("task record " + o.path("id").asText() + " is damaged: " + e.getMessage(), e);
    }
  }

  private static String textOrNull(ObjectNode o, String field) {
    JsonNode n = o.get(field);
    return n == null || n.isNull() ? null : n.asText();
  }

  private static List<String> strings(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }

  private static void strings(ArrayNode array, List<String> values) {
    values.forEach(array::add);
  }

  private static void checklist(ArrayNode array, List<ChecklistItem> items) {
    items.forEach(i -> array.addObject().put("text", i.text()).put("done", i.done()));
  }

  private static String generateId() {
    char[] c = new char[12];
    for (int i = 0; i < c.length; i++) {
      c[i] = ID_CHARS[RANDOM.nextInt(ID_CHARS.length)];
    }
    return "t-" + new String(c);
  }
}
