/**
 * Fixture functions for thaw's integration tests: one class per handler shape, CRaC hook order,
 * randomness after restore, failures and a slow init. See the module's README for handler names.
 */
package dev.thaw.testfunctions;
