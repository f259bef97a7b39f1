package io.kyros.collab;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredRecord;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Candidate selection for {@link Tasks#claimNext}: the board of claimable tasks (initial status, dependencies
 * done, backoff passed, labels), best first; the stale claims found on the way; and the claim of the first
 * candidate this instance can take, spreading concurrent callers of one instance over the best candidates.
 * Thread-safe.
 */
final class TaskCandidates {
  private static final Logger LOG = LoggerFactory.getLogger(Tasks.class);
  /** How many of the best candidates' lease records {@link #claimNext} reads along with the claims it checks. */
  private static final int LEASE_READ_AHEAD = 4;

  private final Core core;
  private final LeaseCommits leases;
  private final TaskCommits commits;
  private final TaskClaims claims;
  private final Workflow workflow;
  /** Ids of the tasks a {@link #claimNext} of this instance is trying right now; the others skip them. */
  private final Set<String> trying = ConcurrentHashMap.newKeySet();
  /** What claimNext needs of each task, by revision and hash (which identify a value, so entries never go stale). */
  private final Cache<Core.Version, TaskRecord.View> views = Caffeine.newBuilder().maximumSize(50_000).build();

  TaskCandidates(Core core, LeaseCommits leases, TaskCommits commits, TaskClaims claims) {
    this.core = core;
    this.leases = leases;
    this.commits = commits;
    this.claims = claims;
    this.workflow = core.workflow();
  }

  private record Candidate(StoredRecord record, TaskRecord.View view) {}

  /**
   * What {@link #claimNext} decides on.
   *
   * @param candidates the ready claimable tasks, best first
   * @param working ids of this workflow's tasks whose status holds a claim
   */
  private record Board(List<Candidate> candidates, List<String> working) {}

  /** See {@link Tasks#claimNext(String, Duration, Set)}; the arguments are checked. */
  Optional<TaskClaim> claimNext(String worker, Duration ttl, Set<String> labels) {
    for (int round = 0;; round++) {
      Instant now = core.storage().now();
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
      // Stale claims first: if any was found, decide again on what the reclaims left.
      if (round == 0 && reclaimStale(board.working(), leaseRecords, worker, now)) {
        continue;
      }
      return claimBest(board.candidates(), leaseIds, leaseRecords, worker, ttl, now);
    }
  }

  private Board board(List<StoredRecord> all, Set<String> labels, Instant now) {
    Map<String, String> status = new HashMap<>();
    List<Candidate> candidates = new ArrayList<>();
    List<String> working = new ArrayList<>();
    for (StoredRecord r : all) {
      TaskRecord.View v = views.get(Core.Version.of(r), version -> TaskRecord.View.of(core.parse(r)));
      status.put(r.key().id(), v.status());
      if (!workflow.name().equals(v.workflow())) {
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
      } else if (workflow.holdsClaim(v.status())) {
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
        StoredRecord mine = commits.remembered(id).orElse(null);
        if (mine != null && mine.revision() > task.revision()) {
          ObjectNode json = core.parse(mine);
          if (!workflow.initial().equals(TaskRecord.status(json)) || !TaskRecord.claimableAt(json, now)) {
            continue;
          }
          task = mine;
        }
        Optional<StoredRecord> leaseRecord = leaseIds.contains(id) ? Optional.ofNullable(leaseRecords.get(id))
            : core.storage().read(RecordKeys.claimLease(id));
        Optional<TaskClaim> claim = claims.tryClaim(task, worker, ttl, leaseRecord, now);
        if (claim.isPresent()) {
          return claim;
        }
      } finally {
        trying.remove(id);
      }
    }
    return Optional.empty();
  }
}
