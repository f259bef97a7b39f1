package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.memory.MemoryStorage;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Bug (found in review): docs/design.md "Errors": arguments are checked first, with messages that name the broken
 * condition. These public entry points threw a {@link NullPointerException} with no message for a null argument, or
 * a null element of one ({@code Map.copyOf} / {@code Set.copyOf} / {@code List.copyOf} /
 * {@code Class.isAssignableFrom} on null), naming nothing. Each now names the argument.
 */
class NullArgumentNamedTest {
  @Test
  void workerPoolMetadataNull() {
    try (Collab collab = Collab.builder().storage(MemoryStorage.create()).holder("me").build()) {
      assertThatThrownBy(() -> WorkerPool.builder(collab).metadata(null)).isInstanceOf(NullPointerException.class)
          .hasMessageContaining("metadata");
    }
  }

  @Test
  void retryPolicyNonRetryableNullType() {
    assertThatThrownBy(() -> RetryPolicy.builder().nonRetryable(IllegalStateException.class, null))
        .isInstanceOf(NullPointerException.class).hasMessageContaining("nonRetryable");
  }

  @Test
  void agentSpecSkillsNull() {
    assertThatThrownBy(() -> new AgentSpec("a", "role", null, Map.of())).isInstanceOf(NullPointerException.class)
        .hasMessageContaining("skills");
  }

  @Test
  void batchSpecItemsNull() {
    assertThatThrownBy(() -> new BatchSpec("b", "x", null, 1, BatchPolicy.continueOnFailure(), null, 0))
        .isInstanceOf(NullPointerException.class).hasMessageContaining("items");
  }

  @Test
  void agentSpecSkillNullElement() {
    java.util.Set<String> skills = new java.util.HashSet<>();
    skills.add(null);
    assertThatThrownBy(() -> new AgentSpec("a", "role", skills, Map.of())).isInstanceOf(NullPointerException.class)
        .hasMessageContaining("skill");
  }
  @Test
  void workerPoolMetadataNullValue() {
    Map<String, Object> metadata = new java.util.HashMap<>();
    metadata.put("zone", null);
    try (Collab collab = Collab.builder().storage(MemoryStorage.create()).holder("me").build()) {
      assertThatThrownBy(() -> WorkerPool.builder(collab).metadata(metadata)).isInstanceOf(NullPointerException.class)
          .hasMessageContaining("metadata").hasMessageContaining("zone");
    }
  }

  @Test
  void retryPolicyNonRetryableNullArrayAndRecordList() {
    assertThatThrownBy(() -> RetryPolicy.builder().nonRetryable((Class<?>[]) null))
        .isInstanceOf(NullPointerException.class).hasMessageContaining("nonRetryable");
    java.util.List<Class<? extends Throwable>> types = new java.util.ArrayList<>();
    types.add(null);
    assertThatThrownBy(() -> new RetryPolicy(1, java.time.Duration.ofSeconds(1), java.time.Duration.ofSeconds(1), 1,
        types)).isInstanceOf(NullPointerException.class).hasMessageContaining("nonRetryable[0]");
  }

  @Test
  void agentSpecOfNullSkill() {
    assertThatThrownBy(() -> AgentSpec.of("a", "role", "x", null)).isInstanceOf(NullPointerException.class)
        .hasMessageContaining("skill");
  }

  @Test
  void batchItemsNullElement() {
    java.util.List<BatchItem> items = new java.util.ArrayList<>();
    items.add(BatchItem.of("i0", ""));
    items.add(null);
    assertThatThrownBy(() -> BatchSpec.builder("x").items(items).build()).isInstanceOf(NullPointerException.class)
        .hasMessageContaining("items[1]");
    try (Collab collab = Collab.builder().storage(MemoryStorage.create()).holder("me").build()) {
      collab.batches().create(BatchSpec.builder("x").id("b").items(java.util.List.of(BatchItem.of("i0", ""))).build());
      assertThatThrownBy(() -> collab.batches().add("b", null)).isInstanceOf(NullPointerException.class)
          .hasMessageContaining("items");
      assertThatThrownBy(() -> collab.batches().add("b", items)).isInstanceOf(NullPointerException.class)
          .hasMessageContaining("items[1]");
    }
  }
}
