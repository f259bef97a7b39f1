package io.kyros.collab.jdbc;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The shipped DDL scripts: loading, placeholder substitution and splitting into statements. One script per schema
 * version and database ({@link JdbcDialect#schemaResources()}); a released script is never edited, a change comes as
 * the next version. Every statement is idempotent ({@code IF NOT EXISTS}, insert-if-absent), so running all scripts
 * in order creates a new store and brings an older one up to date.
 */
final class Schema {
  private Schema() {}

  /**
   * @param dialect the database
   * @param tables the table names (the prefix replaces {@code ${prefix}})
   * @return the statements of every script ({@link JdbcDialect#schemaResources()}), oldest version first, without
   *     comments
   */
  static List<String> statements(JdbcDialect dialect, Tables tables) {
    List<String> out = new ArrayList<>();
    for (String resource : dialect.schemaResources()) {
      out.addAll(statements(resource, tables));
    }
    return out;
  }

  /**
   * @param resource one script
   * @param tables the table names (the prefix replaces {@code ${prefix}})
   * @return the script's statements, in order, without comments
   */
  static List<String> statements(String resource, Tables tables) {
    String script = load(resource).replace("${prefix}", tables.prefix());
    List<String> out = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    for (String line : script.split("\n")) {
      String trimmed = line.strip();
      if (trimmed.isEmpty() || trimmed.startsWith("--")) {
        continue;
      }
      current.append(line).append('\n');
      if (trimmed.endsWith(";")) {
        String statement = current.toString().strip();
        out.add(statement.substring(0, statement.length() - 1));
        current.setLength(0);
      }
    }
    if (!current.toString().isBlank()) {
      throw new IllegalStateException(resource + " ends without ';'");
    }
    return out;
  }

  private static String load(String resource) {
    try (InputStream in = Schema.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("schema resource missing from the classpath: " + resource);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + resource, e);
    }
  }
}
