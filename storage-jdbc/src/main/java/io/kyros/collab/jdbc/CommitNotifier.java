package io.kyros.collab.jdbc;

import java.sql.Statement;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wakes other nodes' waiters after commits with events ({@code NOTIFY}, PostgreSQL), from one daemon thread of its
 * own, never inside the commits. PostgreSQL takes one database-wide lock for a transaction that notified, at its
 * COMMIT, and holds it across the commit's WAL flush: a NOTIFY in every commit would make all of them commit one at a
 * time, which is what parallel commits exist to avoid (seen as wait event {@code Lock:object} on COMMIT). Here the
 * NOTIFY is a transaction of its own that writes nothing, so it holds that lock only for an instant and flushes no
 * WAL.
 *
 * <p>Coalescing: {@link #committed()} only marks a notification as due and wakes the thread, which sends one
 * {@code NOTIFY} for every mark made before it started sending; commits made while it sends cause one more. So a
 * waiter of another node is woken after the commit is visible, by at least one notification per burst. A failed
 * NOTIFY is logged (the first at WARN, then at DEBUG until one succeeds) and not retried: listeners also poll
 * ({@link Notifications}), so a lost notification only delays them by the poll interval.
 *
 * <p>Thread-safe.
 */
final class CommitNotifier implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(CommitNotifier.class);

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
    try {
      while (true) {
        synchronized (lock) {
          while (!due && !closed) {
            try {
              lock.wait();
            } catch (InterruptedException e) {
              return; // the next commit starts another thread
            }
          }
          if (closed) {
            return;
          }
          due = false;
        }
        send();
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
        try (Statement s = a.connection.createStatement()) {
          s.execute(notify);
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

  /** Stops the thread (a NOTIFY being sent finishes); later commits notify nobody. Idempotent. */
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
