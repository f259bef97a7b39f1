package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

class ETagProperties {

  /** Whitespace, then {@code commas} times a comma followed by whitespace. */
  record Separator(String before, int commas, String after) {
    String render(boolean needsComma) {
      int n = needsComma ? Math.max(1, commas) : commas;
      return before + ("," + after).repeat(n);
    }
  }

  /** A list of entity tags and one header rendering of it. */
  record Rendered(List<ETag> tags, String header) {}

  @Provide
  Arbitrary<String> tags() {
    return Arbitraries.strings()
        .withChars('!')
        .withCharRange('#', '~')
        .withCharRange('\u0080', '\u00ff')
        .ofMinLength(0)
        .ofMaxLength(20);
  }

  @Provide
  Arbitrary<ETag> etags() {
    return Combinators.combine(tags(), Arbitraries.of(true, false)).as(ETag::new);
  }

  @Provide
  Arbitrary<String> ows() {
    return Arbitraries.strings().withChars(' ', '\t').ofMaxLength(3);
  }

  Arbitrary<Separator> separators() {
    return Combinators.combine(ows(), Arbitraries.integers().between(0, 3), ows())
        .as(Separator::new);
  }

  @Provide
  Arbitrary<Rendered> renderedLists() {
    return Combinators.combine(
            etags().list().ofMinSize(1).ofMaxSize(8), separators().list().ofSize(9))
        .as(
            (tags, seps) -> {
              StringBuilder header = new StringBuilder(seps.get(0).render(false));
              for (int i = 0; i < tags.size(); i++) {
                if (i > 0) {
                  header.append(seps.get(i).render(true));
                }
                header.append(tags.get(i));
              }
              header.append(seps.get(tags.size()).render(false));
              return new Rendered(tags, header.toString());
            });
  }

  @Property(tries = 1000)
  void parseInvertsToString(@ForAll("tags") String tag, @ForAll boolean weak) {
    ETag etag = new ETag(tag, weak);
    assertThat(ETag.parse(etag.toString())).isEqualTo(etag);
    assertThat(etag.toString()).isEqualTo(etag.headerValue());
  }

  @Property(tries = 1000)
  void parseIgnoresSurroundingWhitespace(
      @ForAll("etags") ETag etag, @ForAll("ows") String before, @ForAll("ows") String after) {
    assertThat(ETag.parse(before + etag + after)).isEqualTo(etag);
  }

  @Property(tries = 1000)
  void listParseReturnsTheRenderedTags(@ForAll("renderedLists") Rendered rendered) {
    ETagList parsed = ETagList.parse(rendered.header());
    assertThat(parsed.isAny()).isFalse();
    assertThat(parsed.tags()).isEqualTo(rendered.tags());
    assertThat(parsed).isEqualTo(ETagList.of(rendered.tags()));
  }

  @Property(tries = 1000)
  void listToStringRoundTrips(@ForAll("renderedLists") Rendered rendered) {
    ETagList list = ETagList.of(rendered.tags());
    assertThat(ETagList.parse(list.toString())).isEqualTo(list);
  }

  @Property(tries = 1000)
  void matchingAgreesWithComparisonFunctions(
      @ForAll("renderedLists") Rendered rendered, @ForAll("etags") ETag current) {
    ETagList list = ETagList.of(rendered.tags());
    assertThat(list.matchesStrong(current))
        .isEqualTo(rendered.tags().stream().anyMatch(t -> t.strongMatch(current)));
    assertThat(list.matchesWeak(current))
        .isEqualTo(rendered.tags().stream().anyMatch(t -> t.weakMatch(current)));
  }

  @Property(tries = 1000)
  void constructorRejectsEveryNonEtagcCharacter(
      @ForAll("tags") String prefix, @ForAll char c, @ForAll("tags") String suffix) {
    boolean etagc = c == 0x21 || (c >= 0x23 && c <= 0x7E) || (c >= 0x80 && c <= 0xFF);
    String tag = prefix + c + suffix;
    if (etagc) {
      assertThat(ETag.strong(tag).tag()).isEqualTo(tag);
    } else {
      assertThatThrownBy(() -> ETag.strong(tag))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("etag must not contain ");
    }
  }
}
