package io.kyros.collab.benchmarks;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.CanonicalJson;

/** The documents every benchmark writes: mixed strings, numbers, booleans and nested objects. */
final class Payloads {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private Payloads() {}

  /**
   * @param bytes the smallest size of the document's canonical JSON
   * @return a new document of at least {@code bytes} bytes of canonical JSON (1 KB → 1,0xx bytes)
   */
  static ObjectNode document(int bytes) {
    ObjectNode document = MAPPER.createObjectNode();
    int i = 0;
    while (CanonicalJson.canonicalBytes(document).length < bytes) {
      ObjectNode item = document.putObject("item-" + i);
      item.put("name", "widget number " + i).put("price", i * 1.25).put("count", i).put("active", i % 2 == 0);
      i++;
    }
    return document;
  }

  /**
   * @return the small details object every appended event carries (about 100 bytes)
   */
  static ObjectNode eventDetails() {
    ObjectNode details = MAPPER.createObjectNode();
    details.put("worker", "worker-7").put("step", "compile").put("attempt", 1).put("note", "appended by a benchmark");
    return details;
  }
}
