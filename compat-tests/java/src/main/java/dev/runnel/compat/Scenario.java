package dev.runnel.compat;

/** One scenario: returns a short note on what it saw, or throws what went wrong. */
@FunctionalInterface
interface Scenario {
  String run(Ctx ctx) throws Exception;
}
