package io.kyros.collab.jdbc;

import java.sql.PreparedStatement;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wakes other nodes' waiters after commits with events ({@code NOTIFY}, PostgreSQL), from one daemon thread of its
 * own, never inside the commits. PostgreSQL takes one database-wide lock for a transaction that notified, at its
 * COMMIT, and holds it across the commit's WAL flush: a NOTIFY in every commit would make all of them commit one at a
 * time, which is what parallel commits exist to avoid (seen as wait event {@code Lock:object} on COMMIT). Here the
 * NOTIFY is a transaction of its own that changes no row. It still gets a transaction id and writes a commit record
 * (PostgreSQL needs one to order notifications), so it commits with {@code synchronous_commit} off: it does not wait
 * for a WAL flush, and holds that lock only for an instant. A notification whose commit record a crash loses is
 * only a wake-up lost; it carries nothing else.
 *
 * <p>Coalescing: {@link #committed()} only marks a notification as due and wakes the thread, which sends one
 * {@code NOTIFY} for every mark made before it started sending; commits made while it sends cause one more. Two
 * notifications start at least {@value #MIN_SPACING_MILLIS} ms apart: a lone commit is announced at once, a burst
 * by one notification every {@value #MIN_SPACING_MILLIS} ms, so that a busy node does not spend a round trip and a
 * transaction on every commit. So a waiter of another node is woken after the commit is visible, by at least one
 * notification per burst; the spacing delays it by at most {@value #MIN_SPACING_MILLIS} ms (a send in progress,
 * which waits for a connection and retries like any read, by as long as that takes). Only the first mark of a
 * pending notification wakes the thread, so commits during the spacing cost no wake-up. A notification pending when
 * the storage closes is sent at once, as the thread's last. A failed NOTIFY is logged (the first at
 * WARN, then at DEBUG until one succeeds) and not retried: listeners also poll ({@link Notifications}), so a lost
 * notification only delays them by the poll interval.
 *
 * <p>Thread-safe.
 */
final class CommitNotifier implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(CommitNotifier.class);
  /** The least time between the starts of two notifications. */
  static final long MIN_SPACING_MILLIS = 5;

  private final Transactions transactions;
  private final String notify;
  private final String name;
  private final Object lock = new Object();
  private boolean due; // guarded by lock
  private boolean closed; // guarded by lock
  private Thread thread; // guarded by lock
  private boolean failing; // only the sending thread

  /**
   * @param transactions where the NOTIFY runs (a connection of the pool, auto-commit)
   * @param notify the statement that notifies the event channel
   * @param name names the thread
   */
  CommitNotifier(Transactions transactions, String notify, String name) {
    this.transactions = transactions;
    this.notify = notify;
    this.name = name;
  }

  /** A commit with events has committed: other nodes' waiters are to be woken. Never blocks on the database. */
  void committed() {
    synchronized (lock) {
      if (closed) {
        return;
      }
      if (due && thread != null) {
        return; // the thread sends it: it is sending, or waits out the spacing and then sends
      }
      due = true;
      if (thread == null) {
        Thread t = new Thread(this::run, name);
        t.setDaemon(true);
        try {
          t.start();
          thread = t;
        } catch (RuntimeException | OutOfMemoryError e) { // the commit succeeded: never fail it for a wake-up
          LOG.warn("{}: cannot start the notifying thread (other nodes' waiters poll): {}", name, e.toString());
        }
      }
      lock.notifyAll();
    }
  }

  private void run() {
    long spacing = TimeUnit.MILLISECONDS.toNanos(MIN_SPACING_MILLIS);
    long lastStart = System.nanoTime() - spacing;
    try {
      while (true) {
        synchronized (lock) {
          while (!closed) {
            try {
              if (!due) {
                lock.wait();
                continue;
              }
              long left = spacing - (System.nanoTime() - lastStart);
              if (left <= 0) {
                break;
              }
              TimeUnit.NANOSECONDS.timedWait(lock, left);
            } catch (InterruptedException e) {
              return; // the next commit starts another thread
            }
          }
          if (closed && !due) {
            return;
          }
          due = false;
        }
        lastStart = System.nanoTime();
        send(); // when closing, the last one, without waiting out the spacing
      }
    } finally {
      synchronized (lock) {
        if (thread == Thread.currentThread()) {
          thread = null;
        }
      }
    }
  }

  private void send() {
    try {
      transactions.read("notify", a -> {
        try (PreparedStatement s = a.connection.prepareStatement(notify)) {
          s.execute();
        }
        return null;
      });
      if (failing) {
        LOG.info("{}: notifications are sent again", name);
        failing = false;
      }
    } catch (RuntimeException e) { // StorageException, or anything else: the thread must go on
      if (!failing) {
        LOG.warn("{}: cannot notify other nodes of new events (their waiters poll meanwhile): {}", name,
            e.getMessage());
        failing = true;
      } else {
        LOG.debug("{}: notify failed again: {}", name, e.getMessage());
      }
    }
  }

  /**
   * Stops the thread (a NOTIFY being sent finishes, and one pending is sent first); later commits notify nobody.
   * Idempotent.
   */
  @Override
  public void close() {
    Thread t;
    synchronized (lock) {
      closed = true;
      lock.notifyAll();
      t = thread;
    }
    if (t != null && t != Thread.currentThread()) {
      try {
        t.join(TimeUnit.SECONDS.toMillis(5));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
