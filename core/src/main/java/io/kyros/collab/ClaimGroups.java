package io.kyros.collab;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Combined claims: the {@link Tasks#claimUpTo} (and {@code claimNext}) calls that threads of one Collab instance make
 * for the same worker, ttl, labels and trailing events while such a call runs wait for it, then share one call: one
 * search for candidates and, unless candidates are lost to other claimers or stale claims and due backoffs are
 * handled first, one claim commit. So threads polling for work together usually cost one index read and one commit,
 * not one of each per thread.
 *
 * <p>A call that finds no call of its kind running runs at once, alone, exactly as without combining (so one thread
 * alone sees no change). Otherwise it waits in its kind's queue: calls of one kind run one at a time. When the running
 * call ends, its thread takes from the queue, oldest first, the calls whose wants add up to at most
 * {@value #MAX_CLAIMS}, and hands them to the oldest taken, which claims their total in one call and deals the claims
 * out in queue order, best first: each call gets at most what it asked for. A call left with fewer, or none, gets what
 * is left, as it would have if it had run alone right after the calls before it: the combined call found no more
 * claimable tasks. A call asking for more than {@value #MAX_CLAIMS} is never combined: it runs at once, beside any
 * other, and no call waits for it.
 *
 * <p>Failures: if the combined call throws, the thread that ran it throws the exception itself and each other call
 * a new {@link StorageException} (or, for a failure that is not one, a {@link CollabException}) with it as the cause;
 * each would have met the same failure alone, asking for the same thing at the same time, except for an interrupt of
 * the thread that runs it, which may make the storage fail the combined call (as it fails a group commit on JDBC).
 * If the storage failed after some claims had committed (the combined call returns those, as a call alone does), the
 * calls that get claims return them, and a call that gets none throws such an exception, as it would have alone.
 *
 * <p>Waiting: a call still in the queue leaves it when its thread is interrupted (also one interrupted before it
 * came) and throws a {@link StorageException} with the interrupt status kept; nothing was claimed for it. Once taken
 * into a group it waits for the group (which the storage's own timeouts bound, as any claim) and keeps an interrupt
 * for later. The thread that runs a group clears the interrupt status it had when it was told to, so that a wait it
 * gave up does not stop the others' claims, and sets it again afterwards.
 *
 * <p>Thread-safe.
 */
final class ClaimGroups {
  /**
   * The most claims one combined call asks for: a claim commit of this many tasks still checks few enough
   * expectations to commit in one round trip on PostgreSQL.
   */
  static final int MAX_CLAIMS = 16;

  /**
   * What a call asks for, beyond how many: calls of one kind can be combined.
   *
   * @param worker the claiming worker
   * @param ttl the claims' time to live
   * @param labels the labels of which a task must carry one
   * @param trailing the events added after each claim's own (compared by identity)
   */
  record Kind(String worker, Duration ttl, Set<String> labels, TrailingEvents trailing) {
    Kind {
      Objects.requireNonNull(worker, "worker");
      Objects.requireNonNull(ttl, "ttl");
      labels = Set.copyOf(labels);
      Objects.requireNonNull(trailing, "trailing");
    }
  }

  /**
   * What one call claimed.
   *
   * @param claims the claims, best task first
   * @param stoppedBy the storage failure that stopped the call after these claims had committed, if one did
   */
  record Claimed(List<TaskClaim> claims, Optional<StorageException> stoppedBy) {
    Claimed {
      claims = List.copyOf(claims);
      Objects.requireNonNull(stoppedBy, "stoppedBy");
    }
  }

  /** Claims up to {@code max} tasks of the kind, as one call. */
  @FunctionalInterface
  interface Claimer {
    /**
     * @param max the most tasks to claim
     * @return what it claimed
     * @throws RuntimeException if it claimed nothing and failed, or failed otherwise (it then holds no claim)
     */
    Claimed claim(int max);
  }

  private final ReentrantLock lock = new ReentrantLock();
  /** The queues of the kinds with a call running (and only those). */
  private final Map<Kind, ArrayDeque<Pending>> running = new HashMap<>();

  /**
   * Claims, alone or combined with the concurrent calls of the same kind.
   *
   * @param kind what is claimed
   * @param max the most tasks to claim, positive
   * @param claimer claims for one call of the kind: the combined call runs the claimer of the call that leads it
   * @return the claims, best task first, at most {@code max}
   */
  List<TaskClaim> claim(Kind kind, int max, Claimer claimer) {
    if (max > MAX_CLAIMS) {
      return claimer.claim(max).claims(); // never combined
    }
    Pending me = null; // only a call that waits needs one
    lock.lock();
    try {
      ArrayDeque<Pending> queue = running.get(kind);
      if (queue == null) {
        running.put(kind, new ArrayDeque<>());
      } else {
        me = new Pending(max);
        queue.add(me);
      }
    } finally {
      lock.unlock();
    }
    if (me == null) {
      try {
        return claimer.claim(max).claims();
      } finally {
        handOn(kind);
      }
    }
    Signal s;
    try {
      s = await(kind, me);
    } catch (Error e) {
      abandon(kind, me, e);
      throw e;
    }
    if (s instanceof Lead lead) {
      // the group's claims are for all its calls: an interrupt of this thread, which was waiting, must not stop them
      boolean interrupted = Thread.interrupted();
      try {
        run(lead.group(), claimer);
      } finally {
        handOn(kind);
        if (interrupted) {
          Thread.currentThread().interrupt();
        }
      }
      s = me.outcome;
      if (s instanceof Failed f && f.failure() instanceof RuntimeException e) {
        throw e; // this thread ran the call: its own exception (an Error was thrown by run itself)
      }
    }
    if (s instanceof Dealt d) {
      return d.claims();
    }
    Throwable failure = ((Failed) s).failure();
    String message = "the claim call this one was combined with failed: " + failure.getMessage();
    throw failure instanceof StorageException ? new StorageException(message, failure)
        : new CollabException(message, failure);
  }

  /**
   * A waiting call whose thread fails with an Error leaves the queue; if it was told to lead a group already, the
   * group's calls fail with the Error and the kind is handed on, so that no call waits for a thread that is gone.
   */
  private void abandon(Kind kind, Pending me, Error e) {
    if (!leave(kind, me) && joinUninterruptibly(me) instanceof Lead lead) {
      Failed failed = new Failed(e);
      lead.group().forEach(p -> p.finish(failed));
      handOn(kind);
    }
  }

  /** @return true if the call was still in its kind's queue and has left it */
  private boolean leave(Kind kind, Pending me) {
    lock.lock();
    try {
      ArrayDeque<Pending> queue = running.get(kind);
      return queue != null && queue.remove(me);
    } finally {
      lock.unlock();
    }
  }

  /** @return how many calls wait in the queues (for tests) */
  int waiting() {
    lock.lock();
    try {
      return running.values().stream().mapToInt(ArrayDeque::size).sum();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Waits until the call is told to lead a group or gets its claims. While it is still in the queue an interrupt
   * makes it leave (nothing was claimed for it); once taken into a group it waits for the group and keeps the
   * interrupt for later.
   */
  private Signal await(Kind kind, Pending me) {
    try {
      return me.signal.get();
    } catch (InterruptedException e) {
      boolean left = leave(kind, me);
      Thread.currentThread().interrupt();
      if (left) {
        throw new StorageException("claim interrupted while it waited for a concurrent claim of this instance; it"
            + " never started, nothing was claimed for it");
      }
      return joinUninterruptibly(me);
    } catch (ExecutionException e) {
      throw new IllegalStateException("a claim group's signal failed", e); // never completed exceptionally
    }
  }

  /** Waits for a call already taken into a group; the caller keeps the interrupt status. */
  private static Signal joinUninterruptibly(Pending me) {
    boolean interrupted = Thread.interrupted();
    try {
      while (true) {
        try {
          return me.signal.get();
        } catch (InterruptedException again) {
          interrupted = true;
        } catch (ExecutionException e) {
          throw new IllegalStateException("a claim group's signal failed", e);
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** After a call of the kind ended: hands the next group to its oldest call, or marks the kind idle. */
  private void handOn(Kind kind) {
    List<Pending> next = null;
    lock.lock();
    try {
      ArrayDeque<Pending> queue = running.get(kind);
      if (queue.isEmpty()) {
        running.remove(kind);
      } else {
        next = new ArrayList<>();
        int wanted = 0;
        do {
          Pending p = queue.poll();
          next.add(p);
          wanted += p.want; // each want is at most MAX_CLAIMS, and so is the sum: no overflow
        } while (!queue.isEmpty() && queue.peek().want <= MAX_CLAIMS - wanted);
      }
    } finally {
      lock.unlock();
    }
    if (next != null) {
      next.get(0).signal.complete(new Lead(next));
    }
  }

  /**
   * Runs a group's combined call (in its leader's thread) and gives each call of the group its outcome, whatever
   * fails.
   */
  private static void run(List<Pending> group, Claimer claimer) {
    try {
      int total = 0;
      for (Pending p : group) {
        total += p.want;
      }
      Claimed claimed = claimer.claim(total);
      List<TaskClaim> claims = claimed.claims();
      Optional<StorageException> stoppedBy = claimed.stoppedBy();
      int from = 0;
      for (Pending p : group) {
        int to = Math.min(claims.size(), from + p.want);
        p.finish(to == from && stoppedBy.isPresent() ? new Failed(stoppedBy.get())
            : new Dealt(List.copyOf(claims.subList(from, to))));
        from = to;
      }
    } catch (RuntimeException | Error e) {
      Failed failed = new Failed(e);
      group.stream().filter(p -> p.outcome == null).forEach(p -> p.finish(failed));
      if (e instanceof Error error) {
        throw error;
      }
    }
  }

  /** What a waiting call is told: lead a group, or its outcome. */
  private sealed interface Signal permits Lead, Dealt, Failed {}

  /** Run this group's combined call (it starts with the told call) and hand on. */
  private record Lead(List<Pending> group) implements Signal {}

  /** The call's claims. */
  private record Dealt(List<TaskClaim> claims) implements Signal {}

  /** The combined call failed. */
  private record Failed(Throwable failure) implements Signal {}

  /** A call in the queue or in a group. */
  private static final class Pending {
    final int want;
    final CompletableFuture<Signal> signal = new CompletableFuture<>();
    /** The outcome, once the group ran; read by the leader itself, whose signal was {@link Lead}. */
    Signal outcome;

    Pending(int want) {
      this.want = want;
    }

    void finish(Signal s) {
      outcome = s;
      signal.complete(s); // no effect on the leader, already told to lead
    }
  }
}
