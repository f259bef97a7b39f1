package io.kyros.collab.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Typed reads of a JSON request body's members, each failure a 400 naming the member and what it
 * must be. {@link #only} refuses members a route does not know, so a typo is an error, not a
 * silently ignored field.
 *
 * <p>Not thread-safe; one per request.
 */
final class Body {
  private final ObjectNode node;

  Body(ObjectNode node) {
    this.node = node;
  }

  ObjectNode node() {
    return node;
  }

  Body only(String... names) {
    Set<String> known = Set.of(names);
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!known.contains(f)) {
        throw ApiException.badRequest("unknown member '" + f + "'; expected some of " + String.join(", ", names));
      }
    }
    return this;
  }

  boolean has(String name) {
    return node.has(name) && !node.get(name).isNull();
  }

  boolean present(String name) {
    return node.has(name);
  }

  String string(String name) {
    String s = optString(name);
    if (s == null) {
      throw ApiException.badRequest("'" + name + "' is required");
    }
    return s;
  }

  String optString(String name) {
    JsonNode v = node.get(name);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isTextual()) {
      throw ApiException.badRequest("'" + name + "' must be a string");
    }
    return v.asText();
  }

  /**
   * @param name a field naming who acts (a holder, an actor)
   * @return its value, or null if absent or null
   * @throws ApiException 400 if it is not a string or is blank (a blank name never stands for the server's own)
   */
  String optActor(String name) {
    String s = optString(name);
    if (s != null && s.isBlank()) {
      throw ApiException.badRequest("'" + name + "' must not be blank; leave it out to act as "
          + "the API key's name or the server's holder");
    }
    return s;
  }

  long longValue(String name) {
    JsonNode v = node.get(name);
    if (v == null || v.isNull()) {
      throw ApiException.badRequest("'" + name + "' is required");
    }
    if (!v.canConvertToLong() || !v.isIntegralNumber()) {
      throw ApiException.badRequest("'" + name + "' must be a whole number");
    }
    return v.asLong();
  }

  Integer optInt(String name) {
    JsonNode v = node.get(name);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isIntegralNumber() || !v.canConvertToInt()) {
      throw ApiException.badRequest("'" + name + "' must be a whole number");
    }
    return v.asInt();
  }

  /** A ttl in seconds (fractions allowed), positive. */
  Duration seconds(String name, Duration dflt) {
    JsonNode v = node.get(name);
    if (v == null || v.isNull()) {
      if (dflt == null) {
        throw ApiException.badRequest("'" + name + "' is required");
      }
      return dflt;
    }
    if (!v.isNumber() || !(v.asDouble() > 0) || v.asDouble() > 365L * 24 * 3600) {
      throw ApiException.badRequest("'" + name + "' must be a positive number of seconds (at most a year): " + v);
    }
    if (v.asDouble() < 0.001) { // would round to a duration core refuses as zero, naming a value never sent
      throw ApiException.badRequest("'" + name + "' must be at least 0.001 (one millisecond): " + v);
    }
    return Duration.ofNanos(Math.round(v.asDouble() * 1e9));
  }

  List<String> strings(String name) {
    JsonNode v = node.get(name);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isArray()) {
      throw ApiException.badRequest("'" + name + "' must be an array of strings");
    }
    List<String> out = new ArrayList<>();
    for (JsonNode e : v) {
      if (!e.isTextual()) {
        throw ApiException.badRequest("'" + name + "' must be an array of strings");
      }
      out.add(e.asText());
    }
    return out;
  }

  Set<String> stringSet(String name) {
    List<String> l = strings(name);
    return l == null ? null : new LinkedHashSet<>(l);
  }

  ObjectNode object(String name) {
    JsonNode v = node.get(name);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isObject()) {
      throw ApiException.badRequest("'" + name + "' must be a JSON object");
    }
    return (ObjectNode) v;
  }
}
