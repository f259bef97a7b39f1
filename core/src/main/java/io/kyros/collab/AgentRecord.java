package io.kyros.collab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.spi.RecordKey;
import java.time.Instant;
import java.util.Set;
import java.util.TreeSet;

/**
 * The stored format of an agent's registry record, {@code _agents/<agent id>}; nothing else spells its fields.
 * Presence is not stored here but in the resource lease {@code agents/<agent id>} (in {@code _leases}), whose
 * heartbeats record nothing.
 *
 * <pre>
 * {"id": "w-1", "role": "worker", "skills": ["resize", "thumbnail"], "metadata": {...},
 *  "enabled": true, "registeredAt": "2026-01-01T00:00:00Z", "lastSeen": "2026-01-01T00:05:00Z" | null}
 * </pre>
 *
 * {@code lastSeen} is the storage time of the last arrival or departure; while the presence lease is held, its
 * heartbeat is the later one. Stateless.
 */
final class AgentRecord {
  static final String COLLECTION = "_agents";
  static final String ID = "id";
  static final String ROLE = "role";
  static final String SKILLS = "skills";
  static final String METADATA = "metadata";
  static final String ENABLED = "enabled";
  static final String REGISTERED_AT = "registeredAt";
  static final String LAST_SEEN = "lastSeen";

  private AgentRecord() {}

  static RecordKey key(String id) {
    return new RecordKey(COLLECTION, id);
  }

  /** Writes the spec's fields into {@code o} (a new record, or a copy of the stored one). */
  static ObjectNode describe(ObjectNode o, AgentSpec spec, com.fasterxml.jackson.databind.ObjectMapper mapper) {
    o.put(ID, spec.id()).put(ROLE, spec.role());
    new TreeSet<>(spec.skills()).forEach(o.putArray(SKILLS)::add);
    o.set(METADATA, mapper.valueToTree(spec.metadata()));
    return o;
  }

  static boolean enabled(JsonNode o) {
    return o.path(ENABLED).asBoolean(true);
  }

  static Instant lastSeen(JsonNode o) {
    JsonNode n = o.get(LAST_SEEN);
    return n == null || n.isNull() ? null : Timestamps.parse(n.asText());
  }

  static Set<String> skills(JsonNode o) {
    Set<String> out = new TreeSet<>();
    o.path(SKILLS).forEach(s -> out.add(s.asText()));
    return out;
  }
}
