package io.kyros.collab.app;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Where a command's store is, as given by {@code --store}:
 *
 * <pre>
 * file:DIR     a file store in directory DIR (created if missing), shared by the processes of one machine
 * jdbc:URL     a database store: jdbc:postgresql://..., jdbc:mariadb://..., jdbc:mysql://..., jdbc:h2:...,
 *              jdbc:sqlite:...; the tables are created if missing
 * </pre>
 *
 * A value without a scheme is refused, so a typo never creates a store somewhere unexpected.
 *
 * @param kind file or JDBC
 * @param location the directory, or the whole JDBC URL (with its {@code jdbc:} prefix)
 */
record StoreSpec(Kind kind, String location) {
  /** The default {@code --store}. */
  static final String DEFAULT = "file:./collab-data/store";

  /** The two kinds of store. */
  enum Kind {
    FILE,
    JDBC
  }

  StoreSpec {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(location, "location");
  }

  /**
   * @param spec the option's value
   * @return the parsed spec
   * @throws IllegalArgumentException naming the expected forms if the value has neither scheme
   */
  static StoreSpec parse(String spec) {
    Objects.requireNonNull(spec, "spec");
    if (spec.startsWith("file:") && spec.length() > "file:".length()) {
      return new StoreSpec(Kind.FILE, spec.substring("file:".length()));
    }
    if (spec.startsWith("jdbc:") && spec.length() > "jdbc:".length()) {
      return new StoreSpec(Kind.JDBC, spec);
    }
    throw new IllegalArgumentException("--store must be file:DIR or jdbc:URL: " + spec);
  }

  /** @return the directory of a file store */
  Path directory() {
    if (kind != Kind.FILE) {
      throw new IllegalStateException("not a file store: " + location);
    }
    return Path.of(location);
  }

  @Override
  public String toString() {
    return kind == Kind.FILE ? "file:" + location : location;
  }
}
