package io.kyros.collab;

import io.kyros.collab.spi.RecordKey;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Where Collab keeps its own records and how their keys and event targets are named. User collection
 * names cannot start with {@code _}, and user resource names cannot start with {@code tasks/}, so these
 * never collide with a user's. Stateless.
 */
final class RecordKeys {
  /** Collection holding user leases, keyed by resource. */
  static final String LEASES = "_leases";
  /** Collection holding task claim leases, keyed by task id. */
  static final String TASK_LEASES = "_task-leases";
  /** Collection holding Collab's own bookkeeping, such as the index format marker ({@link TaskReindex}). */
  static final String META = "_collab";
  /** Collection holding tasks, keyed by task id. */
  static final String TASKS = "_tasks";
  /**
   * Collection holding the waiter guards and sweep markers of tasks ({@link TaskReadiness}), one per task and done
   * status waited for ({@link #waiters}).
   */
  static final String TASK_WAITERS = "_task-waiters";
  /** Lease resources of task claims are {@code tasks/<id>}; user resource names cannot start with it. */
  static final String TASK_LEASE_PREFIX = "tasks/";
  /**
   * The start of a lease record id derived from a resource name: {@code _} cannot start a name of the
   * {@link Names#NAME_PATTERN} form, so a derived id never equals a name kept as it is.
   */
  static final String DERIVED_ID_PREFIX = "_sha256-";
  private static final Pattern PLAIN_ID = Pattern.compile(Names.NAME_PATTERN);

  private RecordKeys() {}

  /** @return the record of task {@code id} */
  static RecordKey task(String id) {
    return new RecordKey(TASKS, id);
  }

  /**
   * The waiter guard (then sweep marker) of task {@code id} for the tasks waiting for it to reach {@code done}: one
   * per {@code waits} key ({@link TaskIndexes#waitsKey}), so that a workflow with another done status never touches
   * the marker of a task that is done in its own. The id is derived ({@value #DERIVED_ID_PREFIX} and the SHA-256 of
   * the key), since the key's {@code !} is no record id; the record holds the task id and the status.
   *
   * @param id the task waited on
   * @param done the done status waited for
   * @return the record
   */
  static RecordKey waiters(String id, String done) {
    return new RecordKey(TASK_WAITERS, derivedId(TaskIndexes.waitsKey(id, done)));
  }

  /** @return the lease resource of task {@code id}'s claim, {@code tasks/<id>} */
  static String claimResource(String id) {
    return TASK_LEASE_PREFIX + id;
  }

  /** @return whether {@code resource} names a task claim rather than a user resource */
  static boolean isClaim(String resource) {
    return resource.startsWith(TASK_LEASE_PREFIX);
  }

  /** @return the record of the claim lease of task {@code id} */
  static RecordKey claimLease(String id) {
    return lease(claimResource(id));
  }

  /**
   * The record holding a resource's lease: {@code _task-leases/<task id>} for task claims
   * ({@code tasks/<task id>}), and for user resources {@code _leases/<id>} where the id is
   * <ul>
   *   <li>the name itself if it matches {@link Names#NAME_PATTERN} (the only names accepted before any
   *       name was, so existing stores keep their records);</li>
   *   <li>otherwise {@value #DERIVED_ID_PREFIX} and the lowercase hex SHA-256 of the name's UTF-8 bytes
   *       (72 characters): a safe record id and file name on every backend whatever the name holds
   *       ({@code /}, {@code ..}, any script), never built from the name's characters.</li>
   * </ul>
   * The lease record keeps the name itself, which is what reads, events and the log show. Validates the
   * name ({@link ResourceNames}), so a forged {@link Lease} value cannot address anything else.
   */
  static RecordKey lease(String resource) {
    Objects.requireNonNull(resource, "resource");
    if (isClaim(resource)) {
      return new RecordKey(TASK_LEASES,
          Names.requireName("task id of lease resource", resource.substring(TASK_LEASE_PREFIX.length())));
    }
    ResourceNames.check(resource);
    return new RecordKey(LEASES, PLAIN_ID.matcher(resource).matches() ? resource : derivedId(resource));
  }

  /** @return {@value #DERIVED_ID_PREFIX} and the lowercase hex SHA-256 of the name's UTF-8 bytes */
  static String derivedId(String resource) {
    byte[] digest = CanonicalJson.sha256().digest(resource.getBytes(StandardCharsets.UTF_8));
    return DERIVED_ID_PREFIX + HexFormat.of().formatHex(digest);
  }

  /** @return the target of events about task {@code id}: {@code tasks/<id>} */
  static String taskTarget(String id) {
    return TASK_LEASE_PREFIX + id;
  }

  /** @return the target of events about a lease: {@code leases/<resource>}, or {@code tasks/<id>} for a claim */
  static String leaseTarget(String resource) {
    return isClaim(resource) ? resource : "leases/" + resource;
  }

  /** @return the target of events about a document: {@code documents/<collection>/<id>} */
  static String documentTarget(RecordKey key) {
    return "documents/" + key.collection() + "/" + key.id();
  }
}
