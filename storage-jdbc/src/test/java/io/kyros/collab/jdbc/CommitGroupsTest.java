package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.StorageException;
import io.kyros.collab.memory.MemoryStorage;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.Write;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Group commit ({@link CommitGroups}, {@link MergedCommit}) against a real storage's commits ({@link MemoryStorage}),
 * so merged commits get real revisions, events and conflicts. The first commit is held inside its transaction by a
 * gate until the others wait in the queue, which makes the groups deterministic; then each commit's result is compared
 * with what committing it alone at that instant gives.
 */
class CommitGroupsTest {
  private static final RecordKey X = new RecordKey("c", "x");
  private static final RecordKey Y = new RecordKey("c", "y");
  private static final RecordKey Z = new RecordKey("c", "z");
  private static final RecordKey W = new RecordKey("c", "w");

  private final MemoryStorage storage = MemoryStorage.create();
  /** Every commit the groups ran, in order. */
  private final List<Commit> ran = Collections.synchronizedList(new ArrayList<>());
  private final CountDownLatch gate = new CountDownLatch(1);
  private final ExecutorService threads = Executors.newCachedThreadPool();
  /** What running a commit does after recording it; the first waits at the gate. */
  private volatile Function<Commit, CommitResult> runner = storage::commit;
  private CommitGroups groups = new CommitGroups(this::run, 1, TimeUnit.SECONDS.toNanos(60));

  @AfterEach
  void stop() {
    gate.countDown();
    threads.shutdownNow();
  }

  private CommitResult run(Commit c) {
    ran.add(c);
    if (ran.size() == 1) {
      try {
        assertThat(gate.await(60, TimeUnit.SECONDS)).as("gate opened").isTrue();
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    }
    return runner.apply(c);
  }

  @Test
  void aCommitAloneRunsAtOnceAsItIs() {
    gate.countDown();
    Commit c = create(X, "only");
    CommitResult r = groups.commit(c);
    assertThat(r).isInstanceOf(CommitResult.Committed.class);
    assertThat(ran).containsExactly(c);
    assertThat(groups.waiting()).isZero();
  }

  @Test
  void commitsMadeWhileOneRunsShareTheNextTransactionAndEachGetsItsOwnResult() throws Exception {
    Future<CommitResult> first = hold(create(W, "first"));
    Commit b = create(X, "b");
    // events built from the revisions: two of them
    Commit c = new Commit(List.of(Expectation.absent(Y)), List.of(Write.put(Y, "\"c\"", "hc")),
        revisions -> List.of(event("c1", revisions.get(0)), event("c2", revisions.get(0))));
    Commit d = Commit.of(List.of(Expectation.absent(Z)), List.of(Write.put(Z, "\"d\"", "hd")), List.of());
    List<Future<CommitResult>> rest = queue(b, c, d);
    gate.countDown();

    assertThat(first.get(60, TimeUnit.SECONDS)).isInstanceOf(CommitResult.Committed.class);
    CommitResult.Committed rb = committed(rest.get(0));
    CommitResult.Committed rc = committed(rest.get(1));
    CommitResult.Committed rd = committed(rest.get(2));
    assertThat(ran).hasSize(2); // the first alone, then b, c and d as one commit
    assertThat(ran.get(1).writes()).extracting(Write::key).containsExactly(X, Y, Z);

    assertThat(rb.revisions()).containsExactly(storage.read(X).orElseThrow().revision());
    assertThat(rc.revisions()).containsExactly(storage.read(Y).orElseThrow().revision());
    assertThat(rd.revisions()).containsExactly(storage.read(Z).orElseThrow().revision());
    assertThat(List.of(rb.revisions().get(0), rc.revisions().get(0), rd.revisions().get(0))).isSorted();
    assertThat(rb.events()).extracting(StoredEvent::type).containsExactly("created");
    assertThat(rc.events()).extracting(StoredEvent::detailsJson).containsExactly(
        "{\"name\":\"c1\",\"revision\":" + rc.revisions().get(0) + "}",
        "{\"name\":\"c2\",\"revision\":" + rc.revisions().get(0) + "}");
    assertThat(rd.events()).isEmpty();
    // the events as the log has them: b's, then c's, ids contiguous
    assertThat(storage.readEvents(0, 100)).containsExactly(firstEvent(first), rb.events().get(0), rc.events().get(0),
        rc.events().get(1));
    assertThat(List.of(rb.committedAt(), rc.committedAt(), rd.committedAt())).containsOnly(rb.committedAt());
  }

  @Test
  void aConflictGoesToTheCommitOwningTheKeyAndTheOthersCommitWithoutIt() throws Exception {
    gate.countDown();
    long x = ((CommitResult.Committed) groups.commit(create(X, "x"))).revisions().get(0);
    ran.clear();
    CountDownLatch second = new CountDownLatch(1);
    runner = c -> {
      if (ran.size() == 1) {
        await(second);
      }
      return storage.commit(c);
    };
    Future<CommitResult> first = threads.submit(() -> groups.commit(create(W, "first")));
    Await.until("the first commit running", () -> ran.size() == 1);
    Expectation stale = Expectation.revision(X, x + 100);
    Commit b = create(Y, "b");
    Commit c = Commit.of(List.of(stale), List.of(Write.put(X, "\"c\"", "hc")), List.of(event("c", 0)));
    Commit d = create(Z, "d");
    List<Future<CommitResult>> rest = queue(b, c, d);
    second.countDown();

    first.get(60, TimeUnit.SECONDS);
    assertThat(rest.get(1).get(60, TimeUnit.SECONDS)).isEqualTo(new CommitResult.Conflict(stale, x));
    CommitResult.Committed rb = committed(rest.get(0));
    CommitResult.Committed rd = committed(rest.get(2));
    assertThat(ran).hasSize(3); // the first; b, c and d (the conflict); b and d
    assertThat(ran.get(2).writes()).extracting(Write::key).containsExactly(Y, Z);
    assertThat(storage.read(X).orElseThrow().revision()).isEqualTo(x);
    assertThat(rb.revisions()).containsExactly(storage.read(Y).orElseThrow().revision());
    assertThat(rd.revisions()).containsExactly(storage.read(Z).orElseThrow().revision());
    assertThat(storage.readEvents(0, 100)).extracting(StoredEvent::detailsJson).noneMatch(j -> j.contains("\"c\""));
  }

  @Test
  void commitsSharingAKeyGoToLaterGroupsAndSeeTheEarlierCommits() throws Exception {
    Future<CommitResult> first = hold(create(W, "first"));
    Commit b = create(X, "b");
    Commit c = create(X, "c"); // after b created X, this one's expectation fails, as it would alone
    Commit d = create(Y, "d");
    List<Future<CommitResult>> rest = queue(b, c, d);
    gate.countDown();

    first.get(60, TimeUnit.SECONDS);
    CommitResult.Committed rb = committed(rest.get(0));
    assertThat(rest.get(1).get(60, TimeUnit.SECONDS))
        .isEqualTo(new CommitResult.Conflict(Expectation.absent(X), rb.revisions().get(0)));
    committed(rest.get(2));
    assertThat(ran).hasSize(3);
    assertThat(ran.get(1).writes()).extracting(Write::key).containsExactly(X, Y);
    assertThat(ran.get(2)).isSameAs(c);
  }

  @Test
  void aGroupRolledBackRunsEachCommitAgainAlone() throws Exception {
    runner = c -> {
      if (c.writes().size() > 1) {
        throw new RolledBackException("JDBC commit failed (SQLState 22001): too long; the transaction was rolled back,"
            + " nothing was committed", new java.sql.SQLException("too long", "22001"));
      }
      return storage.commit(c);
    };
    Future<CommitResult> first = hold(create(W, "first"));
    Commit b = create(X, "b");
    Commit c = create(Y, "c");
    List<Future<CommitResult>> rest = queue(b, c);
    gate.countDown();

    first.get(60, TimeUnit.SECONDS);
    committed(rest.get(0));
    committed(rest.get(1));
    assertThat(ran).hasSize(4);
    assertThat(ran.subList(2, 4)).containsExactlyInAnyOrder(b, c);
    assertThat(storage.read(X)).isPresent();
    assertThat(storage.read(Y)).isPresent();
  }

  /** Failures of a group that each of its commits would have had alone, or whose outcome is unknown. */
  enum SharedFailure {
    /** COMMIT was sent: the group may have taken effect. */
    UNKNOWN_OUTCOME(new OutcomeUnknownException("JDBC commit failed (SQLState 08006): connection lost; the connection"
        + " failed while committing, so whether the commit took effect is unknown",
        new java.sql.SQLException("connection lost", "08006"))),
    /** Each would have waited for the same lock alone. */
    LOCK_TIMEOUT(new StorageException("JDBC commit failed: a lock could not be obtained within the retry timeout of"
        + " 10000 ms; the transaction was rolled back, nothing was committed",
        new java.sql.SQLException("lock wait timeout", "40001")));

    final StorageException failure;

    SharedFailure(StorageException failure) {
      this.failure = failure;
    }
  }

  @ParameterizedTest
  @EnumSource(SharedFailure.class)
  void aSharedFailureOfAGroupFailsEveryCommitOfItWithoutRunningThemAgain(SharedFailure kind) throws Exception {
    runner = c -> {
      if (c.writes().size() > 1) {
        throw kind.failure;
      }
      return storage.commit(c);
    };
    Future<CommitResult> first = hold(create(W, "first"));
    List<Future<CommitResult>> rest = queue(create(X, "b"), create(Y, "c"));
    gate.countDown();

    first.get(60, TimeUnit.SECONDS);
    for (Future<CommitResult> f : rest) {
      assertThatThrownBy(() -> f.get(60, TimeUnit.SECONDS)).cause().isInstanceOf(StorageException.class)
          .hasMessage(kind.failure.getMessage()).cause().isSameAs(kind.failure);
    }
    assertThat(ran).hasSize(2); // not run again
    assertThat(storage.read(X)).isEmpty();
  }

  @Test
  void aCommitWhoseEventsFailGetsItsFailureAndTheOthersCommit() throws Exception {
    Future<CommitResult> first = hold(create(W, "first"));
    Commit bad = new Commit(List.of(), List.of(Write.put(Y, "1", "h")), revisions -> {
      throw new IllegalArgumentException("no events for you");
    });
    List<Future<CommitResult>> rest = queue(create(X, "b"), bad, create(Z, "d"));
    gate.countDown();

    first.get(60, TimeUnit.SECONDS);
    committed(rest.get(0));
    assertThatThrownBy(() -> rest.get(1).get(60, TimeUnit.SECONDS)).cause()
        .isInstanceOf(IllegalArgumentException.class).hasMessage("no events for you");
    committed(rest.get(2));
    assertThat(storage.read(Y)).isEmpty();
    assertThat(storage.read(X)).isPresent();
    assertThat(storage.read(Z)).isPresent();
  }

  @Test
  void aCommitWaitingInTheQueueBeyondTheRetryTimeoutFailsAndLeavesIt() throws Exception {
    groups = new CommitGroups(this::run, 1, TimeUnit.MILLISECONDS.toNanos(50));
    Future<CommitResult> first = hold(create(W, "first"));
    Future<CommitResult> late = threads.submit(() -> groups.commit(create(X, "late")));

    assertThatThrownBy(() -> late.get(60, TimeUnit.SECONDS)).cause().isInstanceOf(StorageException.class)
        .hasMessageContaining("beyond the retry timeout of 50 ms")
        .hasMessageEndingWith("it never started, nothing was committed");
    assertThat(groups.waiting()).isZero();
    gate.countDown();
    committed(first);
    assertThat(storage.read(X)).isEmpty();
    assertThat(ran).hasSize(1);
  }

  @Test
  void aRetryTimeoutOfCenturiesStillLetsQueuedCommitsWait() throws Exception {
    // what Transactions.retryNanos() gives for a retry timeout of centuries
    groups = new CommitGroups(this::run, 1, Long.MAX_VALUE / 4);
    Future<CommitResult> first = hold(create(W, "first"));
    List<Future<CommitResult>> rest = queue(create(X, "b"));
    assertThat(rest.get(0)).isNotDone();
    gate.countDown();
    committed(first);
    committed(rest.get(0));
  }

  @Test
  void aCommitInterruptedWhileWaitingInTheQueueFailsKeepsTheInterruptAndLeavesIt() throws Exception {
    Future<CommitResult> first = hold(create(W, "first"));
    java.util.concurrent.CompletableFuture<Boolean> interruptKept = new java.util.concurrent.CompletableFuture<>();
    Thread waiter = new Thread(() -> {
      try {
        groups.commit(create(X, "interrupted"));
        interruptKept.completeExceptionally(new AssertionError("committed"));
      } catch (StorageException e) {
        assertThat(e).hasMessageStartingWith("JDBC commit interrupted while waiting");
        interruptKept.complete(Thread.currentThread().isInterrupted());
      } catch (Throwable e) {
        interruptKept.completeExceptionally(e);
      }
    });
    waiter.start();
    Await.until("the commit waiting", () -> groups.waiting() == 1);
    waiter.interrupt();

    assertThat(interruptKept.get(60, TimeUnit.SECONDS)).isTrue();
    assertThat(groups.waiting()).isZero();
    gate.countDown();
    committed(first);
    assertThat(storage.read(X)).isEmpty();
  }

  @Test
  void aGroupTakesAtMostSixteenCommitsOldestFirst() throws Exception {
    Future<CommitResult> first = hold(create(W, "first"));
    List<Commit> commits = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      commits.add(create(new RecordKey("c", "k" + i), "v" + i));
    }
    List<Future<CommitResult>> rest = queue(commits.toArray(Commit[]::new));
    gate.countDown();

    first.get(60, TimeUnit.SECONDS);
    for (Future<CommitResult> f : rest) {
      committed(f);
    }
    assertThat(ran).hasSize(3);
    assertThat(ran.get(1).writes()).extracting(Write::key)
        .containsExactlyElementsOf(commits.subList(0, 16).stream().map(c -> c.writes().get(0).key()).toList());
    assertThat(ran.get(2).writes()).hasSize(4);
  }

  @Test
  void aMergedCommitRefusesPartsSharingAKey() {
    assertThatThrownBy(() -> MergedCommit.of(List.of(create(X, "a"), create(X, "b"))))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("must not share a key");
    assertThatThrownBy(() -> MergedCommit.of(List.of(create(X, "a"))))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least two parts");
  }

  @Test
  void aMergedCommitOfFixedEventsHasFixedEvents() {
    MergedCommit m = MergedCommit.of(List.of(create(X, "a"), create(Y, "b")));
    assertThat(m.commit().fixedEvents()).isPresent();
    assertThat(m.commit().fixedEvents().get()).hasSize(2);
    MergedCommit built = MergedCommit.of(List.of(create(X, "a"),
        new Commit(List.of(), List.of(Write.put(Y, "1", "h")), revisions -> List.of(event("y", revisions.get(0))))));
    assertThat(built.commit().fixedEvents()).isEmpty();
  }

  /**
   * @param t a thread
   * @return true if it waits in a {@link CommitGroups} queue for another commit of its storage to end
   */
  static boolean waitsInQueue(Thread t) {
    if (t.getState() != Thread.State.WAITING && t.getState() != Thread.State.TIMED_WAITING) {
      return false;
    }
    for (StackTraceElement e : t.getStackTrace()) {
      if (e.getClassName().equals(CommitGroups.class.getName()) && e.getMethodName().equals("await")) {
        return true;
      }
    }
    return false;
  }

  /** Starts a commit in another thread and returns once it runs, held at the gate. */
  private Future<CommitResult> hold(Commit c) {
    Future<CommitResult> f = threads.submit(() -> groups.commit(c));
    Await.until("the first commit running", () -> ran.size() == 1);
    return f;
  }

  /** Starts the commits in other threads, one after the other, each once the one before waits in the queue. */
  private List<Future<CommitResult>> queue(Commit... commits) {
    List<Future<CommitResult>> futures = new ArrayList<>();
    for (Commit c : commits) {
      int before = groups.waiting();
      futures.add(threads.submit(() -> groups.commit(c)));
      Await.until("commit " + futures.size() + " waiting", () -> groups.waiting() == before + 1);
    }
    return futures;
  }

  private static StoredEvent firstEvent(Future<CommitResult> f) throws Exception {
    return ((CommitResult.Committed) f.get(60, TimeUnit.SECONDS)).events().get(0);
  }

  private static CommitResult.Committed committed(Future<CommitResult> f) throws Exception {
    CommitResult r = f.get(60, TimeUnit.SECONDS);
    assertThat(r).isInstanceOf(CommitResult.Committed.class);
    return (CommitResult.Committed) r;
  }

  private static Commit create(RecordKey key, String value) {
    return Commit.of(List.of(Expectation.absent(key)), List.of(Write.put(key, "\"" + value + "\"", "h" + value)),
        List.of(new NewEvent("created", "a", key.id(), "{\"value\":\"" + value + "\"}")));
  }

  private static NewEvent event(String name, long revision) {
    return new NewEvent("built", "a", name, "{\"name\":\"" + name + "\",\"revision\":" + revision + "}");
  }

  private static void await(CountDownLatch latch) {
    try {
      assertThat(latch.await(60, TimeUnit.SECONDS)).isTrue();
    } catch (InterruptedException e) {
      throw new IllegalStateException(e);
    }
  }
}
