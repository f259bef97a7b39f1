package io.kyros.collab.conformance;

/**
 * The backend conformance suite: every invariant of docs/design.md, tested through the public API and the
 * SPI. A backend extends this class and implements {@link #createStorage(MutableClock)}; its model
 * based properties come from {@link StorageModelProperties}.
 *
 * <p>The tests are grouped in a chain of abstract classes, one per concern, so a backend extends one
 * class and gets all of them: {@link SpiConformance}, {@link IndexConformance}, {@link DocumentConformance},
 * {@link LeaseNameConformance}, {@link LeaseTimingConformance}, {@link LeaseConformance},
 * {@link EventConformance}, {@link TaskConformance}, {@link TaskIndexConformance}, {@link ConcurrencyConformance},
 * {@link LostClaimConformance}, {@link InterleavingConformance}.
 */
public abstract class StorageConformanceTest extends AgentConformance {}
