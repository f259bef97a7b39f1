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
import java.util.function.IntSupplier;
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

  /** Starts a call and returns once it waits in the instance's queue, behind {@code before} others. */
  private CompletableFuture<List<TaskClaim>> queued(int before, Call c) {
    return queued(() -> collab.tasks().claimsWaiting(), before, c);
  }

  /** Starts a call and returns once it waits in a queue whose length {@code waiting} gives, behind {@code before}. */
  private CompletableFuture<List<TaskClaim>> queued(IntSupplier waiting, int before, Call c) {
    CompletableFuture<List<TaskClaim>> f = call(c);
    await(() -> waiting.getAsInt() == before + 1 || f.isDone());
    assertThat(f).as("the call waits for the running one").isNotDone();
    return f;
  }

  /** Waits until the condition holds, yielding the processor meanwhile; fails after 30 s. */
  private static void await(BooleanSupplier condition) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("the condition did not hold within 30 s");
      }
      Thread.yield();
    }
  }

  /** A call claiming one task that records, as it ends, whether its thread's interrupt status is set. */
  private Call claimRecordingInterrupt(AtomicReference<Boolean> interruptKept) {
    return () -> {
      try {
        return collab.tasks().claimUpTo(1, "alice", TTL, Set.of());
      } finally {
        interruptKept.set(Thread.currentThread().isInterrupted());
      }
    };
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
    assertThat(collab.tasks().claimUpTo(1, "alice", TTL, Set.of("gpu"))).as("no task carries the label").isEmpty();
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
    CompletableFuture<List<TaskClaim>> waiting = queued(0, claimRecordingInterrupt(interruptKept));
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

  @Test
  void aCallInterruptedAfterItWasTakenIntoAGroupGetsItsClaimAndKeepsTheInterrupt() throws Exception {
    CompletableFuture<List<TaskClaim>> first = heldFirstCall();
    CountDownLatch groupCommitting = new CountDownLatch(1);
    CountDownLatch groupProceed = new CountDownLatch(1);
    storage.holdNextCommitOf("t2", groupCommitting, groupProceed); // the combined call's commit (t2 and t3)
    CompletableFuture<List<TaskClaim>> leader = queued(0, () -> collab.tasks().claimUpTo(1, "alice", TTL, Set.of()));
    AtomicReference<Boolean> interruptKept = new AtomicReference<>();
    CompletableFuture<List<TaskClaim>> member = queued(1, claimRecordingInterrupt(interruptKept));
    Thread memberThread = threads.get(threads.size() - 1);
    proceed.countDown();
    assertThat(groupCommitting.await(30, TimeUnit.SECONDS)).isTrue();
    // both calls left the queue for the group whose commit is now held: the member waits for it, interrupted or not
    assertThat(collab.tasks().claimsWaiting()).isZero();
    memberThread.interrupt();
    groupProceed.countDown();

    assertThat(ids(first.get(30, TimeUnit.SECONDS))).containsExactly("t1");
    assertThat(ids(leader.get(30, TimeUnit.SECONDS))).containsExactly("t2");
    assertThat(ids(member.get(30, TimeUnit.SECONDS))).containsExactly("t3");
    assertThat(interruptKept.get()).as("the member's interrupt is kept for after its claim").isTrue();
    assertThat(collab.tasks().get("t3").orElseThrow().status()).isEqualTo("claimed");
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
  void aCallForMoreThanSixteenIsNeverCombined() throws Exception {
    CompletableFuture<List<TaskClaim>> first = heldFirstCall();
    // runs at once, beside the held call, and skips the task it is committing for
    assertThat(ids(collab.tasks().claimUpTo(ClaimGroups.MAX_CLAIMS + 1, "alice", TTL, Set.of())))
        .containsExactly("t2", "t3", "t4", "t5");
    assertThat(collab.tasks().claimsWaiting()).isZero();
    proceed.countDown();
    assertThat(ids(first.get(30, TimeUnit.SECONDS))).containsExactly("t1");
  }

  // The groups alone, with claimers that stand in for the claim calls.

  private final ClaimGroups groups = new ClaimGroups();
  private final ClaimGroups.Kind kind = new ClaimGroups.Kind("w", TTL, Set.of(), TrailingEvents.NONE);

  /** Claims of tasks t1 to t{n} in a store of their own, to deal out. */
  private static List<TaskClaim> claims(int n) {
    try (Collab other = Collab.builder().storage(io.kyros.collab.memory.MemoryStorage.create()).holder("w").build()) {
      for (int i = 1; i <= n; i++) {
        other.tasks().create(NewTask.of("task " + i).withId("t" + i).withPriority(10 - i));
      }
      return other.tasks().claimUpTo(n, "w", TTL, Set.of());
    }
  }

  /** Starts a lone call of {@link #groups} whose claimer holds until {@link #proceed}; returns once it runs. */
  private CompletableFuture<List<TaskClaim>> heldGroupCall() throws InterruptedException {
    return heldGroupCall(1);
  }

  /** {@link #heldGroupCall()} for {@code max} tasks; its claimer claims nothing. */
  private CompletableFuture<List<TaskClaim>> heldGroupCall(int max) throws InterruptedException {
    CompletableFuture<List<TaskClaim>> first = call(() -> groups.claim(kind, max, n -> {
      committing.countDown();
      try {
        assertThat(proceed.await(30, TimeUnit.SECONDS)).isTrue();
      } catch (InterruptedException e) {
        throw new AssertionError(e);
      }
      return new ClaimGroups.Claimed(List.of(), Optional.empty());
    }));
    assertThat(committing.await(30, TimeUnit.SECONDS)).isTrue();
    return first;
  }

  private static ClaimGroups.Claimer notRun() {
    return n -> {
      throw new AssertionError("only the claimer of the call that leads a group runs");
    };
  }

  @Test
  void whenTheStorageFailedAfterSomeClaimsTheCallsWithoutOneThrow() throws Exception {
    List<TaskClaim> two = claims(2);
    StorageException dropped = new StorageException("connection dropped (simulated)");
    CompletableFuture<List<TaskClaim>> first = heldGroupCall();
    List<Integer> asked = new ArrayList<>();
    CompletableFuture<List<TaskClaim>> a = queued(groups::waiting, 0, () -> groups.claim(kind, 1, n -> {
      asked.add(n);
      return new ClaimGroups.Claimed(two, Optional.of(dropped));
    }));
    CompletableFuture<List<TaskClaim>> b = queued(groups::waiting, 1, () -> groups.claim(kind, 2, notRun()));
    CompletableFuture<List<TaskClaim>> c = queued(groups::waiting, 2, () -> groups.claim(kind, 3, notRun()));
    proceed.countDown();

    assertThat(first.get(30, TimeUnit.SECONDS)).isEmpty();
    assertThat(ids(a.get(30, TimeUnit.SECONDS))).containsExactly("t1");
    assertThat(ids(b.get(30, TimeUnit.SECONDS))).as("fewer than it asked for, but some: returned").containsExactly("t2");
    assertThat(catchCause(c)).as("no claim for it: it throws, as it would have alone")
        .isInstanceOf(StorageException.class).hasCause(dropped);
    assertThat(asked).containsExactly(6);
  }

  @Test
  void aFailureThatIsNotTheStoragesReachesTheOtherCallsAsTheirCause() throws Exception {
    IllegalStateException bug = new IllegalStateException("a bug (simulated)");
    CompletableFuture<List<TaskClaim>> first = heldGroupCall();
    CompletableFuture<List<TaskClaim>> a = queued(groups::waiting, 0, () -> groups.claim(kind, 1, n -> {
      throw bug;
    }));
    CompletableFuture<List<TaskClaim>> b = queued(groups::waiting, 1, () -> groups.claim(kind, 1, notRun()));
    proceed.countDown();

    assertThat(first.get(30, TimeUnit.SECONDS)).isEmpty();
    assertThat(catchCause(a)).isSameAs(bug);
    assertThat(catchCause(b)).isExactlyInstanceOf(CollabException.class).hasMessageContaining("a bug (simulated)")
        .hasCause(bug);
    assertThat(groups.waiting()).isZero();
    assertThat(groups.claim(kind, 1, n -> new ClaimGroups.Claimed(List.of(), Optional.empty())))
        .as("the kind is idle again").isEmpty();
  }

  @Test
  void aCallOfSixteenOrFewerDoesNotWaitForOneOfMore() throws Exception {
    CompletableFuture<List<TaskClaim>> big = heldGroupCall(ClaimGroups.MAX_CLAIMS + 1);
    List<TaskClaim> one = claims(1);
    assertThat(groups.claim(kind, 1, n -> new ClaimGroups.Claimed(one, Optional.empty()))).isEqualTo(one);
    proceed.countDown();
    assertThat(big.get(30, TimeUnit.SECONDS)).isEmpty();
  }

  @Test
  void wantsBeyondSixteenTogetherWaitForTheNextGroup() throws Exception {
    List<TaskClaim> claims = claims(3);
    CompletableFuture<List<TaskClaim>> first = heldGroupCall();
    List<Integer> asked = java.util.Collections.synchronizedList(new ArrayList<>());
    ClaimGroups.Claimer one = n -> {
      asked.add(n);
      return new ClaimGroups.Claimed(claims.subList(asked.size() - 1, asked.size()), Optional.empty());
    };
    CompletableFuture<List<TaskClaim>> a = queued(groups::waiting, 0, () -> groups.claim(kind, 10, one));
    CompletableFuture<List<TaskClaim>> b = queued(groups::waiting, 1, () -> groups.claim(kind, 10, one));
    CompletableFuture<List<TaskClaim>> c = queued(groups::waiting, 2, () -> groups.claim(kind, 6, notRun()));
    // runs at once: asking for more than 16, it is never combined (and its want cannot overflow a group's sum)
    assertThat(groups.claim(kind, Integer.MAX_VALUE, n -> {
      asked.add(n);
      return new ClaimGroups.Claimed(List.of(), Optional.empty());
    })).isEmpty();
    proceed.countDown();

    assertThat(first.get(30, TimeUnit.SECONDS)).isEmpty();
    assertThat(ids(a.get(30, TimeUnit.SECONDS))).containsExactly("t2");
    assertThat(b.get(30, TimeUnit.SECONDS)).hasSize(1);
    assertThat(c.get(30, TimeUnit.SECONDS)).as("its group found one claim, dealt to the call before it").isEmpty();
    // a alone (10 + 10 > 16), then b with c
    assertThat(asked).containsExactly(Integer.MAX_VALUE, 10, 16);
  }
}
