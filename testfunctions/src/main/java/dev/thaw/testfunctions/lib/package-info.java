/** A stand-in for a third-party library that supports CRaC and knows nothing about thaw. */
package dev.thaw.testfunctions.lib;
