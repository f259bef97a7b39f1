package io.kyros.collab;

import java.util.Locale;

/**
 * An agent's status in the {@link Agents} registry, judged when it is read: {@code disabled} if switched off,
 * else {@code offline} if its presence lease is absent or stale by the storage's clock, else {@code busy} if it holds
 * task claims, else {@code available}.
 *
 * <p>Immutable and thread-safe.
 */
public enum AgentStatus {
  /** Online and holding no task. */
  AVAILABLE,
  /** Online and holding at least one task claim. */
  BUSY,
  /** Its presence lease is absent or stale. */
  OFFLINE,
  /** Switched off with {@link Agents#setEnabled}: its worker pools do not claim. */
  DISABLED;

  /** @return the name used in events and JSON, for example {@code available} */
  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }
}
