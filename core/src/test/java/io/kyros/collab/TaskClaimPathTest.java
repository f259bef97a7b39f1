package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.IndexHit;
import io.kyros.collab.spi.IndexQuery;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredRecord;
import io.kyros.collab.spi.Write;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.conformance.TaskConformance;
import io.kyros.collab.memory.MemoryStorage;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The storage calls claimNext and the claim operations make: what they read, and what they skip. */
@Timeout(60)
class TaskClaimPathTest {
  private static final Duration TTL = Duration.ofMinutes(5);

  /** Counts calls per kind, and runs a hook before a commit that writes a given task. */
  static final class CountingStorage extends ForwardingStorage {
    final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
    /** What {@link #indexes()} answers: false makes core take its generic path. */
    final boolean indexes;
    volatile String hookTask;

    CountingStorage(boolean indexes) {
      this.indexes = indexes;
    }

    CountingStorage(MemoryStorage delegate, boolean indexes) {
      super(delegate);
      this.indexes = indexes;
    }
    volatile Consumer<Commit> hook;
    /** Makes the next commit apply and then fail, as a commit whose answer is lost. */
    volatile boolean failAfterCommit;
    /** Once a commit writing this task has committed, every later call fails, as on a dropped connection. */
    volatile String dropAfterCommitOf;
    volatile boolean dropped;

    private void failIfDropped() {
      if (dropped) {
        throw new StorageException("connection dropped (simulated)");
      }
    }

    /**
     * Holds the next commit writing {@code task} in the storage: counts {@code committing} down, then waits for
     * {@code proceed} (at most 30 s) before it applies.
     */
    void holdNextCommitOf(String task, CountDownLatch committing, CountDownLatch proceed) {
      hookTask = task;
      hook = commit -> {
        hook = null;
        committing.countDown();
        try {
          assertThat(proceed.await(30, TimeUnit.SECONDS)).isTrue();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new StorageException("interrupted", e);
        }
      };
    }

    int count(String what) {
      return calls.getOrDefault(what, new AtomicInteger()).get();
    }

    void reset() {
      calls.clear();
    }

    private void count(String what, Object ignored) {
      calls.computeIfAbsent(what, k -> new AtomicInteger()).incrementAndGet();
    }

    @Override
    public java.time.Instant now() {
      failIfDropped();
      count("now", null);
      return delegate.now();
    }

    @Override
    public Optional<StoredRecord> read(RecordKey key) {
      failIfDropped();
      count("read " + key.collection(), null);
      return delegate.read(key);
    }

    @Override
    public List<StoredRecord> readAll(Collection<RecordKey> keys) {
      failIfDropped();
      count("readAll", null);
      return delegate.readAll(keys);
    }

    @Override
    public List<StoredRecord> list(String collection, String afterId, int limit) {
      failIfDropped();
      count("list " + collection, null);
      return delegate.list(collection, afterId, limit);
    }

    @Override
    public boolean indexes() {
      return indexes;
    }

    @Override
    public List<IndexHit> scanIndex(IndexQuery query) {
      failIfDropped();
      count("scan " + query.collection() + " " + query.index(), null);
      return delegate.scanIndex(query);
    }

    /** Counted as its queries one by one, as {@link io.kyros.collab.spi.Storage}'s default runs them. */
    @Override
    public List<List<IndexHit>> scanIndexes(List<IndexQuery> queries) {
      List<List<IndexHit>> out = new java.util.ArrayList<>(queries.size());
      for (IndexQuery q : queries) {
        out.add(scanIndex(q));
      }
      return out;
    }

    @Override
    public CommitResult commit(Commit commit) {
      failIfDropped();
      for (Write w : commit.writes()) {
        if (w.key().equals(RecordKeys.task(String.valueOf(hookTask)))) {
          count("commit for " + hookTask, null);
          Consumer<Commit> h = hook;
          if (h != null) {
            h.accept(commit);
          }
        }
      }
      count("commit", null);
      CommitResult result = delegate.commit(commit);
      if (result instanceof CommitResult.Committed && commit.writes().stream()
          .anyMatch(w -> w.key().equals(RecordKeys.task(String.valueOf(dropAfterCommitOf))))) {
        dropped = true;
      }
      if (failAfterCommit) {
        failAfterCommit = false;
        throw new StorageException("the answer was lost (the commit was applied)");
      }
      return result;
    }
  }

  private final CountingStorage storage = new CountingStorage(true);
  private final Collab collab = Collab.builder().storage(storage).holder("alice").build();
  /** A second process on the same store, which the counting storage does not see. */
  private final Collab rival = Collab.builder().storage(storage.delegate).holder("bob").build();

  @AfterEach
  void close() {
    collab.close();
    rival.close();
  }

  @Test
  void aWorkerThatLosesItsCandidateClaimsTheNextWithoutReadingTheTasksAgain() {
    collab.tasks().create(NewTask.of("a").withId("a").withPriority(2));
    collab.tasks().create(NewTask.of("b").withId("b").withPriority(1));
    storage.hookTask = "a";
    storage.hook = commit -> {
      storage.hook = null;
      assertThat(rival.tasks().claim("a", "bob", TTL)).isPresent(); // bob wins the race for a
    };
    storage.reset();
    TaskClaim claim = collab.tasks().claimNext(TTL).orElseThrow();
    assertThat(claim.task().id()).isEqualTo("b");
    assertThat(storage.count("commit for a")).isEqualTo(1);
    assertThat(storage.count("list " + RecordKeys.TASKS)).as("tasks are found through the ready index").isZero();
    assertThat(storage.count("scan " + RecordKeys.TASKS + " ready:kanban")).isEqualTo(1);
    assertThat(storage.count("scan " + RecordKeys.TASKS + " delayed:kanban")).as("due backoffs").isEqualTo(1);
    assertThat(storage.count("scan " + RecordKeys.TASK_LEASES + " expires")).as("stale claims").isEqualTo(1);
    assertThat(storage.count("list " + RecordKeys.TASK_LEASES)).isZero();
    assertThat(storage.count("read " + RecordKeys.TASKS)).isZero();
    assertThat(storage.count("now")).isEqualTo(1);
    assertThat(storage.count("commit")).isEqualTo(2);
    assertThat(rival.tasks().get("a").orElseThrow().assignee()).isEqualTo("bob");
  }

  /**
   * Two processes on a store with a test clock: alice (counted) and bob. The store holds h00..h19 of priority 5 and
   * l0..l4 of priority 1; alice has claimed h00, the best, and then lost h01 to bob while her claim committed for it
   * (and took h02, the next in that call's order): her claims are contended from then.
   */
  private record Contended(MutableClock clock, Collab alice, Collab bob) implements AutoCloseable {
    static Contended afterALostCandidate() {
      MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
      CountingStorage storage = new CountingStorage(MemoryStorage.create(clock), true);
      Contended c = new Contended(clock, Collab.builder().storage(storage).holder("alice").build(),
          Collab.builder().storage(storage.delegate).holder("bob").build());
      for (int i = 0; i < 20; i++) {
        c.alice.tasks().create(NewTask.of("h" + i).withId(String.format("h%02d", i)).withPriority(5));
      }
      for (int i = 0; i < 5; i++) {
        c.alice.tasks().create(NewTask.of("l" + i).withId("l" + i).withPriority(1));
      }
      assertThat(c.alice.tasks().claimNext(TTL)).as("alone: the best").map(t -> t.task().id()).contains("h00");
      storage.hookTask = "h01";
      storage.hook = commit -> {
        storage.hook = null;
        assertThat(c.bob.tasks().claim("h01", "bob", TTL)).isPresent(); // another process takes h01 meanwhile
      };
      assertThat(c.alice.tasks().claimNext(TTL)).as("the next in this call's order").map(t -> t.task().id())
          .contains("h02");
      return c;
    }

    List<String> claim(int n) {
      List<String> out = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        out.add(alice.tasks().claimNext(TTL).orElseThrow().task().id());
      }
      return out;
    }

    @Override
    public void close() {
      alice.close();
      bob.close();
    }
  }

  @Test
  void afterLosingACandidateToAnotherProcessClaimsSpreadOverTheBestPriorityAndNeverTakeALowerOne() {
    try (Contended c = Contended.afterALostCandidate()) {
      List<String> next = c.claim(17 + 5);
      List<String> high = next.subList(0, 17);
      assertThat(high).as("every task of priority 5 before any of priority 1").allMatch(id -> id.startsWith("h"))
          .doesNotHaveDuplicates().doesNotContain("h00", "h01", "h02");
      assertThat(next.subList(17, 22)).containsExactly("l0", "l1", "l2", "l3", "l4");
      // the claims after a lost candidate try the tasks of the best priority in random order (16 commits long): the
      // chance that 15 random picks each took the oldest is below 1e-13
      assertThat(high).as("spread, not in age order").isNotEqualTo(high.stream().sorted().toList());
      assertThat(high.subList(15, 17)).as("in order again once 16 claim commits lost nothing")
          .isEqualTo(high.subList(15, 17).stream().sorted().toList());
    }
  }

  @Test
  void theSpreadingALostCandidateStartsEndsAfterFiveSecondsOfTheStoragesTime() {
    try (Contended c = Contended.afterALostCandidate()) {
      c.clock().advance(Duration.ofSeconds(5)); // contention long past, say the other processes stopped
      assertThat(c.claim(10)).as("best first again").containsExactly("h03", "h04", "h05", "h06", "h07", "h08", "h09",
          "h10", "h11", "h12");
    }
  }

  @Test
  void withoutIndexesAWorkerThatLosesItsCandidateClaimsTheNextWithoutReadingTheTasksAgain() {
    CountingStorage storage = new CountingStorage(false);
    try (Collab collab = Collab.builder().storage(storage).holder("alice").build();
        Collab rival = Collab.builder().storage(storage.delegate).holder("bob").build()) {
      collab.tasks().create(NewTask.of("a").withId("a").withPriority(2));
      collab.tasks().create(NewTask.of("b").withId("b").withPriority(1));
      storage.hookTask = "a";
      storage.hook = commit -> {
        storage.hook = null;
        assertThat(rival.tasks().claim("a", "bob", TTL)).isPresent(); // bob wins the race for a
      };
      storage.reset();
      TaskClaim claim = collab.tasks().claimNext(TTL).orElseThrow();
      assertThat(claim.task().id()).isEqualTo("b");
      assertThat(storage.count("commit for a")).isEqualTo(1);
      assertThat(storage.count("list " + RecordKeys.TASKS)).isEqualTo(1);
      assertThat(storage.count("list " + RecordKeys.TASK_LEASES)).as("claims are checked through the tasks").isZero();
      assertThat(storage.calls.keySet()).noneMatch(k -> k.startsWith("scan "));
      assertThat(storage.count("now")).isEqualTo(1);
      assertThat(storage.count("commit")).isEqualTo(2);
      assertThat(rival.tasks().get("a").orElseThrow().assignee()).isEqualTo("bob");
    }
  }

  @Test
  void claimUpToClaimsSeveralInOneCommitAndSkipsALostCandidate() {
    for (String id : List.of("a", "b", "c", "d")) {
      collab.tasks().create(NewTask.of(id).withId(id).withPriority(id.equals("d") ? 0 : 1));
    }
    storage.hookTask = "a";
    storage.hook = commit -> {
      storage.hook = null;
      assertThat(rival.tasks().claim("a", "bob", TTL)).isPresent(); // bob wins a while alice commits a, b, c
    };
    storage.reset();
    List<TaskClaim> claims = collab.tasks().claimUpTo(3, "alice", TTL, java.util.Set.of());
    assertThat(claims).extracting(c -> c.task().id()).containsExactly("b", "c", "d");
    assertThat(storage.count("commit")).as("one lost commit, then b, c and d together").isEqualTo(2);
    assertThat(storage.count("list " + RecordKeys.TASKS)).isZero();
    List<Event> claimed = collab.events().read(0, EventFilter.all().types("task_claimed", "lease_acquired"), 100);
    assertThat(claimed).extracting(e -> e.type() + " " + e.target()).containsExactly(
        "lease_acquired tasks/a", "task_claimed tasks/a",
        "lease_acquired tasks/b", "task_claimed tasks/b", "lease_acquired tasks/c", "task_claimed tasks/c",
        "lease_acquired tasks/d", "task_claimed tasks/d");
    assertThat(claims).allSatisfy(c -> assertThat(collab.tasks().complete(c).status()).isEqualTo("done"));
  }

  @Test
  void claimsCommittedBeforeTheStorageFailsAreReturnedNotLost() {
    List<String> ids = List.of("a", "b", "c", "d", "e", "f", "g", "h", "i");
    for (int i = 0; i < ids.size(); i++) {
      collab.tasks().create(NewTask.of(ids.get(i)).withId(ids.get(i)).withPriority(ids.size() - i));
    }
    // alice's first round reads the best 7 (3 asked + 4 ahead), a to g, and may find more; bob takes a to e while
    // she commits a, b, c: she loses them one commit at a time, then commits f and g, and looks for a third in a
    // second round, when the connection drops
    storage.hookTask = "a";
    storage.hook = commit -> {
      storage.hook = null;
      for (String id : ids.subList(0, 5)) {
        assertThat(rival.tasks().claim(id, "bob", TTL)).isPresent();
      }
    };
    storage.dropAfterCommitOf = "f";
    storage.reset();
    List<TaskClaim> claims = collab.tasks().claimUpTo(3, "alice", TTL, Set.of());
    assertThat(claims).extracting(c -> c.task().id()).containsExactly("f", "g");
    assertThat(storage.dropped).as("the second round failed").isTrue();
    assertThat(storage.count("now")).as("one round, then the failed start of the second").isEqualTo(1);
    for (String id : List.of("f", "g")) {
      Task t = rival.tasks().get(id).orElseThrow();
      assertThat(t.status()).isEqualTo("claimed");
      assertThat(t.assignee()).isEqualTo("alice");
    }
    // with nothing claimed before it, a failure is thrown as before
    assertThatThrownBy(() -> collab.tasks().claimUpTo(3, "alice", TTL, Set.of()))
        .isInstanceOf(StorageException.class).hasMessageContaining("connection dropped");
    storage.dropAfterCommitOf = null;
    storage.dropped = false;
    assertThat(claims).allSatisfy(c -> assertThat(collab.tasks().complete(c).status()).isEqualTo("done"));
  }

  /**
   * Five tasks a to e, best first, on the path without indexes, with a live claim lease on b that b's record does
   * not show: claimUpTo(3) commits a and c, then commits again in the same round for d.
   */
  private CountingStorage storeWhereClaimUpToCommitsTwiceInOneRound() {
    CountingStorage s = new CountingStorage(false);
    List<String> ids = List.of("a", "b", "c", "d", "e");
    try (Collab setup = Collab.builder().storage(s.delegate).holder("setup").build()) {
      for (int i = 0; i < ids.size(); i++) {
        setup.tasks().create(NewTask.of(ids.get(i)).withId(ids.get(i)).withPriority(ids.size() - i));
      }
      RecordKey key = RecordKeys.claimLease("b");
      LeaseCommits.Acquisition held = new LeaseCommits(setup.core()).prepareAcquire(key,
          RecordKeys.claimResource("b"), "zed", TTL, Optional.empty(), s.now());
      assertThat(s.delegate.commit(Commit.of(List.of(Expectation.absent(key)), List.of(held.write()), List.of())))
          .isInstanceOf(CommitResult.Committed.class);
    }
    return s;
  }

  @Test
  void claimsOfARoundCommittedBeforeItsNextCommitFailsAreReturned() {
    CountingStorage s = storeWhereClaimUpToCommitsTwiceInOneRound();
    try (Collab alice = Collab.builder().storage(s).holder("alice").build()) {
      s.dropAfterCommitOf = "a";
      s.reset();
      assertThat(alice.tasks().claimUpTo(3, "alice", TTL, Set.of())).extracting(c -> c.task().id())
          .containsExactly("a", "c");
      assertThat(s.dropped).isTrue();
      assertThat(s.count("now")).as("one round only").isEqualTo(1);
    }
  }

  @Test
  void aFailureThatIsNotTheStoragesIsThrownAndTheClaimsHeldAreReleased() {
    CountingStorage s = storeWhereClaimUpToCommitsTwiceInOneRound();
    try (Collab alice = Collab.builder().storage(s).holder("alice").build()) {
      s.hookTask = "d";
      s.hook = c -> {
        throw new IllegalStateException("invariant broken (simulated bug)");
      };
      assertThatThrownBy(() -> alice.tasks().claimUpTo(3, "alice", TTL, Set.of()))
          .isInstanceOf(IllegalStateException.class).hasMessageContaining("simulated bug");
      s.hook = null;
      for (String id : List.of("a", "c")) {
        Task t = alice.tasks().get(id).orElseThrow();
        assertThat(t.status()).as(id).isEqualTo("queued");
        assertThat(t.assignee()).as(id).isNull();
      }
    }
  }

  @Test
  void anInterruptAStorageTurnedIntoAFailureIsKeptWhenTheClaimsAreReturned() {
    CountingStorage s = storeWhereClaimUpToCommitsTwiceInOneRound();
    try (Collab alice = Collab.builder().storage(s).holder("alice").build()) {
      s.hookTask = "d";
      s.hook = c -> {
        throw new StorageException("interrupted (simulated)", new InterruptedException());
      };
      assertThat(alice.tasks().claimUpTo(3, "alice", TTL, Set.of())).extracting(c -> c.task().id())
          .containsExactly("a", "c");
      assertThat(Thread.interrupted()).as("the interrupt is set again (and cleared here)").isTrue();
    }
  }

  /**
   * Calls for different workers are not combined ({@link ClaimGroupsTest} covers those for one worker): they run at
   * the same time, and spread over the candidates.
   */
  @Test
  void threadsOfOneInstanceSkipTheCandidateAnotherIsCommittingFor() throws Exception {
    collab.tasks().create(NewTask.of("a").withId("a").withPriority(2));
    collab.tasks().create(NewTask.of("b").withId("b").withPriority(1));
    CountDownLatch committing = new CountDownLatch(1);
    CountDownLatch proceed = new CountDownLatch(1);
    storage.holdNextCommitOf("a", committing, proceed);
    CompletableFuture<Optional<TaskClaim>> first = CompletableFuture.supplyAsync(() -> collab.tasks().claimNext(TTL));
    assertThat(committing.await(30, TimeUnit.SECONDS)).isTrue();
    // a is being committed by the first thread: this one, for another worker, goes straight to b
    TaskClaim second = collab.tasks().claimNext("alice-2", TTL, Set.of()).orElseThrow();
    assertThat(second.task().id()).isEqualTo("b");
    assertThat(second.lease().holder()).isEqualTo("alice-2");
    proceed.countDown();
    assertThat(first.get(30, TimeUnit.SECONDS).orElseThrow().task().id()).isEqualTo("a");
    assertThat(storage.count("commit for a")).isEqualTo(1);
  }

  @Test
  void aLoneWorkerTakesTasksInTheDocumentedOrder() {
    collab.tasks().create(NewTask.of("low").withId("low").withPriority(0));
    collab.tasks().create(NewTask.of("old").withId("old").withPriority(5));
    collab.tasks().create(NewTask.of("new").withId("new").withPriority(5));
    collab.tasks().create(NewTask.of("top").withId("top").withPriority(9));
    StringBuilder order = new StringBuilder();
    Optional<TaskClaim> claim;
    while ((claim = collab.tasks().claimNext(TTL)).isPresent()) {
      order.append(claim.get().task().id()).append(' ');
      collab.tasks().complete(claim.get());
    }
    assertThat(order.toString()).isEqualTo("top old new low ");
  }

  /**
   * Backlog after backlog, as a worker pool drains them: the claims' records must stay remembered until their
   * completions, however many tasks came before. With a Caffeine cache of 10,000 entries in place of
   * {@link RecentRecords}, its admission policy turned the new records away: here the completions of backlog 76
   * (counting from 0) read tasks 166 times, those of the next backlogs nearly once each; in a drain of 90 backlogs by
   * 8 threads on PostgreSQL, 5,086 of the 45,000 completions read.
   */
  @Test
  @Timeout(120)
  void completionsOfClaimsAfterManyBacklogsStillReadNothing() {
    int backlog = 500;
    for (int round = 0; round < 100; round++) {
      for (int i = 0; i < backlog; i++) {
        collab.tasks().create(NewTask.of("t").withId("r" + round + "-" + i));
      }
      storage.reset();
      int done = 0;
      List<TaskClaim> claims;
      while (!(claims = collab.tasks().claimUpTo(8, "w", TTL, Set.of())).isEmpty()) {
        for (TaskClaim claim : claims) {
          collab.tasks().complete(claim);
          done++;
        }
      }
      assertThat(done).isEqualTo(backlog);
      assertThat(storage.count("read " + RecordKeys.TASKS)).as("task reads in backlog %d", round).isZero();
      assertThat(storage.count("read " + RecordKeys.TASK_LEASES)).as("lease reads in backlog %d", round).isZero();
    }
  }

  @Test
  void completingUsesWhatTheClaimCommittedWithoutReadingIt() {
    collab.tasks().create(NewTask.of("a").withId("a"));
    TaskClaim claim = collab.tasks().claimNext(TTL).orElseThrow();
    storage.reset();
    Task done = collab.tasks().complete(claim);
    assertThat(done.status()).isEqualTo("done");
    assertThat(storage.count("read " + RecordKeys.TASKS)).isZero();
    assertThat(storage.count("read " + RecordKeys.TASK_LEASES)).isZero();
    assertThat(storage.count("now")).isEqualTo(1);
    assertThat(storage.count("commit")).isEqualTo(1);
    assertThat(storage.calls.keySet()).as("nobody waits on it: no scan of waiters").noneMatch(k -> k.startsWith("scan "));
    assertThat(collab.leases().list()).isEmpty();
  }

  @Test
  void aStoreIndexedBeforeEveryWaiterHadItsGuardIsReindexedSoACompletionFromRememberedRecordsUnblocksTheWaiter() {
    collab.tasks().create(NewTask.of("d").withId("d"));
    collab.tasks().create(NewTask.of("w").withId("w").withDependsOn("d"));
    // what an index of version 1 may hold: w in waits on d, but no guard of d, and the version-1 marker
    assertThat(storage.delegate.commit(Commit.of(List.of(), List.of(Write.delete(RecordKeys.waiters("d", "done"))),
        List.of()))).isInstanceOf(CommitResult.Committed.class);
    RecordKey marker = new RecordKey(RecordKeys.META, "indexes." + TaskIndexes.workflowPart("kanban"));
    ObjectNode v1 = new ObjectMapper().createObjectNode().put("indexVersion", 1).put("workflow", "kanban");
    assertThat(storage.delegate.commit(Commit.of(List.of(), List.of(Write.put(marker, CanonicalJson.canonicalize(v1),
        CanonicalJson.hash(v1))), List.of()))).isInstanceOf(CommitResult.Committed.class);

    try (Collab reopened = Collab.builder().storage(storage).holder("carol").build()) { // re-indexes to version 2
      assertThat(storage.delegate.read(RecordKeys.waiters("d", "done"))).as("the guard, written by the re-index")
          .isPresent();
      TaskClaim d = reopened.tasks().claimNext(TTL).orElseThrow();
      assertThat(d.task().id()).isEqualTo("d");
      reopened.tasks().complete(d); // from remembered records: assumes no waiter, conflicts on the guard, scans

      assertThat(reopened.tasks().claimNext(TTL)).as("w, whose only dependency is done").map(c -> c.task().id())
          .contains("w");
    }
  }

  @Test
  void completingATaskOthersWaitOnConflictsOnItsGuardAndScansWithoutReading() {
    collab.tasks().create(NewTask.of("a").withId("a"));
    collab.tasks().create(NewTask.of("b").withId("b").withDependsOn("a"));
    TaskClaim claim = collab.tasks().claimNext(TTL).orElseThrow();
    assertThat(claim.task().id()).isEqualTo("a");
    storage.reset();

    assertThat(collab.tasks().complete(claim).status()).isEqualTo("done");

    assertThat(storage.count("commit")).as("the one assuming no waiter conflicts on a's guard, then the one moving b"
        + " with the sweep marker, then the sweep's deleting the marker").isEqualTo(3);
    assertThat(storage.count("scan " + RecordKeys.TASKS + " waits")).as("the completion's and the sweep's")
        .isEqualTo(2);
    assertThat(storage.count("read " + RecordKeys.TASKS)).isZero();
    assertThat(storage.count("read " + RecordKeys.TASK_LEASES)).isZero();
    TaskClaim next = collab.tasks().claimNext(TTL).orElseThrow();
    assertThat(next.task().id()).as("b is ready now").isEqualTo("b");
  }

  @Test
  void aTaskNeverMovedIsClaimedWithoutReadingItsLeaseRecord() {
    collab.tasks().create(NewTask.of("a").withId("a"));
    storage.reset();
    TaskClaim claim = collab.tasks().claimNext(TTL).orElseThrow();
    assertThat(claim.lease().fence()).isEqualTo(1);
    assertThat(storage.count("readAll")).as("lease records read").isZero();
    assertThat(storage.count("read " + RecordKeys.TASK_LEASES)).isZero();
    assertThat(storage.count("commit")).isEqualTo(1);

    // released, it has moved: the next claim goes on from the lease record this instance committed last, unread
    collab.tasks().release(claim);
    storage.reset();
    TaskClaim again = collab.tasks().claimNext(TTL).orElseThrow();
    assertThat(again.lease().fence()).isEqualTo(2);
    assertThat(storage.count("readAll")).isZero();
    assertThat(storage.count("commit")).isEqualTo(1);
  }

  @Test
  void aLeaseRecordGuessedAbsentThatExistsIsReadAndTheClaimGoesOnFromItsFence() {
    collab.tasks().create(NewTask.of("a").withId("a"));
    collab.tasks().create(NewTask.of("b").withId("b"));
    // a lease record the task's own record does not show (as if a claim and its release fell in the task's creation
    // microsecond): a free one with fence 7
    RecordKey key = RecordKeys.claimLease("a");
    LeaseCommits leases = new LeaseCommits(collab.core());
    assertThat(storage.delegate.commit(Commit.of(List.of(Expectation.absent(key)),
        List.of(leases.freeWrite(key, RecordKeys.claimResource("a"), 7)), List.of())))
        .isInstanceOf(CommitResult.Committed.class);
    storage.reset();

    List<TaskClaim> claims = collab.tasks().claimUpTo(2, "alice", TTL, Set.of());

    assertThat(claims).extracting(c -> c.task().id()).containsExactly("a", "b");
    assertThat(claims.get(0).lease().fence()).as("the fence goes on from the record's").isEqualTo(8);
    assertThat(claims.get(1).lease().fence()).isEqualTo(1);
    assertThat(storage.count("commit")).as("the conflict on a's lease record, then both claims").isEqualTo(2);
    assertThat(storage.count("readAll")).as("the guessed lease records, read together after the conflict")
        .isEqualTo(1);
    assertThat(storage.count("read " + RecordKeys.TASK_LEASES)).isZero();
  }

  @Test
  void aStaleClaimOfAWorkflowWhoseCollabsDoNotSayTheyReadParkedClaimsIsLeftWhereTheyLook() {
    MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
    CountingStorage storage = new CountingStorage(MemoryStorage.create(clock), true);
    Workflow flow = TaskConformance.otherWorkflow();
    RecordKey marker = new RecordKey("_collab", "indexes.other");
    try (Collab kanban = Collab.builder().storage(storage).holder("alice").build()) {
      try (Collab other = Collab.builder().storage(storage.delegate).holder("carol").workflow(flow).build()) {
        other.tasks().create(NewTask.of("x").withId("x"));
        other.tasks().claimNext(TTL).orElseThrow();
      }
      // the marker as a version without parked claims wrote it: its Collabs of 'other' read only expires
      StoredRecord said = storage.delegate.read(marker).orElseThrow();
      ObjectNode old = new ObjectMapper().createObjectNode().put("indexVersion", 2).put("workflow", "other");
      assertThat(storage.delegate.commit(Commit.of(List.of(Expectation.revision(marker, said.revision())),
          List.of(Write.put(marker, CanonicalJson.canonicalize(old), CanonicalJson.hash(old))), List.of())))
          .isInstanceOf(CommitResult.Committed.class);
      kanban.tasks().create(NewTask.of("k").withId("k"));
      kanban.tasks().create(NewTask.of("m").withId("m"));
      clock.advance(TTL.plusSeconds(1));
      assertThat(kanban.tasks().claimNext(TTL)).map(c -> c.task().id()).contains("k");
      assertThat(storage.delegate.scanIndex(IndexQuery.first("_task-leases", "expires:other", 10))).isEmpty();
      assertThat(storage.delegate.scanIndex(IndexQuery.first("_task-leases", "expires", 10)))
          .extracting(h -> h.record().key().id()).as("left where the old version looks").contains("x");
      // a Collab of 'other' of this version opens: it says so, and the next claim that meets x parks it
      Collab.builder().storage(storage.delegate).holder("dave").workflow(flow).build().close();
      assertThat(kanban.tasks().claimNext(TTL)).map(c -> c.task().id()).contains("m");
      assertThat(storage.delegate.scanIndex(IndexQuery.first("_task-leases", "expires:other", 10)))
          .extracting(h -> h.record().key().id()).containsExactly("x");
    }
  }

  @Test
  void readyReadsTheReadyIndexOnlyWhateverTheTasksDoneOrBlocked() {
    collab.tasks().create(NewTask.of("gate").withId("gate"));
    for (int i = 0; i < 40; i++) {
      collab.tasks().create(NewTask.of("d" + i).withId("d" + i).withPriority(1));
    }
    for (int i = 0; i < 40; i++) {
      collab.tasks().complete(collab.tasks().claimNext(TTL).orElseThrow());
    }
    for (int i = 0; i < 20; i++) {
      collab.tasks().create(NewTask.of("b" + i).withId("b" + i).withDependsOn("gate"));
    }
    collab.tasks().create(NewTask.of("r").withId("r"));
    storage.reset();
    assertThat(collab.tasks().ready(Set.of(), 10)).extracting(Task::id).containsExactly("gate", "r");
    assertThat(storage.count("list _tasks") + storage.count("read _tasks") + storage.count("readAll"))
        .as("%s", storage.calls).isZero();
    assertThat(storage.calls.keySet()).as("two index queries and the clock")
        .containsExactlyInAnyOrder("now", "scan _tasks ready:kanban", "scan _tasks delayed:kanban");
  }

  @Test
  void aStaleClaimOfAnotherWorkflowIsReadOnceThenNoClaimOfThisWorkflowReadsIt() {
    MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
    CountingStorage storage = new CountingStorage(MemoryStorage.create(clock), true);
    Workflow flow = TaskConformance.otherWorkflow();
    try (Collab kanban = Collab.builder().storage(storage).holder("alice").build();
        Collab other = Collab.builder().storage(storage.delegate).holder("carol").workflow(flow).build()) {
      for (int i = 0; i < 3; i++) {
        other.tasks().create(NewTask.of("x" + i).withId("x" + i));
        other.tasks().claimNext(TTL).orElseThrow(); // and its worker dies: the claim goes stale, nobody of other runs
      }
      for (int i = 0; i < 4; i++) {
        kanban.tasks().create(NewTask.of("k" + i).withId("k" + i));
      }
      clock.advance(TTL.plusSeconds(1));
      storage.reset();
      assertThat(kanban.tasks().claimNext(TTL)).map(c -> c.task().id()).contains("k0");
      assertThat(storage.count("read _tasks")).as("the first claim reads the other workflow's tasks").isEqualTo(3);
      assertThat(storage.count("commit")).as("three parked, one claim").isEqualTo(4);
      for (int i = 1; i < 4; i++) {
        storage.reset();
        assertThat(kanban.tasks().claimNext(TTL)).map(c -> c.task().id()).contains("k" + i);
        assertThat(storage.count("read _tasks") + storage.count("read _task-leases") + storage.count("readAll"))
            .as("claim %d: %s", i, storage.calls).isZero();
        assertThat(storage.count("scan _task-leases expires")).as("the first round's query only").isEqualTo(1);
        assertThat(storage.count("commit")).as("claim %d", i).isEqualTo(1);
      }
      // parked, not lost: the other workflow's Collab reclaims them
      assertThat(other.tasks().reclaimStale()).extracting(Task::id).containsExactly("x0", "x1", "x2");
      assertThat(other.tasks().claimNext(TTL)).map(c -> c.task().id()).contains("x0");
    }
  }

  /** With a frozen clock a task claimed and released in its creation's tick still looks never moved. */
  private static CountingStorage frozen() {
    return new CountingStorage(MemoryStorage.create(new MutableClock(Instant.parse("2026-01-01T00:00:00Z"))), true);
  }

  @Test
  void aClaimUsesTheLeaseRecordThisInstanceCommittedLastWithoutReadingIt() {
    CountingStorage storage = frozen();
    try (Collab collab = Collab.builder().storage(storage).holder("alice").build()) {
      collab.tasks().create(NewTask.of("a").withId("a"));
      List<Long> fences = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        storage.reset();
        TaskClaim claim = collab.tasks().claimNext(TTL).orElseThrow();
        fences.add(claim.lease().fence());
        assertThat(storage.count("commit")).as("claim %s", i).isEqualTo(1);
        assertThat(storage.count("readAll") + storage.count("read " + RecordKeys.TASK_LEASES)).isZero();
        Task released = collab.tasks().release(claim);
        assertThat(released.updatedAt()).as("the frozen clock").isEqualTo(released.createdAt());
      }
      assertThat(fences).containsExactly(1L, 2L, 3L);
    }
  }

  @Test
  void aRememberedLeaseRecordThatShowsALiveLeaseIsReadNotTrusted() {
    collab.tasks().create(NewTask.of("a").withId("a"));
    TaskClaim claim = collab.tasks().claimNext(TTL).orElseThrow();
    storage.failAfterCommit = true; // the release commits, but its answer is lost: the held record is remembered
    assertThatThrownBy(() -> collab.tasks().release(claim)).isInstanceOf(StorageException.class);
    storage.reset();

    TaskClaim again = collab.tasks().claimNext(TTL).orElseThrow();

    assertThat(again.task().id()).isEqualTo("a");
    assertThat(again.lease().fence()).isEqualTo(2);
    assertThat(storage.count("readAll")).as("the lease record, read").isEqualTo(1);
  }

  @Test
  void wrongGuessesOfABatchAreReadTogetherAfterOneConflict() {
    CountingStorage storage = frozen();
    try (Collab collab = Collab.builder().storage(storage).holder("alice").build();
        Collab bob = Collab.builder().storage(storage.delegate).holder("bob").build()) {
      for (int i = 0; i < 8; i++) {
        collab.tasks().create(NewTask.of("t" + i).withId("t" + i));
      }
      // bob claims and releases them within their creation's tick: they look never moved, with lease records
      bob.tasks().claimUpTo(8, "bob", TTL, Set.of()).forEach(bob.tasks()::release);
      storage.reset();

      List<TaskClaim> claims = collab.tasks().claimUpTo(8, "alice", TTL, Set.of());

      assertThat(claims).hasSize(8).allSatisfy(c -> assertThat(c.lease().fence()).isEqualTo(2));
      assertThat(storage.count("commit")).as("the conflict, then the 8 claims").isEqualTo(2);
      assertThat(storage.count("readAll")).isEqualTo(1);
      assertThat(storage.count("read " + RecordKeys.TASK_LEASES)).isZero();
    }
  }

  @Test
  void aGuessedLeaseRecordThatIsHeldSkipsItsTask() {
    CountingStorage storage = frozen();
    try (Collab collab = Collab.builder().storage(storage).holder("alice").build()) {
      collab.tasks().create(NewTask.of("a").withId("a").withPriority(2));
      collab.tasks().create(NewTask.of("b").withId("b").withPriority(1));
      // a held claim lease on a that a's record does not show (as a claim within its creation's tick would leave)
      RecordKey key = RecordKeys.claimLease("a");
      LeaseCommits leases = new LeaseCommits(collab.core());
      LeaseCommits.Acquisition held = leases.prepareAcquire(key, RecordKeys.claimResource("a"), "zed", TTL,
          Optional.empty(), storage.now());
      assertThat(storage.delegate.commit(Commit.of(List.of(Expectation.absent(key)), List.of(held.write()),
          List.of()))).isInstanceOf(CommitResult.Committed.class);
      storage.reset();

      List<TaskClaim> claims = collab.tasks().claimUpTo(2, "alice", TTL, Set.of());

      assertThat(claims).extracting(c -> c.task().id()).containsExactly("b");
      assertThat(claims.get(0).lease().fence()).isEqualTo(1);
    }
  }

  @Test
  void aStaleGuessOfTheLeaseRecordIsReadAgain() {
    collab.tasks().create(NewTask.of("a").withId("a"));
    TaskClaim claim = collab.tasks().claimNext(TTL).orElseThrow();
    rival.leases().renew(claim.lease()); // another instance renews it: the lease record alice remembers is old
    assertThat(collab.tasks().complete(claim).status()).isEqualTo("done");
    assertThat(collab.events().read(0, EventFilter.all().types("task_completed"), 10)).hasSize(1);
  }

  @Test
  void aStaleGuessOfTheTaskStatusIsReadAgain() {
    collab.tasks().create(NewTask.of("a").withId("a"));
    TaskClaim claim = collab.tasks().claimNext(TTL).orElseThrow();
    rival.tasks().transition(claim, "in_progress"); // alice remembers the task as claimed
    // claimed -> review is not an edge, in_progress -> review is: judged on the task as stored
    assertThat(collab.tasks().transition(claim, "review").newStatus()).isEqualTo("review");
  }
}
