package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ETagTest {

  @Nested
  class Construction {

    @Test
    void factoriesSetWeakness() {
      assertThat(ETag.strong("abc")).isEqualTo(new ETag("abc", false));
      assertThat(ETag.weak("abc")).isEqualTo(new ETag("abc", true));
      assertThat(ETag.strong("abc").weak()).isFalse();
      assertThat(ETag.weak("abc").weak()).isTrue();
      assertThat(ETag.weak("abc").tag()).isEqualTo("abc");
    }

    @Test
    void emptyTagIsValid() {
      assertThat(ETag.strong("").toString()).isEqualTo("\"\"");
      assertThat(ETag.weak("").toString()).isEqualTo("W/\"\"");
    }

    @Test
    void acceptsEveryEtagcCharacter() {
      StringBuilder all = new StringBuilder();
      all.append('!');
      for (char c = 0x23; c <= 0x7E; c++) {
        all.append(c);
      }
      for (char c = 0x80; c <= 0xFF; c++) {
        all.append(c);
      }
      ETag tag = ETag.strong(all.toString());
      assertThat(tag.tag()).hasSize(1 + (0x7E - 0x23 + 1) + 0x80);
      assertThat(ETag.parse(tag.toString())).isEqualTo(tag);
    }

    @Test
    void acceptsObsText() {
      ETag tag = ETag.weak("caf\u00e9-\u0080-\u00ff");
      assertThat(tag.toString()).isEqualTo("W/\"caf\u00e9-\u0080-\u00ff\"");
      assertThat(ETag.parse("W/\"caf\u00e9-\u0080-\u00ff\"")).isEqualTo(tag);
    }

    @Test
    void rejectsNull() {
      assertThatThrownBy(() -> ETag.strong(null))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("etag must not be null");
    }

    @Test
    void rejectsDoubleQuote() {
      assertThatThrownBy(() -> ETag.strong("a\"b"))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("etag must not contain '\"': a\"b");
    }

    @Test
    void rejectsSpace() {
      assertThatThrownBy(() -> ETag.weak("a b"))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("etag must not contain space (U+0020) at index 1: a b");
    }

    @Test
    void rejectsControlCharactersAndEscapesThemInTheMessage() {
      assertThatThrownBy(() -> ETag.strong("ab\n"))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("etag must not contain control character U+000A at index 2: ab\\u000A");
      assertThatThrownBy(() -> ETag.strong("\t"))
          .hasMessage("etag must not contain control character U+0009 at index 0: \\u0009");
      assertThatThrownBy(() -> ETag.strong("x\u007f"))
          .hasMessage("etag must not contain control character U+007F at index 1: x\\u007F");
      assertThatThrownBy(() -> ETag.strong("\u0000"))
          .hasMessageStartingWith("etag must not contain control character U+0000 at index 0");
    }

    @Test
    void rejectsCharactersBeyondObsText() {
      assertThatThrownBy(() -> ETag.strong("\u20ac"))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage(
              "etag must not contain character U+20AC (only U+0021-U+007E and obs-text"
                  + " U+0080-U+00FF are allowed) at index 0: \u20ac");
      assertThatThrownBy(() -> ETag.strong("a\u0100"))
          .hasMessageContaining("U+0100")
          .hasMessageContaining("at index 1");
      assertThatThrownBy(() -> ETag.strong("\ud83d\ude00")).hasMessageContaining("U+D83D");
    }

    @Test
    void asWeak() {
      ETag weak = ETag.weak("x");
      assertThat(weak.asWeak()).isSameAs(weak);
      assertThat(ETag.strong("x").asWeak()).isEqualTo(weak);
    }

    @Test
    void equalsIsExactNotRfcComparison() {
      assertThat(ETag.strong("x")).isNotEqualTo(ETag.weak("x"));
      assertThat(ETag.strong("x")).isEqualTo(ETag.strong("x")).hasSameHashCodeAs(ETag.strong("x"));
    }
  }

  @Nested
  class Formatting {

    @Test
    void toStringIsHeaderForm() {
      assertThat(ETag.strong("abc").toString()).isEqualTo("\"abc\"");
      assertThat(ETag.weak("abc").toString()).isEqualTo("W/\"abc\"");
      assertThat(ETag.strong("abc").headerValue()).isEqualTo("\"abc\"");
      assertThat(ETag.weak("abc").headerValue()).isEqualTo("W/\"abc\"");
    }

    @ParameterizedTest
    @ValueSource(
        strings = {"\"abc\"", "W/\"abc\"", "\"\"", "W/\"\"", "\"W/\"", "\"xyzzy\"", "\"!#~\""})
    void parseFormatRoundTrip(String header) {
      assertThat(ETag.parse(header).toString()).isEqualTo(header);
    }
  }

  @Nested
  class Parsing {

    @Test
    void parsesStrongAndWeak() {
      assertThat(ETag.parse("\"abc\"")).isEqualTo(ETag.strong("abc"));
      assertThat(ETag.parse("W/\"abc\"")).isEqualTo(ETag.weak("abc"));
      assertThat(ETag.parse("\"W/abc\"")).isEqualTo(ETag.strong("W/abc"));
    }

    @Test
    void toleratesSurroundingWhitespace() {
      assertThat(ETag.parse(" \t\"abc\"\t ")).isEqualTo(ETag.strong("abc"));
      assertThat(ETag.parse("  W/\"abc\"")).isEqualTo(ETag.weak("abc"));
    }

    @Test
    void rejectsNull() {
      assertThatThrownBy(() -> ETag.parse(null))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("entity tag must not be null");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "   ", "\t"})
    void rejectsEmpty(String header) {
      assertThatThrownBy(() -> ETag.parse(header))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("entity tag must not be empty: '");
    }

    @Test
    void rejectsUnquoted() {
      assertThatThrownBy(() -> ETag.parse("abc"))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("entity tag must be quoted: abc");
      assertThatThrownBy(() -> ETag.parse("W/abc"))
          .hasMessage("entity tag must be quoted: W/abc");
      assertThatThrownBy(() -> ETag.parse("W/")).hasMessage("entity tag must be quoted: W/");
      assertThatThrownBy(() -> ETag.parse("'abc'")).hasMessage("entity tag must be quoted: 'abc'");
    }

    @Test
    void rejectsStar() {
      assertThatThrownBy(() -> ETag.parse(" * "))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("'*' is not an entity tag")
          .hasMessageContaining("ETagList.parse");
    }

    @Test
    void rejectsLowercaseWeakIndicator() {
      assertThatThrownBy(() -> ETag.parse("w/\"abc\""))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("entity tag weak indicator must be an uppercase 'W/': w/\"abc\"");
    }

    @Test
    void rejectsMissingClosingQuote() {
      assertThatThrownBy(() -> ETag.parse("\"abc"))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("entity tag is missing its closing quote at index 4: \"abc");
      assertThatThrownBy(() -> ETag.parse("W/\"abc  "))
          .hasMessage("entity tag is missing its closing quote at index 6: W/\"abc  ");
      assertThatThrownBy(() -> ETag.parse("\""))
          .hasMessage("entity tag is missing its closing quote at index 1: \"");
    }

    @Test
    void rejectsInvalidCharacterInsideQuotes() {
      assertThatThrownBy(() -> ETag.parse("\"a b\""))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("entity tag must not contain space (U+0020) at index 2: \"a b\"");
      assertThatThrownBy(() -> ETag.parse("\"a\u20acb\""))
          .hasMessageStartingWith("entity tag must not contain character U+20AC")
          .hasMessageEndingWith("at index 2: \"a\u20acb\"");
      assertThatThrownBy(() -> ETag.parse("\"a\r\nb\""))
          .hasMessage(
              "entity tag must not contain control character U+000D at index 2:"
                  + " \"a\\u000D\\u000Ab\"");
    }

    @Test
    void rejectsTrailingCharacters() {
      assertThatThrownBy(() -> ETag.parse("\"a\"b\""))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage(
              "unexpected characters after entity tag (lists need ETagList.parse) at index 3:"
                  + " \"a\"b\"");
      assertThatThrownBy(() -> ETag.parse("\"a\", \"b\""))
          .hasMessageContaining("at index 3")
          .hasMessageContaining("ETagList.parse");
      assertThatThrownBy(() -> ETag.parse("\"a\" x")).hasMessageContaining("at index 4");
    }
  }

  /** RFC 9110 §8.8.3.2, the table of weak and strong comparison examples. */
  @Nested
  class Comparison {

    @ParameterizedTest(name = "{0} vs {1}: strong={2}, weak={3}")
    @CsvSource(
        delimiter = '|',
        quoteCharacter = '`',
        value = {
          "W/\"1\" | W/\"1\" | false | true",
          "W/\"1\" | W/\"2\" | false | false",
          "W/\"1\" | \"1\"   | false | true",
          "\"1\"   | \"1\"   | true  | true",
          "\"1\"   | \"2\"   | false | false",
        })
    void rfc9110Table(String a, String b, boolean strong, boolean weak) {
      ETag first = ETag.parse(a);
      ETag second = ETag.parse(b);
      assertThat(first.strongMatch(second)).isEqualTo(strong);
      assertThat(second.strongMatch(first)).isEqualTo(strong);
      assertThat(first.weakMatch(second)).isEqualTo(weak);
      assertThat(second.weakMatch(first)).isEqualTo(weak);
    }

    @Test
    void nullNeverMatches() {
      assertThat(ETag.strong("1").strongMatch(null)).isFalse();
      assertThat(ETag.strong("1").weakMatch(null)).isFalse();
    }

    @Test
    void comparisonIsCaseSensitive() {
      assertThat(ETag.strong("a").weakMatch(ETag.strong("A"))).isFalse();
    }
  }

  @Nested
  class ListParsing {

    @Test
    void star() {
      assertThat(ETagList.parse("*")).isSameAs(ETagList.ANY);
      assertThat(ETagList.parse(" \t* ")).isSameAs(ETagList.ANY);
      assertThat(ETagList.ANY.isAny()).isTrue();
      assertThat(ETagList.ANY.tags()).isEmpty();
      assertThat(ETagList.ANY.toString()).isEqualTo("*");
    }

    @Test
    void singleAndMultiple() {
      assertThat(ETagList.parse("\"a\"").tags()).containsExactly(ETag.strong("a"));
      assertThat(ETagList.parse("\"a\", W/\"b\",\"c\"").tags())
          .containsExactly(ETag.strong("a"), ETag.weak("b"), ETag.strong("c"));
    }

    @Test
    void whitespaceAndEmptyElements() {
      List<ETag> expected = List.of(ETag.strong("a"), ETag.weak("b"));
      assertThat(ETagList.parse("\"a\", , W/\"b\"").tags()).isEqualTo(expected);
      assertThat(ETagList.parse(" ,\t,\"a\" ,,\tW/\"b\" , ,").tags()).isEqualTo(expected);
      assertThat(ETagList.parse("\"a\",W/\"b\"").tags()).isEqualTo(expected);
      assertThat(ETagList.parse("\t\"a\"\t,\tW/\"b\"\t").tags()).isEqualTo(expected);
    }

    @Test
    void commasInsideQuotesArePartOfTheTag() {
      assertThat(ETagList.parse("\"a,b\", \"c\"").tags())
          .containsExactly(ETag.strong("a,b"), ETag.strong("c"));
    }

    @Test
    void duplicatesAndOrderKept() {
      assertThat(ETagList.parse("\"b\", \"a\", \"b\"").tags())
          .containsExactly(ETag.strong("b"), ETag.strong("a"), ETag.strong("b"));
    }

    @Test
    void rejectsNull() {
      assertThatThrownBy(() -> ETagList.parse(null))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("If-Match header must not be null");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "\t \t"})
    void rejectsEmptyOrBlank(String header) {
      assertThatThrownBy(() -> ETagList.parse(header))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("If-Match header must not be empty");
      assertThatThrownBy(() -> ETagList.parse(header, "If-None-Match"))
          .hasMessage("If-None-Match header must not be empty");
    }

    @Test
    void rejectsOnlyEmptyElements() {
      assertThatThrownBy(() -> ETagList.parse(" , ,"))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("If-Match header must contain '*' or at least one entity tag:  , ,");
    }

    @Test
    void rejectsGarbageAfterTag() {
      assertThatThrownBy(() -> ETagList.parse("\"a\" x"))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage(
              "invalid entity-tag list at index 4 (expected ',' or end of header after entity tag):"
                  + " \"a\" x");
      assertThatThrownBy(() -> ETagList.parse("\"a\"\"b\""))
          .hasMessageStartingWith("invalid entity-tag list at index 3 (expected ','");
    }

    @Test
    void rejectsUnquotedElement() {
      assertThatThrownBy(() -> ETagList.parse("\"a\", b"))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("invalid entity-tag list at index 5 (entity tag must be quoted): \"a\", b");
      assertThatThrownBy(() -> ETagList.parse("abc"))
          .hasMessage("invalid entity-tag list at index 0 (entity tag must be quoted): abc");
    }

    @Test
    void rejectsStarCombinedWithOthers() {
      assertThatThrownBy(() -> ETagList.parse("*, \"a\""))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("invalid entity-tag list at index 1 ('*' must be the only value): *, \"a\"");
      assertThatThrownBy(() -> ETagList.parse("**"))
          .hasMessage("invalid entity-tag list at index 1 ('*' must be the only value): **");
      assertThatThrownBy(() -> ETagList.parse("\"a\", *"))
          .hasMessage(
              "invalid entity-tag list at index 5 ('*' must be the only value, not a list element):"
                  + " \"a\", *");
    }

    @Test
    void rejectsMissingClosingQuote() {
      assertThatThrownBy(() -> ETagList.parse("\"a\", \"b"))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage(
              "invalid entity-tag list at index 7 (entity tag is missing its closing quote): \"a\","
                  + " \"b");
    }

    @Test
    void rejectsInvalidCharacter() {
      assertThatThrownBy(() -> ETagList.parse("\"a\u0100\""))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith(
              "invalid entity-tag list at index 2 (entity tag must not contain character U+0100");
      assertThatThrownBy(() -> ETagList.parse("\"a\"\r\n, \"b\""))
          .hasMessage(
              "invalid entity-tag list at index 3 (expected ',' or end of header after entity tag):"
                  + " \"a\"\\u000D\\u000A, \"b\"");
    }

    @Test
    void rejectsLowercaseWeakIndicator() {
      assertThatThrownBy(() -> ETagList.parse("\"a\", w/\"b\""))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith(
              "invalid entity-tag list at index 5 (entity tag weak indicator must be an uppercase");
    }

    @Test
    void acceptsObsText() {
      assertThat(ETagList.parse("\"\u00e9\", W/\"\u00ff\"").tags())
          .containsExactly(ETag.strong("\u00e9"), ETag.weak("\u00ff"));
    }
  }

  @Nested
  class ListValue {

    @Test
    void ofVarargsAndCollection() {
      ETagList a = ETagList.of(ETag.strong("a"), ETag.weak("b"));
      ETagList b = ETagList.of(List.of(ETag.strong("a"), ETag.weak("b")));
      assertThat(a).isEqualTo(b).hasSameHashCodeAs(b);
      assertThat(a.isAny()).isFalse();
      assertThat(a.toString()).isEqualTo("\"a\", W/\"b\"");
      assertThat(ETagList.parse(a.toString())).isEqualTo(a);
    }

    @Test
    void equalityIsByValueAndOrder() {
      assertThat(ETagList.of(ETag.strong("a"))).isNotEqualTo(ETagList.ANY);
      assertThat(ETagList.parse(" * ")).isEqualTo(ETagList.ANY);
      assertThat(ETagList.of(ETag.strong("a"), ETag.strong("b")))
          .isNotEqualTo(ETagList.of(ETag.strong("b"), ETag.strong("a")));
      assertThat(ETagList.of(ETag.strong("a"))).isNotEqualTo(ETagList.of(ETag.weak("a")));
      assertThat(ETagList.of(ETag.strong("a"))).isNotEqualTo("\"a\"");
    }

    @Test
    void tagsAreUnmodifiableAndDefensivelyCopied() {
      ETag[] array = {ETag.strong("a")};
      ETagList fromArray = ETagList.of(array);
      array[0] = ETag.strong("z");
      assertThat(fromArray.tags()).containsExactly(ETag.strong("a"));

      List<ETag> source = new ArrayList<>(List.of(ETag.strong("a")));
      ETagList fromList = ETagList.of(source);
      source.add(ETag.strong("b"));
      assertThat(fromList.tags()).containsExactly(ETag.strong("a"));

      assertThatThrownBy(() -> fromList.tags().add(ETag.strong("c")))
          .isInstanceOf(UnsupportedOperationException.class);
      assertThatThrownBy(() -> ETagList.ANY.tags().add(ETag.strong("c")))
          .isInstanceOf(UnsupportedOperationException.class);
      assertThatThrownBy(() -> ETagList.parse("\"a\"").tags().clear())
          .isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void ofRejectsEmptyAndNulls() {
      assertThatThrownBy(() -> ETagList.of())
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("entity-tag list must not be empty; use ANY for '*'");
      assertThatThrownBy(() -> ETagList.of(List.of()))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("entity-tag list must not be empty; use ANY for '*'");
      assertThatThrownBy(() -> ETagList.of(ETag.strong("a"), null))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("entity-tag list must not contain null (index 1)");
      assertThatThrownBy(() -> ETagList.of(Arrays.asList(null, ETag.strong("a"))))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("entity-tag list must not contain null (index 0)");
      assertThatThrownBy(() -> ETagList.of((ETag[]) null))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("entity-tag list must not be null");
      assertThatThrownBy(() -> ETagList.of((List<ETag>) null))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("entity-tag list must not be null");
    }
  }

  @Nested
  class ListMatching {

    private final ETagList list = ETagList.parse("\"a\", W/\"b\"");

    @Test
    void matchesStrongUsesStrongComparison() {
      assertThat(list.matchesStrong(ETag.strong("a"))).isTrue();
      assertThat(list.matchesStrong(ETag.weak("a"))).isFalse();
      assertThat(list.matchesStrong(ETag.strong("b"))).isFalse();
      assertThat(list.matchesStrong(ETag.weak("b"))).isFalse();
      assertThat(list.matchesStrong(ETag.strong("c"))).isFalse();
      assertThat(list.matchesStrong(null)).isFalse();
    }

    @Test
    void matchesWeakUsesWeakComparison() {
      assertThat(list.matchesWeak(ETag.strong("a"))).isTrue();
      assertThat(list.matchesWeak(ETag.weak("a"))).isTrue();
      assertThat(list.matchesWeak(ETag.strong("b"))).isTrue();
      assertThat(list.matchesWeak(ETag.weak("b"))).isTrue();
      assertThat(list.matchesWeak(ETag.strong("c"))).isFalse();
      assertThat(list.matchesWeak(null)).isFalse();
    }

    @Test
    void anyMatchesOnlyExistingResources() {
      assertThat(ETagList.ANY.matchesStrong(ETag.weak("x"))).isTrue();
      assertThat(ETagList.ANY.matchesWeak(ETag.weak("x"))).isTrue();
      assertThat(ETagList.ANY.matchesStrong(null)).isFalse();
      assertThat(ETagList.ANY.matchesWeak(null)).isFalse();
    }
  }
}
