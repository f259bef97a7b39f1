package io.kyros.collab.app;

import picocli.CommandLine.Option;

/**
 * The options every command that opens a store shares (a picocli mixin: {@code @Mixin StoreOptions
 * store;}): {@code --store file:DIR|jdbc:URL} (default {@value StoreSpec#DEFAULT}) and, for a
 * database, {@code --db-user}/{@code --db-password} or the environment's
 * {@code COLLAB_DB_USER}/{@code COLLAB_DB_PASSWORD}.
 *
 * <p>Not thread-safe: picocli fills it once per command line.
 */
final class StoreOptions {
  @Option(names = "--store", paramLabel = "file:DIR|jdbc:URL", defaultValue = StoreSpec.DEFAULT,
      description = "The store: file:DIR or jdbc:URL (default: ${DEFAULT-VALUE}).")
  String store;

  @Option(names = "--db-user", paramLabel = "USER", defaultValue = "${env:COLLAB_DB_USER}",
      description = "Database user for a jdbc: store (default: $COLLAB_DB_USER).")
  String dbUser;

  @Option(names = "--db-password", paramLabel = "PASSWORD", defaultValue = "${env:COLLAB_DB_PASSWORD}",
      arity = "0..1", interactive = false,
      description = "Database password for a jdbc: store (default: $COLLAB_DB_PASSWORD).")
  String dbPassword;

  /** @return the parsed {@code --store} */
  StoreSpec spec() {
    return StoreSpec.parse(store);
  }

  /**
   * Opens the store these options name.
   *
   * @return the open store; the caller closes it
   * @throws IllegalArgumentException if {@code --store} is malformed
   * @throws io.kyros.collab.StorageException if the store cannot be opened
   */
  OpenStore open() {
    return OpenStore.open(spec(), dbUser, dbPassword);
  }
}
