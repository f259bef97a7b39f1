/**
 * The storage SPI: the primitives a backend implements ({@link io.kyros.collab.spi.Storage}) and the
 * immutable values that cross it. Everything else, every rule of docs/design.md, lives in core.
 */
package io.kyros.collab.spi;
