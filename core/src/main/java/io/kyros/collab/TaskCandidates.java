package io.kyros.collab;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.benmanes.caffeine.cache.Cache;
import io.kyros.collab.spi.IndexHit;
import io.kyros.collab.spi.IndexQuery;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredRecord;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Candidate selection for {@link Tasks#claimUpTo} (and {@code claimNext}, which is {@code claimUpTo(1)}): finds the
 * best claimable tasks (initial status, dependencies done, backoff passed, labels; priority, then age, then id) and
 * claims up to the number asked for in one commit, spreading concurrent callers of one instance over the best
 * candidates (each skips what another is trying), and, while claimers elsewhere take its candidates, this instance's
 * claims over those of the best priority ({@link #spread}).
 * <ul>
 *   <li>On a storage that keeps indexes: stale claims are found through the claim leases' {@code expires} index and
 *       reclaimed, due backoffs promoted ({@link TaskReadiness#promoteDue}), then the best candidates read from
 *       {@code ready:<workflow>} (or, for labels, the best of each {@code ready:<workflow>:<label>}), a page a little
 *       larger than asked: no task that cannot be claimed is read.</li>
 *   <li>Otherwise (the generic path): every task is read, the board computed in memory (parsed views cached by
 *       revision), and the stale claims found on it reclaimed first.</li>
 * </ul>
 * Thread-safe.
 */
final class TaskCandidates {
  private static final Logger LOG = LoggerFactory.getLogger(Tasks.class);
  /** How many candidates beyond those asked for a round reads (their lease records too, on the generic path). */
  private static final int LEASE_READ_AHEAD = 4;
  /**
   * Claim order: the highest priority first (compared descending: negating it would put Integer.MIN_VALUE first),
   * then the oldest, then the smallest id.
   */
  private static final Comparator<Candidate> CLAIM_ORDER = Comparator
      .comparing((Candidate c) -> c.view().priority(), Comparator.reverseOrder())
      .thenComparing(c -> c.view().createdAt())
      .thenComparing(c -> c.record().key().id());
  /** How many times one call looks for candidates again after losing all it had to concurrent claimers. */
  private static final int MAX_ROUNDS = 4;
  /**
   * How many claim commits without a lost candidate end the spreading that a lost one starts (see {@link #spread}).
   */
  private static final int CONTENDED_COMMITS = 16;
  /** How long, by the storage's clock, the spreading a lost candidate starts lasts at most. */
  private static final Duration CONTENDED_FOR = Duration.ofSeconds(5);
  /** Under contention a round reads this many times the candidates it otherwise reads, to spread over them. */
  private static final int CONTENDED_PAGE = 3;

  private final Core core;
  private final LeaseCommits leases;
  private final TaskCommits commits;
  private final TaskClaims claims;
  private final Workflow workflow;
  /** Ids of the tasks a claim of this instance is trying right now; the others skip them. */
  private final Set<String> trying = ConcurrentHashMap.newKeySet();
  /**
   * Claim commits left to spread over the best candidates: set to {@link #CONTENDED_COMMITS} when a claim commit loses
   * a candidate's task record to another writer (usually another process's claimer: this instance's own claim calls
   * skip what the others try), less one per claim commit that loses none.
   */
  private final AtomicInteger contended = new AtomicInteger();
  /** Until when, by the storage's clock, spreading may last (epoch milliseconds); see {@link #CONTENDED_FOR}. */
  private final AtomicLong contendedUntil = new AtomicLong();
  /** What claimNext needs of each task, by revision and hash (which identify a value, so entries never go stale). */
  private final Cache<Core.Version, TaskRecord.View> views = Core.cache(50_000);
  /** Combines the concurrent calls of one kind into one search and one commit. */
  private final ClaimGroups groups = new ClaimGroups();

  TaskCandidates(Core core, LeaseCommits leases, TaskCommits commits, TaskClaims claims) {
    this.core = core;
    this.leases = leases;
    this.commits = commits;
    this.claims = claims;
    this.workflow = core.workflow();
  }

  private record Candidate(StoredRecord record, TaskRecord.View view) {}

  /**
   * What the generic path decides on.
   *
   * @param candidates the ready claimable tasks, best first
   * @param working ids of this workflow's tasks whose status holds a claim
   */
  private record Board(List<Candidate> candidates, List<String> working) {}

  /**
   * The candidates of one round: the claimable tasks best first, the lease records already read for some of them
   * (absent from {@code leaseRecords} if the record does not exist), and whether more candidates may exist beyond
   * these.
   */
  private record Round(List<StoredRecord> candidates, Set<String> leaseIds, Map<String, StoredRecord> leaseRecords,
      boolean more) {}

  /**
   * See {@link Tasks#claimUpTo}; the arguments are checked. {@code claimNext} is {@code claimUpTo(1)}. Concurrent
   * calls of this instance for the same worker, ttl, labels and trailing events are combined ({@link ClaimGroups}).
   */
  List<TaskClaim> claimUpTo(int max, String worker, Duration ttl, Set<String> labels, TrailingEvents trailing) {
    ClaimGroups.Kind kind = new ClaimGroups.Kind(worker, ttl, labels, trailing);
    return groups.claim(kind, max, n -> claimNow(n, kind.worker(), kind.ttl(), kind.labels(), kind.trailing()));
  }

  /** @return the combined claims (for tests) */
  ClaimGroups groups() {
    return groups;
  }

  /**
   * One call of {@link #claimUpTo}, run by the thread that leads its group: the claims, and the storage failure that
   * stopped it after some had committed, if one did (logged here).
   */
  private ClaimGroups.Claimed claimNow(int max, String worker, Duration ttl, Set<String> labels,
      TrailingEvents trailing) {
    List<TaskClaim> out = new ArrayList<>(Math.min(max, 64));
    // candidates passed over as too large once claimed by this worker: not tried again in this call, and each round
    // reads that many more, so that however many lead the queue the call reaches the tasks behind them
    Set<String> passedOver = new HashSet<>();
    try {
      for (int round = 0; round < MAX_ROUNDS && out.size() < max; round++) {
        Instant now = core.storage().now();
        Round r;
        if (core.indexed()) {
          r = round == 0 ? firstIndexedRound(labels, max - out.size(), worker, now) : null;
          if (r == null) {
            if (round == 0) {
              // the first round reclaimed, promoted or swept, a commit each, which takes time: claims taken at the
              // time read before them could expire before they are handed back (the scanned path reads it again too)
              now = core.storage().now();
            }
            commits.readiness().promoteDue(now);
            r = indexedRound(labels, saturated((long) max - out.size() + passedOver.size()), now);
          }
        } else {
          r = scannedRound(labels, worker, now, round);
          if (r == null) {
            continue; // stale claims were reclaimed: decide again
          }
        }
        boolean dropped = claimBest(r, out, max, worker, ttl, labels, now, trailing, passedOver);
        if (!r.more() && !dropped) {
          break; // every candidate there is was tried
        }
      }
    } catch (StorageException e) {
      if (out.isEmpty()) {
        throw e;
      }
      // the claims committed before the storage failed are the caller's: returned, rather than held by nobody until
      // their ttl runs out
      keepInterrupt(e);
      LOG.warn("{} claimed {} of up to {} tasks, then the storage failed while it looked for more; returning those",
          worker, out.size(), max, e);
      return new ClaimGroups.Claimed(out, Optional.of(e)); // the record copies the list
    } catch (RuntimeException e) {
      // not the storage's failure (a bug, a value that cannot be stored): the caller sees it, the claims go back
      for (TaskClaim c : out) {
        try {
          claims.release(c, TrailingEvents.NONE);
        } catch (RuntimeException r) {
          e.addSuppressed(r);
        }
      }
      throw e;
    }
    return new ClaimGroups.Claimed(out, Optional.empty());
  }

  /** Sets the thread's interrupt status again if {@code e} was caused by an interrupt a storage did not keep. */
  private static void keepInterrupt(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof InterruptedException) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /**
   * {@link TaskClaims#prepare}, or null (the candidate is passed over, as one whose lease is held) when its claimed copy
   * cannot be stored: a task near the size limit that this worker's name, added as its assignee, takes over it. One
   * such task must not stop the claims of every task behind it; claiming it by id reports the size.
   */
  private TaskClaims.Prepared prepareOrSkip(StoredRecord task, String worker, Duration ttl,
      Optional<StoredRecord> leaseRecord, Instant now, Set<String> passedOver) {
    try {
      return claims.prepare(task, worker, ttl, leaseRecord, now);
    } catch (ValueTooLargeException e) {
      passedOver.add(task.key().id());
      LOG.warn("passing over task {} for {}: claimed, it would not fit the size limit ({})", task.key().id(), worker,
          e.getMessage());
      return null;
    }
  }

  /**
   * The first round through the indexes: the claims expiring by {@code now}, the backoffs due by then, the
   * unfinished sweeps of completed dependencies ({@link TaskReadiness#sweep}), this workflow's stale claims that a
   * Collab of another workflow parked ({@link LeaseCommits#park}) and the best ready tasks, read together
   * ({@link io.kyros.collab.spi.Storage#scanIndexes}: one round trip on a database). Usually none of the first four
   * has anything, and the ready tasks are the round's candidates; otherwise the stale claims are reclaimed, the due
   * backoffs promoted and the sweeps finished, and the result is null: the caller reads the ready tasks again.
   */
  private Round firstIndexedRound(Set<String> labels, int want, String worker, Instant now) {
    int n = pageFor(want, now);
    List<IndexQuery> queries = new ArrayList<>();
    queries.add(leases.expiringBy(RecordKeys.TASK_LEASES, now));
    queries.add(commits.readiness().dueBy(now));
    queries.add(TaskReadiness.pendingSweepsQuery());
    queries.add(leases.parkedClaims());
    queries.addAll(readyQueries(labels, n));
    List<List<IndexHit>> results = core.storage().scanIndexes(queries);
    boolean changed = false;
    if (!results.get(2).isEmpty()) {
      commits.readiness().pendingSweeps(results.get(2)); // a completion's sweep that did not finish
      changed = true;
    }
    if (!results.get(0).isEmpty() || !results.get(3).isEmpty()) {
      // reads every stale claim, not only the first page; another workflow's it finds are parked, not read again
      claims.reclaimStale(worker, now);
      changed = true;
    }
    if (!results.get(1).isEmpty()) {
      commits.readiness().promote(results.get(1));
      changed = true;
    }
    return changed ? null : roundOf(results.subList(4, results.size()), n);
  }

  /** The queries for the best {@code n} ready tasks: of the workflow, or of each label's index. */
  private List<IndexQuery> readyQueries(Set<String> labels, int n) {
    if (labels.isEmpty()) {
      return List.of(IndexQuery.first(RecordKeys.TASKS, TaskIndexes.ready(workflow.name()), n));
    }
    List<IndexQuery> out = new ArrayList<>(labels.size());
    for (String label : labels) {
      out.add(IndexQuery.first(RecordKeys.TASKS, TaskIndexes.readyWithLabel(workflow.name(), label), n));
    }
    return out;
  }

  /** The best ready tasks through the indexes: enough for {@code want} claims, skipping what this instance tries. */
  private Round indexedRound(Set<String> labels, int want, Instant now) {
    int n = pageFor(want, now);
    return roundOf(core.storage().scanIndexes(readyQueries(labels, n)), n);
  }

  /** The round of the results of {@link #readyQueries}: the best {@code n} of their union. */
  private Round roundOf(List<List<IndexHit>> results, int n) {
    List<IndexHit> hits;
    if (results.size() == 1) {
      hits = results.get(0);
    } else {
      // the best n of the union are among the best n of each label's index
      Map<String, IndexHit> byId = new HashMap<>();
      for (List<IndexHit> result : results) {
        for (IndexHit h : result) {
          byId.putIfAbsent(h.record().key().id(), h);
        }
      }
      hits = new ArrayList<>(byId.values());
      hits.sort(Comparator.comparing(IndexHit::key).thenComparing(h -> h.record().key().id()));
    }
    List<StoredRecord> candidates = new ArrayList<>(Math.min(n, hits.size()));
    for (int i = 0; i < hits.size() && i < n; i++) {
      StoredRecord r = hits.get(i).record();
      ObjectNode json = core.parse(r);
      if (workflow.initial().equals(TaskRecord.status(json)) && commits.ownWorkflow(json)) {
        candidates.add(r);
      }
    }
    return new Round(candidates, Set.of(), Map.of(), hits.size() >= n);
  }

  /**
   * The generic path, for a storage without indexes: the board of every task; on the first round, the stale claims
   * found on it are reclaimed first and the result is null (decide again).
   */
  private Round scannedRound(Set<String> labels, String worker, Instant now, int round) {
    Board board = board(core.scan(RecordKeys.TASKS), labels, now);
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
      leaseIds.forEach(id -> keys.add(RecordKeys.claimLease(id)));
      core.storage().readAll(keys).forEach(r -> leaseRecords.put(r.key().id(), r));
    }
    if (round == 0 && reclaimStale(board.working(), leaseRecords, worker, now)) {
      return null;
    }
    List<StoredRecord> candidates = new ArrayList<>(board.candidates().size());
    board.candidates().forEach(c -> candidates.add(c.record()));
    return new Round(candidates, leaseIds, leaseRecords, false);
  }

  private Board board(List<StoredRecord> all, Set<String> labels, Instant now) {
    Map<String, String> status = new HashMap<>();
    List<Candidate> candidates = new ArrayList<>();
    List<String> working = new ArrayList<>();
    for (StoredRecord r : all) {
      TaskRecord.View v = view(r);
      status.put(r.key().id(), v.status());
      if (!workflow.name().equals(v.workflow())) {
        continue;
      }
      if (workflow.initial().equals(v.status())) {
        candidate(r, v, labels, now).ifPresent(candidates::add);
      } else if (workflow.holdsClaim(v.status())) {
        working.add(r.key().id());
      }
    }
    candidates.removeIf(c -> !c.view().dependsOn().stream().allMatch(d -> workflow.done().equals(status.get(d))));
    candidates.sort(CLAIM_ORDER);
    return new Board(candidates, working);
  }

  /**
   * A task of this workflow in its initial status as a candidate, if its backoff has passed by {@code now} and it
   * carries one of {@code labels} (any if none); its dependencies are the caller's to check.
   *
   * @throws StorageException if its record is damaged
   */
  private static Optional<Candidate> candidate(StoredRecord r, TaskRecord.View v, Set<String> labels, Instant now) {
    if (v.damage() != null) {
      throw new StorageException("task record " + r.key().id() + " is damaged: " + v.damage());
    }
    if ((v.notBefore() == null || !v.notBefore().isAfter(now))
        && (labels.isEmpty() || v.labels().stream().anyMatch(labels::contains))) {
      return Optional.of(new Candidate(r, v));
    }
    return Optional.empty();
  }

  /**
   * See {@link Tasks#ready}; the arguments are checked. Through the indexes: the first {@code limit} entries of the
   * ready index (of each label's: {@link #readyQueries}) and the backoffs due by now, which a claim promotes first (a
   * ready or delayed entry means every dependency is done); otherwise the generic path's {@link #board}.
   */
  List<Task> ready(Set<String> labels, int limit) {
    Instant now = core.storage().now();
    List<Candidate> candidates;
    if (core.indexed()) {
      IndexQuery due = commits.readiness().dueBy(now);
      List<IndexQuery> queries = new ArrayList<>();
      queries.add(due);
      queries.addAll(readyQueries(labels, limit));
      List<List<IndexHit>> results = core.storage().scanIndexes(queries);
      Map<String, StoredRecord> found = new HashMap<>();
      // the due backoffs: usually none; all of them if there are more than a page
      (results.get(0).size() < due.limit() ? results.get(0) : core.scanAll(due))
          .forEach(h -> found.put(h.record().key().id(), h.record()));
      results.subList(1, results.size()).forEach(page -> page.forEach(h -> found.put(h.record().key().id(),
          h.record())));
      candidates = new ArrayList<>();
      for (StoredRecord r : found.values()) {
        TaskRecord.View v = view(r);
        if (workflow.name().equals(v.workflow()) && workflow.initial().equals(v.status())) {
          candidate(r, v, labels, now).ifPresent(candidates::add);
        }
      }
      candidates.sort(CLAIM_ORDER);
    } else {
      candidates = board(core.scan(RecordKeys.TASKS), labels, now).candidates();
    }
    List<Task> out = new ArrayList<>(Math.min(limit, candidates.size()));
    for (int i = 0; i < candidates.size() && i < limit; i++) {
      out.add(commits.toTask(candidates.get(i).record()));
    }
    return out;
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
          claims.reclaim(leaseRecord, actor, now);
        }
      } catch (StorageException | InvalidValueException e) { // one claim that cannot be reclaimed stops no other
        LOG.warn("cannot reclaim the claim in {}: {}", leaseRecord.key(), e.getMessage());
      }
    }
    return found;
  }

  /**
   * Claims candidates, best first, in one commit until {@code out} holds {@code max}; on losing one (a conflict on
   * its task or lease), drops it and commits the others with the next candidate in its place, without reading the
   * tasks again.
   * Candidates another thread of this instance is trying right now are skipped, so the threads of one process
   * spread over the best candidates instead of all committing for the same one; a candidate this instance changed
   * after the scan read it is judged by what it committed ({@link #pick}). Each commit's claims are added to
   * {@code out} as soon as it has committed, so a failure after it leaves them there.
   *
   * @param out the claims of the call so far; receives those committed here
   * @param max how many the call claims at most (with those in {@code out})
   * @param labels the call's labels (none: any task)
   * @return whether a candidate was dropped (skipped, changed since the round read it, or lost on a conflict): a
   *     conflict need not be a claim (a title changed by another instance is one too), so the task may still be
   *     claimable, and a round that read every candidate there was is not the last word
   */
  private boolean claimBest(Round round, List<TaskClaim> out, int max, String worker, Duration ttl,
      Set<String> labels, Instant now, TrailingEvents trailing, Set<String> passedOver) {
    boolean dropped = false;
    List<String> mine = new ArrayList<>();
    Iterator<StoredRecord> next = spread(round.candidates(), now).iterator();
    List<TaskClaims.Prepared> batch = new ArrayList<>();
    // the candidates whose lease record was not read but guessed: the one this instance last committed, else absent
    // for a task that never moved (TaskRecord.neverMoved); a conflict on one reads them
    Set<String> guessed = new HashSet<>();
    try {
      while (out.size() < max) {
        // fill the batch; lease records not read yet are read together
        List<StoredRecord> picked = new ArrayList<>();
        while (batch.size() + picked.size() < max - out.size() && next.hasNext()) {
          StoredRecord candidate = next.next();
          if (passedOver.contains(candidate.key().id())) {
            continue; // tried in an earlier round of this call: too large once claimed
          }
          StoredRecord task = pick(candidate, mine, labels, now);
          if (task != null) {
            picked.add(task);
          } else {
            dropped = true;
          }
        }
        Map<String, StoredRecord> leaseRecords = new HashMap<>(round.leaseRecords());
        List<RecordKey> unread = new ArrayList<>();
        for (StoredRecord t : picked) {
          String id = t.key().id();
          if (round.leaseIds().contains(id)) {
            continue;
          }
          // a remembered record only stands in when it lets the claim commit (free, or its lease stale), which
          // checks it: one that shows a live lease may be out of date (a release whose answer was lost), so it is read
          Optional<StoredRecord> known = leases.remembered(RecordKeys.claimLease(id)).filter(r -> {
            Lease l = leases.held(r);
            return l == null || l.isStaleAt(now);
          });
          if (known.isPresent()) {
            leaseRecords.put(id, known.get()); // what this instance committed last: pinned by its revision
            guessed.add(id);
          } else if (TaskRecord.neverMoved(core.parse(t))) {
            guessed.add(id); // no claim since its creation's clock tick: the commit expects no lease record, checking it
          } else {
            unread.add(RecordKeys.claimLease(id));
          }
        }
        if (!unread.isEmpty()) {
          core.storage().readAll(unread).forEach(r -> leaseRecords.put(r.key().id(), r));
        }
        for (StoredRecord t : picked) {
          TaskClaims.Prepared p = prepareOrSkip(t, worker, ttl, Optional.ofNullable(leaseRecords.get(t.key().id())),
              now, passedOver);
          if (p != null) {
            batch.add(p);
          } else {
            dropped = true;
          }
        }
        if (batch.isEmpty()) {
          if (!next.hasNext()) {
            break;
          }
          continue;
        }
        TaskClaims.Outcome outcome;
        try {
          outcome = claims.commitClaims(batch, worker, trailing);
        } catch (RuntimeException e) {
          if (!out.isEmpty()) { // the caller gets the claims in out, not this failure: say what may be left behind
            List<String> ids = batch.stream().map(TaskClaims.Prepared::id).toList();
            LOG.warn("the claim commit of {} for {} failed; any of them it applied stays claimed until its ttl: {}",
                ids, worker, e.toString());
          }
          throw e;
        }
        if (!outcome.claims().isEmpty()) {
          out.addAll(outcome.claims());
          batch.clear();
          contended.updateAndGet(c -> Math.max(0, c - 1));
        } else if (outcome.conflicting() >= 0 && outcome.failed() == TaskClaims.Outcome.Failed.LEASE
            && guessed.remove(batch.get(outcome.conflicting()).id())) {
          // a lease record not read was guessed wrong: read every guessed one of the batch at once and prepare again
          List<RecordKey> keys = new ArrayList<>();
          List<Integer> positions = new ArrayList<>();
          for (int i = 0; i < batch.size(); i++) {
            String id = batch.get(i).id();
            if (i == outcome.conflicting() || guessed.remove(id)) {
              keys.add(RecordKeys.claimLease(id));
              positions.add(i);
            }
          }
          Map<String, StoredRecord> read = new HashMap<>();
          core.storage().readAll(keys).forEach(r -> read.put(r.key().id(), r));
          List<TaskClaims.Prepared> rebuilt = new ArrayList<>(batch.size());
          for (int i = 0; i < batch.size(); i++) {
            TaskClaims.Prepared p = batch.get(i);
            if (positions.contains(i)) {
              leases.forget(RecordKeys.claimLease(p.id()));
              p = prepareOrSkip(p.task(), worker, ttl, Optional.ofNullable(read.get(p.id())), now, passedOver);
            }
            if (p != null) {
              rebuilt.add(p);
            } else {
              dropped = true;
            }
          }
          batch.clear();
          batch.addAll(rebuilt);
        } else if (outcome.conflicting() >= 0) {
          batch.remove(outcome.conflicting()); // lost to someone else: the others go on, with a replacement
          dropped = true;
          if (outcome.failed() == TaskClaims.Outcome.Failed.TASK) {
            contendedUntil.set(now.plus(CONTENDED_FOR).toEpochMilli());
            contended.set(CONTENDED_COMMITS);
          }
        } else {
          batch.clear();
        }
        if (batch.isEmpty() && !next.hasNext()) {
          break;
        }
      }
    } finally {
      mine.forEach(trying::remove);
    }
    return dropped;
  }

  /**
   * The candidates in the order a call tries them: best first; but while another writer recently took this
   * instance's candidates ({@link #contending}: usually claimers in other processes), those of the best candidate's
   * priority in the page in random order, so that processes polling at once spread over them instead of all
   * committing for the same task and losing all commits but one. Priority order holds either way (a task is never
   * taken while one of higher priority in the page is left untried); under contention age order does not, within
   * the page (read {@link #CONTENDED_PAGE} times larger then). A claimer no other writer races never loses a
   * candidate, so it always takes the best. Only on a storage that keeps indexes (the generic path decides on every
   * task, and reads ahead the lease records of the best ones).
   */
  private List<StoredRecord> spread(List<StoredRecord> candidates, Instant now) {
    if (!core.indexed() || candidates.size() < 2 || !contending(now)) {
      return candidates;
    }
    int top = view(candidates.get(0)).priority();
    int same = 1;
    while (same < candidates.size() && view(candidates.get(same)).priority() == top) {
      same++;
    }
    if (same < 2) {
      return candidates;
    }
    List<StoredRecord> out = new ArrayList<>(candidates);
    Collections.shuffle(out.subList(0, same), ThreadLocalRandom.current());
    return out;
  }

  /**
   * @return whether this instance's claims spread: a claim commit lost a task to another writer less than
   *     {@link #CONTENDED_FOR} ago by the storage's clock, and {@link #CONTENDED_COMMITS} claim commits have not lost
   *     one since
   */
  private boolean contending(Instant now) {
    return contended.get() > 0 && now.toEpochMilli() < contendedUntil.get();
  }

  /** @return how many candidates a round reads for {@code want} claims: a page a bit larger, wider under contention */
  private int pageFor(int want, Instant now) {
    long n = (long) want + trying.size() + LEASE_READ_AHEAD;
    return saturated(core.indexed() && contending(now) ? n * CONTENDED_PAGE : n);
  }

  /** @return {@code n}, or {@link Integer#MAX_VALUE} if it is larger (a claim of up to {@code Integer.MAX_VALUE}) */
  private static int saturated(long n) {
    return (int) Math.min(n, Integer.MAX_VALUE);
  }

  /**
   * Takes a candidate for this call if no other thread of this instance is trying it; returns the record to decide
   * on, or null to skip it. If this instance committed a newer record of the task than the round read, that record
   * is decided on, and only if it is still claimable by this call: in the initial status, of this workflow, its
   * backoff passed, carrying one of the call's labels (if any), and every dependency done (those of the record the
   * round read were, and done is terminal; one it did not name is read).
   */
  private StoredRecord pick(StoredRecord task, List<String> mine, Set<String> labels, Instant now) {
    String id = task.key().id();
    if (!trying.add(id)) {
      return null;
    }
    mine.add(id);
    // checked once this thread is the only one of the instance on the task, so no claim of ours can slip by
    StoredRecord remembered = commits.remembered(id).orElse(null);
    if (remembered != null && remembered.revision() > task.revision()) {
      ObjectNode json = commits.value(remembered);
      TaskRecord.View was = view(task);
      TaskRecord.View is = view(remembered);
      if (!workflow.initial().equals(is.status()) || !commits.ownWorkflow(json) || !TaskRecord.claimableAt(json, now)
          || is.damage() != null || !labels.isEmpty() && is.labels().stream().noneMatch(labels::contains)
          || !allDone(is.dependsOn().stream().filter(d -> !was.dependsOn().contains(d)).toList())) {
        return null;
      }
      return remembered;
    }
    return task;
  }

  /** @return whether every one of these tasks is done (read now; done is terminal, so it stays so) */
  private boolean allDone(List<String> ids) {
    if (ids.isEmpty()) {
      return true;
    }
    List<RecordKey> keys = new ArrayList<>(ids.size());
    ids.forEach(id -> keys.add(RecordKeys.task(id)));
    int done = 0;
    for (StoredRecord r : core.storage().readAll(keys)) {
      if (workflow.done().equals(view(r).status())) {
        done++;
      }
    }
    return done == new HashSet<>(ids).size();
  }

  /** @return what candidate selection needs of a task record, parsed once per revision */
  private TaskRecord.View view(StoredRecord r) {
    return views.get(Core.Version.of(r), version -> TaskRecord.View.of(commits.value(r)));
  }
}
