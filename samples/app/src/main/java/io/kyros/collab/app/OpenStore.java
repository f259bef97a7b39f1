package io.kyros.collab.app;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.kyros.collab.Collab;
import io.kyros.collab.file.FileStorage;
import io.kyros.collab.jdbc.JdbcStorage;
import io.kyros.collab.spi.Storage;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One opened store and the {@link Collab} instances a command uses on it: {@link #collab()} with
 * this process's own holder identity, and {@link #as(String)} for an actor named by a request
 * (an agent, a worker, an HTTP client's {@code holder}), so that events name the actor that acted.
 * The per-actor instances share the one storage and are kept in a bounded cache (the least
 * recently used is closed when it overflows).
 *
 * <p>A JDBC store runs over a HikariCP pool and gets its tables created if missing
 * ({@link JdbcStorage#createSchema()}, idempotent).
 *
 * <p>Thread-safe. {@link #close()} closes every Collab, then the storage, then the pool.
 */
final class OpenStore implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(OpenStore.class);
  private static final int MAX_ACTORS = 1024;

  private final StoreSpec spec;
  private final Storage storage;
  private final HikariDataSource pool;
  private final Collab collab;
  private final Cache<String, Collab> actors;

  private OpenStore(StoreSpec spec, Storage storage, HikariDataSource pool) {
    this.spec = spec;
    this.storage = storage;
    this.pool = pool;
    this.collab = Collab.builder().storage(storage).build();
    this.actors = Caffeine.newBuilder()
        .maximumSize(MAX_ACTORS)
        .executor(Runnable::run)
        .removalListener((String holder, Collab c, RemovalCause cause) -> {
          if (c != null) {
            c.close();
          }
        })
        .build();
  }

  /**
   * Opens a store.
   *
   * @param spec where it is
   * @param dbUser database user, or null
   * @param dbPassword database password, or null
   * @return the open store
   * @throws io.kyros.collab.StorageException if it cannot be opened
   */
  static OpenStore open(StoreSpec spec, String dbUser, String dbPassword) {
    Objects.requireNonNull(spec, "spec");
    if (spec.kind() == StoreSpec.Kind.FILE) {
      return new OpenStore(spec, FileStorage.open(spec.directory()), null);
    }
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(spec.location());
    if (dbUser != null && !dbUser.isEmpty()) {
      config.setUsername(dbUser);
    }
    if (dbPassword != null && !dbPassword.isEmpty()) {
      config.setPassword(dbPassword);
    }
    config.setMaximumPoolSize(8);
    config.setPoolName("collab");
    HikariDataSource pool;
    try {
      pool = new HikariDataSource(config);
    } catch (RuntimeException e) {
      throw new io.kyros.collab.StorageException("cannot connect to " + spec + ": " + e.getMessage(), e);
    }
    try {
      JdbcStorage storage = JdbcStorage.builder(pool).build();
      storage.createSchema();
      return new OpenStore(spec, storage, pool);
    } catch (RuntimeException e) {
      pool.close();
      throw e;
    }
  }

  /**
   * Serves a storage the caller opened (with its own clock or options); closing the returned store
   * closes it.
   *
   * @param spec where it is, for messages
   * @param storage the open storage
   * @return the open store
   * @throws NullPointerException if an argument is null
   */
  static OpenStore of(StoreSpec spec, Storage storage) {
    return new OpenStore(Objects.requireNonNull(spec, "spec"), Objects.requireNonNull(storage, "storage"), null);
  }

  /** @return where the store is */
  StoreSpec spec() {
    return spec;
  }

  /**
   * Whether the log's last id, as read now, is at least every event id a client can have seen: on a directory, yes
   * (commits take their ids one at a time); on a database, not always: PostgreSQL commits in parallel, and a reader
   * counts an event only once every transaction that took an earlier id has ended, so an id the server just answered
   * can be past the last id for a while (docs/jdbc.md, "Parallel: PostgreSQL").
   *
   * @return true if a position past the last id cannot be one this store handed out
   */
  boolean lastIdCoversEverySeenId() {
    return spec.kind() == StoreSpec.Kind.FILE;
  }

  /**
   * What a reader is told when a position it gave is past the log's last id on a store whose last id covers every
   * id a client can have seen ({@link #lastIdCoversEverySeenId()}), the same from the HTTP API, the MCP tools and the
   * commands; each adds what to do.
   *
   * @param name what named the position, as shown before the number ({@code "after="}, {@code "--after "})
   * @param position the position given
   * @param last the log's last event id, read now
   * @return the message
   */
  static String pastTheEnd(String name, long position, long last) {
    return name + position + " is past the end of the event log: the last event id is " + last + ", so event "
        + position + " was never committed here (was the store replaced or restored?)";
  }

  /** @return the storage, shared by every Collab of this store */
  Storage storage() {
    return storage;
  }

  /** @return the Collab with this process's own holder identity */
  Collab collab() {
    return collab;
  }

  /**
   * @param actor an actor name (a holder, worker or agent); null for this process's own
   * @return a Collab whose holder, and so the actor of the events it records, is {@code actor}
   * @throws IllegalArgumentException if the name is blank (it never stands for this process's own) or invalid
   */
  Collab as(String actor) {
    if (actor == null) {
      return collab;
    }
    if (actor.isBlank()) {
      throw new IllegalArgumentException("actor must not be blank: '" + actor + "'");
    }
    return actors.get(actor, a -> Collab.builder().storage(storage).holder(a).build());
  }

  @Override
  public void close() {
    actors.invalidateAll();
    actors.cleanUp();
    collab.close();
    try {
      storage.close();
    } finally {
      if (pool != null) {
        pool.close();
      }
      LOG.debug("closed {}", spec);
    }
  }
}
