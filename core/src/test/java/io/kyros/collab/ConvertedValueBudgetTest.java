package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Found in review of the element budget ({@link SharedContainersTest}): counted on a value before the mapper converts
 * it, the budget refused a value whose mapper leaves elements out (nulls, with a {@code NON_NULL} mapper) although
 * its canonical form fits. A value to convert gets {@link Nesting#CONVERTED_SLACK} elements per byte of the limit;
 * the converted tree is held to one.
 */
class ConvertedValueBudgetTest {
  @Test
  void aValueWhoseNullsTheMapperDropsIsJudgedByWhatIsWritten() {
    ObjectMapper mapper = new ObjectMapper().setDefaultPropertyInclusion(
        JsonInclude.Value.construct(JsonInclude.Include.NON_NULL, JsonInclude.Include.NON_NULL));
    try (Collab collab = Collab.builder().objectMapper(mapper).maxValueBytes(1000).build()) {
      Map<String, Object> value = new HashMap<>();
      value.put("a", 1);
      for (int i = 0; i < 2000; i++) {
        value.put("n" + i, null); // canonical: {"a":1}
      }
      assertThat(collab.documents().create("c", "x", value).etag()).isNotNull();
      assertThat(collab.documents().get("c", "x").orElseThrow().value().toString()).isEqualTo("{\"a\":1}");
    }
  }
}
