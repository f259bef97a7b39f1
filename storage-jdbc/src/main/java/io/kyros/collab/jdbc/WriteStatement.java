package io.kyros.collab.jdbc;

import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Write;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Optional;

/**
 * One write of a commit as a statement, and how its row count tells whether its key's expectation held: an
 * {@code UPDATE} or {@code DELETE ... WHERE revision = ?} must change one row, a create-only insert must not meet an
 * existing row; an unconditional upsert or delete always holds.
 *
 * <p>Immutable; not for sharing between commits.
 */
final class WriteStatement {
  /** What the statement's row count checks. */
  enum Check {
    /** Nothing: an upsert, or a delete without an expected revision. */
    NONE,
    /** The record has the expected revision: {@code UPDATE} or {@code DELETE ... WHERE revision = ?}, one row. */
    REVISION,
    /** The record is absent: a create-only insert, one row. */
    ABSENT
  }

  final Write write;
  final String sql;
  final Check check;
  private final long revision;
  private final Optional<Expectation> expectation;

  private WriteStatement(Write write, long revision, Optional<Expectation> expectation, String sql, Check check) {
    this.write = write;
    this.revision = revision;
    this.expectation = expectation;
    this.sql = sql;
    this.check = check;
  }

  /**
   * @param w the write
   * @param revision the revision it gets
   * @param e its key's expectation in the commit, if any
   * @param sql the storage's statements
   * @return the statement applying the write, conditionally on the expectation if there is one
   */
  static WriteStatement of(Write w, long revision, Optional<Expectation> e, SqlText sql) {
    boolean expectsRevision = e.isPresent() && e.get().revision() != Expectation.ABSENT;
    if (w.isDelete()) {
      return expectsRevision ? new WriteStatement(w, revision, e, sql.deleteIfRevision, Check.REVISION)
          : new WriteStatement(w, revision, e, sql.delete, Check.NONE);
    }
    if (expectsRevision) {
      return new WriteStatement(w, revision, e, sql.updateIfRevision, Check.REVISION);
    }
    return e.isPresent() ? new WriteStatement(w, revision, e, sql.insertIfAbsent, Check.ABSENT)
        : new WriteStatement(w, revision, e, sql.upsert, Check.NONE);
  }

  /** @return true if the statement changes a row only when the expectation holds, so it must change exactly one */
  boolean conditional() {
    return check != Check.NONE;
  }

  /** @return the expectation this statement checks; present whenever {@link #conditional()} */
  Expectation expectation() {
    return expectation.orElseThrow();
  }

  /** @return how many parameters {@link #bind} binds */
  int parameters() {
    if (write.isDelete()) {
      return check == Check.REVISION ? 3 : 2;
    }
    return check == Check.REVISION ? 6 : 5;
  }

  /**
   * Binds the statement's parameters.
   *
   * @param ps the statement
   * @param first the first parameter's index
   * @return the next parameter's index
   * @throws SQLException if binding fails
   */
  int bind(PreparedStatement ps, int first) throws SQLException {
    int p = first;
    RecordKey k = write.key();
    if (write.isDelete()) {
      ps.setString(p++, k.collection());
      ps.setString(p++, k.id());
    } else if (check == Check.REVISION) {
      ps.setLong(p++, revision);
      ps.setString(p++, write.hash());
      ps.setString(p++, write.json());
      ps.setString(p++, k.collection());
      ps.setString(p++, k.id());
    } else {
      ps.setString(p++, k.collection());
      ps.setString(p++, k.id());
      ps.setLong(p++, revision);
      ps.setString(p++, write.hash());
      ps.setString(p++, write.json());
      return p;
    }
    if (check == Check.REVISION) {
      ps.setLong(p++, expectation().revision());
    }
    return p;
  }

  /**
   * Runs the statement alone.
   *
   * @param c the commit's connection
   * @param dialect the database, for how a create-only insert reports an existing row
   * @return false if the expectation did not hold
   * @throws SQLException if the statement fails otherwise
   */
  boolean apply(Connection c, Dialect dialect) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      bind(ps, 1);
      int updated = ps.executeUpdate();
      return !conditional() || updated == 1;
    } catch (SQLException ex) {
      if (check == Check.ABSENT && dialect.insertIfAbsentRaisesOnConflict() && dialect.isUniqueViolation(ex)) {
        return false;
      }
      throw ex;
    }
  }
}
