package io.kyros.collab;

import static io.kyros.collab.Preconditions.Outcome.NOT_MODIFIED;
import static io.kyros.collab.Preconditions.Outcome.PRECONDITION_FAILED;
import static io.kyros.collab.Preconditions.Outcome.PROCEED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.Preconditions.Outcome;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PreconditionsTest {

  private static final ETag X = ETag.strong("x");
  private static final ETag WEAK_X = ETag.weak("x");
  private static final ETag Y = ETag.strong("y");

  @Nested
  class Factories {

    @Test
    void none() {
      Preconditions none = Preconditions.none();
      assertThat(none.ifMatch()).isNull();
      assertThat(none.ifNoneMatch()).isNull();
      assertThat(none.isEmpty()).isTrue();
      assertThat(none).isEqualTo(new Preconditions(null, null));
    }

    @Test
    void ifMatchTag() {
      Preconditions p = Preconditions.ifMatch(X);
      assertThat(p.ifMatch()).isEqualTo(ETagList.of(X));
      assertThat(p.ifNoneMatch()).isNull();
      assertThat(p.isEmpty()).isFalse();
    }

    @Test
    void ifMatchList() {
      ETagList list = ETagList.of(X, Y);
      assertThat(Preconditions.ifMatch(list)).isEqualTo(new Preconditions(list, null));
      assertThat(Preconditions.ifMatch(ETagList.ANY).ifMatch().isAny()).isTrue();
    }

    @Test
    void ifNoneMatchList() {
      ETagList list = ETagList.of(X);
      assertThat(Preconditions.ifNoneMatch(list)).isEqualTo(new Preconditions(null, list));
    }

    @Test
    void ifAbsent() {
      Preconditions p = Preconditions.ifAbsent();
      assertThat(p.ifMatch()).isNull();
      assertThat(p.ifNoneMatch()).isEqualTo(ETagList.ANY);
      assertThat(p.isEmpty()).isFalse();
    }

    @Test
    void factoriesRejectNull() {
      assertThatThrownBy(() -> Preconditions.ifMatch((ETag) null))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("If-Match entity tag must not be null");
      assertThatThrownBy(() -> Preconditions.ifMatch((ETagList) null))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("If-Match value must not be null");
      assertThatThrownBy(() -> Preconditions.ifNoneMatch(null))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("If-None-Match value must not be null");
    }

    @Test
    void fromHeaders() {
      assertThat(Preconditions.fromHeaders(null, null).isEmpty()).isTrue();
      assertThat(Preconditions.fromHeaders("\"x\", W/\"y\"", null))
          .isEqualTo(new Preconditions(ETagList.of(X, ETag.weak("y")), null));
      assertThat(Preconditions.fromHeaders(null, " * ")).isEqualTo(Preconditions.ifAbsent());
      assertThat(Preconditions.fromHeaders("*", "\"x\""))
          .isEqualTo(new Preconditions(ETagList.ANY, ETagList.of(X)));
    }

    @Test
    void fromHeadersRejectsMalformedHeaders() {
      assertThatThrownBy(() -> Preconditions.fromHeaders("", null))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("If-Match header must not be empty");
      assertThatThrownBy(() -> Preconditions.fromHeaders(null, "  "))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("If-None-Match header must not be empty");
      assertThatThrownBy(() -> Preconditions.fromHeaders(null, "x"))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("invalid entity-tag list at index 0 (entity tag must be quoted): x");
    }

    @Test
    void toStringShowsHeaderForms() {
      assertThat(Preconditions.fromHeaders("\"x\"", "*").toString()).isEqualTo("If-Match: \"x\", If-None-Match: *");
      assertThat(Preconditions.fromHeaders("\"a\", W/\"b\"", null).toString()).isEqualTo("If-Match: \"a\", W/\"b\"");
      assertThat(Preconditions.ifAbsent().toString()).isEqualTo("If-None-Match: *");
      assertThat(Preconditions.none().toString()).isEqualTo("no precondition");
    }
  }

  @Nested
  class Evaluation {

    @Test
    void noPreconditionsAlwaysProceed() {
      assertThat(Preconditions.none().evaluate(X, true)).isEqualTo(PROCEED);
      assertThat(Preconditions.none().evaluate(X, false)).isEqualTo(PROCEED);
      assertThat(Preconditions.none().evaluate(null, true)).isEqualTo(PROCEED);
      assertThat(Preconditions.none().evaluate(null, false)).isEqualTo(PROCEED);
    }

    @Test
    void ifMatchUsesStrongComparison() {
      assertThat(Preconditions.ifMatch(X).evaluate(X, false)).isEqualTo(PROCEED);
      assertThat(Preconditions.ifMatch(X).evaluate(Y, false)).isEqualTo(PRECONDITION_FAILED);
      assertThat(Preconditions.ifMatch(X).evaluate(WEAK_X, false)).isEqualTo(PRECONDITION_FAILED);
      assertThat(Preconditions.ifMatch(WEAK_X).evaluate(WEAK_X, false))
          .isEqualTo(PRECONDITION_FAILED);
      assertThat(Preconditions.ifMatch(WEAK_X).evaluate(X, false)).isEqualTo(PRECONDITION_FAILED);
      assertThat(Preconditions.ifMatch(ETagList.of(Y, X)).evaluate(X, false)).isEqualTo(PROCEED);
    }

    @Test
    void ifMatchFailureIsPreconditionFailedEvenForSafeMethods() {
      assertThat(Preconditions.ifMatch(X).evaluate(Y, true)).isEqualTo(PRECONDITION_FAILED);
    }

    @Test
    void ifMatchOnAbsentResourceFails() {
      assertThat(Preconditions.ifMatch(X).evaluate(null, false)).isEqualTo(PRECONDITION_FAILED);
      assertThat(Preconditions.ifMatch(ETagList.ANY).evaluate(null, false))
          .isEqualTo(PRECONDITION_FAILED);
      assertThat(Preconditions.ifMatch(ETagList.ANY).evaluate(null, true))
          .isEqualTo(PRECONDITION_FAILED);
    }

    @Test
    void ifMatchStarOnExistingResourceProceeds() {
      assertThat(Preconditions.ifMatch(ETagList.ANY).evaluate(WEAK_X, false)).isEqualTo(PROCEED);
    }

    @Test
    void ifNoneMatchStarOnAbsentResourceProceeds() {
      assertThat(Preconditions.ifAbsent().evaluate(null, false)).isEqualTo(PROCEED);
      assertThat(Preconditions.ifAbsent().evaluate(null, true)).isEqualTo(PROCEED);
    }

    @Test
    void ifNoneMatchStarOnExistingResource() {
      assertThat(Preconditions.ifAbsent().evaluate(X, true)).isEqualTo(NOT_MODIFIED);
      assertThat(Preconditions.ifAbsent().evaluate(X, false)).isEqualTo(PRECONDITION_FAILED);
    }

    @Test
    void ifNoneMatchUsesWeakComparison() {
      Preconditions weakX = Preconditions.fromHeaders(null, "W/\"x\"");
      assertThat(weakX.evaluate(X, true)).isEqualTo(NOT_MODIFIED);
      assertThat(weakX.evaluate(X, false)).isEqualTo(PRECONDITION_FAILED);
      assertThat(weakX.evaluate(WEAK_X, true)).isEqualTo(NOT_MODIFIED);
      Preconditions strongX = Preconditions.ifNoneMatch(ETagList.of(X));
      assertThat(strongX.evaluate(WEAK_X, true)).isEqualTo(NOT_MODIFIED);
    }

    @Test
    void ifNoneMatchWithoutMatchProceeds() {
      Preconditions p = Preconditions.fromHeaders(null, "\"y\", W/\"z\"");
      assertThat(p.evaluate(X, true)).isEqualTo(PROCEED);
      assertThat(p.evaluate(X, false)).isEqualTo(PROCEED);
      assertThat(p.evaluate(null, true)).isEqualTo(PROCEED);
      assertThat(p.evaluate(null, false)).isEqualTo(PROCEED);
    }

    @Test
    void ifMatchIsEvaluatedFirst() {
      // If-Match fails; If-None-Match alone would pass: the failure wins.
      Preconditions p = Preconditions.fromHeaders("\"y\"", "\"z\"");
      assertThat(p.evaluate(X, false)).isEqualTo(PRECONDITION_FAILED);
      assertThat(p.evaluate(X, true)).isEqualTo(PRECONDITION_FAILED);
      // If-Match fails on an absent resource; If-None-Match: * alone would pass.
      Preconditions q = Preconditions.fromHeaders("*", "*");
      assertThat(q.evaluate(null, false)).isEqualTo(PRECONDITION_FAILED);
    }

    @Test
    void bothPassingProceeds() {
      Preconditions p = Preconditions.fromHeaders("\"x\"", "\"y\"");
      assertThat(p.evaluate(X, false)).isEqualTo(PROCEED);
      assertThat(p.evaluate(X, true)).isEqualTo(PROCEED);
    }

    @Test
    void ifMatchPassesThenIfNoneMatchFails() {
      Preconditions p = Preconditions.fromHeaders("\"x\"", "W/\"x\"");
      assertThat(p.evaluate(X, true)).isEqualTo(NOT_MODIFIED);
      assertThat(p.evaluate(X, false)).isEqualTo(PRECONDITION_FAILED);
    }

    /** The full decision table for one current tag "x", absent resource "-". */
    @ParameterizedTest(name = "If-Match={0} If-None-Match={1} current={2} safe={3} -> {4}")
    @CsvSource(
        delimiter = '|',
        quoteCharacter = '`',
        nullValues = "-",
        value = {
          "-       | -       | \"x\" | true  | PROCEED",
          "-       | -       | -     | false | PROCEED",
          "*       | -       | \"x\" | false | PROCEED",
          "*       | -       | -     | false | PRECONDITION_FAILED",
          "\"x\"   | -       | \"x\" | false | PROCEED",
          "\"y\"   | -       | \"x\" | true  | PRECONDITION_FAILED",
          "W/\"x\" | -       | \"x\" | false | PRECONDITION_FAILED",
          "-       | *       | -     | false | PROCEED",
          "-       | *       | \"x\" | true  | NOT_MODIFIED",
          "-       | *       | \"x\" | false | PRECONDITION_FAILED",
          "-       | W/\"x\" | \"x\" | true  | NOT_MODIFIED",
          "-       | \"y\"   | \"x\" | false | PROCEED",
          "\"y\"   | \"z\"   | \"x\" | false | PRECONDITION_FAILED",
          "\"x\"   | \"x\"   | \"x\" | true  | NOT_MODIFIED",
          "\"x\"   | \"y\"   | \"x\" | false | PROCEED",
        })
    void decisionTable(
        String ifMatch, String ifNoneMatch, String current, boolean safe, Outcome expected) {
      ETag tag = current == null ? null : ETag.parse(current);
      assertThat(Preconditions.fromHeaders(ifMatch, ifNoneMatch).evaluate(tag, safe))
          .isEqualTo(expected);
    }
  }
}
