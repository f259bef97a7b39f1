package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Found in review: an ETag's error message passed C1 control characters (U+0085, NEXT LINE, which entity tags accept
 * as obs-text) into logs raw, and quoted a header of any length whole (a 1 MB header, a 1 MB message); and
 * {@code keepAlive(lease)} of a lease whose ttl is under 3 ns failed naming an {@code interval} its caller never
 * passed.
 */
class ErrorMessageTextTest {
  @Test
  void etagMessagesEscapeC1Controls() {
    assertThatThrownBy(() -> ETag.parse("\"a\u0085b\" x")).isInstanceOf(IllegalArgumentException.class)
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\u0085").contains("\\u0085"));
  }

  @Test
  void etagMessagesAreBounded() {
    String huge = "\"" + "a".repeat(1_000_000) + "\" x";
    assertThatThrownBy(() -> ETag.parse(huge)).isInstanceOf(IllegalArgumentException.class)
        .satisfies(e -> assertThat(e.getMessage()).hasSizeLessThan(1_000).endsWith("... (1000004 characters)"));
  }

  @Test
  void keepAliveOfATtlTooShortToRenewNamesTheTtl() {
    try (Collab collab = Collab.builder().build()) {
      Lease lease = collab.leases().tryAcquire("r", Duration.ofNanos(2)).orElseThrow();
      assertThatThrownBy(() -> collab.leases().keepAlive(lease).close()).isInstanceOf(IllegalArgumentException.class)
          .hasMessage("lease r's ttl PT0.000000002S is too short to keep alive: its renewal interval, a third of it,"
              + " is zero");
    }
  }
}
