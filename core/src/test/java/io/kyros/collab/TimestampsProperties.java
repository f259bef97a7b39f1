package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.constraints.StringLength;

/** {@link Timestamps#parse} reads what {@link Instant#toString()} writes, and agrees with {@link Instant#parse}. */
class TimestampsProperties {

  /** Year 0 to 9999: the four-digit years of the direct path. */
  private static final long FIRST = Instant.parse("0000-01-01T00:00:00Z").getEpochSecond();
  private static final long LAST = Instant.parse("9999-12-31T23:59:59Z").getEpochSecond();

  @Property(tries = 2000)
  void readsWhatInstantWrites(@ForAll("instants") Instant instant) {
    assertThat(Timestamps.parse(instant.toString())).isEqualTo(instant);
  }

  @Property(tries = 1000)
  void anyNumberOfFractionDigitsAgreesWithInstantParse(@ForAll @LongRange(min = 0, max = 253_402_300_799L) long second,
      @ForAll @IntRange(min = 1, max = 9) int digits, @ForAll @IntRange(min = 0, max = 999_999_999) int nanos) {
    String whole = Instant.ofEpochSecond(second).toString(); // no fraction
    String fraction = String.format("%09d", nanos).substring(0, digits);
    String text = whole.substring(0, whole.length() - 1) + "." + fraction + "Z";
    assertThat(Timestamps.parse(text)).isEqualTo(Instant.parse(text));
  }

  @Property(tries = 1000)
  void otherTextFailsOrReadsExactlyAsInstantParse(@ForAll @StringLength(min = 18, max = 32) String text) {
    assertSameAsInstantParse(text);
  }

  @Property(tries = 1000)
  void oneCharacterChangedFailsOrReadsExactlyAsInstantParse(@ForAll("instants") Instant instant,
      @ForAll @IntRange(min = 0, max = 29) int position, @ForAll("characters") char replacement) {
    String text = instant.toString();
    int at = position % text.length();
    assertSameAsInstantParse(text.substring(0, at) + replacement + text.substring(at + 1));
  }

  @Example
  void leapSecondsDaysOfShortMonthsAndOtherFormsAreInstantParses() {
    for (String text : new String[] {"2016-12-31T23:59:60Z", "2023-02-29T00:00:00Z", "2024-02-29T12:00:00Z",
        "2024-04-31T00:00:00Z", "2024-01-01T24:00:00Z", "+10000-01-01T00:00:00Z", "-0001-01-01T00:00:00Z",
        "2024-01-01T00:00:00.Z", "2024-01-01T00:00:00.1234567890Z", "2024-01-01T00:00:00+01:00",
        "2024-01-01t00:00:00z", "2024-01-01T00:00Z"}) {
      assertSameAsInstantParse(text);
    }
  }

  private static void assertSameAsInstantParse(String text) {
    Instant expected;
    try {
      expected = Instant.parse(text);
    } catch (DateTimeParseException e) {
      assertThatThrownBy(() -> Timestamps.parse(text)).as(text).isInstanceOf(DateTimeParseException.class)
          .hasMessage(e.getMessage());
      return;
    }
    assertThat(Timestamps.parse(text)).as(text).isEqualTo(expected);
  }

  @Provide
  Arbitrary<Instant> instants() {
    Arbitrary<Long> seconds = Arbitraries.longs().between(FIRST, LAST);
    Arbitrary<Integer> nanos = Arbitraries.oneOf(Arbitraries.just(0), Arbitraries.integers().between(0, 999)
        .map(ms -> ms * 1_000_000), Arbitraries.integers().between(0, 999_999).map(us -> us * 1_000),
        Arbitraries.integers().between(0, 999_999_999));
    return seconds.flatMap(s -> nanos.map(n -> Instant.ofEpochSecond(s, n)));
  }

  @Provide
  Arbitrary<Character> characters() {
    return Arbitraries.of('0', '5', '9', ':', '-', '.', 'T', 'Z', 'z', 'x', '+', ' ');
  }
}
