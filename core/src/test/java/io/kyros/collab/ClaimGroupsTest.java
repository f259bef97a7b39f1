package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.TaskClaimPathTest.CountingStorage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Concurrent claim calls of one instance for the same worker, ttl and labels are combined ({@link ClaimGroups}): while
 * one call's commit is held in the storage, the others queue; once it ends, one search and one commit claim for all
 * of them, dealt out in the order they came.
 */
@Timeout(60)
class ClaimGroupsTest {
  private static final Duration TTL = Duration.ofMinutes(5);

  private final CountingStorage storage = new CountingStorage(true);
  private final Collab collab = Collab.builder().storage(storage).holder("alice").build();
  private final CountDownLatch committing = new CountDownLatch(1);
  private final CountDownLatch proceed = new CountDownLatch(1);
  private final List<Thread> threads = new ArrayList<>();

  @BeforeEach
  void backlogAndAHeldFirstClaim() throws Exception {
    // t1 is the best task, t5 the worst
    for (int i = 1; i <= 5; i++) {
      collab.tasks().create(NewTask.of("task " + i).withId("t" + i).withPriority(10 - i));
    }
    storage.holdNextCommitOf("t1", committing, proceed);
  }

  @AfterEach
  void close() throws InterruptedException {
    proceed.countDown();
    for (Thread t : threads) {
      t.join(TimeUnit.SECONDS.toMillis(30));
    }
    collab.close();
  }

  /** Starts the call that claims t1, and returns once its commit is held in the storage. */
  private CompletableFuture<List<TaskClaim>> heldFirstCall() throws InterruptedException {
    CompletableFuture<List<TaskClaim>> first = call(() -> collab.tasks().claimUpTo(1, "alice", TTL, Set.of()));
    assertThat(committing.await(30, TimeUnit.SECONDS)).isTrue();
    return first;
  }

  private interface Call {
    List<TaskClaim> run();
  }

  /** Runs a call in a new thread; the future gets its claims or its exception. */
  private CompletableFuture<List<TaskClaim>> call(Call c) {
    CompletableFuture<List<TaskClaim>> f = new CompletableFuture<>();
    Thread t = new Thread(() -> {
      try {
        f.complete(c.run());
      } catch (Throwable e) {
        f.completeExceptionally(e);
      }
    });
    threads.add(t);
    t.start();
    return f;
  }

  /** Starts a call and returns once it waits in the queue, behind {@code before} others. */
  private CompletableFuture<List<TaskClaim>> queued(int before, Call c) {
    CompletableFuture<List<TaskClaim>> f = call(c);
    await(() -> collab.tasks().claimsWaiting() == before + 1 || f.isDone());
    assertThat(f).as("the call waits for the running one").isNotDone();
    return f;
  }

  /** Waits, without sleeping, until the condition holds (the class timeout bounds it). */
  private static void await(BooleanSupplier condition) {
    while (!condition.getAsBoolean()) {
      Thread.onSpinWait();
      Thread.yield();
    }
  }

  private static List<String> ids(List<TaskClaim> claims) {
    return claims.stream().map(c -> c.task().id()).toList();
  }

  @Test
  void callsWaitingForARunningOneShareOneSearchAndOneCommit() throws Exception {
    CompletableFuture<List<TaskClaim>> first = heldFirstCall();
    List<CompletableFuture<List<TaskClaim>>> next = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      next.add(queued(i, () -> collab.tasks().claimNext(TTL).map(List::of).orElse(List.of())));
    }
    storage.reset();
    proceed.countDown();

    assertThat(ids(first.get(30, TimeUnit.SECONDS))).containsExactly("t1");
    List<String> got = new ArrayList<>();
    for (CompletableFuture<List<TaskClaim>> f : next) {
      got.addAll(ids(f.get(30, TimeUnit.SECONDS)));
    }
    // dealt in the order the calls came, best first
    assertThat(got).containsExactly("t2", "t3", "t4");
    assertThat(storage.count("commit")).as("the first call's commit, then one for the three").isEqualTo(2);
    assertThat(storage.count("scan " + RecordKeys.TASKS + " ready:kanban")).as("one search for the three").isEqualTo(1);
    assertThat(storage.count("scan " + RecordKeys.TASK_LEASES + " expires")).as("stale claims").isEqualTo(1);
    for (String id : got) {
      Task t = collab.tasks().get(id).orElseThrow();
      assertThat(t.status()).isEqualTo("claimed");
      assertThat(t.assignee()).isEqualTo("alice");
    }
    assertThat(collab.tasks().claimsWaiting()).isZero();
  }

  @Test
  void eachCombinedCallGetsAtMostWhatItAskedForAndTheLastOnesWhatIsLeft() throws Exception {
    CompletableFuture<List<TaskClaim>> first = heldFirstCall();
    CompletableFuture<List<TaskClaim>> two = queued(0, () -> collab.tasks().claimUpTo(2, "alice", TTL, Set.of()));
    CompletableFuture<List<TaskClaim>> three = queued(1, () -> collab.tasks().claimUpTo(3, "alice", TTL, Set.of()));
    CompletableFuture<List<TaskClaim>> one = queued(2, () -> collab.tasks().claimUpTo(1, "alice", TTL, Set.of()));
    proceed.countDown();

    assertThat(ids(first.get(30, TimeUnit.SECONDS))).containsExactly("t1");
    assertThat(ids(two.get(30, TimeUnit.SECONDS))).containsExactly("t2", "t3");
    assertThat(ids(three.get(30, TimeUnit.SECONDS))).as("four tasks were left for six wanted").containsExactly("t4", "t5");
    assertThat(one.get(30, TimeUnit.SECONDS)).as("nothing left: as if it ran alone right after").isEmpty();
  }

  @Test
  void callsForAnotherWorkerTtlOrLabelsAreNotCombined() throws Exception {
    CompletableFuture<List<TaskClaim>> first = heldFirstCall();
    // these run at once, beside the held call, and skip the candidate it is committing for
    assertThat(collab.tasks().claimNext("bob", TTL, Set.of()).map(c -> c.task().id())).contains("t2");
    assertThat(collab.tasks().claimNext("alice", TTL.plusSeconds(1), Set.of()).map(c -> c.task().id()))
        .contains("t3");
    assertThat(collab.tasks().claimsWaiting()).isZero();
    proceed.countDown();
    assertThat(ids(first.get(30, TimeUnit.SECONDS))).containsExactly("t1");
  }

  @Test
  void whenTheCombinedClaimFailsEachOfItsCallsThrowsAndNothingIsClaimed() throws Exception {
    CompletableFuture<List<TaskClaim>> first = heldFirstCall();
    CompletableFuture<List<TaskClaim>> leader = queued(0, () -> collab.tasks().claimUpTo(1, "alice", TTL, Set.of()));
    CompletableFuture<List<TaskClaim>> other = queued(1, () -> collab.tasks().claimUpTo(1, "alice", TTL, Set.of()));
    StorageException broken = new StorageException("connection dropped (simulated)");
    storage.hookTask = "t2"; // the combined commit claims t2 and t3
    storage.hook = commit -> {
      throw broken;
    };
    proceed.countDown();

    assertThat(ids(first.get(30, TimeUnit.SECONDS))).containsExactly("t1");
    assertThat(catchCause(leader)).as("the call that ran it: the failure itself").isSameAs(broken);
    assertThat(catchCause(other)).isInstanceOf(StorageException.class)
        .hasMessageContaining("combined").hasMessageContaining("connection dropped (simulated)")
        .hasCause(broken);
    storage.hook = null;
    for (String id : List.of("t2", "t3")) {
      assertThat(collab.tasks().get(id).orElseThrow().status()).as(id).isEqualTo("queued");
    }
  }

  @Test
  void anInterruptedWaitingCallLeavesTheQueueAndClaimsNothing() throws Exception {
    CompletableFuture<List<TaskClaim>> first = heldFirstCall();
    AtomicReference<Boolean> interruptKept = new AtomicReference<>();
    CompletableFuture<List<TaskClaim>> waiting = queued(0, () -> {
      try {
        return collab.tasks().claimUpTo(1, "alice", TTL, Set.of());
      } finally {
        interruptKept.set(Thread.currentThread().isInterrupted());
      }
    });
    threads.get(threads.size() - 1).interrupt();

    assertThat(catchCause(waiting)).isInstanceOf(StorageException.class)
        .hasMessageContaining("interrupted while it waited").hasMessageContaining("nothing was claimed");
    assertThat(interruptKept.get()).isTrue();
    assertThat(collab.tasks().claimsWaiting()).isZero();
    proceed.countDown();
    assertThat(ids(first.get(30, TimeUnit.SECONDS))).containsExactly("t1");
    assertThat(collab.tasks().get("t2").orElseThrow().status()).isEqualTo("queued");
    // the kind is idle again: the next call runs at once
    assertThat(collab.tasks().claimNext(TTL).map(c -> c.task().id())).contains("t2");
  }

  private static Throwable catchCause(CompletableFuture<?> f) throws InterruptedException {
    try {
      f.get(30, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      return e.getCause();
    } catch (java.util.concurrent.TimeoutException e) {
      throw new AssertionError("the call did not end", e);
    }
    throw new AssertionError("the call did not fail");
  }

  @Test
  void aLoneCallRunsAtOnce() {
    storage.hook = null;
    assertThat(collab.tasks().claimNext(TTL).map(c -> c.task().id())).isEqualTo(Optional.of("t1"));
    assertThat(collab.tasks().claimsWaiting()).isZero();
  }
}
