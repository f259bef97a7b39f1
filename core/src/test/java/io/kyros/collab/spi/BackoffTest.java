package io.kyros.collab.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class BackoffTest {
  private static final Duration MS = Duration.ofMillis(1);

  @Test
  void withoutJitterThePauseDoublesUpToTheCap() {
    Backoff b = new Backoff(MS, Duration.ofMillis(10), Backoff.Jitter.NONE);
    assertThat(b.delayNanos(1)).isEqualTo(2_000_000L);
    assertThat(b.delayNanos(2)).isEqualTo(4_000_000L);
    assertThat(b.delayNanos(3)).isEqualTo(8_000_000L);
    assertThat(b.delayNanos(4)).isEqualTo(10_000_000L);
    assertThat(b.delayNanos(Integer.MAX_VALUE)).isEqualTo(10_000_000L);
  }

  @Test
  void fullJitterStaysBetweenBaseAndTheAttemptsCeiling() {
    Backoff b = new Backoff(MS, Duration.ofMillis(100), Backoff.Jitter.FULL);
    for (int attempt = 1; attempt < 80; attempt++) {
      long ceiling = Math.min(100_000_000L, attempt >= 40 ? Long.MAX_VALUE : 1_000_000L << attempt);
      for (int i = 0; i < 50; i++) {
        assertThat(b.delayNanos(attempt)).isBetween(1_000_000L, ceiling);
      }
    }
  }

  @Test
  void aHugeBaseDoesNotOverflow() {
    Backoff b = new Backoff(Duration.ofDays(365 * 200), Duration.ofDays(365 * 250), Backoff.Jitter.NONE);
    assertThat(b.delayNanos(5)).isEqualTo(Duration.ofDays(365 * 250).toNanos());
  }

  @Test
  void aPassedDeadlineDoesNotPause() {
    Backoff b = new Backoff(Duration.ofDays(1), Duration.ofDays(1), Backoff.Jitter.NONE);
    assertThat(b.pause(1, System.nanoTime() - 1)).isFalse();
  }

  @Test
  void theDeadlineCutsThePauseShort() {
    Backoff b = new Backoff(Duration.ofDays(1), Duration.ofDays(1), Backoff.Jitter.NONE);
    // would park a day: returning at all shows the deadline 1 ms away bounded the park
    assertTimeoutPreemptively(Duration.ofSeconds(60), () -> b.pause(1, System.nanoTime() + 1_000_000L));
    assertThat(Backoff.deadlineAfter(Duration.ofSeconds(Long.MAX_VALUE)) - System.nanoTime()).isPositive();
  }

  @Test
  void argumentsAreChecked() {
    assertThatThrownBy(() -> new Backoff(Duration.ZERO, MS, Backoff.Jitter.FULL))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("base must be positive: PT0S");
    assertThatThrownBy(() -> new Backoff(Duration.ofMillis(2), MS, Backoff.Jitter.FULL))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("cap must be at least base PT0.002S: PT0.001S");
    assertThatThrownBy(() -> new Backoff(MS, MS, Backoff.Jitter.FULL).delayNanos(0))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("attempt must be at least 1: 0");
    assertThatThrownBy(() -> new Backoff(null, MS, Backoff.Jitter.FULL)).isInstanceOf(NullPointerException.class)
        .hasMessage("base");
  }
}
