package io.kyros.collab.jdbc;

import io.kyros.collab.StorageException;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.RecordKey;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;

/**
 * Group commit: the commits this storage's threads make at the same time share one transaction, so a process with
 * many threads pays one transaction's round trips and one durable flush for several commits, not one each.
 *
 * <p>At most {@code maxGroups} transactions of commits run at once. A commit that finds fewer running, and no one
 * waiting, runs at once in its own transaction, exactly as without grouping (so one thread alone sees no change).
 * Otherwise it waits in a queue. When a transaction ends, its thread takes from the queue, oldest first, up to
 * {@value #MAX_COMMITS} commits of which no two expect or write the same key (a commit sharing a key with one taken
 * stays for a later group, keeping its place) and hands them to the oldest taken, which runs them as one
 * {@link MergedCommit} and hands on in turn. So a waiting commit is taken by the next transaction that ends, unless
 * {@value #MAX_COMMITS} older ones or a conflicting older one go first.
 *
 * <p>Each commit gets the result it would have got alone at the instant the group committed:
 * <ul>
 *   <li>committed: its own revisions, events and the commit time, cut from the group's ({@link MergedCommit#part});
 *   <li>a conflict: the group's first failed expectation belongs to one commit, which gets that conflict (every
 *       expectation before it held, and no other commit touches its key); nothing was committed, and the others run
 *       again as a group, without it;
 *   <li>a failure that certainly committed nothing and may come from one commit's content (a database error that is
 *       not retried, before COMMIT: {@link RolledBackException}; or an exception of the work before COMMIT, whatever a
 *       commit's event function throws included, as {@link MergedCommit.PartFailedException}): each commit runs again
 *       alone, in its own thread, so the failure reaches that commit only, as it was thrown;
 *   <li>any other failure (a lock or retry timeout, an interrupt, no connection, or an unknown outcome because the
 *       failure came once COMMIT was sent: {@link OutcomeUnknownException}): every commit of the group fails with its
 *       message, as each would have failed alone; none runs again, so none is applied twice.
 * </ul>
 * Atomicity is per group: the group's commits take effect together or not at all, which is stronger than each alone.
 *
 * <p>Waiting: a commit still in the queue fails after the retry timeout (counted from when it was queued), or when
 * its thread is interrupted, and leaves the queue: nothing was committed. Once taken into a group it waits for the
 * group, whose transaction the retry timeout bounds as any other; an interrupt is then kept for later. The thread
 * that runs a group clears its own interrupt while it does, so that it does not stop the others' commits.
 *
 * <p>Thread-safe.
 */
final class CommitGroups {
  /** The most commits in one group. */
  static final int MAX_COMMITS = 16;
  /**
   * The most expectations, writes and events (together; events built from the revisions counted as one per write)
   * in one group, beyond its first commit.
   */
  static final int MAX_ITEMS = 128;

  private final Function<Commit, CommitResult> single;
  private final int maxGroups;
  private final long queueTimeoutNanos;
  private final ReentrantLock lock = new ReentrantLock();
  private final ArrayDeque<Pending> queue = new ArrayDeque<>();
  private int running;

  /**
   * @param single runs one commit in its own transaction
   * @param maxGroups how many transactions of commits may run at once, at least 1
   * @param queueTimeoutNanos how long a commit may wait in the queue before it fails: the storage's retry timeout,
   *     as {@link Transactions#retryNanos()} saturates it
   */
  CommitGroups(Function<Commit, CommitResult> single, int maxGroups, long queueTimeoutNanos) {
    if (maxGroups < 1) {
      throw new IllegalArgumentException("maxGroups must be at least 1: " + maxGroups);
    }
    this.single = Objects.requireNonNull(single, "single");
    this.maxGroups = maxGroups;
    this.queueTimeoutNanos = queueTimeoutNanos;
  }

  /**
   * Commits, alone or in a group.
   *
   * @param commit the commit
   * @return its result, as if it had committed alone
   * @throws StorageException if the database failed (see the class description)
   */
  CommitResult commit(Commit commit) {
    Pending me = new Pending(commit);
    boolean alone;
    lock.lock();
    try {
      alone = running < maxGroups && queue.isEmpty();
      if (alone) {
        running++;
      } else {
        queue.add(me);
      }
    } finally {
      lock.unlock();
    }
    if (alone) {
      try {
        return single.apply(commit);
      } finally {
        handOn();
      }
    }
    Signal s = await(me);
    if (s instanceof Lead lead) {
      // a group runs for all its commits: an interrupt of this thread, which was waiting, must not stop the others
      boolean interrupted = Thread.interrupted();
      try {
        run(lead.group());
      } finally {
        handOn();
        if (interrupted) {
          Thread.currentThread().interrupt();
        }
      }
      s = me.outcome;
    }
    if (s instanceof Done d) {
      return d.result();
    }
    if (s instanceof Alone) {
      return single.apply(commit);
    }
    Failed f = (Failed) s;
    Throwable failure = f.failure();
    if (!f.shared() && failure instanceof RuntimeException e) {
      throw e;
    }
    if (!f.shared() && failure instanceof Error e) {
      throw e;
    }
    if (!f.shared()) {
      throw CommitGroups.<RuntimeException>rethrow(failure); // a checked exception thrown undeclared, as alone
    }
    // the group's failure, thrown in every one of its threads: each gets its own exception, with it as the cause
    throw new StorageException(failure instanceof StorageException ? failure.getMessage()
        : "JDBC commit failed in a group of " + f.groupSize() + " commits of this storage: " + failure, failure);
  }

  /** Throws {@code t} as it is, checked or not: what a commit's own code threw undeclared reaches its caller. */
  @SuppressWarnings("unchecked")
  private static <T extends Throwable> T rethrow(Throwable t) throws T {
    throw (T) t;
  }

  /**
   * Waits until the commit is told to lead a group or gets its outcome. While it is still in the queue, the wait is
   * bounded by the queue timeout and stopped by an interrupt: the commit then leaves the queue, and nothing was
   * committed. Once taken into a group it waits for the group (which its transaction's retry timeout bounds), and an
   * interrupt is kept for later.
   */
  private Signal await(Pending me) {
    boolean interrupted = false;
    try {
      long left = queueTimeoutNanos - (System.nanoTime() - me.queued); // no overflow: the elapsed time is small
      try {
        return me.signal.get(Math.max(0, left), TimeUnit.NANOSECONDS);
      } catch (TimeoutException e) {
        // left the queue below, unless taken meanwhile
      } catch (InterruptedException e) {
        interrupted = true;
      } catch (ExecutionException e) {
        throw new IllegalStateException("a group commit's signal failed", e); // never completed exceptionally
      }
      if (leave(me)) {
        throw new StorageException(interrupted
            ? "JDBC commit interrupted while waiting for this storage's running commits; it never started, nothing"
                + " was committed"
            : "JDBC commit waited " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - me.queued) + " ms for this"
                + " storage's running commits, beyond the retry timeout of "
                + TimeUnit.NANOSECONDS.toMillis(queueTimeoutNanos) + " ms (is one of them waiting for a lock another"
                + " transaction holds?); it never started, nothing was committed");
      }
      return me.signal.join(); // taken into a group meanwhile: wait for the group
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** @return true if the commit was still in the queue and has left it */
  private boolean leave(Pending me) {
    lock.lock();
    try {
      return queue.remove(me);
    } finally {
      lock.unlock();
    }
  }

  /** @return how many commits wait in the queue (for tests) */
  int waiting() {
    lock.lock();
    try {
      return queue.size();
    } finally {
      lock.unlock();
    }
  }

  /** After a transaction ended: hands the next group to its oldest commit, or counts one transaction fewer. */
  private void handOn() {
    List<Pending> next = null;
    lock.lock();
    try {
      if (queue.isEmpty()) {
        running--;
      } else {
        next = take();
      }
    } finally {
      lock.unlock();
    }
    if (next != null) {
      next.get(0).signal.complete(new Lead(next));
    }
  }

  /** Takes the next group from the queue, oldest first; the caller holds the lock and the queue is not empty. */
  private List<Pending> take() {
    List<Pending> group = new ArrayList<>();
    Set<RecordKey> keys = new HashSet<>();
    int items = 0;
    for (Iterator<Pending> it = queue.iterator(); it.hasNext() && group.size() < MAX_COMMITS; ) {
      Pending p = it.next();
      boolean first = group.isEmpty();
      if (!first && (items + p.items > MAX_ITEMS || p.keys.stream().anyMatch(keys::contains))) {
        continue;
      }
      it.remove();
      group.add(p);
      keys.addAll(p.keys);
      if (!first) {
        items += p.items;
      }
    }
    return group;
  }

  /** Runs a group (in its leader's thread) and gives each of its commits an outcome, whatever fails. */
  private void run(List<Pending> group) {
    try {
      runGroup(group);
    } catch (Throwable e) { // any, or the group's other commits would wait for ever
      group.stream().filter(p -> p.outcome == null).forEach(p -> p.finish(new Failed(e, true, group.size())));
    }
  }

  private void runGroup(List<Pending> group) {
    List<Pending> rest = group;
    while (!rest.isEmpty()) {
      if (rest.size() == 1) {
        Pending p = rest.get(0);
        try {
          p.finish(new Done(single.apply(p.commit)));
        } catch (Throwable e) {
          p.finish(new Failed(e, false, 1));
        }
        return;
      }
      MergedCommit merged = MergedCommit.of(rest.stream().map(p -> p.commit).toList());
      CommitResult result;
      try {
        result = single.apply(merged.commit());
      } catch (Throwable e) {
        // run again alone only what certainly committed nothing and may have failed for one commit's content: a
        // final database error before COMMIT, or an exception of the work (Transactions turns one after COMMIT was
        // sent into OutcomeUnknownException); a lock or retry timeout, an interrupt, a lost connection pool or an
        // unknown outcome fail every commit of the group, as they would have failed each alone
        boolean again = e instanceof RolledBackException
            || (e instanceof RuntimeException && !(e instanceof StorageException));
        Signal outcome = again ? Alone.INSTANCE : new Failed(e, true, rest.size());
        rest.forEach(p -> p.finish(outcome));
        return;
      }
      if (result instanceof CommitResult.Committed c) {
        for (int i = 0; i < rest.size(); i++) {
          rest.get(i).finish(new Done(merged.part(i, c)));
        }
        return;
      }
      CommitResult.Conflict conflict = (CommitResult.Conflict) result;
      int owner = merged.owner(conflict);
      rest.get(owner).finish(new Done(conflict));
      List<Pending> left = new ArrayList<>(rest);
      left.remove(owner);
      rest = left;
    }
  }

  /** What a waiting commit is told: lead a group, or its outcome. */
  private sealed interface Signal permits Lead, Done, Failed, Alone {}

  /** Run this group (it starts with the told commit) and hand on. */
  private record Lead(List<Pending> group) implements Signal {}

  /** The commit's result. */
  private record Done(CommitResult result) implements Signal {}

  /**
   * The commit failed: alone ({@code shared} false: its own failure, thrown as it is), or with its group, whose
   * failure every thread of the group throws wrapped.
   */
  private record Failed(Throwable failure, boolean shared, int groupSize) implements Signal {}

  /** The group failed and was rolled back: run the commit alone. */
  private enum Alone implements Signal { INSTANCE }

  /** A commit in the queue or in a group. */
  private static final class Pending {
    final Commit commit;
    final Set<RecordKey> keys;
    final int items;
    final CompletableFuture<Signal> signal = new CompletableFuture<>();
    final long queued = System.nanoTime();
    /** The outcome, once the group ran; read by the leader itself, whose signal was {@link Lead}. */
    Signal outcome;

    Pending(Commit commit) {
      this.commit = commit;
      this.keys = MergedCommit.keys(commit);
      this.items = commit.expectations().size() + commit.writes().size()
          + commit.fixedEvents().map(List::size).orElse(commit.writes().size());
    }

    void finish(Signal s) {
      outcome = s;
      signal.complete(s); // no effect on the leader, already told to lead
    }
  }
}
