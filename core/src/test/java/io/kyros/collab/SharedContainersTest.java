package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Found in review: a value whose containers are shared (40 arrays, each holding the one before it twice: 40 nodes in
 * memory, 2^40 elements as JSON) passed the nesting check, which walked every path, and was then encoded path by path:
 * the call ran for hours instead of failing. The check stops after as many elements as the size limit has bytes
 * (each element takes at least one) and refuses the value as too large at once. The timeout only bounds a hang.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a hang of the old code fails, not stalls
class SharedContainersTest {
  @Test
  void sharedJsonNodesAreRefusedAsTooLarge() {
    try (Collab collab = Collab.builder().build()) {
      JsonNodeFactory f = JsonNodeFactory.instance;
      ArrayNode level = f.arrayNode().add(1);
      for (int i = 0; i < 40; i++) {
        level = f.arrayNode().add(level).add(level);
      }
      ObjectNode value = f.objectNode().set("a", level);
      assertThatThrownBy(() -> collab.documents().create("c", "x", value)).isInstanceOf(ValueTooLargeException.class)
          .hasMessageContaining("document c/x is too large: it has more than 1048576 elements");
      assertThat(collab.documents().get("c", "x")).as("nothing written").isEmpty();
    }
  }

  @Test
  void sharedListsAreRefusedAsTooLarge() {
    try (Collab collab = Collab.builder().build()) {
      List<Object> level = List.of(1);
      for (int i = 0; i < 40; i++) {
        List<Object> next = new ArrayList<>();
        next.add(level);
        next.add(level);
        level = next;
      }
      Map<String, Object> value = Map.of("a", level);
      assertThatThrownBy(() -> collab.documents().create("c", "x", value)).isInstanceOf(ValueTooLargeException.class);
    }
  }

  @Test
  void aLargeValueWithinTheLimitIsStillAccepted() {
    try (Collab collab = Collab.builder().build()) {
      ArrayNode many = JsonNodeFactory.instance.arrayNode();
      for (int i = 0; i < 200_000; i++) {
        many.add(1); // 2 bytes each ("1,"), 400,000 bytes in all
      }
      assertThat(collab.documents().create("c", "big", JsonNodeFactory.instance.objectNode().set("a", many)).etag())
          .isNotNull();
    }
  }
}
