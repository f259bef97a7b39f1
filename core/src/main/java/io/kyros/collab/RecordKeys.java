package io.kyros.collab;

import io.kyros.collab.spi.RecordKey;
import java.util.Objects;

/**
 * Where Collab keeps its own records and how their keys and event targets are named. User collection
 * names cannot start with {@code _}, and user resource names cannot contain {@code /}, so these never
 * collide with a user's. Stateless.
 */
final class RecordKeys {
  /** Collection holding user leases, keyed by resource. */
  static final String LEASES = "_leases";
  /** Collection holding task claim leases, keyed by task id. */
  static final String TASK_LEASES = "_task-leases";
  /** Collection holding tasks, keyed by task id. */
  static final String TASKS = "_tasks";
  /** Lease resources of task claims are {@code tasks/<id>}; user resource names cannot contain '/'. */
  static final String TASK_LEASE_PREFIX = "tasks/";

  private RecordKeys() {}

  /** @return the record of task {@code id} */
  static RecordKey task(String id) {
    return new RecordKey(TASKS, id);
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
   * The record holding a resource's lease: {@code _leases/<resource>} for user resources,
   * {@code _task-leases/<task id>} for task claims ({@code tasks/<task id>}). Validates the name, so a
   * forged {@link Lease} value cannot address anything else.
   */
  static RecordKey lease(String resource) {
    Objects.requireNonNull(resource, "resource");
    if (isClaim(resource)) {
      return new RecordKey(TASK_LEASES,
          Names.requireName("task id of lease resource", resource.substring(TASK_LEASE_PREFIX.length())));
    }
    return new RecordKey(LEASES, Names.requireName("resource", resource));
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
